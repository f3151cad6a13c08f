"""The JSON API under /api (documented at /docs, schema at /openapi.json).

``GET /api/search`` returns exactly ``KnowledgeBase.search(q, limit).to_dict()``, the same object as
``synapse search --json``, so a client can switch between the CLI and the site without changes.
Submissions go through the same validation, flagging, honeypot and rate limit as the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from synapse_ai.kb import __version__
from synapse_ai.kb.limits import MAX_RESULTS
from synapse_ai.kb.reader import API_VERSION
from synapse_ai.kb.views import entry_to_dict
from synapse_ai.kb.why import Why
from synapse_ai.web.deps import KB, ClientId, ClientIP, CsrfProtected, Limits, Site
from synapse_ai.web.errors import SiteError
from synapse_ai.web.moderate import store_submission
from synapse_ai.web.routes.entries import find_entry
from synapse_ai.web.routes.search import MAX_QUERY_CHARS, FilterError, page_bounds, search_filter
from synapse_ai.web.security import CLIENT_COOKIE
from synapse_ai.web.submissions import Draft, api_fields, option_fields, validate

router = APIRouter(prefix="/api", tags=["api"])

ERRORS = {
    "model": None,
    "content": {"application/json": {"example": {"error": "a human-readable message", "detail": None}}},
}


def _err(description: str) -> dict:
    return {**ERRORS, "description": description}


class SearchResult(BaseModel):
    slug: str
    title: str
    summary: str
    quick_fix: str = Field(description="The fix in one breath; empty for entries written before the field.")
    category: str
    score: float
    why: Why = Field(description="Why it was found (`synapse_ai.kb.why.Why.to_dict()`).")


class SearchOut(BaseModel):
    query: str
    matched: bool = Field(description="Whether the best result is confident enough to act on.")
    results: list[SearchResult]


class SearchIn(BaseModel):
    """A search with the text in the body: long queries and no query text in URLs or access logs."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(description="A question, a symptom or an error message.")
    limit: int = Field(5, ge=1, le=MAX_RESULTS, description="Number of results.")


class MatchIn(BaseModel):
    """An error message, traceback or log to match (``synapse match``)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="The failure's output; long logs are fine (the body limit applies).")
    limit: int = Field(5, ge=1, le=MAX_RESULTS, description="Number of results.")
    lazy_meaning: bool = Field(False, description="Skip the embedding model when it cannot change `matched` (hooks).")


class HealthOut(BaseModel):
    version: str = Field(description="The server's SynapseAI version.")
    api_version: str = Field(description="The JSON API's version; clients refuse another major version.")
    model: str = Field(description="The embedding model the index was built with.")
    entries: int = Field(description="Entries in the index.")


class EntrySummary(BaseModel):
    slug: str
    title: str
    summary: str
    category: str
    tags: list[str]
    created: str
    updated: str
    stars: int
    url: str


class EntryList(BaseModel):
    count: int
    entries: list[EntrySummary]


FixOptionIn = create_model("FixOptionIn", __config__=ConfigDict(extra="forbid"), **option_fields())


class _SubmissionBody(BaseModel):
    """A new solution.  Fields mirror the entry format (see entries/README.md)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Tool calls run one after another",
                    "summary": "The agent executes independent tool calls sequentially; run them concurrently.",
                    "quick_fix": "Run all tool_use blocks of one response with asyncio.gather and return every result "
                    "in one user message.",
                    "category": "performance",
                    "tags": ["tool-use", "latency"],
                    "patterns": [],
                    "symptom": "Each turn with several tool calls takes the sum of their latencies.",
                    "root_cause": "The loop awaits each call before starting the next.",
                    "fix_options": [
                        {"title": "Run independent calls with asyncio.gather", "body": "Use `asyncio.gather`."}
                    ],
                    "environment": ["Python 3.11+"],
                    "sources": ["https://docs.python.org/3/library/asyncio-task.html"],
                    "savings": "Wall time of a turn drops to its slowest call; no token savings.",
                }
            ]
        },
    )


# The fields come from ``synapse_ai.web.submissions.Draft``, where the form's are declared too.
SubmissionIn = create_model(
    "SubmissionIn",
    __base__=_SubmissionBody,
    __doc__=_SubmissionBody.__doc__,
    **api_fields(FixOptionIn),
    website=(str, Field("", description="Leave empty.")),
)


class SubmissionOut(BaseModel):
    ref: str
    status: str
    status_url: str


class StarOut(BaseModel):
    slug: str
    stars: int
    starred: bool


