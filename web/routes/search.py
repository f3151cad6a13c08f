"""The search results page.

Whatever is typed goes to ``KnowledgeBase.search`` unchanged (kb quotes every term for FTS5, so
operators, quotes and unbalanced parentheses are just words); only the length is capped.  When
``matched`` is false the page says plainly that nothing fits confidently and still lists the nearest
entries, because a near miss is often the right neighbourhood.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from synapse_ai.kb.limits import MAX_RESULTS
from synapse_ai.kb.signature import MAX_SCAN
from synapse_ai.web.deps import KB, Site
from synapse_ai.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_QUERY_CHARS = MAX_SCAN  # the page searches at most this much of a pasted log, and says when it cut


@router.get("/search", response_class=HTMLResponse, name="search")
def search_page(
    request: Request,
    kb: KB,
    site: Site,
    q: Annotated[str, Query(description="Question, symptom or error text")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 10,
):
    """The search page: results with why each matched (the same search as the API and the CLI)."""
    query = q.strip()
    notice = None
    if len(query) > MAX_QUERY_CHARS:
        query = query[-MAX_QUERY_CHARS:]  # the end of a log is where the error is
        notice = f"Your query was long, so only its last {MAX_QUERY_CHARS:,} characters were searched."
    context: dict = {"q": q if len(q) <= MAX_QUERY_CHARS else query, "notice": notice, "results": [], "matched": False, "searched": False}
    if query:
        response = kb.search(query, limit, feedback=site.feedback_for)
        stars = site.star_counts()
        context.update(
            searched=True,
            matched=response.matched,
            results=[(r, r.why.reasons(), stars.get(r.slug, 0)) for r in response.results],
        )
    return render(request, "search.html", context)
