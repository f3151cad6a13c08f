"""web.routes.entries: the entry page layout, raw markdown, stars without JS, safe rendering."""

from __future__ import annotations

from datetime import date

from synapse_ai.kb.model import Entry, Section

SLUG = "tool-use-without-tool-result"


def test_entry_page_has_the_three_cards_and_toc(client, dom):
    r = client.get(f"/entries/{SLUG}")
    assert r.status_code == 200
    tree = dom(r.text)
    entry = client.app.state.kb.get(SLUG)
    assert tree.find("h1", id="entry-title").text().replace("`", "") == entry.title.replace("`", "")
    for anchor, label in (("symptom", "Symptom"), ("root-cause", "Root Cause"), ("fix", "Fix")):
        section = tree.by_id(anchor)
        assert section is not None and section.tag == "section"
        assert label in section.find("h2").text()
    assert "section-card" in tree.by_id("symptom").classes() and "section-card" in tree.by_id("root-cause").classes()
    options = tree.by_id("fix").find_all("article", cls="fix-option")
    assert [o.attrs["id"] for o in options] == [f"option-{o.number}" for o in entry.fix_options]
    toc = [a.attrs["href"] for a in tree.find("aside", cls="toc").find_all("a")]
    assert toc[0] == "#quick-fix" if entry.quick_fix else "#quick-fix" not in toc
    assert [h for h in toc if h != "#quick-fix"][:3] == ["#symptom", "#root-cause", "#fix"] and "#option-1" in toc


def test_quick_fix_box_comes_first_and_verified_is_in_the_metadata(client, dom):
    slug = "rate-limit-429"
    entry = client.app.state.kb.get(slug)
    assert entry.quick_fix and entry.verified  # the fixture entry has both fields
    tree = dom(client.get(f"/entries/{slug}").text)
    main = tree.find("main")
    order = [
        n.attrs.get("id") for n in main.iter() if n.attrs.get("id") in ("quick-fix", "symptom", "root-cause", "fix")
    ]
    assert order == ["quick-fix", "symptom", "root-cause", "fix"]
    box = tree.by_id("quick-fix")
    assert box.tag == "section" and {"card", "quick-fix"} <= box.classes()
    assert box.find("h2").text().endswith("Quick fix")
    assert " ".join(box.find("p", cls="quick-fix-text").text().split()) == " ".join(
        entry.quick_fix.replace("`", "").split()
    )
    verified = tree.find("header", cls="entry-header").find(id="verified")
    against = ", ".join(entry.verified.against)
    assert " ".join(verified.text().split()) == f"Verified {entry.verified.on.isoformat()} against {against}"
    assert verified.find("time").attrs["datetime"] == entry.verified.on.isoformat()
    assert tree.find("aside", cls="toc").find("a").attrs["href"] == "#quick-fix"


def test_entry_without_verified_says_not_verified_yet(client, dom):
    entry = Entry(
        slug="never-checked",
        title="Never checked",
        summary="A community entry nobody has re-checked.",
        category="performance",
        tags=["x"],
        patterns=[],
        environment=["Python 3.11"],
        savings="none",
        sources=["https://example.com/a"],
        created=date(2026, 1, 1),
        updated=date(2026, 1, 1),
        quick_fix="Do it this way.",
        sections=[
            Section("Symptom", "Slow."),
            Section("Root Cause", "Why."),
            Section("Fix", "### Option 1: Do it\n\nThis."),
        ],
    )
    client.app.state.kb.add_entry(entry)
    tree = dom(client.get("/entries/never-checked").text)
    verified = tree.by_id("verified")
    assert verified.text().strip() == "Not verified yet" and "not-verified" in verified.classes()
    assert tree.by_id("quick-fix").find("p", cls="quick-fix-text").text() == "Do it this way."


def test_raw_markdown(client, web_entries):
    r = client.get(f"/entries/{SLUG}.md")
    assert r.status_code == 200 and r.headers["content-type"] == "text/markdown; charset=utf-8"
    assert r.text == (web_entries / f"{SLUG}.md").read_text(encoding="utf-8")
    assert client.get("/entries/nope.md").status_code == 404