NEXT_OFFSET_HEADER = "X-Next-Offset"  # set on a search page that has a next page: the offset to ask for


@router.get(
    "/search",
    name="api_search",
    summary="Search the knowledge base",
    response_model=None,
    responses={
        200: {"model": SearchOut, "description": "Same object as `synapse search --json`."},
        400: _err("Empty query."),
        413: _err("Query too long."),
        422: _err(
            "A parameter of the wrong type or out of range (detail: a list of `{loc, msg, type}`), or an unknown "
            "`category` or `tag`, or `offset + limit` past the best results (detail: `{field: name}`)."
        ),
    },
)
def api_search(
    kb: KB,
    site: Site,
    q: Annotated[str, Query(description="A question, a symptom or an error message.")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS, description="Number of results.")] = 5,
    category: Annotated[str, Query(description="Only entries of this category.")] = "",
    tag: Annotated[str, Query(description="Only entries with this tag.")] = "",
    offset: Annotated[
        int, Query(ge=0, lt=MAX_RESULTS, description=f"Skip this many results; offset + limit ≤ {MAX_RESULTS}.")
    ] = 0,
) -> JSONResponse:
    if not q.strip():
        raise SiteError(400, "empty query", {"hint": "pass q, e.g. /api/search?q=429+rate_limit_error"})
    if len(q) > MAX_QUERY_CHARS:
        raise SiteError(413, f"query too long ({len(q):,} characters; at most {MAX_QUERY_CHARS:,})")
    try:
        only = search_filter(kb, category, tag)
    except FilterError as exc:
        raise SiteError(422, str(exc), {"field": exc.field}) from exc
    too_far = page_bounds(offset, limit)
    if too_far:
        raise SiteError(422, too_far, {"field": "offset"})
    response = kb.search(q, offset + limit + 1, feedback=site.feedback_for, only=only)
    body = response.to_dict()  # the same object as ``synapse search --json``, cut to the asked page
    body["results"] = body["results"][offset : offset + limit]
    more = len(response.results) > offset + limit and offset + 2 * limit <= MAX_RESULTS
    return JSONResponse(body, headers={NEXT_OFFSET_HEADER: str(offset + limit)} if more else None)


@router.post(
    "/search",
    name="api_search_post",
    summary="Search with the query in a JSON body",
    response_model=None,
    responses={
        200: {"model": SearchOut, "description": "Same object as `GET /api/search`."},
        400: _err("Empty query."),
        413: _err("Body too large."),
    },
)
def api_search_post(body: SearchIn, kb: KB) -> JSONResponse:
    if not body.query.strip():
        raise SiteError(400, "empty query", {"hint": 'send {"query": "429 rate_limit_error"}'})
    return JSONResponse(kb.search(body.query, body.limit).to_dict())


@router.post(
    "/match",
    name="api_match",
    summary="Match an error message, traceback or log",
    response_model=None,
    responses={
        200: {"model": SearchOut, "description": "Same object as `synapse match --json`."},
        400: _err("Empty text."),
        413: _err("Body too large."),
    },
)
def api_match(body: MatchIn, kb: KB) -> JSONResponse:
    if not body.text.strip():
        raise SiteError(400, "empty text", {"hint": 'send {"text": "<the error output>"}'})
    return JSONResponse(kb.match(body.text, body.limit, lazy_meaning=body.lazy_meaning).to_dict())


@router.get("/health", name="api_health", summary="Version, API version, model, entry count", response_model=HealthOut)
def api_health(kb: KB) -> dict:
    entries = sum(n for _category, n in kb.categories())
    return {"version": __version__, "api_version": API_VERSION, "model": kb.model_id, "entries": entries}


@router.get("/entries", name="api_entries", summary="List entries", response_model=EntryList)
def api_entries(
    request: Request,
    kb: KB,
    site: Site,
    category: Annotated[str | None, Query(description="Only this category.")] = None,
    tag: Annotated[str | None, Query(description="Only entries with this tag.")] = None,
):
    stars = site.star_counts()
    entries = [
        {
            "slug": e.slug,
            "title": e.title,
            "summary": e.summary,
            "category": e.category,
            "tags": e.tags,
            "created": e.created.isoformat(),
            "updated": e.updated.isoformat(),
            "stars": stars.get(e.slug, 0),
            "url": str(request.url_for("entry", slug=e.slug)),
        }
        for e in kb.list_entries(category=category, tag=tag)
    ]
    return {"count": len(entries), "entries": entries}


