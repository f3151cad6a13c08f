"""Why a search result was found: one typed value, read by every surface that explains a match.

``hybrid_search`` builds a ``Why`` per result.  ``to_dict()`` is the ``why`` object of ``synapse search
--json`` and ``GET /api/search`` (the keys, their order and the omitted ``decision`` are part of that
contract); ``from_dict()`` is its inverse, so a client reading that JSON gets the same value back.
``Why.reasons()`` is the one reading of the evidence in words: the terminal, the search page and the
hook show it instead of each picking keys out of a dict.

The API's response model is these dataclasses themselves (pydantic builds the OpenAPI schema from
them); the attribute docstrings become the field descriptions there.  Nothing here imports more
than the standard library: the hook reads it on its fast path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, NamedTuple

from synapse_ai.kb.feedback import Feedback

# pydantic reads this (without being imported here): the attribute docstrings describe the fields.
_DOCUMENTED = {"use_attribute_docstrings": True}


@dataclass(frozen=True)
class Signals:
    """Ranks and scores of each retriever (null where a retriever did not find the entry).
    Scores are backend-native: only their order is meaningful."""

    __pydantic_config__ = _DOCUMENTED

    pattern_rank: int | None = None
    """Rank among entries whose specific patterns matched."""
    generic_rank: int | None = None
    """Rank among entries with generic evidence (generic pattern, error type, HTTP status)."""
    bm25: float | None = None
    """Keyword score (higher is better)."""
    bm25_rank: int | None = None
    """Rank by keyword score."""
    cosine: float | None = None
    """Similarity of meaning between the query and the entry's best embedded field."""
    dense_rank: int | None = None
    """Rank by meaning."""

    def to_dict(self) -> dict[str, Any]:
        """The signals as the JSON ``why.signals`` object."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Signals:
        """The inverse of ``to_dict``; unknown keys are ignored, None gives empty signals."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass(frozen=True)