def test_missing_entry_suggests_near_slugs(client, dom):
    r = client.get("/entries/tool-use-without-tool-results")
    assert r.status_code == 404
    links = [a.attrs["href"] for a in dom(r.text).find("ul", cls="did-you-mean").find_all("a")]
    assert f"http://testserver/entries/{SLUG}" in links
    assert client.get("/entries/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/entries/UPPER_case").status_code == 404


def test_star_form_works_without_js_and_is_idempotent(client, dom, csrf):
    token = csrf(client, f"/entries/{SLUG}")
    r = client.post(f"/entries/{SLUG}/star", data={"csrf_token": token, "action": "star"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"http://testserver/entries/{SLUG}#star"
    client.post(f"/entries/{SLUG}/star", data={"csrf_token": token, "action": "star"})  # resend: still one star
    tree = dom(client.get(f"/entries/{SLUG}").text)
    button = tree.find("form", cls="star-form").find("button")
    assert "is-starred" in button.classes() and button.attrs["aria-pressed"] == "true"
    assert button.find("span", cls="star-total").text() == "1"
    assert tree.find("form", cls="star-form").find("input", name="action").attrs["value"] == "unstar"
    client.post(f"/entries/{SLUG}/star", data={"csrf_token": token, "action": "unstar"})
    assert client.app.state.site.star_count(SLUG) == 0


def test_stars_are_per_client(make_app, csrf):
    from fastapi.testclient import TestClient

    app = make_app()
    with TestClient(app) as a, TestClient(app) as b:
        for c in (a, b):
            c.post(f"/entries/{SLUG}/star", data={"csrf_token": csrf(c, "/"), "action": "star"})
        assert app.state.site.star_count(SLUG) == 2


def test_star_post_without_csrf_is_refused(client, csrf):
    csrf(client, "/")
    assert client.post(f"/entries/{SLUG}/star", data={"action": "star"}).status_code == 403
    assert client.post(f"/entries/{SLUG}/star", data={"action": "star", "csrf_token": "forged"}).status_code == 403
    assert client.app.state.site.star_count(SLUG) == 0


def test_star_unknown_entry_404(client, csrf):
    assert (
        client.post("/entries/no-such-entry/star", data={"csrf_token": csrf(client, "/"), "action": "star"}).status_code
        == 404
    )


def test_hostile_markdown_in_an_entry_never_executes(client, dom):
    body = (
        "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) "
        '[data](data:text/html;base64,PHNjcmlwdD4=)\n\n<a href="javascript:alert(2)">raw</a>\n\n'
        "```html\n<script>alert(3)</script>\n```\n"
    )
    entry = Entry(
        slug="hostile-entry",
        title="Hostile <script>alert(4)</script> title",
        summary="<b>s</b>",
        category="performance",
        tags=["x"],
        patterns=[],
        environment=["<i>env</i>"],
        savings="<u>none</u>",
        sources=["https://example.com/?q=<x>"],
        created=date(2026, 1, 1),
        updated=date(2026, 1, 1),
        quick_fix="<u>quick</u> <script>alert(5)</script>",
        sections=[
            Section("Symptom", body),
            Section("Root Cause", body),
            Section("Fix", "### Option 1: <em>t</em>\n\n" + body),
        ],
    )
    client.app.state.kb.add_entry(entry)
    html = client.get("/entries/hostile-entry").text
    tree = dom(html)
    assert [s.attrs["src"].split("?")[0] for s in tree.find_all("script")] == ["http://testserver/static/site.js"]
    assert not tree.find_all("img") and not tree.find_all("iframe")
    hrefs = [a.attrs.get("href", "") for a in tree.find_all("a")]
    assert not [h for h in hrefs if h.lower().startswith(("javascript:", "data:"))]
    assert not [(n.tag, a) for n in tree.iter() for a in n.attrs if a.startswith("on")]
    assert (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html or "&lt;script&gt;alert('x')&lt;/script&gt;" in html
    )
    assert not tree.find_all("b") and not tree.find_all("u")
    assert "<script>alert(5)</script>" in tree.by_id("quick-fix").find("p").text()  # shown as text, not run
