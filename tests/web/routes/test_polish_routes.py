"""Entry-page polish: "copy for my agent", slugs in text as links, tag hygiene, dark-mode CSS."""

from __future__ import annotations

from pathlib import Path

from synapse_ai.web.tags import canonical_counts, canonical_tag, canonical_tags

STATIC = Path(__file__).resolve().parents[3] / "web" / "static"


def test_copy_for_my_agent_holds_quick_fix_and_each_options_code_without_js(client, dom):
    entry = client.app.state.kb.get("sequential-tool-calls")
    tree = dom(client.get("/entries/sequential-tool-calls").text)
    block = tree.by_id("agent-prompt")
    assert block.tag == "details" and "Copy for my agent" in block.find("summary").text()
    options = block.find_all("div", cls="agent-prompt-option")
    assert len(options) == len(entry.fix_options)
    first = options[0].find("code").text()
    assert first.startswith("Apply this fix (SynapseAI: http://testserver/entries/sequential-tool-calls)")
    assert f"Quick fix: {entry.quick_fix.replace('`', '')}" in first
    code = entry.fix_options[0].code_blocks[0].code.strip()
    assert code.splitlines()[0] in first and code.splitlines()[-1] in first
    assert entry.fix_options[1].code_blocks[0].code.strip().splitlines()[0] in options[1].find("code").text()
    assert options[0].find("button", cls="copy-btn") is not None  # the JS copy button of code blocks


def test_slugs_named_in_inline_code_link_to_existing_entries_only(client, dom):
    tree = dom(client.get("/entries/blocking-call-in-async-tool").text)
    links = {a.attrs["href"] for a in tree.find_all("a", cls="entry-link")}
    assert "/entries/sync-client-in-async" in links
    assert all(client.get(href).status_code == 200 for href in links)
    # a code span that is not a slug stays plain code
    assert not any("asyncanthropic" in href.lower() for href in links)


def test_canonical_tag_rules():
    assert canonical_tag("Retry") == "retries" and canonical_tag("429") == "http-429"
    assert canonical_tag("-32602") == "jsonrpc-32602" and canonical_tag("tools") == "tool-use"
    assert canonical_tag("ANTHROPIC_API_KEY") == "anthropic_api_key" and canonical_tag("<x>") == ""
    assert canonical_tags(["retry", "retries", "429", "http-429"]) == ["retries", "http-429"]
    assert canonical_counts([("retry", 2), ("retries", 3), ("x", 1)]) == [("retries", 5), ("x", 1)]


def test_synonym_tag_page_redirects_to_its_canonical_page(client):
    response = client.get("/tags/Retry", follow_redirects=False)
    assert response.status_code == 301 and response.headers["location"].endswith("/tags/retries")
    assert client.get("/tags/retries").status_code == 200


def test_tags_page_shows_canonical_tags_only(client, dom):
    tags = [a.text().split()[0] for a in dom(client.get("/tags").text).by_id("tags").find_all("a")]
    assert tags and all(canonical_tag(t) == t for t in tags)


def test_search_tag_filter_accepts_a_synonym(client):
    body = client.get("/api/search", params={"q": "retry on overload", "tag": "retry"}).json()
    tagged = {e.slug for e in client.app.state.kb.list_entries(tag="retries")}
    assert body["results"] and {r["slug"] for r in body["results"]} <= tagged


def test_dark_mode_follows_the_system_setting_in_css():
    css = (STATIC / "site.css").read_text()
    dark = css[css.index("@media (prefers-color-scheme: dark)") :]
    for variable in ("--bg:", "--text:", "--muted:", "--accent:", "--border:"):
        assert variable in dark
    assert "color-scheme: dark" in dark
