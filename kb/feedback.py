"""What people and agents say about entries, as a bounded prior over the fused ranking.  Pure.

Confirmations ("this fixed it", counted once per key) are evidence that an entry is *right*, not
that it is *relevant to this query*: a popular entry must not push a better-matching one down.  So
the prior is small and bounded, and it never lifts an entry past a specific-evidence hit (the
entry's own error text) ranked above it.  Open ``incorrect`` flags from several distinct keys
demote an entry below every other candidate until a moderator reviews it (resolves the flags).

``apply_feedback`` works on the fused ``(id, score)`` list of ``kb.fusion.rrf``; the counts come from
whoever keeps them (the site store), through a ``FeedbackLookup`` the caller passes to the search,
asked only for the candidates that could reach the shown results (``gather_feedback``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from synapse_ai.kb.fusion import RRF_K

# At most half of what rank 1 in one unit-weight retriever is worth: enough to order near-ties,
# never enough to jump a clear gap.
PRIOR_MAX = 0.5 / (RRF_K + 1)
PRIOR_HALF = 3  # confirmations at which the bonus reaches half of PRIOR_MAX (it saturates after)
DEMOTE_AT = 3  # distinct keys with an open ``incorrect`` flag that demote an entry


@dataclass(frozen=True)
class Feedback:
    """What distinct voters (API keys, the moderator, the local user) said about one entry."""

    __pydantic_config__ = {"use_attribute_docstrings": True}  # the API schema's field descriptions

    confirmations: int = 0
    """Distinct voters who said its fix worked."""
    incorrect_flags: int = 0
    """Distinct voters with an open "incorrect" flag on it."""

    @property
    def demoted(self) -> bool:
        """Whether at least ``DEMOTE_AT`` voters flagged it incorrect. Raises nothing of its own."""
        return self.incorrect_flags >= DEMOTE_AT

    def to_dict(self) -> dict:
        """The counts and ``demoted`` as a JSON-ready dict. Raises nothing of its own."""
        return {"confirmations": self.confirmations, "incorrect_flags": self.incorrect_flags, "demoted": self.demoted}


FeedbackLookup = Callable[[Sequence[str]], Mapping[str, Feedback]]


def confirmation_bonus(confirmations: int) -> float:
    """Grows with the first few confirmations and saturates below ``PRIOR_MAX``."""
    n = max(0, confirmations)
    return PRIOR_MAX * n / (n + PRIOR_HALF)


def in_reach(fused: Sequence[tuple[str, float]], shown: int) -> list[str]:
    """The candidates that feedback could place among the first ``shown``: confirmations move an
    entry up by less than ``PRIOR_MAX``, so one scoring below the ``shown``-th by more than that
    cannot get there.  (Demotions free places: ask again with ``shown`` raised by their number.)"""
    if shown <= 0 or not fused:
        return []
    floor = fused[min(shown, len(fused)) - 1][1] - PRIOR_MAX
    return [slug for slug, score in fused if score >= floor]


def gather_feedback(fused: Sequence[tuple[str, float]], shown: int, lookup: FeedbackLookup) -> dict[str, Feedback]:
    """The feedback of every candidate in reach of the first ``shown`` places, asked in as few
    calls as the demotions allow (usually one).  Counts for candidates out of reach cannot change
    what is shown, and asking for all of them costs milliseconds per search on a busy server."""
    said: dict[str, Feedback] = {}
    asked: set[str] = set()
    while True:
        demoted = sum(1 for found in said.values() if found.demoted)
        missing = [slug for slug in in_reach(fused, shown + demoted) if slug not in asked]
        if not missing:
            return said
        asked.update(missing)
        said.update(lookup(missing))


def apply_feedback(
    fused: Sequence[tuple[str, float]], feedback: Mapping[str, Feedback], specific: set[str] | frozenset[str]
) -> list[tuple[str, float]]:
    """The fused list re-ordered by feedback, with adjusted scores.

    * Each entry gains ``confirmation_bonus``, capped so it never exceeds the score of a
      ``specific`` hit ranked above it (ties keep the original order, so it stays below).
    * Demoted entries (``Feedback.demoted``) go after all others, in their original order.
    * Without feedback the list comes back unchanged.
    """
    adjusted: list[tuple[bool, float, int, str]] = []
    ceiling: float | None = None
    for position, (slug, score) in enumerate(fused):
        found = feedback.get(slug)
        new = score + (confirmation_bonus(found.confirmations) if found else 0.0)
        if ceiling is not None:
            new = min(new, max(ceiling, score))
        adjusted.append((bool(found and found.demoted), new, position, slug))
        if slug in specific:
            ceiling = score if ceiling is None else min(ceiling, score)
    adjusted.sort(key=lambda item: (item[0], -item[1], item[2]))
    return [(slug, score) for _demoted, score, _position, slug in adjusted]
