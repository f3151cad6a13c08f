"""web.routes.feeds: sitemap, robots, Atom feed, favicon, and canonical links on pages."""

from __future__ import annotations

import struct
from xml.etree import ElementTree as ET

from synapse_ai.kb.freshness import tag_problem

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_sitemap_lists_pages_entries_with_lastmod_and_only_canonical_tags(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SM}urlset"
    urls = {u.find(f"{SM}loc").text: u.find(f"{SM}lastmod") for u in root.findall(f"{SM}url")}
    entries = client.app.state.kb.list_entries()
    for e in entries:
        lastmod = urls[f"http://testserver/entries/{e.slug}"]
        assert lastmod is not None and lastmod.text == e.updated.isoformat()
    assert "http://testserver/" in urls and "http://testserver/categories/api-errors" in urls
    tag_urls = [u for u in urls if "/tags/" in u]
    assert tag_urls and all(tag_problem(u.rsplit("/", 1)[1]) is None for u in tag_urls)


def test_robots_points_at_the_sitemap_and_keeps_crawlers_out_of_private_pages(client):
    text = client.get("/robots.txt").text
    assert "User-agent: *" in text and "Disallow: /admin" in text and "Disallow: /api/" in text
    assert "Sitemap: http://testserver/sitemap.xml" in text


def test_feed_is_atom_with_required_elements_newest_update_first(client):
    response = client.get("/feed.xml")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    items = root.findall(f"{ATOM}entry")
    assert 0 < len(items) <= 50
    for item in items:
        for required in ("id", "title", "updated", "link", "summary"):
            assert item.find(f"{ATOM}{required}") is not None, required
        assert item.find(f"{ATOM}updated").text.endswith("T00:00:00Z")
    updated = [i.find(f"{ATOM}updated").text for i in items]
    assert updated == sorted(updated, reverse=True)
    assert root.find(f"{ATOM}updated").text == updated[0]
    assert items[0].find(f"{ATOM}id").text.startswith("http://testserver/entries/")


def test_favicon_is_an_ico_holding_a_png(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/x-icon"
    reserved, kind, count = struct.unpack("<HHH", response.content[:6])
    assert (reserved, kind, count) == (0, 1, 1)
    width, height, *_rest, size, offset = struct.unpack("<BBBBHHII", response.content[6:22])
    assert (width, height) == (32, 32) and offset == 22 and size == len(response.content) - 22
    assert response.content[22:30] == b"\x89PNG\r\n\x1a\n"


def test_pages_carry_a_canonical_link_without_the_query_and_a_feed_link(client, dom):
    tree = dom(client.get("/entries/rate-limit-429?utm=x").text)
    links = {(link.attrs.get("rel"), link.attrs.get("href")) for link in tree.find_all("link")}
    assert ("canonical", "http://testserver/entries/rate-limit-429") in links
    assert ("alternate", "http://testserver/feed.xml") in links


def test_canonical_and_feed_links_use_the_configured_public_url_not_host(make_app, dom):
    from fastapi.testclient import TestClient

    with TestClient(make_app(public_url="https://kb.example.org")) as c:
        tree = dom(c.get("/tags", headers={"Host": "evil.example"}).text)
        canonical = [link.attrs["href"] for link in tree.find_all("link") if link.attrs.get("rel") == "canonical"]
        assert canonical == ["https://kb.example.org/tags"]
        feeds = [link.attrs["href"] for link in tree.find_all("link") if link.attrs.get("rel") == "alternate"]
        assert feeds == ["https://kb.example.org/feed.xml"]
        assert "https://kb.example.org/entries/" in c.get("/feed.xml", headers={"Host": "evil.example"}).text
        for path in ("/robots.txt", "/sitemap.xml", "/feed.xml"):
            text = c.get(path, headers={"Host": "evil.example"}).text
            assert "evil.example" not in text and "https://kb.example.org/" in text, path
