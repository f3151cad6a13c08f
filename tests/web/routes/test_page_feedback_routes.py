"""web.routes.entries: "This fixed it" and "Outdated" on the entry page (cookie identities, one per
identity, 428 without the cookie, per-address cap, CSRF, moderation queue, left out of ranking)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import ADMIN_TOKEN

SLUG = "rate-limit-429"


def fixed(client, token: str, slug: str = SLUG, **kw):
    return client.post(f"/entries/{slug}/fixed", data={"csrf_token": token}, **kw)


def test_this_fixed_it_works_without_js_is_idempotent_and_shows_on_the_page(client, dom, csrf):
    token = csrf(client, f"/entries/{SLUG}")
    assert dom(client.get(f"/entries/{SLUG}").text).by_id("fixed-btn") is not None
    r = fixed(client, token, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"http://testserver/entries/{SLUG}#page-feedback"
    assert fixed(client, token).status_code == 200  # a resend: still one confirmation
    site = client.app.state.site
    assert site.confirmation_count(SLUG) == 1 and site.has_confirmed(SLUG, f"site:{client.cookies['synapse_cid']}")
    tree = dom(client.get(f"/entries/{SLUG}").text)
    assert tree.by_id("confirmations").text().strip() == "Fixed it for 1"
    assert tree.by_id("fixed-btn") is None and tree.by_id("fixed-mark").text().strip() == "You said this fixed it."


def test_each_cookie_identity_counts_once(make_app, csrf):
    app = make_app()
    with TestClient(app) as a, TestClient(app) as b:
        for c in (a, b):
            token = csrf(c, f"/entries/{SLUG}")
            fixed(c, token)
            fixed(c, token)
        assert app.state.site.confirmation_count(SLUG) == 2


def test_cookie_identities_show_on_the_page_but_do_not_move_ranking(make_app, csrf):
    app = make_app()
    with TestClient(app) as a, TestClient(app) as b:
        for c in (a, b):
            fixed(c, csrf(c, f"/entries/{SLUG}"))
        assert a.get(f"/api/entries/{SLUG}").json()["confirmations"] == 2
        assert app.state.site.feedback_for([SLUG]) == {}  # ranking counts key/moderator confirmations only
        a.post(f"/api/entries/{SLUG}/confirm", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert app.state.site.feedback_for([SLUG])[SLUG].confirmations == 1


def test_without_the_cookie_the_forms_answer_428_and_store_nothing(make_app, csrf):
    app = make_app()
    with TestClient(app) as c:
        token = csrf(c, f"/entries/{SLUG}")
        for path, data in (("fixed", {}), ("outdated", {"note": "x"})):
            c.cookies.clear()
            r = c.post(f"/entries/{SLUG}/{path}", data={"csrf_token": token, **data})
            assert r.status_code == 428 and "synapse_cid" in r.text
            assert "synapse_cid=" in r.headers["set-cookie"]  # set on this response: sending again works
        assert app.state.site.confirmation_count(SLUG) == 0 and app.state.site.open_entry_flags(SLUG) == []


def test_forms_without_a_valid_csrf_token_are_refused(client, csrf):
    csrf(client, f"/entries/{SLUG}")
    for data in ({}, {"csrf_token": "forged"}):
        assert client.post(f"/entries/{SLUG}/fixed", data=data).status_code == 403
        assert client.post(f"/entries/{SLUG}/outdated", data={**data, "note": "x"}).status_code == 403
    assert client.app.state.site.confirmation_count(SLUG) == 0 and client.app.state.site.open_entry_flags(SLUG) == []


def test_unknown_entry_is_a_404(client, csrf):
    token = csrf(client, "/")
    assert fixed(client, token, slug="no-such-entry").status_code == 404
    assert client.post("/entries/no-such-entry/outdated", data={"csrf_token": token}).status_code == 404


def test_new_reports_are_capped_per_address_in_the_database(make_app, csrf):
    app = make_app(star_limit=2)
    with TestClient(app) as c:
        token = csrf(c, f"/entries/{SLUG}")
        assert fixed(c, token).status_code == 200
        assert c.post(f"/entries/{SLUG}/outdated", data={"csrf_token": token}).status_code == 200
        assert fixed(c, token).status_code == 200  # already confirmed: not a new report, not counted
        r = fixed(c, token, slug="tool-use-without-tool-result")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert app.state.site.confirmation_count("tool-use-without-tool-result") == 0
        assert app.state.site.rate_wait("page_feedback", "testclient", 2, 3600) > 0


def test_outdated_flag_is_stale_one_per_identity_and_reaches_the_admin_queue(client, dom, csrf):
    token = csrf(client, f"/entries/{SLUG}")
    r = client.post(f"/entries/{SLUG}/outdated", data={"csrf_token": token, "note": "v2 renamed it"})
    assert r.status_code == 200 and str(r.url).endswith(f"/entries/{SLUG}#open-flags")
    client.post(f"/entries/{SLUG}/outdated", data={"csrf_token": token, "note": " the v2 SDK renamed it "})
    flags = client.app.state.site.open_entry_flags(SLUG)
    assert [(f["reason"], f["note"]) for f in flags] == [("stale", "the v2 SDK renamed it")]
    assert "the v2 SDK renamed it" in dom(client.get(f"/entries/{SLUG}").text).by_id("open-flags").text()
    item = dom(client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text).find("li", data_slug=SLUG)
    assert item is not None and "stale" in item.text() and "the v2 SDK renamed it" in item.text()
