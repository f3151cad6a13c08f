"""BERT's WordPiece tokenizer in plain Python, for the query path.

Why: loading ``tokenizers.Tokenizer.from_file`` parses a ~700 kB JSON file into a Rust object and
costs ~0.1 s per process, a third of a cold ``synapse search``.  A query is a few hundred
characters; tokenizing it in Python takes well under a millisecond, and the vocabulary loads from a
plain text file in a few milliseconds.  This follows the ``tokenizers`` pipeline that BERT models
such as all-MiniLM-L6-v2 use (BertNormalizer, BertPreTokenizer, WordPiece, [CLS]/[SEP],
truncation) step by step; ``tests/kb/test_wordpiece.py`` checks that it gives the same ids as
``tokenizers`` on the labelled queries, the entries and hostile Unicode.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# Rust's char::is_whitespace (the Unicode White_Space property), which BERT's splitter uses.
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


# Code points whose Unicode properties are the same in Python's tables and in the ones ``tokenizers``
# was built with (checked by tests/kb/test_wordpiece.py): Latin, IPA, combining marks, Greek,
# Cyrillic, the usual dashes, quotes and ellipsis, and CJK ideographs.  Any other character sends
# the text to ``tokenizers`` (newer or unassigned code points are classified differently there).
_SAFE = ((0x0000, 0x052F), (0x2010, 0x2027), (0x3000, 0x303F), (0x4E00, 0x9FCC))


def supported(text: str) -> bool:
    """Whether ``WordPiece.encode`` gives exactly the ids ``tokenizers`` gives for ``text``."""
    return all(
        any(lo <= ord(c) <= hi for lo, hi in _SAFE) and unicodedata.category(c) != "Cn" for c in text if ord(c) > 0x7F
    )


def _is_cjk(code: int) -> bool:
    return any(lo <= code <= hi for lo, hi in _CJK)


def _is_punctuation(char: str) -> bool:
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


class WordPiece:
    """``encode(text) -> ids``, as ``tokenizers`` would give for a BERT ``tokenizer.json``."""

    def __init__(
        self,
        vocab: dict[str, int],
        *,
        lowercase: bool = True,
        strip_accents: bool | None = None,
        clean_text: bool = True,
        chinese_chars: bool = True,
        unk: str = "[UNK]",
        prefix: str = "##",
        max_word_chars: int = 100,
        cls: str = "[CLS]",
        sep: str = "[SEP]",
        max_length: int = 256,
    ):
        self.vocab = vocab
        self.lowercase = lowercase
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.clean_text = clean_text
        self.chinese_chars = chinese_chars
        self.unk_id = vocab[unk]
        self.prefix = prefix
        self.max_word_chars = max_word_chars
        self.cls_id, self.sep_id = vocab[cls], vocab[sep]
        self.max_length = max_length

    @classmethod
    def from_tokenizer_json(cls, path: Path, max_length: int) -> WordPiece:
        """Read the settings from a ``tokenizer.json``; raises ValueError when it is not a plain
        BERT WordPiece pipeline (the caller then keeps ``tokenizers``)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model, normalizer, pre = data.get("model") or {}, data.get("normalizer") or {}, data.get("pre_tokenizer") or {}
        post = data.get("post_processor") or {}
        if (
            model.get("type") != "WordPiece"
            or normalizer.get("type") != "BertNormalizer"
            or pre.get("type") != "BertPreTokenizer"
        ):
            raise ValueError("not a BERT WordPiece tokenizer")
        if post.get("type") not in ("BertProcessing", "TemplateProcessing") or data.get("added_tokens") is None:
            raise ValueError("unexpected post-processor")
        return cls(
            model["vocab"],
            lowercase=normalizer.get("lowercase", True),
            strip_accents=normalizer.get("strip_accents"),
            clean_text=normalizer.get("clean_text", True),
            chinese_chars=normalizer.get("handle_chinese_chars", True),
            unk=model.get("unk_token", "[UNK]"),
            prefix=model.get("continuing_subword_prefix", "##"),
            max_word_chars=model.get("max_input_chars_per_word", 100),
            max_length=max_length,
        )

    def save(self, path: Path) -> None:
        """A compact form (settings + the vocabulary in id order) that loads in milliseconds."""
        words = sorted(self.vocab, key=self.vocab.get)
        settings = {
            "lowercase": self.lowercase,
            "strip_accents": self.strip_accents,
            "clean_text": self.clean_text,
            "chinese_chars": self.chinese_chars,
            "prefix": self.prefix,
            "max_word_chars": self.max_word_chars,
            "max_length": self.max_length,
            "unk_id": self.unk_id,
            "cls_id": self.cls_id,
            "sep_id": self.sep_id,
        }
        Path(path).write_text(json.dumps(settings) + "\n" + "\n".join(words) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> WordPiece:
        """Read what ``save`` wrote; raises OSError, ValueError or KeyError for a missing or damaged file."""
        head, _, body = Path(path).read_text(encoding="utf-8").partition("\n")
        s = json.loads(head)
        words = body.split("\n")[:-1]
        vocab = {word: i for i, word in enumerate(words)}
        self = cls.__new__(cls)
        self.vocab = vocab
        self.lowercase, self.strip_accents, self.clean_text = s["lowercase"], s["strip_accents"], s["clean_text"]
        self.chinese_chars, self.prefix, self.max_word_chars = s["chinese_chars"], s["prefix"], s["max_word_chars"]
        self.max_length, self.unk_id, self.cls_id, self.sep_id = s["max_length"], s["unk_id"], s["cls_id"], s["sep_id"]
        return self

    # ------------------------------------------------------------------ the pipeline
    def normalize(self, text: str) -> str:
        """BERT's normalisation as configured: control characters dropped, white space unified, case folded."""
        if self.clean_text:
            out = []
            for c in text:  # control characters go first; \t \n \r and other white space become " "
                if c in "\t\n\r":
                    out.append(" ")
                elif c == "\x00" or c == "\ufffd" or unicodedata.category(c).startswith("C"):
                    continue
                else:
                    out.append(" " if c in _WHITESPACE else c)
            text = "".join(out)
        if self.chinese_chars:
            text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
        if self.strip_accents:
            text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        if self.lowercase:
            text = "".join(c.lower() for c in text)  # per character, as Rust does (no final-sigma rule)
        return text

    @staticmethod
    def pre_tokenize(text: str) -> list[str]:
        """Split on white space, each punctuation character a word of its own (BERT's pre-tokenizer)."""
        words, current = [], []
        for c in text:
            if c in _WHITESPACE:
                if current:
                    words.append("".join(current))
                    current = []
            elif _is_punctuation(c):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(c)
            else:
                current.append(c)
        if current:
            words.append("".join(current))
        return words

    def word_ids(self, word: str) -> list[int]:
        """A word's greedy longest-match-first WordPiece ids (``[UNK]`` when it cannot be split)."""
        if len(word) > self.max_word_chars:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        """The ids for ``text`` with [CLS] and [SEP], cut to ``max_length``."""
        ids: list[int] = []
        room = self.max_length - 2
        for word in self.pre_tokenize(self.normalize(text)):
            ids.extend(self.word_ids(word))
            if len(ids) >= room:
                break
        return [self.cls_id] + ids[:room] + [self.sep_id]
