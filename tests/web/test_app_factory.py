"""web.app: wiring, lifespan, static files, security headers, error shapes, project conventions."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from fastapi.testclient import TestClient

from synapse_ai.web.app import create_app, entry_dirs
from synapse_ai.web.settings import Settings

WEB = Path(__file__).resolve().parents[2] / "web"


def test_kb_is_opened_once_in_the_lifespan_and_closed_after(make_app, db_path, web_entries):
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder

    opened, embedder_loads = [], []

    def factory():
        kb = KnowledgeBase.open(db_path, [web_entries], embedder=HashingEmbedder())
        real = kb.query_embedder
        kb.query_embedder = lambda *a, **k: embedder_loads.append(1) or real(*a, **k)
        opened.append(kb)
        return kb

    app = create_app(Settings(db=db_path), kb_factory=factory)
    assert opened == []  # nothing is loaded at import or build time
    with TestClient(app) as c:
        assert len(embedder_loads) == 1  # the query model is loaded at start-up, before any request
        for _ in range(3):
            assert c.get("/search", params={"q": "rate limit"}).status_code == 200
        assert len(opened) == 1 and app.state.kb is opened[0]
    assert len(opened) == 1


def test_app_accepts_the_shared_kb_fixture(kb):
    with TestClient(create_app(Settings(), kb_factory=lambda: kb)) as c:
        r = c.get("/api/entries")
        assert r.status_code == 200 and r.json()["count"] == len(kb.list_entries())


def test_default_settings_open_the_embedded_database_with_shipped_entries(tmp_path):
    with TestClient(create_app(Settings(db=tmp_path / "fresh.db"))) as c:
        data = c.get("/api/entries").json()
    shipped = {p.stem for p in (WEB.parent / "entries").glob("*.md") if p.name != "README.md"}
    assert {e["slug"] for e in data["entries"]} == shipped


def test_explicit_entry_dirs_always_include_the_write_dir(tmp_path):
    from synapse_ai.kb.service import local_entries_dir

    dirs = entry_dirs(Settings(entries_dirs=[tmp_path]))
    assert dirs == [tmp_path, local_entries_dir()]
    assert entry_dirs(Settings()) is None
    assert entry_dirs(Settings(entries_dirs=[tmp_path], write_dir=tmp_path)) == [tmp_path]


def test_security_headers_and_client_cookie(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    cookie = r.headers["set-cookie"]
    assert "synapse_cid=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "set-cookie" not in client.get("/").headers  # set once


def test_pages_have_no_inline_script_or_style_and_only_local_assets(client, dom):
    for path in ("/", "/search?q=tool", "/entries/tool-use-without-tool-result", "/submit", "/docs", "/admin"):
        html = client.get(path).text
        tree = dom(html)
        for script in tree.find_all("script"):
            assert script.attrs.get("src", "").startswith("http://testserver/static/"), (path, script)
            assert not script.text().strip()
        for link in tree.find_all("link"):
            # assets come from /static; canonical and feed links point at this site's own pages
            page_link = link.attrs.get("rel") in ("canonical", "alternate")
            local = "http://testserver/" if page_link else "http://testserver/static/"
            assert link.attrs["href"].startswith(local), (path, link)
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_static_assets_reference_nothing_remote():
    for path in (WEB / "static").iterdir():
        text = path.read_text(encoding="utf-8")
        assert "@import" not in text
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path.name
        if path.suffix == ".js":
            assert not re.search(r"fetch\(\s*['\"]https?://", text)


def test_responsive_viewport_and_media_queries(client, dom):
    tree = dom(client.get("/").text)
    viewport = tree.find("meta", name="viewport")
    assert viewport is not None and "width=device-width" in viewport.attrs["content"]
    css = (WEB / "static" / "site.css").read_text(encoding="utf-8")
    assert re.search(r"@media \(max-width: \d+px\)", css)


def test_unknown_pages_404_as_html_and_json(client, dom):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert dom(r.text).by_id("error").attrs["data-status"] == "404"
    r = client.get("/api/no/such")
    assert r.status_code == 404 and set(r.json()) == {"error", "detail"}


def test_html_validation_errors_are_friendly_pages(client, dom):
    r = client.get("/search", params={"q": "x", "limit": "lots"})
    assert r.status_code == 422 and dom(r.text).by_id("error-message") is not None


def test_whole_body_limit_gives_413(make_app, csrf, form):
    with TestClient(make_app(max_body_bytes=4000)) as c:
        token = csrf(c)
        r = c.post("/submit", data=form(csrf_token=token, symptom="x" * 5000))
        assert r.status_code == 413 and "text/html" in r.headers["content-type"]
        r = c.post("/api/submissions", json={"symptom": "x" * 5000})
        assert r.status_code == 413 and set(r.json()) == {"error", "detail"}


def test_routes_are_sync_so_sqlite_runs_in_the_threadpool():
    from synapse_ai.web.routes import api, entries, moderation, pages, search, submit

    endpoints = [r.endpoint for m in (api, entries, moderation, pages, search, submit) for r in m.router.routes]
    assert len(endpoints) >= 25
    assert not [e.__name__ for e in endpoints if inspect.iscoroutinefunction(e)]


def test_web_modules_stay_small_and_documented():
    for path in WEB.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert len(source.splitlines()) < 500, path
        assert source.lstrip().startswith('"""'), f"{path} has no module docstring"


def test_one_template_environment_with_autoescape():
    from synapse_ai.web import templating

    assert templating.templates.env.autoescape is True
    assert {"markdown", "snippet", "inline_code", "code"} <= set(templating.templates.env.filters)