class MatchedEvidence:
    """What in the query points at the entry: an entry pattern, an error type or an HTTP status."""

    __pydantic_config__ = _DOCUMENTED

    level: str
    """"specific" (decides alone) or "generic" (ranks; decides only with agent context)."""
    kind: str
    """"pattern", "error_type" or "http_status"."""
    text: str
    """The text of the query that matched (the status as digits for "http_status")."""
    pattern: str | None = None
    """The entry pattern that matched (kind "pattern" only)."""

    def to_dict(self) -> dict[str, Any]:
        """The evidence as JSON (``pattern`` only for a pattern match)."""
        if self.kind == "pattern":
            return {"level": self.level, "kind": self.kind, "pattern": self.pattern, "text": self.text}
        return {"level": self.level, "kind": self.kind, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchedEvidence:
        """The inverse of ``to_dict``; raises KeyError when ``level``, ``kind`` or ``text`` is missing."""
        return cls(level=data["level"], kind=data["kind"], text=data["text"], pattern=data.get("pattern"))


@dataclass(frozen=True)
class DecisionTrace:
    """How ``matched`` was decided for the top result (``synapse_ai.kb.search.decide_matched``)."""

    __pydantic_config__ = _DOCUMENTED

    rule: str
    """The rule that decided: "specific", "generic+context", "meaning", "meaning+keywords", or why none did
    ("flagged-incorrect": several keys reported the entry and no moderator has reviewed it yet)."""
    generic_candidates: int
    """How many entries the generic evidence points at."""
    lead: float | None
    """The top result's cosine minus the best other entry's (null without meaning scores)."""
    error_text: bool
    """Whether the query was read as a failure's output rather than a question."""
    context: tuple[str, ...]
    """The agent or LLM-API context found in the query."""
    blocks: tuple[dict[str, Any], ...]
    """The first error blocks found (kind, error_type, message, repeats)."""

    def to_dict(self) -> dict[str, Any]:
        """The trace as JSON (tuples as lists)."""
        return {
            "rule": self.rule,
            "generic_candidates": self.generic_candidates,
            "lead": self.lead,
            "error_text": self.error_text,
            "context": list(self.context),
            "blocks": [dict(b) for b in self.blocks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionTrace:
        """The inverse of ``to_dict``; raises KeyError when a required key is missing."""
        return cls(
            rule=data["rule"],
            generic_candidates=data["generic_candidates"],
            lead=data.get("lead"),
            error_text=data["error_text"],
            context=tuple(data.get("context") or ()),
            blocks=tuple(dict(b) for b in data.get("blocks") or ()),
        )


class Reason(NamedTuple):
    """One piece of evidence in words.  ``kind`` names it for styling ("pattern", "keywords",
    "meaning"); ``text`` is the full phrase (the search page); ``brief`` the terminal's short form."""

    kind: str
    text: str
    brief: str


@dataclass(frozen=True)
class Why:
    """Why a result was found and where to look in the entry."""

    __pydantic_config__ = _DOCUMENTED

    pattern: str | None = None
    """The entry pattern that matched the query, if any."""
    pattern_text: str | None = None
    """The text of the query that pattern matched."""
    evidence: MatchedEvidence | None = None
    """The strongest evidence pointing at the entry, if any."""
    section: str | None = None
    """The section the match points to."""
    snippet: str = ""
    """Text around the match; matched terms wrapped in **…**."""
    signals: Signals = field(default_factory=Signals)
    """Ranks and scores of each retriever."""
    feedback: Feedback | None = None
    """Confirmations and open "incorrect" flags, when the search was given them and anyone gave any."""
    decision: DecisionTrace | None = None
    """How ``matched`` was decided; on the top result only."""

    @property
    def matched_on(self) -> str | None:
        """The pattern evidence as it reads best: the query's matching text, else the pattern."""
        return self.pattern_text or self.pattern

    def reasons(self) -> list[Reason]:
        """The evidence in words, strongest first (empty when only the fused rank put it here)."""
        out: list[Reason] = []
        if self.pattern:
            out.append(Reason("pattern", f"Error pattern matched: {self.matched_on}", "error pattern"))
        if self.signals.bm25 is not None:
            out.append(Reason("keywords", f"Keywords (rank {self.signals.bm25_rank})", "keywords"))
        if self.signals.cosine is not None:
            cosine = self.signals.cosine
            out.append(Reason("meaning", f"Meaning (similarity {cosine:.2f})", f"meaning {cosine:.2f}"))
        return out

    def for_agent(self) -> dict[str, str]:
        """What a model can act on (the pattern, the section, the snippet), without ranking internals;
        empty parts left out.  The agent tools answer with this."""
        parts = (("pattern", self.pattern), ("section", self.section), ("snippet", self.snippet))
        return {key: value for key, value in parts if value}

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``why`` object; ``decision`` appears on the top result only."""
        data: dict[str, Any] = {
            "pattern": self.pattern,
            "pattern_text": self.pattern_text,
            "evidence": self.evidence.to_dict() if self.evidence else None,
            "section": self.section,
            "snippet": self.snippet,
            "signals": self.signals.to_dict(),
        }
        if self.feedback is not None:
            data["feedback"] = self.feedback.to_dict()
        if self.decision is not None:
            data["decision"] = self.decision.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Why:
        """The inverse of ``to_dict`` (missing keys take their defaults)."""
        data = data or {}
        evidence, decision, said = data.get("evidence"), data.get("decision"), data.get("feedback")
        return cls(
            pattern=data.get("pattern"),
            pattern_text=data.get("pattern_text"),
            evidence=MatchedEvidence.from_dict(evidence) if evidence else None,
            section=data.get("section"),
            snippet=data.get("snippet") or "",
            signals=Signals.from_dict(data.get("signals")),
            feedback=Feedback(said.get("confirmations", 0), said.get("incorrect_flags", 0)) if said else None,
            decision=DecisionTrace.from_dict(decision) if decision else None,
        )
