"""web.routes.search: results, why they matched, the no-confident-match state, hostile queries."""

from __future__ import annotations

from datetime import date

import pytest

from synapse_ai.kb.model import Entry, Section


def _results(dom, html):
    return dom(html).by_id("results").find_all("li", cls="result")


def test_results_show_title_summary_snippet_and_why(client, dom):
    r = client.get("/search", params={"q": "tool calls run one after another"})
    assert r.status_code == 200
    items = _results(dom, r.text)
    assert items
    first = items[0]
    link = first.find("h2", cls="result-title").find("a")
    assert link.attrs["href"] == f"http://testserver/entries/{first.attrs['data-slug']}"
    assert first.find("p", cls="result-summary").text().strip()
    assert first.find("p", cls="snippet").find_all("mark")
    kinds = {c.attrs["class"].split()[1] for c in first.find("div", cls="why").find_all("span", cls="why-chip")}
    assert kinds & {"why-keywords", "why-meaning", "why-pattern"} and "why-section" in kinds


def test_results_show_the_quick_fix(client, dom):
    kb = client.app.state.kb
    items = _results(dom, client.get("/search", params={"q": "anthropic.RateLimitError: Error code: 429"}).text)
    assert items[0].attrs["data-slug"] == "rate-limit-429"
    for item in items:
        quick_fix = kb.get(item.attrs["data-slug"]).quick_fix
        shown = item.find("p", cls="result-quick-fix")
        if not quick_fix:
            assert shown is None
            continue
        assert shown.find("strong").text() == "Quick fix:"
        assert " ".join(shown.text().split()) == "Quick fix: " + " ".join(quick_fix.replace("`", "").split())
    assert items[0].find("p", cls="result-quick-fix") is not None


def test_pattern_hit_is_a_confident_match(client, dom):
    r = client.get(
        "/search",
        params={
            "q": "messages.3: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01ABC"
        },
    )
    tree = dom(r.text)
    assert tree.by_id("confident-match") is not None and tree.by_id("no-confident-match") is None
    first = tree.by_id("results").find("li", cls="result")
    assert first.attrs["data-slug"] == "tool-use-without-tool-result"
    assert "result-top" in first.classes()
    assert first.find("span", cls="why-pattern") is not None


def test_no_confident_match_still_shows_nearest_entries(client, dom):
    r = client.get("/search", params={"q": "how do I center a div with flexbox in css"})
    assert r.status_code == 200
    tree = dom(r.text)
    assert tree.by_id("no-confident-match") is not None
    assert "Nearest entries" in tree.find("h2", cls="results-heading").text()
    assert tree.by_id("results").find_all("li")


def test_empty_query_shows_a_prompt_not_results(client, dom):
    for q in ("", "   "):
        tree = dom(client.get("/search", params={"q": q}).text)
        assert tree.by_id("empty-query") is not None and tree.by_id("results") is None
    assert client.get("/search").status_code == 200


@pytest.mark.parametrize(
    "q",
    [
        "AND OR NOT",
        '"unbalanced quote',
        "NEAR(tool call, 2)",
        "tool* ^title:x {a b} -c +d",
        "((((",
        "'; DROP TABLE entries; --",
        "\x00\x01 control",
        "工具调用 🚀 ünïcödé ﷽",
        "<script>alert(1)</script>",
        "x" * 10_240,
        "tool calls " * 1000,
    ],
)
def test_hostile_queries_never_500(client, q):
    r = client.get("/search", params={"q": q})
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text


def test_overlong_query_is_cut_with_a_notice(client, dom):
    r = client.get(
        "/search",
        params={"q": "INFO step ok\n" * 3000 + "anthropic.RateLimitError: Error code: 429 - rate_limit_error"},
    )
    assert r.status_code == 200
    assert "last 20,000 characters" in dom(r.text).by_id("notice").text()
    assert "rate-limit-429" in r.text  # the error at the end of the pasted log was kept and found


def test_entry_text_in_snippets_is_escaped(client):
    kb = client.app.state.kb
    entry = Entry(
        slug="hostile-snippet",
        title="Zyzzyva failure",
        summary="Zyzzyva <b>bold</b> summary",
        category="performance",
        tags=["zyzzyva"],
        patterns=[],
        environment=["x"],
        savings="none",
        sources=["https://example.com"],
        created=date(2026, 1, 1),
        updated=date(2026, 1, 1),
        quick_fix="Zyzzyva <b>quick</b> fix",
        sections=[
            Section("Symptom", 'zyzzyva <img src=x onerror="alert(1)"> <script>alert(2)</script>'),
            Section("Root Cause", "r"),
            Section("Fix", "### Option 1: f\n\nfix"),
        ],
    )
    kb.add_entry(entry)
    html = client.get("/search", params={"q": "zyzzyva"}).text
    assert (
        "<img src=x" not in html
        and "<script>alert(2)" not in html
        and "<b>bold</b>" not in html
        and "<b>quick</b>" not in html
    )
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html or "&lt;img" in html


def test_limit_is_validated(client):
    assert client.get("/search", params={"q": "x", "limit": 0}).status_code == 422
    assert client.get("/search", params={"q": "x", "limit": 3}).status_code == 200
