"""Error signatures: strip the variable parts of an error message so the same error looks the same.

Modelled on how Sentry parameterizes messages before grouping: request ids, UUIDs, hex addresses,
URLs, file paths, quoted values and numbers become placeholders.  Entry ``patterns`` are matched
against both the raw text and its normalized form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SCAN = 20_000  # characters of user text scanned by patterns (a pasted log can be huge)

_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\b(?:req|request|msg|toolu|call|chatcmpl|run|thread|srvtoolu)_[A-Za-z0-9]{6,}\b"), "<id>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b[0-9a-fA-F]{16,}\b"), "<hex>"),
    (re.compile(r"\b(?:https?|wss?|file)://[^\s'\"<>)\]]+"), "<url>"),
    (re.compile(r"(?:[A-Za-z]:\\|~?/)(?:[\w.\-]+[/\\])+[\w.\-]*"), "<path>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<datetime>"),
    (re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])"), "<num>"),
]
_QUOTED = re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"")


def normalize(text: str, quoted: bool = False) -> str:
    """Replace variable parts with placeholders.  ``quoted=True`` also replaces quoted values, which
    is right for grouping but loses words the search needs, so search leaves it off."""
    out = text[:MAX_SCAN]
    for rule, placeholder in _RULES:
        out = rule.sub(placeholder, out)
    if quoted:
        out = _QUOTED.sub("<val>", out)
    return re.sub(r"[ \t]+", " ", out)


def compile_pattern(pattern: str):
    """``pattern`` compiled for matching (case-insensitive, linear time: ``kb.linear_regex``), or
    None when it cannot be compiled (it then never matches)."""
    from synapse_ai.kb.linear_regex import compile_linear

    return compile_linear(pattern)


@dataclass(frozen=True)
class PatternHit:
    slug: str
    pattern: str
    matched_text: str


def required_literal(pattern: str) -> str:
    """The longest run of plain characters every match of ``pattern`` must contain (lowercased), or "".

    Used as a cheap substring prefilter so that thousands of patterns cost a few ``in`` checks each
    query instead of thousands of regex scans.  Anything it is unsure about (alternation, classes,
    optional parts) ends a run, so the prefilter never rejects a text the regex would match.
    """
    try:
        import re._parser as sre_parse  # Python 3.11+
    except ImportError:  # pragma: no cover
        import sre_parse  # type: ignore[no-redef]
    try:
        parsed = sre_parse.parse(pattern, re.I)
    except re.error:
        return ""
    best, run = "", []
    for op, arg in parsed:
        if str(op) == "LITERAL":
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    if len(run) > len(best):
        best = "".join(run)
    return best.lower()


class PatternIndex:
    """All entries' patterns with a literal prefilter per pattern.

    A pattern is compiled the first time a text passes its prefilter (``compile_pattern`` caches
    it), not up front: most patterns never pass for a given query, and compiling all of them was
    half of this index's build time (per ``synapse search`` process; seconds at 10k entries).
    Patterns that do not compile never match, as before.
    """

    def __init__(self, patterns: dict[str, list]):
        """``patterns``: slug -> patterns, each a string or a ``(pattern, required literal)`` pair
        (``Store.all_patterns`` gives pairs, computed at index time)."""
        self.items: list[tuple[str, str, str]] = []  # (slug, pattern, required literal)
        for slug, entry_patterns in patterns.items():
            for item in entry_patterns:
                pattern, literal = item if isinstance(item, tuple) else (item, required_literal(item))
                self.items.append((slug, pattern, literal))

    def match(self, text: str) -> list[PatternHit]:
        """Entries whose patterns occur in ``text`` (raw or normalized), best first.

        Ranking: an entry matching more of its patterns ranks higher; then the longer matched text
        (a more specific pattern) wins.
        """
        raw = text[:MAX_SCAN]
        if not raw.strip():
            return []
        norm = normalize(raw)
        lowered = raw.lower() + "\n" + norm.lower()
        found: dict[str, list[tuple[str, str]]] = {}
        for slug, pattern, literal in self.items:
            if literal and literal not in lowered:
                continue
            compiled = compile_pattern(pattern)
            if compiled is None:
                continue
            m = compiled.search(raw) or compiled.search(norm)
            if m and m.group(0).strip():
                found.setdefault(slug, []).append((pattern, m.group(0)))
        scored = []
        for slug, hits in found.items():
            best = max(hits, key=lambda h: len(h[1]))
            scored.append((len(hits), len(best[1]), PatternHit(slug, best[0], best[1][:200])))
        scored.sort(key=lambda item: (-item[0], -item[1]))
        return [hit for _, _, hit in scored]


def match_patterns(text: str, patterns: dict[str, list[str]]) -> list[PatternHit]:
    """One-off matching (builds a ``PatternIndex``); long-lived callers keep the index instead."""
    return PatternIndex(patterns).match(text)
