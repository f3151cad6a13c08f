"""Search filters and paging (/search, /api/search) and the sorted, paged entry lists."""

from __future__ import annotations

from synapse_ai.kb.limits import MAX_RESULTS


def test_api_search_category_filter_returns_only_that_category_and_still_fills_the_limit(client):
    kb = client.app.state.kb
    in_category = len(kb.list_entries(category="async-execution"))
    assert in_category >= 3
    params = {"q": "rate limit error 429", "category": "async-execution", "limit": 3}
    body = client.get("/api/search", params=params).json()
    assert len(body["results"]) == 3  # filtered before the limit: the 429 entries do not crowd it out
    assert {r["category"] for r in body["results"]} == {"async-execution"}
    unfiltered = client.get("/api/search", params={"q": "rate limit error 429", "limit": 3}).json()
    assert any(r["category"] != "async-execution" for r in unfiltered["results"])


def test_api_search_tag_filter(client):
    kb = client.app.state.kb
    tag, _count = kb.tags()[0]
    tagged = {e.slug for e in kb.list_entries(tag=tag)}
    body = client.get("/api/search", params={"q": "error", "tag": tag, "limit": 50}).json()
    assert body["results"] and {r["slug"] for r in body["results"]} <= tagged


def test_api_search_unknown_category_or_tag_is_a_clear_422(client):
    response = client.get("/api/search", params={"q": "429", "category": "nope"})
    assert response.status_code == 422
    assert "unknown category 'nope'" in response.json()["error"] and response.json()["detail"]["field"] == "category"
    response = client.get("/api/search", params={"q": "429", "tag": "no-such-tag"})
    assert response.status_code == 422 and response.json()["detail"]["field"] == "tag"


def test_api_search_pages_with_offset_and_a_clear_maximum(client):
    response = client.get("/api/search", params={"q": "tool call error", "limit": 5})
    first = response.json()
    second = client.get("/api/search", params={"q": "tool call error", "limit": 5, "offset": 5}).json()
    both = client.get("/api/search", params={"q": "tool call error", "limit": 10}).json()
    assert [r["slug"] for r in first["results"] + second["results"]] == [r["slug"] for r in both["results"]]
    assert response.headers["x-next-offset"] == "5"
    response = client.get("/api/search", params={"q": "x", "limit": 10, "offset": MAX_RESULTS - 5})
    assert response.status_code == 422 and f"at most {MAX_RESULTS}" in response.json()["error"]


def test_search_page_filters_pages_and_explains_a_bad_filter(client, dom):
    tree = dom(client.get("/search", params={"q": "error", "category": "mcp"}).text)
    chips = [li.find("a", cls="chip-category") for li in tree.by_id("results").find_all("li")]
    categories = {a.attrs["href"].rsplit("/", 1)[1] for a in chips}
    assert categories == {"mcp"}
    selected = [o for o in tree.by_id("filter-category").find_all("option") if "selected" in o.attrs]
    assert [o.attrs["value"] for o in selected] == ["mcp"]
    page1 = dom(client.get("/search", params={"q": "tool call error"}).text)
    assert page1.by_id("pager").find("a", rel="next") is not None
    page2 = dom(client.get("/search", params={"q": "tool call error", "page": 2}).text)
    slugs1 = [li.attrs["data-slug"] for li in page1.by_id("results").find_all("li")]
    slugs2 = [li.attrs["data-slug"] for li in page2.by_id("results").find_all("li")]
    assert slugs2 and not set(slugs1) & set(slugs2)
    response = client.get("/search", params={"q": "error", "category": "bogus"})
    assert response.status_code == 200
    assert "unknown category 'bogus'" in dom(response.text).by_id("filter-error").text()


def test_entry_list_sorts_and_paginates(client, dom, csrf):
    token = csrf(client, "/")
    client.post("/entries/overloaded-529/star", data={"csrf_token": token, "action": "star"})
    tree = dom(client.get("/entries", params={"sort": "stars"}).text)
    cards = tree.by_id("entry-list").find_all("article")
    assert cards[0].attrs["data-slug"] == "overloaded-529"
    assert [c.attrs["data-slug"] for c in cards] != []
    total = len(client.app.state.kb.list_entries())
    assert len(cards) == min(total, 24)
    if total > 24:
        second = dom(client.get("/entries", params={"sort": "stars", "page": 2}).text)
        rest = second.by_id("entry-list").find_all("article")
        assert len(rest) == min(total - 24, 24)
        assert not {c.attrs["data-slug"] for c in cards} & {c.attrs["data-slug"] for c in rest}
    newest = dom(client.get("/entries").text).by_id("entry-list").find_all("article")
    entries = {e.slug: e for e in client.app.state.kb.list_entries()}
    created = [entries[c.attrs["data-slug"]].created for c in newest]
    assert created == sorted(created, reverse=True)
    titles = dom(client.get("/entries", params={"sort": "title"}).text).by_id("entry-list").find_all("article")
    names = [entries[c.attrs["data-slug"]].title.lower() for c in titles]
    assert names == sorted(names)
    active = tree.by_id("sort-links").find("span", cls="chip-active")
    assert active.attrs["data-sort"] == "stars"


def test_entry_list_sorts_by_most_confirmed(client, dom):
    site = client.app.state.site
    for voter in ("local:a", "local:b"):
        site.confirm("overloaded-529", voter)
    site.confirm("rate-limit-429", "local:a")
    cards = dom(client.get("/entries", params={"sort": "confirmed"}).text).by_id("entry-list").find_all("article")
    assert [c.attrs["data-slug"] for c in cards[:2]] == ["overloaded-529", "rate-limit-429"]
