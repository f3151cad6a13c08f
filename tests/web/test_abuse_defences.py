"""The site against abusers: one test per finding of the web review (H1, M2, M6, L1, L7, L8, L12).

Concurrency is real: threads on separate database connections, and 20 simultaneous HTTP requests
to a real ``synapse serve``.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from synapse_ai.web.security import ADMIN_COOKIE, parse_networks
from synapse_ai.web.sitestore import open_site_store
from tests.pg import new_database
from tests.web.conftest import ADMIN_TOKEN, csrf_from, valid_api_payload
from tests.web.test_reliability_web import Server

JSON = {"content-type": "application/json"}


def _together(n: int, work) -> list:
    """Run ``work(i)`` in ``n`` threads released at the same instant; their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


# ------------------------------------------------------------------ H1: limits hold under concurrency
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_rate_slots_are_claimed_atomically_across_connections(tmp_path, backend):
    url = str(tmp_path / "kb.db") if backend == "sqlite" else new_database()
    # One store (own connection or pool) per thread, as replicas have: no Python lock is shared.
    stores = [open_site_store(url) for _ in range(20)]
    try:
        waits = _together(20, lambda i: stores[i].claim_rate_slot("submit", "203.0.113.7", 5, 600))
        assert sum(1 for w in waits if w == 0) == 5
        assert all(0 < w <= 600 for w in waits if w)
        assert stores[0].rate_wait("submit", "203.0.113.7", 5, 600) > 0
        assert stores[0].rate_wait("submit", "203.0.113.8", 5, 600) == 0  # other keys are untouched
        # The window slides: 601 s later the key may act again.
        assert stores[0].claim_rate_slot("submit", "203.0.113.7", 5, 600, now=__import__("time").time() + 601) == 0
    finally:
        for s in stores:
            s.close()


def test_twenty_simultaneous_submissions_to_a_real_server_get_five_slots(tmp_path):
    """The review's race: 20 parallel POST /api/submissions were all accepted.  Each request here also
    forges a different X-Forwarded-For, which the server must ignore (L8)."""
    server = Server(tmp_path)
    try:

        def submit(i: int) -> int:
            body = json.dumps(valid_api_payload(title=f"Frobnicator times out after {i + 30} seconds")).encode()
            headers = {**JSON, "X-Forwarded-For": f"198.51.100.{i + 1}"}
            request = urllib.request.Request(server.url("/api/submissions"), data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=120) as r:
                    return r.status
            except urllib.error.HTTPError as exc:
                return exc.code

        codes = Counter(_together(20, submit))
        assert codes == Counter({201: 5, 429: 15})
    finally:
        server.stop()


# ------------------------------------------------------------------ L8: X-Forwarded-For only from trusted proxies
def _submissions_accepted(app, peer: str, forwarded: list[str]) -> list[int]:
    with TestClient(app, client=(peer, 40000)) as c:
        codes = []
        for i, xff in enumerate(forwarded):
            body = valid_api_payload(title=f"Frobnicator stalls {i}")
            codes.append(c.post("/api/submissions", json=body, headers={"X-Forwarded-For": xff}).status_code)
        return codes