@router.get(
    "/entries/{slug}",
    name="api_entry",
    summary="One entry, with its sections and fix options",
    response_model=None,
    responses={
        200: {
            "description": "`kb.views.entry_to_dict(entry)` plus `stars`: `quick_fix` and `verified` (`{date, "
            "against}` or null) first, then the sections and fix options."
        },
        404: _err("No such entry; detail.did_you_mean lists close slugs."),
    },
)
def api_entry(slug: str, kb: KB, site: Site) -> JSONResponse:
    entry = find_entry(kb, slug)
    data = entry_to_dict(entry)
    data["stars"] = site.star_count(slug)
    # The feedback loop (docs/feedback.md): distinct keys that confirmed, and the open flags.
    data["confirmations"] = site.confirmation_count(slug)
    data["flags"] = [{k: f[k] for k in ("id", "reason", "note", "created_at")} for f in site.open_entry_flags(slug)]
    return JSONResponse(data)


@router.post(
    "/submissions",
    name="api_submit",
    summary="Submit a solution for moderation",
    status_code=201,
    response_model=SubmissionOut,
    dependencies=[CsrfProtected],
    responses={
        413: _err("Body or a field too large (detail.fields)."),
        422: _err("Validation failed; detail.fields maps field names to messages."),
        429: _err("Too many submissions from this address; see Retry-After."),
    },
)
def api_submit(request: Request, body: SubmissionIn, kb: KB, site: Site, ip: ClientIP, limits: Limits):
    # A plain ``def`` route (run in the thread pool, off the event loop).  The attempt counts against
    # the limit before any validation work, whatever its outcome: refused submissions cost as much.
    wait = limits.submit.hit(ip)
    if wait:
        raise SiteError(
            429,
            f"too many submissions; try again in {wait} seconds",
            {"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    draft = Draft.from_api(body.model_dump())
    if body.website.strip():
        fake = request.app.state.signer.honeypot_ref()  # its status page answers "pending"; nothing is stored
        return {"ref": fake, "status": "pending", "status_url": str(request.url_for("submission_status", ref=fake))}
    validation = validate(draft)
    if validation.too_large:
        raise SiteError(413, "a field is too large", {"fields": validation.errors})
    if not validation.ok:
        raise SiteError(422, "validation failed", {"fields": validation.errors})
    ref = store_submission(site, draft, validation)
    return {"ref": ref, "status": "pending", "status_url": str(request.url_for("submission_status", ref=ref))}


def _star(kb, site, slug: str, client: str, ip: str, limits, on: bool, identified: bool = True) -> dict:
    find_entry(kb, slug)
    if on and not identified:
        # A request without the client cookie gets a fresh identity every time, so counting it would
        # let anyone add a star per request.  The cookie is set on this very response.
        raise SiteError(
            428,
            f"star not counted: the request had no {CLIENT_COOKIE} cookie; "
            "this response sets one, send the request again with it",
            {"retry_with_cookie": CLIENT_COOKIE},
        )
    if on:
        if not site.is_starred(slug, client):
            wait = limits.star.hit(ip)
            if wait:
                raise SiteError(
                    429,
                    f"too many stars; try again in {wait} seconds",
                    {"retry_after": wait},
                    headers={"Retry-After": str(wait)},
                )
        site.star(slug, client)
    else:
        site.unstar(slug, client)
    return {"slug": slug, "stars": site.star_count(slug), "starred": on}


@router.post(
    "/entries/{slug}/star",
    name="api_star",
    summary="Star an entry (idempotent; one star per client cookie)",
    response_model=StarOut,
    dependencies=[CsrfProtected],
    responses={
        404: _err("No such entry."),
        403: _err("An `X-CSRF-Token` not matching this client's cookie, or a body that is not JSON and has no token."),
        428: _err(f"Not counted: no `{CLIENT_COOKIE}` cookie. The response sets it; send the request again with it."),
        429: _err("Too many new stars from this address; see Retry-After."),
    },
)
def api_star(request: Request, slug: str, kb: KB, site: Site, client: ClientId, ip: ClientIP, limits: Limits):
    return _star(kb, site, slug, client, ip, limits, True, identified=request.state.cid_from_cookie)


@router.delete(
    "/entries/{slug}/star",
    name="api_unstar",
    summary="Remove this client's star",
    response_model=StarOut,
    dependencies=[CsrfProtected],
    responses={404: _err("No such entry."), 403: _err("Cookie sent without X-CSRF-Token.")},
)
def api_unstar(slug: str, kb: KB, site: Site, client: ClientId, ip: ClientIP, limits: Limits):
    return _star(kb, site, slug, client, ip, limits, False)
