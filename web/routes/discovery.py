"""What crawlers, feed readers and browsers ask for by convention: /robots.txt, /sitemap.xml, /feed.xml
(Atom: the newest and most recently updated entries) and /favicon.ico.

Every address in them is absolute and comes from ``SYNAPSE_PUBLIC_URL`` (``url_for`` after
``security.PublicUrlMiddleware``), never from the request's ``Host`` header, so a forged header
cannot put another site's links into a cached sitemap or feed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from synapse_ai.kb.model import CATEGORIES
from synapse_ai.web.deps import KB

router = APIRouter(include_in_schema=False)

FEED_ENTRIES = 30


def _xml(body: str, media_type: str) -> Response:
    return Response('<?xml version="1.0" encoding="utf-8"?>\n' + body, media_type=f"{media_type}; charset=utf-8")


def _stamp(day: date) -> str:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


@router.get("/robots.txt", name="robots")
def robots(request: Request) -> PlainTextResponse:
    """Crawl everything but moderation and the submitters' private status pages."""
    lines = ["User-agent: *", "Disallow: /admin", "Disallow: /submissions/", f"Sitemap: {request.url_for('sitemap')}"]
    return PlainTextResponse("\n".join(lines) + "\n")


@router.get("/sitemap.xml", name="sitemap")
def sitemap(request: Request, kb: KB) -> Response:
    """Every public page with content: home, lists, categories and each entry (with its last update)."""
    urls = [(str(request.url_for(name)), None) for name in ("home", "entries", "categories", "tags")]
    urls += [(str(request.url_for("category", name=c)), None) for c in CATEGORIES]
    urls += [(str(request.url_for("entry", slug=e.slug)), e.updated) for e in kb.list_entries()]
    rows = "".join(
        f"<url><loc>{escape(loc)}</loc>{f'<lastmod>{day.isoformat()}</lastmod>' if day else ''}</url>\n"
        for loc, day in urls
    )
    return _xml(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{rows}</urlset>\n', "application/xml")


@router.get("/feed.xml", name="feed")
def feed(request: Request, kb: KB) -> Response:
    """Atom feed of new and updated entries, most recently updated first."""
    entries = sorted(kb.list_entries(), key=lambda e: (e.updated, e.created, e.slug), reverse=True)[:FEED_ENTRIES]
    home, self_url = str(request.url_for("home")), str(request.url_for("feed"))
    items = []
    for e in entries:
        link = str(request.url_for("entry", slug=e.slug))
        items.append(
            f"<entry><title>{escape(e.title)}</title><link href=\"{escape(link)}\"/><id>{escape(link)}</id>"
            f"<published>{_stamp(e.created)}</published><updated>{_stamp(e.updated)}</updated>"
            f"<category term=\"{escape(e.category)}\"/><summary>{escape(e.summary)}</summary></entry>\n"
        )
    updated = _stamp(entries[0].updated) if entries else _stamp(date.today())
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>SynapseAI: new and updated fixes</title><id>{escape(self_url)}</id><updated>{updated}</updated>\n"
        f'<link rel="self" href="{escape(self_url)}"/><link href="{escape(home)}"/>\n' + "".join(items) + "</feed>\n"
    )
    return _xml(body, "application/atom+xml")


@router.get("/favicon.ico", name="favicon")
def favicon(request: Request) -> RedirectResponse:
    """Browsers and tools ask for /favicon.ico whatever the page says; the icon is an SVG."""
    return RedirectResponse(str(request.url_for("static", path="favicon.svg")), status_code=301)