def test_forwarded_for_is_ignored_from_an_untrusted_peer(make_app):
    app = make_app(submit_limit=1)
    assert _submissions_accepted(app, "127.0.0.1", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [201, 429, 429]


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(make_app):
    app = make_app(submit_limit=1, trusted_proxies="10.1.0.0/16, 127.0.0.1")
    # Each client behind the proxy has its own limit; the proxy's own hop at the right is skipped,
    # and what a client writes at the left of the header does not choose its key.
    codes = _submissions_accepted(
        app, "127.0.0.1", ["203.0.113.1", "203.0.113.2, 10.1.2.3", "1.2.3.4, 203.0.113.1", "garbage"]
    )
    assert codes == [201, 201, 429, 201]  # "garbage" counts against the proxy's own address


def test_trusted_proxy_setting_is_parsed_strictly():
    networks = parse_networks("10.0.0.0/8; ::1, 192.168.1.7")
    assert [str(n) for n in networks] == ["10.0.0.0/8", "::1/128", "192.168.1.7/32"]
    try:
        parse_networks("10.0.0.0/8, proxy.local")
    except ValueError as exc:
        assert "proxy.local" in str(exc)
    else:
        raise AssertionError("a host name is not a network")


# ------------------------------------------------------------------ M2: cookie-less stars do not count
def test_cookieless_stars_do_not_reach_most_starred(make_app, dom):
    app = make_app()
    for _ in range(30):
        with TestClient(app) as fresh:
            assert fresh.post("/api/entries/rate-limit-429/star", headers=JSON).status_code == 428
    with TestClient(app) as c:
        assert c.get("/api/entries/rate-limit-429").json()["stars"] == 0
        most_starred = dom(c.get("/").text).by_id("most-starred")
        assert not most_starred.find_all("a") and "No stars yet" in most_starred.text()


# ------------------------------------------------------------------ M6: text that is not Unicode
def test_lone_surrogates_in_json_are_a_422_naming_the_field(client):
    for field, payload in (
        ("title", valid_api_payload(title="Frobnicator \ud800 times out")),
        ("symptom", valid_api_payload(symptom="Calls fail \udfff")),
        ("fix_options[0].body", valid_api_payload(fix_options=[{"title": "Raise it", "body": "x \udbff y"}])),
        ("tags[1]", valid_api_payload(tags=["frobnicator", "\ud800"])),
    ):
        body = json.dumps(payload)  # ensure_ascii: the surrogate travels as the escape "\ud800"
        assert "\\ud" in body
        r = client.post("/api/submissions", content=body, headers=JSON)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["error"].startswith("invalid text in") and list(r.json()["detail"]["fields"]) == [field]
        assert "surrogate" in r.json()["detail"]["fields"][field]
    assert client.get("/api/search", params={"q": "429"}).status_code == 200  # the connection and server are fine


def test_lone_surrogate_in_a_star_body_or_a_form_is_not_a_500(client, csrf):
    r = client.post("/api/entries/rate-limit-429/star", content='{"note": "\\ud800"}', headers=JSON)
    assert r.status_code == 422 and "note" in r.json()["detail"]["fields"]
    token = csrf(client)
    # A browser cannot send a surrogate in a form (bytes that would encode one decode to U+FFFD).
    body = f"csrf_token={token}&title=%ED%A0%80&action=preview"
    r = client.post("/submit", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200


# ------------------------------------------------------------------ L7: links never come from the Host header
def test_forged_host_header_never_reaches_links(make_app):
    app = make_app(public_url="https://kb.example.org")
    with TestClient(app, base_url="http://evil.example") as c:
        for path in ("/", "/entries/rate-limit-429", "/search?q=429", "/submit", "/no-such-page", "/docs"):
            page = c.get(path, headers={"Host": "evil.example"}).text
            assert "evil.example" not in page, path
        assert 'href="https://kb.example.org/entries"' in c.get("/").text
        entry = c.get("/entries/rate-limit-429?utm=x", headers={"Host": "evil.example"}).text
        assert '<link rel="canonical" href="https://kb.example.org/entries/rate-limit-429">' in entry
        r = c.post("/api/submissions", json=valid_api_payload(), headers={"Host": "evil.example"})
        assert r.status_code == 201 and r.json()["status_url"].startswith("https://kb.example.org/submissions/")


def test_public_url_with_a_path_prefix_and_bad_values(make_app):
    app = make_app(public_url="https://example.org/kb/")
    with TestClient(app) as c:
        assert 'href="https://example.org/kb/entries"' in c.get("/").text
        # A proxy that keeps the prefix, and one that strips it.
        for path in ("/kb/entries/rate-limit-429", "/entries/rate-limit-429"):
            page = c.get(path)
            assert page.status_code == 200
            assert '<link rel="canonical" href="https://example.org/kb/entries/rate-limit-429">' in page.text
    for bad in ("kb.example.org", "ftp://kb.example.org", "https://kb.example.org/?x=1"):
        try:
            make_app(public_url=bad)
        except ValueError as exc:
            assert "SYNAPSE_PUBLIC_URL" in str(exc)
        else:
            raise AssertionError(bad)


# ------------------------------------------------------------------ L1: sign-out revokes the session
def test_admin_cookie_replayed_after_sign_out_is_refused(client):
    token = csrf_from(client.get("/admin").text)
    r = client.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    stolen = client.cookies.get(ADMIN_COOKIE, path="/admin")
    assert stolen and "Sign out" in client.get("/admin").text
    client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    client.cookies.set(ADMIN_COOKIE, stolen, path="/admin")  # the copy an attacker kept
    page = client.get("/admin").text
    assert "Sign out" not in page and 'name="token"' in page
    r = client.post("/admin/submissions/x/approve", data={"csrf_token": token})
    assert r.status_code == 401


# ------------------------------------------------------------------ L12: HEAD on every page
def test_head_works_on_every_page(client):
    for path in (
        "/",
        "/entries",
        "/entries/rate-limit-429",
        "/entries/rate-limit-429.md",
        "/categories",
        "/categories/api-errors",
        "/tags",
        "/search?q=429",
        "/submit",
        "/docs",
        "/admin",
        "/api/search?q=429",
        "/api/entries",
        "/openapi.json",
        "/static/site.css",
        "/feed.xml",
        "/sitemap.xml",
        "/robots.txt",
        "/favicon.ico",
        "/entries/rate-limit-429/edit",
        "/entries/rate-limit-429/history",
    ):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200 == got.status_code, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
    assert client.head("/no-such-page").status_code == 404


# ------------------------------------------------------------------ M5: an expired form keeps the text
def test_a_form_sent_after_a_restart_comes_back_with_its_values(make_app, form, dom):
    with TestClient(make_app()) as before:
        old_token = csrf_from(before.get("/submit").text)
        cookie = before.cookies.get("synapse_cid")
    # A new process without SYNAPSE_SECRET_KEY: a new random key, so the old token no longer verifies.
    with TestClient(make_app(), cookies={"synapse_cid": cookie}) as after:
        typed = form(
            title="Frobnicator stalls after a restart",
            symptom="It stalls <b>here</b>.",
            option_title=["Keep me", "", ""],
        )
        r = after.post("/submit", data={**typed, "csrf_token": old_token}, follow_redirects=False)
        assert r.status_code == 403
        page = dom(r.text)
        assert "had expired" in page.by_id("form-banner").text()
        assert page.by_id("title").attrs["value"] == "Frobnicator stalls after a restart"
        assert page.by_id("symptom").text() == "It stalls <b>here</b>."
        assert page.by_id("option_title_1").attrs["value"] == "Keep me"
        # Sending the re-shown form (it carries a token valid now) works.
        r = after.post("/submit", data={**typed, "csrf_token": csrf_from(r.text)}, follow_redirects=False)
        assert r.status_code == 303 and "/submissions/" in r.headers["location"]
    with TestClient(make_app()) as c:  # other forms keep the plain error page
        assert "expired" in c.post("/admin/login", data={"token": "x", "csrf_token": "stale"}).text


def test_an_expired_edit_form_comes_back_with_the_edited_text(make_app, dom):
    slug = "rate-limit-429"
    with TestClient(make_app()) as before:
        html = before.get(f"/entries/{slug}/edit").text
        old_token, base = csrf_from(html), dom(html).by_id("markdown").text()
        cookie = before.cookies.get("synapse_cid")
    edited = base.replace("## Root Cause", "## Root Cause\n\nTyped before the restart.", 1)
    typed = {"markdown": edited, "note": "Clarify", "author": "Ada", "action": "send"}
    with TestClient(make_app(), cookies={"synapse_cid": cookie}) as after:
        r = after.post(f"/entries/{slug}/edit", data={**typed, "csrf_token": old_token}, follow_redirects=False)
        assert r.status_code == 403
        page = dom(r.text)
        assert "had expired" in page.by_id("edit-errors").text()
        assert page.by_id("markdown").text() == edited and page.by_id("author").attrs["value"] == "Ada"
        assert after.app.state.site.revisions() == []  # nothing was queued
        r = after.post(f"/entries/{slug}/edit", data={**typed, "csrf_token": csrf_from(r.text)}, follow_redirects=False)
        assert r.status_code == 303 and "/edits/" in r.headers["location"]
        assert [rev.note for rev in after.app.state.site.revisions()] == ["Clarify"]


# ------------------------------------------------------------------ M1: patterns that cannot stall the site
def test_a_pattern_re2_refuses_is_a_422_naming_it(client, csrf, form):
    bad = r"quota exceeded(?! for metric)"
    r = client.post("/api/submissions", json=valid_api_payload(patterns=[r"frobnicator timed out", bad]))
    assert r.status_code == 422
    message = r.json()["detail"]["fields"]["patterns"]
    assert message.startswith("Line 2,") and bad in message and "RE2" in message and "(?!" in message
    r = client.post("/submit", data={**form(patterns=bad), "csrf_token": csrf(client)})
    assert r.status_code == 422 and "RE2" in r.text


def test_a_backtracking_pattern_submitted_and_approved_cannot_stall_search(admin_client):
    evil = "(a+)+$"  # 24 characters of input took 2.8 s under the old matcher
    body = valid_api_payload(patterns=[evil, r"frobnicator timed out after \d+ seconds"])
    r = admin_client.post("/api/submissions", json=body)
    assert r.status_code == 201
    assert admin_client.post(f"/admin/submissions/{r.json()['ref']}/approve").status_code in (200, 303)
    slug = "frobnicator-times-out-after-30-seconds"
    assert evil in admin_client.get(f"/api/entries/{slug}").json()["patterns"]
    r = admin_client.get("/api/search", params={"q": "a" * 5000 + "!"})
    assert r.status_code == 200  # answered at once: RE2 has no backtracking
    assert [x["slug"] for x in admin_client.get("/api/search", params={"q": "aaaa"}).json()["results"]][:1] == [slug]


# ------------------------------------------------------------------ L12: /docs matches the real error bodies
def test_docs_and_openapi_describe_the_error_bodies_really_sent(client, dom):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "detail"]
    submit = spec["paths"]["/api/submissions"]["post"]["responses"]
    assert {"400", "413", "422", "429"} <= set(submit)
    for path, methods in spec["paths"].items():
        for op in methods.values():
            for code, response in op["responses"].items():
                if code[0] in "45":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, code)
    # What the documented shapes promise is what comes back.
    r = client.post("/api/submissions", content=b'{"title": "\xff"}', headers=JSON)
    assert r.status_code == 400 and set(r.json()) == {"error", "detail"}
    r = client.get("/api/search", params={"q": "x", "limit": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]
    r = client.get("/api/search", params={"q": "x", "category": "no-such-category"})
    assert r.status_code == 422 and r.json()["detail"] == {"field": "category"}
    assert "{field: name}" in spec["paths"]["/api/search"]["get"]["responses"]["422"]["description"]
    page = dom(client.get("/docs").text)
    errors = page.by_id("errors").text()
    assert "428" in errors and "retry_after" in errors and "loc" in errors
    assert "Authorization: Bearer" in page.by_id("moderation").text()


def test_an_approved_submission_is_not_flagged_as_a_duplicate_of_itself(admin_client, dom):
    ref = admin_client.post("/api/submissions", json=valid_api_payload()).json()["ref"]
    admin_client.post(f"/admin/submissions/{ref}/approve")
    page = dom(admin_client.get(f"/admin/submissions/{ref}").text)
    box = page.by_id("duplicates")
    assert "frobnicator-times-out-after-30-seconds" not in str([a.attrs.get("href") for a in box.find_all("a")])
    assert "duplicates-strong" not in box.classes()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_signed_out_admin_cookies_are_revoked_for_every_replica(tmp_path, backend):
    url = str(tmp_path / "kb.db") if backend == "sqlite" else new_database()
    first, second = open_site_store(url), open_site_store(url)
    try:
        assert not second.admin_session_revoked("123.abc")
        first.revoke_admin_session("123.abc", __import__("time").time() + 60)
        first.revoke_admin_session("123.abc", __import__("time").time() + 60)  # twice is fine
        assert second.admin_session_revoked("123.abc") and not second.admin_session_revoked("123.abd")
    finally:
        first.close()
        second.close()
