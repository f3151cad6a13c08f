"""The evidence an error text gives for each entry, graded specific or generic (Sentry-style).

Why grades: an agent acts on ``matched: true`` without a human checking, so only evidence that
names *this* failure may decide alone.  Specific evidence is an entry's ``patterns`` (the API's or
SDK's own error text).  Generic evidence is an entry's ``generic_patterns`` (shapes everyday code
raises too), an ``error_types`` name or an HTTP status the text names: it ranks entries, but
``synapse_ai.kb.search`` lets it decide only when the text is also about an agent or an LLM API
(``synapse_ai.kb.extract.agent_context``) and, when several entries share it, only with meaning's agreement.
An error type is never specific by itself: ``NotFoundError`` or ``TypeError`` name a family, not
a cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from synapse_ai.kb.extract import http_statuses
from synapse_ai.kb.signature import PatternHit, PatternIndex
from synapse_ai.kb.why import MatchedEvidence

_TOKEN = re.compile(r"[A-Za-z_][\w.]{1,120}")


@dataclass
class Evidence:
    """Per-entry evidence found in one text, each list best first."""

    specific: list[PatternHit] = field(default_factory=list)
    generic: list[PatternHit] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # slug -> the error type named
    statuses: dict[str, int] = field(default_factory=dict)  # slug -> the status named
    prominence: dict[str, tuple] = field(default_factory=dict)  # slug -> how much that status is its own

    def specific_rank(self) -> list[str]:
        """Slugs with specific evidence, strongest first, each once."""
        return list(dict.fromkeys(h.slug for h in self.specific))

    def generic_rank(self, tie_order: list[str] = ()) -> list[str]:
        """Generic pattern hits, then error types, then statuses (most prominent first); entries
        equal on that are ordered by ``tie_order`` (the query's BM25 ranking), so the result does
        not depend on the order entries were indexed in."""
        position = {slug: i for i, slug in enumerate(tie_order)}
        patterns = {h.slug for h in self.generic}

        def tier(slug: str) -> tuple:
            if slug in patterns:
                return (0,)
            if slug in self.types:
                return (1,)
            return (2, *self.prominence.get(slug, ()))

        slugs = dict.fromkeys([h.slug for h in self.generic] + list(self.types) + list(self.statuses))
        return sorted(slugs, key=lambda slug: (tier(slug), position.get(slug, len(position)), slug))

    def describe(self, slug: str) -> MatchedEvidence | None:
        """What points at ``slug``, for the result's ``why`` (None when nothing does)."""
        for level, hits in (("specific", self.specific), ("generic", self.generic)):
            hit = next((h for h in hits if h.slug == slug), None)
            if hit:
                return MatchedEvidence(level, "pattern", hit.matched_text, hit.pattern)
        if slug in self.types:
            return MatchedEvidence("generic", "error_type", self.types[slug])
        if slug in self.statuses:
            return MatchedEvidence("generic", "http_status", str(self.statuses[slug]))
        return None


class SignalIndex:
    """Every entry's patterns (specific and generic), statuses and error types, ready to match."""

    def __init__(self, signals: dict[str, dict]):
        """``signals``: slug -> {"patterns": [...], "generic_patterns": [...], "http_statuses": [...],
        "error_types": [...]}; patterns as strings or (pattern, required literal) pairs."""
        self.specific = PatternIndex({slug: s.get("patterns", []) for slug, s in signals.items()})
        self.generic = PatternIndex({slug: s.get("generic_patterns", []) for slug, s in signals.items()})
        self.by_status: dict[int, list[str]] = {}
        claims: dict[str, list[str]] = {}
        for slug, s in signals.items():
            for status in s.get("http_statuses", []):
                self.by_status.setdefault(int(status), []).append(slug)
            for name in s.get("error_types", []):
                claims.setdefault(name.lower(), []).append(slug)
        # How much a status belongs to an entry: its title starts with it ("429 rate_limit_error: ...")
        # or its slug names it (rate-limit-429), then where its list names it.  Ties are ordered by
        # the query's BM25 ranking.
        self.prominence = {
            (status, slug): (
                not signals[slug].get("title", "").startswith(str(status)),
                str(status) not in slug,
                [int(x) for x in signals[slug].get("http_statuses", [])].index(status),
            )
            for status, slugs in self.by_status.items()
            for slug in slugs
        }
        self.by_type = claims

    def evidence(self, text: str, tail: str = "") -> Evidence:
        """Evidence in ``text`` (the error blocks).  Specific patterns are also looked for in
        ``tail`` (the end of the output): a framework's own message printed as plain output, such
        as LangChain's "Agent stopped due to iteration limit", is not an error block."""
        specific = self.specific.match(text)
        if tail:
            seen = {h.slug for h in specific}
            specific += [h for h in self.specific.match(tail) if h.slug not in seen]
        found = Evidence(specific=specific, generic=self.generic.match(text))
        tokens: dict[str, None] = {}  # in order of appearance: the first type named is the one reported
        for token in _TOKEN.findall(text):
            token = token.strip(".").lower()
            tokens[token] = None
            tokens[token.rsplit(".", 1)[-1]] = None  # anthropic.RateLimitError also names RateLimitError
        for name in [t for t in tokens if t in self.by_type]:
            for slug in self.by_type[name]:
                found.types.setdefault(slug, name)
        for status in http_statuses(text):
            for slug in self.by_status.get(status, []):
                found.statuses.setdefault(slug, status)
        found.prominence = {slug: self.prominence[(status, slug)] for slug, status in found.statuses.items()}
        return found
