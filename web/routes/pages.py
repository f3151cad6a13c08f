"""Browsing pages: home, the entry list, categories, tags, and the offline API reference at /docs.

Routes are plain ``def`` functions: they read SQLite, so FastAPI runs them in its threadpool and a
slow query never blocks the event loop.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from synapse_ai.kb.model import CATEGORIES
from synapse_ai.web.deps import KB, ClientId, Site
from synapse_ai.web.errors import SiteError
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


PAGE_SIZE = 30
SORTS = {"title": "A to Z", "newest": "Newest", "starred": "Most starred", "confirmed": "Most confirmed"}


def _listing(request: Request, site, entries: list, sort: str, page: int) -> dict:
    """One page of ``entries`` in the chosen order, with what the sort and pager links need.  An
    unknown sort is the default (A to Z); a page past the end is the last page."""
    sort = sort if sort in SORTS else "title"
    stars = site.star_counts()
    if sort == "newest":
        entries = _by_recency(entries)
    elif sort == "starred":
        entries = sorted(entries, key=lambda e: -stars.get(e.slug, 0))  # stable: A to Z among equals
    elif sort == "confirmed":
        feedback = site.feedback_for([e.slug for e in entries])
        entries = sorted(entries, key=lambda e: -(feedback[e.slug].confirmations if e.slug in feedback else 0))
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(max(1, page), pages)
    base = request.url.remove_query_params(["page", "sort"])
    return {
        "entries": entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(entries),
        "stars": stars,
        "sort": sort,
        "sorts": [(key, label, str(base.include_query_params(sort=key))) for key, label in SORTS.items()],
        "page": page,
        "pages": pages,
        "page_url": lambda n: str(base.include_query_params(sort=sort, page=n)),
    }


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
            "tags": kb.tags()[:36],
            "most_starred": starred,
            "recent": _by_recency(entries)[:6],
            "stars": stars,
        },
    )


@router.get("/entries", response_class=HTMLResponse, name="entries")
def all_entries(request: Request, kb: KB, site: Site, sort: str = "title", page: int = 1):
    """Every entry, listed, sorted and paged."""
    listing = _listing(request, site, kb.list_entries(), sort, page)
    return render(
        request,
        "list.html",
        {"heading": "All entries", "description": "Every solution in the knowledge base.", "kind": "all", **listing},
    )


@router.get("/categories", response_class=HTMLResponse, name="categories")
def categories(request: Request, kb: KB):
    """The categories with their entry counts."""
    counts = dict(kb.categories())
    return render(request, "categories.html", {"categories": [(c, counts.get(c, 0)) for c in CATEGORIES]})


@router.get("/categories/{name}", response_class=HTMLResponse, name="category")
def category(request: Request, name: str, kb: KB, site: Site, sort: str = "title", page: int = 1):
    """The entries of one category; 404 for an unknown category."""
    if name not in CATEGORIES:
        raise SiteError(404, f"There is no category “{name}”.")
    from synapse_ai.web.templating import category_description, category_label

    return render(
        request,
        "list.html",
        {
            "heading": category_label(name),
            "description": category_description(name),
            "kind": "category",
            "name": name,
            **_listing(request, site, kb.list_entries(category=name), sort, page),
        },
    )


@router.get("/tags", response_class=HTMLResponse, name="tags")
def tags(request: Request, kb: KB):
    """Every tag with its entry count."""
    return render(request, "tags.html", {"tags": kb.tags()})


@router.get("/tags/{tag}", response_class=HTMLResponse, name="tag")
def tag(request: Request, tag: str, kb: KB, site: Site, sort: str = "title", page: int = 1):
    """The entries with one tag; 404 when none has it."""
    entries = kb.list_entries(tag=tag)
    if not entries:
        raise SiteError(404, f"No entry is tagged “{tag}”.")
    listing = _listing(request, site, entries, sort, page)
    return render(
        request,
        "list.html",
        {"heading": f"Tag: {tag}", "description": f"Entries tagged “{tag}”.", "kind": "tag", "name": tag,
         **listing},
    )


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
    schemas = {name: json.dumps(schema, indent=2) for name, schema in spec.get("components", {}).get("schemas", {}).items()}
    return render(request, "docs.html", {"spec": spec, "operations": _operations(spec), "schemas": schemas})
