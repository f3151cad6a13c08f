"""What crawlers and feed readers ask for: /sitemap.xml, /robots.txt, /feed.xml (Atom) and /favicon.ico.

Every absolute URL comes from ``synapse_ai.web.urls`` (the configured public address, never the
``Host`` header).  XML is built with ElementTree, so titles written by contributors are escaped by
the serialiser, not by hand.
"""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, time
from functools import lru_cache
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from synapse_ai.kb.model import CATEGORIES
from synapse_ai.web.deps import KB
from synapse_ai.web.tags import canonical_counts
from synapse_ai.web.urls import absolute_url

router = APIRouter(include_in_schema=False)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50  # entries in the feed: the most recently updated

# Private or per-visitor pages: nothing for a search engine there.
ROBOTS_DISALLOW = ("/admin", "/api/", "/submissions/", "/entries/*/edit", "/search")


def _xml(root: ET.Element, media_type: str) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type=media_type)


def _timestamp(day) -> str:
    """RFC 3339 (Atom's date format) for an entry's date: midnight UTC of that day."""
    return datetime.combine(day, time(0, 0), UTC).isoformat().replace("+00:00", "Z")


@router.get("/sitemap.xml", name="sitemap")
def sitemap(request: Request, kb: KB):
    urlset = ET.Element("urlset", xmlns=SITEMAP_NS)

    def add(loc: str, lastmod: str | None = None) -> None:
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = loc
        if lastmod:
            ET.SubElement(url, "lastmod").text = lastmod

    for name in ("home", "entries", "categories", "tags"):
        add(absolute_url(request, name))
    counts = dict(kb.categories())
    for category in CATEGORIES:
        if counts.get(category):
            add(absolute_url(request, "category", name=category))
    for tag, _count in canonical_counts(kb.tags()):  # only canonical tags have pages
        add(absolute_url(request, "tag", tag=tag))
    for entry in kb.list_entries():
        add(absolute_url(request, "entry", slug=entry.slug), entry.updated.isoformat())
    return _xml(urlset, "application/xml")


@router.get("/robots.txt", name="robots", response_class=PlainTextResponse)
def robots(request: Request):
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW), ""]
    lines += [f"Sitemap: {absolute_url(request, 'sitemap')}", ""]
    return PlainTextResponse("\n".join(lines))


@router.get("/feed.xml", name="feed")
def feed(request: Request, kb: KB):
    """Atom: new and updated entries, most recently updated first.  An entry's id is its page URL, so a
    reader shows an updated entry as updated, not as a new one."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        element.text = text
        return element

    entries = sorted(kb.list_entries(), key=lambda e: (e.updated, e.created, e.slug), reverse=True)[:FEED_SIZE]
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(root, "title", "SynapseAI: new and updated fixes")
    sub(root, "subtitle", "Fixes for errors and slowdowns in AI agents.")
    sub(root, "id", absolute_url(request, "home"))
    sub(root, "link", rel="self", type="application/atom+xml", href=absolute_url(request, "feed"))
    sub(root, "link", rel="alternate", type="text/html", href=absolute_url(request, "home"))
    sub(root, "updated", _timestamp(entries[0].updated) if entries else "1970-01-01T00:00:00Z")
    sub(sub(root, "author"), "name", "SynapseAI contributors")
    for e in entries:
        item = sub(root, "entry")
        url = absolute_url(request, "entry", slug=e.slug)
        sub(item, "title", e.title)
        sub(item, "id", url)
        sub(item, "link", rel="alternate", type="text/html", href=url)
        sub(item, "published", _timestamp(e.created))
        sub(item, "updated", _timestamp(e.updated))
        sub(item, "category", term=e.category)
        sub(item, "summary", f"{e.summary}\n\nQuick fix: {e.quick_fix}" if e.quick_fix else e.summary)
    return _xml(root, "application/atom+xml")


def _png(size: int) -> bytes:
    """The brand mark (a violet square with three white nodes) as a PNG, drawn without an image library."""
    violet, white = (0x5B, 0x4C, 0xDB, 255), (255, 255, 255, 255)
    nodes = [(7 / 24, 7 / 24), (17.5 / 24, 8.5 / 24), (10.5 / 24, 17.5 / 24)]
    radius = 2.6 / 24 * size
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            cx, cy = x + 0.5, y + 0.5
            on_node = any((cx - nx * size) ** 2 + (cy - ny * size) ** 2 <= radius**2 for nx, ny in nodes)
            row.extend(white if on_node else violet)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    pixels = zlib.compress(b"".join(rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@lru_cache(maxsize=1)
def favicon_bytes(size: int = 32) -> bytes:
    """An ICO file holding one PNG image (the form every current browser reads)."""
    png = _png(size)
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 6 + 16)
    return directory + entry + png


@router.get("/favicon.ico", name="favicon")
def favicon():
    return Response(favicon_bytes(), media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})
