"""How many results a caller may ask for: one rule, one function, each surface's own maximum.

The CLI, the site and the JSON API return at most ``MAX_RESULTS``; the agent tools and MCP at most
their own, smaller ``MAX_LIMIT`` (a model reads every result it is given).  Kept in a module of its
own, importing nothing, so ``synapse_ai.kb.cli`` can name the maximum in its options without loading search.
"""

from __future__ import annotations

MAX_RESULTS = 50  # the most results one search returns (CLI, site, API)


def clamp_limit(limit: int, maximum: int = MAX_RESULTS) -> int:
    """``limit`` brought into 1..``maximum``.  Asking for too many is answered with the most there
    may be, not refused; callers that refuse instead (click, FastAPI) declare the same bounds."""
    return max(1, min(int(limit), maximum))
