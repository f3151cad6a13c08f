"""web.routes.feedback and web.auth: API keys, confirm, flag, propose, flag review, anonymous reading."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from synapse_ai.kb.feedback import DEMOTE_AT
from synapse_ai.web.keys import hash_key, key_prefix, new_key
from tests.web.conftest import ADMIN_TOKEN, valid_api_payload

SLUG = "rate-limit-429"
SPECIFIC_QUERY = 'anthropic.RateLimitError: Error code: 429 {"type":"error","error":{"type":"rate_limit_error"}}'


def make_key(client, *scopes: str, name: str = "test") -> str:
    key = new_key()
    client.app.state.site.add_api_key(name, tuple(scopes), hash_key(key), key_prefix(key))
    return key


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def assert_error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error", "detail"} and body["error"]
    return body


# ---------------------------------------------------------------------- 401 / 403
def test_confirm_without_a_key_is_401_with_www_authenticate(client):
    r = client.post(f"/api/entries/{SLUG}/confirm")
    body = assert_error(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert body["detail"] == {"required_scope": "vote"} and "Authorization: Bearer" in body["error"]


@pytest.mark.parametrize("header", ["Bearer syn_not-a-real-key", "bearer nonsense", "Bearer " + "x" * 5000])
def test_an_invalid_key_is_401_invalid_token_even_where_anonymous_would_do(client, header):
    for method, path in (("post", f"/api/entries/{SLUG}/confirm"), ("get", "/api/search?q=429"), ("get", "/")):
        r = getattr(client, method)(path, headers={"Authorization": header})
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    r = client.post(f"/api/entries/{SLUG}/confirm", headers={"Authorization": header})
    assert r.json()["error"] == "invalid or revoked API key"


def test_a_revoked_key_stops_working(client):
    key = make_key(client, "vote")
    assert client.post(f"/api/entries/{SLUG}/confirm", headers=bearer(key)).status_code == 200
    [stored] = client.app.state.site.api_keys()
    assert client.app.state.site.revoke_api_key(stored.id)
    assert_error(client.post(f"/api/entries/{SLUG}/confirm", headers=bearer(key)), 401)


@pytest.mark.parametrize(
    ("path", "body", "scope"),
    [
        (f"/api/entries/{SLUG}/confirm", None, "vote"),
        (f"/api/entries/{SLUG}/flag", {"reason": "stale"}, "vote"),
        ("/api/proposals", valid_api_payload(), "propose"),
    ],
)
def test_a_key_without_the_scope_is_403_insufficient_scope(client, path, body, scope):
    key = make_key(client, "read", "moderate")
    r = client.post(path, json=body, headers=bearer(key))
    detail = assert_error(r, 403)["detail"]
    assert detail == {"required_scope": scope, "scopes": ["read", "moderate"]}
    assert f'error="insufficient_scope", scope="{scope}"' in r.headers["www-authenticate"]


# ---------------------------------------------------------------------- confirm
def test_confirm_counts_distinct_keys_and_is_idempotent(client):
    one, two = make_key(client, "vote"), make_key(client, "vote", "read")
    answers = [client.post(f"/api/entries/{SLUG}/confirm", headers=bearer(k)).json() for k in (one, one, one, two, two)]
    assert [a["confirmations"] for a in answers] == [1, 1, 1, 2, 2]
    assert answers[-1] == {"slug": SLUG, "confirmations": 2}
    assert client.get(f"/api/entries/{SLUG}").json()["confirmations"] == 2
    # the moderator token counts once too
    admin = client.post(f"/api/entries/{SLUG}/confirm", headers=bearer(ADMIN_TOKEN)).json()
    assert admin["confirmations"] == 3
    other = client.post("/api/entries/tool-use-without-tool-result/confirm", headers=bearer(one))
    assert other.json()["confirmations"] == 1


def test_confirm_an_unknown_entry_is_404_with_close_slugs(client):
    key = make_key(client, "vote")
    detail = assert_error(client.post("/api/entries/rate-limit-42/confirm", headers=bearer(key)), 404)["detail"]
    assert SLUG in detail["did_you_mean"]
    assert_error(client.post("/api/entries/..%2F..%2Fetc/confirm", headers=bearer(key)), 404)


def test_entry_page_shows_fixed_it_for_n_and_open_flags(client, dom):
    assert dom(client.get(f"/entries/{SLUG}").text).by_id("confirmations") is None
    for _ in range(2):
        client.post(f"/api/entries/{SLUG}/confirm", headers=bearer(make_key(client, "vote")))
    client.post(
        f"/api/entries/{SLUG}/flag",
        json={"reason": "stale", "note": "SDK 9 <b>renamed</b> it"},
        headers=bearer(make_key(client, "vote")),
    )
    tree = dom(client.get(f"/entries/{SLUG}").text)
    assert tree.by_id("confirmations").text().strip() == "Fixed it for 2"
    flags = tree.by_id("open-flags").text()
    assert "stale" in flags and "SDK 9 <b>renamed</b> it" in flags  # shown as text, escaped


# ---------------------------------------------------------------------- flag and review
def test_flag_validates_and_enters_the_moderation_queue(client, dom, csrf):
    key = make_key(client, "vote")

    def flag(**body):
        return client.post(f"/api/entries/{SLUG}/flag", json=body, headers=bearer(key))

    assert_error(flag(reason="boring"), 422)
    assert_error(flag(reason="stale", x=1), 422)
    assert_error(flag(reason="stale", note="n" * 2001), 413)
    assert_error(flag(), 422)
    assert client.get(f"/api/entries/{SLUG}").json()["flags"] == []

    r = flag(reason="incorrect", note="retry-after is in ms")
    assert r.status_code == 200 and r.json() == {"slug": SLUG, "reason": "incorrect", "status": "open", "open_flags": 1}
    # the same key flagging the same reason again updates its note instead of adding a flag
    assert flag(reason="incorrect", note="in seconds, sorry: ms").json()["open_flags"] == 1
    flag(reason="duplicate")
    flags = client.get(f"/api/entries/{SLUG}").json()["flags"]
    assert [(f["reason"], f["note"]) for f in flags] == [("incorrect", "in seconds, sorry: ms"), ("duplicate", "")]
    assert all(set(f) == {"id", "reason", "note", "created_at"} for f in flags)  # who flagged stays private

    # the moderator's queue shows them, with a form that resolves them
    item = dom(client.get("/admin", headers=bearer(ADMIN_TOKEN)).text).find("li", data_slug=SLUG)
    assert item is not None and "in seconds, sorry: ms" in item.text() and "duplicate" in item.text()
    assert_error(client.get("/api/flags", headers=bearer(key)), 403)
    moderator = make_key(client, "moderate")
    assert [f["slug"] for f in client.get("/api/flags", headers=bearer(moderator)).json()] == [SLUG, SLUG]
    r = client.post(f"/api/entries/{SLUG}/flags/resolve", json={"resolution": "fixed"}, headers=bearer(moderator))
    assert r.json() == {"slug": SLUG, "resolved": 2}
    assert client.get(f"/api/entries/{SLUG}").json()["flags"] == []
    assert client.get("/api/flags", headers=bearer(moderator)).json() == []


def test_moderator_resolves_flags_from_the_queue_page(client, dom, csrf):
    voter = bearer(make_key(client, "vote"))
    client.post(f"/api/entries/{SLUG}/flag", json={"reason": "harmful", "note": "rm -rf"}, headers=voter)
    token = csrf(client, "/admin")
    assert client.post(f"/admin/flags/{SLUG}/resolve", data={"csrf_token": token}).status_code in (401, 403)
    client.post("/admin/login", data={"csrf_token": token, "token": ADMIN_TOKEN})
    page = dom(client.get("/admin").text)
    form = page.find("li", data_slug=SLUG).find("form")
    assert client.post(form.attrs["action"], data={"resolution": "removed"}).status_code == 403  # no CSRF token
    data = {"csrf_token": csrf(client, "/admin"), "resolution": "removed"}
    r = client.post(form.attrs["action"], data=data, follow_redirects=False)
    assert r.status_code == 303
    assert dom(client.get("/admin").text).by_id("flags-empty") is not None


# ---------------------------------------------------------------------- ranking
def test_search_demotes_an_entry_flagged_incorrect_by_several_keys_until_reviewed(client):
    def top():
        data = client.get("/api/search", params={"q": SPECIFIC_QUERY}).json()
        return data["results"][0]["slug"], data["matched"]

    assert top() == (SLUG, True)
    keys = [make_key(client, "vote") for _ in range(DEMOTE_AT)]
    for key in keys[:-1]:
        client.post(f"/api/entries/{SLUG}/flag", json={"reason": "incorrect"}, headers=bearer(key))
    assert top() == (SLUG, True)  # fewer than several: flagged, not demoted
    client.post(f"/api/entries/{SLUG}/flag", json={"reason": "incorrect"}, headers=bearer(keys[0]))  # same key again
    assert top() == (SLUG, True)
    client.post(f"/api/entries/{SLUG}/flag", json={"reason": "incorrect"}, headers=bearer(keys[-1]))
    slug, matched = top()
    assert slug != SLUG and not matched
    html = client.get("/search", params={"q": SPECIFIC_QUERY}).text
    assert html.find(f'/entries/{SLUG}"') == -1 or html.find(f'/entries/{slug}"') < html.find(f'/entries/{SLUG}"')
    client.post(f"/api/entries/{SLUG}/flags/resolve", json={}, headers=bearer(ADMIN_TOKEN))
    assert top() == (SLUG, True)


def test_confirmations_do_not_outrank_a_specific_hit_in_the_api(client):
    plain = client.get("/api/search", params={"q": SPECIFIC_QUERY}).json()
    runner_up = plain["results"][1]["slug"]
    for _ in range(6):
        client.post(f"/api/entries/{runner_up}/confirm", headers=bearer(make_key(client, "vote")))
    boosted = client.get("/api/search", params={"q": SPECIFIC_QUERY}).json()
    from synapse_ai.web.routes.api import SearchOut

    assert SearchOut.model_validate(boosted).results[1].why.feedback.confirmations == 6  # the schema reads it back
    assert [r["slug"] for r in boosted["results"][:2]] == [SLUG, runner_up]
    assert boosted["results"][1]["why"]["feedback"]["confirmations"] == 6
    assert boosted["results"][1]["score"] > plain["results"][1]["score"]


# ---------------------------------------------------------------------- proposals
def test_proposal_needs_a_propose_key_and_is_pending(client):
    body = valid_api_payload(title="Quuxinator drops the last tool result", patterns=[r"quuxinator dropped result \d+"])
    assert_error(client.post("/api/proposals", json=body), 401)
    key = make_key(client, "propose", name="agent-7")
    r = client.post("/api/proposals", json=body, headers=bearer(key))
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["status"] == "pending" and data["status_url"].endswith(f"/submissions/{data['ref']}")
    stored = client.app.state.site.submission(data["ref"])
    assert stored.status == "pending" and "agent-7" in stored.contact
    assert client.get(data["status_url"]).status_code == 200
    # nothing proposed is searchable before approval
    found = client.get("/api/search", params={"q": "quuxinator dropped result 3"}).json()
    assert all("Quuxinator" not in r["title"] for r in found["results"])
    approve = client.post(
        f"/admin/submissions/{data['ref']}/approve", headers=bearer(ADMIN_TOKEN), follow_redirects=False
    )
    assert approve.status_code == 303
    found = client.get("/api/search", params={"q": "quuxinator dropped result 3"}).json()
    assert found["results"][0]["title"] == body["title"] and found["matched"]


def test_proposal_validation_errors_name_the_fields(client):
    key = make_key(client, "propose")
    r = client.post("/api/proposals", json=valid_api_payload(title="", sources=["ftp://x"]), headers=bearer(key))
    detail = assert_error(r, 422)["detail"]
    assert set(detail["fields"]) >= {"title", "sources"}
    assert_error(client.post("/api/proposals", json={**valid_api_payload(), "surprise": 1}, headers=bearer(key)), 422)
    assert_error(client.post("/api/proposals", json=valid_api_payload(symptom="s" * 20_001), headers=bearer(key)), 413)
    assert client.app.state.site.submissions() == []


# ---------------------------------------------------------------------- limits and anonymous reading
def test_requests_are_rate_limited_per_key(make_app):
    with TestClient(make_app(key_rate_limit=3)) as c:
        one, two = make_key(c, "vote"), make_key(c, "vote")
        codes = [c.post(f"/api/entries/{SLUG}/confirm", headers=bearer(one)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/api/search", params={"q": "429"}, headers=bearer(one))
        assert assert_error(r, 429)["detail"]["retry_after"] >= 1 and int(r.headers["retry-after"]) >= 1
        # another key is not affected
        assert c.post(f"/api/entries/{SLUG}/confirm", headers=bearer(two)).status_code == 200
        assert c.get("/api/search", params={"q": "429"}).status_code == 200  # nor anonymous reading


def test_a_key_limit_holds_across_two_apps_sharing_one_database(make_app):
    """Two servers on one SQLite file, hit at once with one key: together they accept exactly the limit."""
    from concurrent.futures import ThreadPoolExecutor

    with TestClient(make_app(key_rate_limit=5)) as first, TestClient(make_app(key_rate_limit=5)) as second:
        key = make_key(first, "read")
        calls = [first, second] * 8
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda c: c.get(f"/api/entries/{SLUG}", headers=bearer(key)).status_code, calls))
        assert sorted(codes) == [200] * 5 + [429] * 11


def test_proposals_have_their_own_per_key_limit(make_app):
    with TestClient(make_app(key_propose_limit=1)) as c:
        key = make_key(c, "propose")
        assert c.post("/api/proposals", json=valid_api_payload(), headers=bearer(key)).status_code == 201
        r = c.post("/api/proposals", json=valid_api_payload(title="Another one"), headers=bearer(key))
        assert assert_error(r, 429)["detail"]["retry_after"] >= 1


def test_anonymous_reading_can_be_turned_off(make_app, monkeypatch, dom):
    monkeypatch.setenv("SYNAPSE_ANONYMOUS_READ", "0")
    with TestClient(make_app()) as c:
        r = c.get("/api/search", params={"q": "429"})
        assert assert_error(r, 401)["detail"] == {"required_scope": "read"}
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/", headers={"Accept": "text/html"}).status_code == 401
        assert c.get(f"/entries/{SLUG}").status_code == 401
        reader, voter = make_key(c, "read"), make_key(c, "vote")
        assert c.get("/api/search", params={"q": "429"}, headers=bearer(reader)).status_code == 200
        assert c.get(f"/api/entries/{SLUG}", headers=bearer(reader)).status_code == 200
        assert_error(c.get("/api/search", params={"q": "429"}, headers=bearer(voter)), 403)
        assert c.post(f"/api/entries/{SLUG}/confirm", headers=bearer(voter)).status_code == 200
        assert c.get("/api/search", params={"q": "429"}, headers=bearer(make_key(c, "moderate"))).status_code == 200
        assert c.get("/admin").status_code == 200  # the moderator can still sign in
        assert c.get("/static/site.css").status_code == 200
    monkeypatch.setenv("SYNAPSE_ANONYMOUS_READ", "1")
    with TestClient(make_app()) as c:
        assert c.get("/api/search", params={"q": "429"}).status_code == 200


def test_a_moderate_key_approves_proposals_and_other_keys_do_not(client):
    proposer, moderator, voter = make_key(client, "propose"), make_key(client, "moderate"), make_key(client, "vote")
    ref = client.post("/api/proposals", json=valid_api_payload(), headers=bearer(proposer)).json()["ref"]
    refused = client.post(f"/admin/submissions/{ref}/approve", headers=bearer(voter), follow_redirects=False)
    assert refused.status_code == 401 and client.app.state.site.submission(ref).status == "pending"
    approved = client.post(f"/admin/submissions/{ref}/approve", headers=bearer(moderator), follow_redirects=False)
    assert approved.status_code == 303 and client.app.state.site.submission(ref).status == "approved"


def test_the_feedback_routes_are_in_the_api_reference(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/entries/{slug}/confirm", "/api/entries/{slug}/flag", "/api/proposals", "/api/flags"):
        assert path in paths
    assert set(paths["/api/proposals"]["post"]["responses"]) >= {"201", "401", "403", "422", "429"}
    assert "/api/proposals" in client.get("/docs").text


def test_revoking_a_key_withdraws_its_confirmations_and_flags(client):
    site = client.app.state.site
    keys = [make_key(client, "vote", name=f"k{i}") for i in range(DEMOTE_AT)]
    for key in keys:
        client.post(f"/api/entries/{SLUG}/confirm", headers=bearer(key))
        client.post(f"/api/entries/{SLUG}/flag", json={"reason": "incorrect"}, headers=bearer(key))
    assert site.feedback_for([SLUG])[SLUG].demoted
    stuffed = next(k for k in site.api_keys() if k.name == "k0")
    site.revoke_api_key(stuffed.id)
    assert client.get(f"/api/entries/{SLUG}").json()["confirmations"] == DEMOTE_AT - 1
    counts = site.feedback_for([SLUG])[SLUG]
    assert (counts.confirmations, counts.incorrect_flags, counts.demoted) == (DEMOTE_AT - 1, DEMOTE_AT - 1, False)
    assert len(site.open_entry_flags(SLUG)) == DEMOTE_AT  # the moderator still sees every report
