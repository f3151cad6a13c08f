"""web.routes.pages: home, lists, categories, tags and the offline API reference."""

from __future__ import annotations

from synapse_ai.kb.model import CATEGORIES


def test_home_has_search_categories_tags_lists_cta_and_install(client, dom):
    tree = dom(client.get("/").text)
    search = tree.find("form", cls="searchbox")
    assert search.attrs["action"] == "http://testserver/search" and search.attrs["method"] == "get"
    assert search.find("input", name="q") is not None
    categories = tree.by_id("categories").find_all("a", cls="category-card")
    assert [a.attrs["href"].rsplit("/", 1)[1] for a in categories] == list(CATEGORIES)
    assert len(tree.by_id("tags").find_all("a", cls="chip-tag")) >= 10
    assert len(tree.by_id("recent").find_all("article", cls="entry-card")) == 6
    assert "No stars yet" in tree.by_id("most-starred").text()
    cta = tree.by_id("submit-cta").find("a")
    assert cta.attrs["href"] == "http://testserver/submit"
    install = tree.by_id("install").text()
    assert "synapse skill install" in install and "synapse mcp" in install


def test_home_most_starred_and_recent(client, dom, csrf):
    token = csrf(client, "/")
    for slug in ("rate-limit-429", "rate-limit-429", "overloaded-529"):
        client.post(f"/entries/{slug}/star", data={"csrf_token": token, "action": "star"})
    tree = dom(client.get("/").text)
    ranked = tree.by_id("most-starred").find_all("li")
    assert [li.find("a").attrs["href"].rsplit("/", 1)[1] for li in ranked] == ["overloaded-529", "rate-limit-429"]
    assert all("1" in li.find("span", cls="star-count").text() for li in ranked)
    dates = [a.attrs["data-slug"] for a in tree.by_id("recent").find_all("article")]
    entries = {e.slug: e for e in client.app.state.kb.list_entries()}
    created = [entries[s].created for s in dates]
    assert created == sorted(created, reverse=True)


def listed_slugs(client, dom, path: str) -> list[str]:
    """Every entry a paged list shows, page after page."""
    slugs, page = [], 1
    while True:
        tree = dom(client.get(path, params={"page": page}).text)
        slugs += [a.attrs["data-slug"] for a in tree.by_id("entry-list").find_all("article")]
        pager = tree.by_id("pager")
        if pager is None or pager.find("a", rel="next") is None:
            return slugs
        page += 1


def test_all_entries_list_with_star_counts(client, dom, csrf):
    client.post("/entries/overloaded-529/star", data={"csrf_token": csrf(client, "/"), "action": "star"})
    tree = dom(client.get("/entries", params={"sort": "stars"}).text)
    cards = tree.by_id("entry-list").find_all("article", cls="entry-card")
    assert sorted(listed_slugs(client, dom, "/entries")) == sorted(e.slug for e in client.app.state.kb.list_entries())
    card = next(c for c in cards if c.attrs["data-slug"] == "overloaded-529")
    assert card.find("span", cls="star-count").text().strip().startswith("★ 1")


def test_categories_and_category_page(client, dom):
    tree = dom(client.get("/categories").text)
    assert len(tree.by_id("categories").find_all("li")) == len(CATEGORIES)
    r = client.get("/categories/tool-use")
    assert r.status_code == 200
    slugs = listed_slugs(client, dom, "/categories/tool-use")
    assert sorted(slugs) == sorted(e.slug for e in client.app.state.kb.list_entries(category="tool-use"))
    assert client.get("/categories/not-a-category").status_code == 404


def test_tags_and_tag_page(client, dom):
    tree = dom(client.get("/tags").text)
    assert tree.by_id("tags").find("a", href="http://testserver/tags/anthropic") is not None
    assert client.get("/tags/anthropic").status_code == 200
    slugs = listed_slugs(client, dom, "/tags/anthropic")
    assert sorted(slugs) == sorted(e.slug for e in client.app.state.kb.list_entries(tag="anthropic"))
    assert client.get("/tags/no-such-tag-anywhere").status_code == 404
    assert client.get("/tags/%3Cscript%3E").status_code == 404


def test_docs_page_is_self_hosted_and_lists_every_api_operation(client, dom):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "cdn" not in r.text.lower() and "swagger-ui" not in r.text.lower()
    tree = dom(r.text)
    spec = client.get("/openapi.json").json()
    listed = {
        (s.find("span", cls="method").text(), s.find("code").text()) for s in tree.find_all("section", cls="operation")
    }
    expected = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert listed == expected
    assert ("GET", "/api/search") in listed and ("DELETE", "/api/entries/{slug}/star") in listed
    assert tree.by_id("schema-SubmissionIn") is not None
    assert client.get("/redoc").status_code == 404


def test_openapi_documents_only_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/api/") for p in paths)
    assert {
        "/api/search",
        "/api/entries",
        "/api/entries/{slug}",
        "/api/submissions",
        "/api/entries/{slug}/star",
    } <= set(paths)


def test_heading_levels_do_not_skip(client):
    """Screen-reader users navigate by headings: h1 then h3 (review L13) hides the structure."""
    import re

    for path in ("/entries", "/categories/api-errors", "/submit", "/"):
        levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", client.get(path).text)]
        assert levels[0] == 1, path
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), (path, levels)


def test_entry_list_pages_clamp_and_the_last_page_has_no_next_link(client, dom):
    from synapse_ai.web.routes.pages import LIST_PAGE_SIZE

    entries = client.app.state.kb.list_entries()
    last = -(-len(entries) // LIST_PAGE_SIZE)
    tree = dom(client.get(f"/entries?page={last}").text)
    assert f"page {last} of {last}" in tree.by_id("entry-count").text()
    assert tree.by_id("pager").find("a", rel="next") is None and tree.by_id("pager").find("a", rel="prev") is not None
    assert "page 1 of" in dom(client.get("/entries?page=-3&sort=nonsense").text).by_id("entry-count").text()
    assert f"page {last} of" in dom(client.get("/entries?page=9999").text).by_id("entry-count").text()
    assert client.get("/entries?page=x").status_code == 422  # not a number: the usual error page
