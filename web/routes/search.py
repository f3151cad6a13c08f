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

from synapse_ai.kb.errors import UserError
from synapse_ai.kb.limits import MAX_RESULTS
from synapse_ai.kb.model import CATEGORIES
from synapse_ai.kb.search import SearchFilter
from synapse_ai.kb.service import KnowledgeBase
from synapse_ai.kb.signature import MAX_SCAN
from synapse_ai.web.deps import KB, Site
from synapse_ai.web.tags import canonical_counts, canonical_tag
from synapse_ai.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_QUERY_CHARS = MAX_SCAN  # the page searches at most this much of a pasted log, and says when it cut
PAGE_SIZE = 10  # results per page on /search


class FilterError(UserError, ValueError):
    """A category or tag that does not exist: a 422 in the API, a note on the page."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def search_filter(kb: KnowledgeBase, category: str, tag: str) -> SearchFilter:
    """The filter a request asks for, checked against what exists (FilterError names the field)."""
    category, asked = category.strip(), tag.strip()
    if category and category not in CATEGORIES:
        raise FilterError("category", f"unknown category '{category[:60]}'; one of: {', '.join(CATEGORIES)}")
    tag = canonical_tag(asked) if asked else ""  # "retry" finds the entries tagged "retries"
    if asked and tag not in {t for t, _n in kb.tags()}:
        raise FilterError("tag", f"no entry is tagged '{asked[:60]}'")
    return SearchFilter(category or None, tag or None)


def page_bounds(offset: int, limit: int) -> str | None:
    """Why ``offset`` + ``limit`` asks past the last result a search serves (None: it does not)."""
    if offset + limit > MAX_RESULTS:
        return f"a search serves its best {MAX_RESULTS} results only: offset + limit must be at most {MAX_RESULTS}"
    return None


@router.get("/search", response_class=HTMLResponse, name="search")
def search_page(
    request: Request,
    kb: KB,
    site: Site,
    q: Annotated[str, Query(description="Question, symptom or error text")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = PAGE_SIZE,
    category: str = "",
    tag: str = "",
    page: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 1,
):
    """The search page: results with why each matched (the same search as the API and the CLI)."""
    query = q.strip()
    notice = filter_error = None
    try:
        only = search_filter(kb, category, tag)
    except FilterError as exc:
        only, filter_error = SearchFilter(), f"{exc}. Showing results from every entry instead."
    offset = (page - 1) * limit
    if page_bounds(offset, limit):
        offset, page = 0, 1
        notice = f"Only the best {MAX_RESULTS} results are shown; here is the first page."
    if len(query) > MAX_QUERY_CHARS:
        query = query[-MAX_QUERY_CHARS:]  # the end of a log is where the error is
        notice = f"Your query was long, so only its last {MAX_QUERY_CHARS:,} characters were searched."
    context: dict = {
        "q": q if len(q) <= MAX_QUERY_CHARS else query,
        "notice": notice,
        "results": [],
        "matched": False,
        "searched": False,
    }
    context.update(
        category=only.category or "",
        tag=only.tag or "",
        filter_error=filter_error,
        page=page,
        limit=limit,
        has_more=False,
        filter_tags=[t for t, _n in canonical_counts(kb.tags())],
    )
    if query:
        # one more than the page: is there a next page?
        response = kb.search(query, offset + limit + 1, feedback=site.feedback_for, only=only)
        stars = site.star_counts()
        shown = response.results[offset : offset + limit]
        context.update(
            searched=True,
            matched=response.matched and page == 1,
            results=[(r, r.why.reasons(), stars.get(r.slug, 0)) for r in shown],
            has_more=len(response.results) > offset + limit and offset + 2 * limit <= MAX_RESULTS,
        )
    return render(request, "search.html", context)
