"""web.routes.discovery: robots.txt, sitemap.xml, the Atom feed and favicon.ico, all with public URLs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_robots_keeps_crawlers_out_of_moderation_and_points_to_the_sitemap(client):
    r = client.get("/robots.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "Disallow: /admin" in r.text and "Disallow: /submissions/" in r.text
    assert "Sitemap: http://testserver/sitemap.xml" in r.text


def test_sitemap_lists_every_entry_with_its_last_update(client):
    r = client.get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    urls = {u.find(f"{SITEMAP}loc").text: u.find(f"{SITEMAP}lastmod") for u in ET.fromstring(r.content)}
    entries = client.get("/api/entries").json()["entries"]
    for e in entries:
        assert urls[e["url"]].text == e["updated"]
    assert "http://testserver/" in urls and "http://testserver/categories/api-errors" in urls


def test_feed_is_atom_newest_first(client):
    r = client.get("/feed.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    items = feed.findall(f"{ATOM}entry")
    assert 0 < len(items) <= 30
    updated = [i.find(f"{ATOM}updated").text for i in items]
    assert updated == sorted(updated, reverse=True)
    first = items[0]
    assert first.find(f"{ATOM}link").attrib["href"].startswith("http://testserver/entries/")
    assert first.find(f"{ATOM}title").text
    assert feed.find(f"{ATOM}updated").text == updated[0]


def test_discovery_links_use_the_public_url_not_the_host_header(make_app):
    with TestClient(make_app(public_url="https://kb.example.org")) as c:
        for path in ("/robots.txt", "/sitemap.xml", "/feed.xml"):
            text = c.get(path, headers={"Host": "evil.example"}).text
            assert "evil.example" not in text and "https://kb.example.org/" in text, path


def test_favicon_ico_points_to_the_svg_icon(client):
    r = client.get("/favicon.ico", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "http://testserver/static/favicon.svg"
    assert client.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")
