"""Browsing pages: home, the entry list, categories, tags, and the offline API reference at /docs.

Routes are plain ``def`` functions: they read SQLite, so FastAPI runs them in its threadpool and a
slow query never blocks the event loop.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from synapse_ai.kb.model import CATEGORIES
from synapse_ai.web.deps import KB, ClientId, Site
from synapse_ai.web.errors import SiteError
from synapse_ai.web.sitestore import SiteStore
from synapse_ai.web.tags import canonical_counts, canonical_tag, spellings
from synapse_ai.web.templating import render

router = APIRouter(include_in_schema=False)


def _mtime(entry) -> int:
    try:
        return entry.path.stat().st_mtime_ns if entry.path else 0
    except OSError:
        return 0


def _by_recency(entries):
    """Newest first by ``created``; entries created the same day by when their file was written,
    so a just-approved submission leads the list."""
    return sorted(entries, key=lambda e: (e.created, _mtime(e)), reverse=True)


@router.get("/", response_class=HTMLResponse, name="home")
def home(request: Request, kb: KB, site: Site):
    """The home page: categories with counts, tags, the most starred and the newest entries."""
    entries = kb.list_entries()
    stars = site.star_counts()
    by_slug = {e.slug: e for e in entries}
    starred = [(by_slug[s], n) for s, n in sorted(stars.items(), key=lambda kv: (-kv[1], kv[0])) if s in by_slug][:5]
    counts = dict(kb.categories())
    return render(
        request,
        "home.html",
        {
            "total": len(entries),
            "categories": [(c, counts.get(c, 0)) for c in CATEGORIES],
            "tags": canonical_counts(kb.tags())[:36],
            "most_starred": starred,
            "recent": _by_recency(entries)[:6],
            "stars": stars,
        },
    )


LIST_PAGE_SIZE = 24  # entry cards per page on /entries, category and tag pages
# Sort keys of the entry lists: "confirmed" counts "this fixed it" confirmations, "stars" stars.
LIST_SORTS = {"newest": "Newest", "confirmed": "Most confirmed", "stars": "Most starred", "title": "Title"}


def _listing(entries, site: SiteStore, stars: dict[str, int], sort: str, page: int) -> dict:
    """One page of an entry list in the asked order, with what the sort and pager controls need."""
    if sort not in LIST_SORTS:
        sort = "newest"
    if sort == "newest":
        entries = _by_recency(entries)
    elif sort in ("stars", "confirmed"):
        counts = stars if sort == "stars" else site.confirmation_counts()
        entries = sorted(_by_recency(entries), key=lambda e: -counts.get(e.slug, 0))  # stable: ties newest first
    pages = max(1, -(-len(entries) // LIST_PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    return {"entries": shown, "total": len(entries), "sort": sort, "sorts": LIST_SORTS, "page": page, "pages": pages}


@router.get("/entries", response_class=HTMLResponse, name="entries")
def all_entries(request: Request, kb: KB, site: Site, sort: str = "newest", page: int = 1):
    """Every entry, sorted and paged."""
    stars = site.star_counts()
    context = {"heading": "All entries", "description": "Every solution in the knowledge base.", "stars": stars}
    context["kind"] = "all"
    return render(request, "list.html", context | _listing(kb.list_entries(), site, stars, sort, page))


@router.get("/categories", response_class=HTMLResponse, name="categories")
def categories(request: Request, kb: KB):
    """The categories with their entry counts."""
    counts = dict(kb.categories())
    return render(request, "categories.html", {"categories": [(c, counts.get(c, 0)) for c in CATEGORIES]})


@router.get("/categories/{name}", response_class=HTMLResponse, name="category")
def category(request: Request, name: str, kb: KB, site: Site, sort: str = "newest", page: int = 1):
    """The entries of one category, sorted and paged; 404 for an unknown category."""
    if name not in CATEGORIES:
        raise SiteError(404, f"There is no category “{name}”.")
    from synapse_ai.web.templating import category_description, category_label

    stars = site.star_counts()
    return render(
        request,
        "list.html",
        {
            "heading": category_label(name),
            "description": category_description(name),
            "stars": stars,
            "kind": "category",
            "name": name,
        }
        | _listing(kb.list_entries(category=name), site, stars, sort, page),
    )


@router.get("/tags", response_class=HTMLResponse, name="tags")
def tags(request: Request, kb: KB):
    """Every canonical tag with its entry count."""
    return render(request, "tags.html", {"tags": canonical_counts(kb.tags())})


@router.get("/tags/{tag}", response_class=HTMLResponse, name="tag")
def tag(request: Request, tag: str, kb: KB, site: Site, sort: str = "newest", page: int = 1):
    """Canonical tags only: another spelling of a tag redirects to its canonical page, which lists the
    entries under every spelling of it."""
    canonical = canonical_tag(tag)
    if not canonical:
        raise SiteError(404, f"No entry is tagged “{tag[:100]}”.")
    if canonical != tag:
        return RedirectResponse(request.app.url_path_for("tag", tag=canonical), status_code=301)
    by_slug = {e.slug: e for spelling in spellings(canonical, kb.tags()) for e in kb.list_entries(tag=spelling)}
    entries = sorted(by_slug.values(), key=lambda e: e.title.lower())
    if not entries:
        raise SiteError(404, f"No entry is tagged “{tag}”.")
    stars = site.star_counts()
    context = {"heading": f"Tag: {tag}", "description": f"Entries tagged “{tag}”.", "stars": stars}
    context |= {"kind": "tag", "name": tag}
    return render(request, "list.html", context | _listing(entries, site, stars, sort, page))


def _operations(spec: dict) -> list[dict]:
    """Flatten an OpenAPI document into the rows the reference page shows."""
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ops.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": body.get("$ref", "").rsplit("/", 1)[-1] if body else "",
                    "responses": [(code, r.get("description", "")) for code, r in op.get("responses", {}).items()],
                    "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "").strip("-"),
                }
            )
    return ops


@router.get("/docs", response_class=HTMLResponse, name="docs")
def api_docs(request: Request, _client: ClientId):
    """A self-hosted API reference rendered from /openapi.json (FastAPI's Swagger UI needs a CDN)."""
    spec = request.app.openapi()
    schemas = {
        name: json.dumps(schema, indent=2) for name, schema in spec.get("components", {}).get("schemas", {}).items()
    }
    return render(request, "docs.html", {"spec": spec, "operations": _operations(spec), "schemas": schemas})
