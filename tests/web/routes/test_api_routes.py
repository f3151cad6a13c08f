"""web.routes.api: the JSON API, its error shape and its parity with the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from synapse_ai.kb.views import entry_to_dict
from tests.web.conftest import valid_api_payload

_payload = valid_api_payload  # one valid submission, shared with the other web tests


def test_search_is_exactly_kb_search_to_dict(client):
    for q, limit in (("tool calls run one after another", 5), ("429 rate_limit_error", 3), ("css flexbox", 50)):
        r = client.get("/api/search", params={"q": q, "limit": limit})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == json.loads(json.dumps(client.app.state.kb.search(q, limit).to_dict()))
    assert len(client.get("/api/search", params={"q": "tool"}).json()["results"]) == 5  # CLI default limit


def test_search_matches_synapse_search_json(client, db_path):
    from synapse_ai.kb.cli import main

    q = "tool_use ids were found without tool_result blocks"
    api = client.get("/api/search", params={"q": q, "limit": 4}).json()
    result = CliRunner().invoke(main, ["search", "--json", "--limit", "4", "--db", str(db_path), q])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout.strip().splitlines()[-1])
    assert cli == api


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": ""}, 400),
        ({"q": "   "}, 400),
        ({}, 400),
        ({"q": "x", "limit": 0}, 422),
        ({"q": "x", "limit": 51}, 422),
        ({"q": "x", "limit": "many"}, 422),
        ({"q": "x" * 20_001}, 413),
    ],
)
def test_search_errors_are_json(client, params, status):
    r = client.get("/api/search", params=params)
    assert r.status_code == status and r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"error", "detail"} and r.json()["error"]


@pytest.mark.parametrize("q", ['"', "AND", "NEAR(", "*", "工具 🚀", "x" * 10_240, "\x00"])
def test_search_hostile_queries(client, q):
    assert client.get("/api/search", params={"q": q}).status_code == 200


def test_entries_list_and_filters(client):
    data = client.get("/api/entries").json()
    kb = client.app.state.kb
    assert data["count"] == len(data["entries"]) == len(kb.list_entries())
    first = data["entries"][0]
    assert set(first) == {"slug", "title", "summary", "category", "tags", "created", "updated", "stars", "url"}
    assert first["url"] == f"http://testserver/entries/{first['slug']}"
    tool_use = client.get("/api/entries", params={"category": "tool-use"}).json()
    assert {e["slug"] for e in tool_use["entries"]} == {e.slug for e in kb.list_entries(category="tool-use")}
    assert client.get("/api/entries", params={"tag": "no-such-tag"}).json() == {"count": 0, "entries": []}


def test_entry_is_entry_to_dict_plus_stars(client):
    slug = "tool-use-without-tool-result"
    data = client.get(f"/api/entries/{slug}").json()
    stars = data.pop("stars")
    assert stars == 0
    assert (data.pop("confirmations"), data.pop("flags")) == (0, [])  # the feedback loop's counts
    assert data == json.loads(json.dumps(entry_to_dict(client.app.state.kb.get(slug))))
    assert [o["number"] for o in data["fix"]["options"]] == [1, 2, 3]


def test_entry_leads_with_quick_fix_and_verified(client):
    entry = client.app.state.kb.get("rate-limit-429")
    assert entry.quick_fix and entry.verified  # the fixture entry has both fields
    data = client.get("/api/entries/rate-limit-429").json()
    assert list(data)[:4] == ["slug", "title", "quick_fix", "verified"]
    assert data["quick_fix"] == entry.quick_fix
    assert data["verified"] == {"date": entry.verified.on.isoformat(), "against": list(entry.verified.against)}


def test_search_results_carry_the_quick_fix(client):
    kb = client.app.state.kb
    results = client.get("/api/search", params={"q": "anthropic.RateLimitError: Error code: 429", "limit": 3}).json()[
        "results"
    ]
    assert results[0]["slug"] == "rate-limit-429" and results[0]["quick_fix"]
    for r in results:
        assert (
            list(r)[:4] == ["slug", "title", "summary", "quick_fix"] and r["quick_fix"] == kb.get(r["slug"]).quick_fix
        )
    documented = client.get("/openapi.json").json()["components"]["schemas"]["SearchResult"]
    assert "quick_fix" in documented["properties"] and "quick_fix" in documented["required"]


def test_missing_entry_is_json_404_with_suggestions(client):
    r = client.get("/api/entries/rate-limit-42")
    assert r.status_code == 404
    body = r.json()
    assert "rate-limit-42" in body["error"] and "rate-limit-429" in body["detail"]["did_you_mean"]


def test_submit_returns_201_with_a_status_url(client):
    r = client.post("/api/submissions", json=_payload())
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "pending" and body["status_url"] == f"http://testserver/submissions/{body['ref']}"
    assert client.get(body["status_url"]).status_code == 200
    assert client.app.state.site.submission(body["ref"]).data["title"] == _payload()["title"]


def test_submit_validation_is_the_forms(client):
    r = client.post("/api/submissions", json=_payload(patterns=["ok", "broken ("], sources=["ftp://x"], fix_options=[]))
    assert r.status_code == 422
    fields = r.json()["detail"]["fields"]
    assert set(fields) == {"patterns", "sources", "option_title_1"} and "Line 2" in fields["patterns"]
    assert client.post("/api/submissions", json={}).status_code == 422
    assert client.app.state.site.submission_counts()["pending"] == 0


def test_submit_type_errors_and_unknown_fields_are_422(client):
    for body in (_payload(tags="not-a-list"), _payload(extra="x"), [1, 2]):
        r = client.post("/api/submissions", json=body)
        assert r.status_code == 422 and set(r.json()) == {"error", "detail"}
    r = client.post("/api/submissions", content="{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_submit_size_limits(make_app):
    with TestClient(make_app()) as c:
        r = c.post("/api/submissions", json=_payload(title="t" * 201))
        assert r.status_code == 413 and "title" in r.json()["detail"]["fields"]
    with TestClient(make_app(max_body_bytes=2048)) as c:
        r = c.post("/api/submissions", json=_payload(symptom="s" * 4096))
        assert r.status_code == 413 and r.json()["error"]


def test_submit_honeypot_and_rate_limit(make_app):
    with TestClient(make_app(submit_limit=2)) as c:
        r = c.post("/api/submissions", json=_payload(website="http://spam.example"))
        assert r.status_code == 201 and c.get(r.json()["status_url"]).status_code == 200  # looks pending
        assert c.post("/api/submissions", json=_payload()).status_code == 201
        r = c.post("/api/submissions", json=_payload())
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and r.json()["detail"]["retry_after"] > 0
        assert c.app.state.site.submission_counts()["pending"] == 1


def test_api_posts_a_browser_could_forge_are_refused(client, csrf):
    token = csrf(client, "/")  # the client now carries the site cookie, as a victim's browser would
    body = json.dumps(_payload())
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        r = client.post("/api/submissions", content=body, headers={"content-type": content_type})
        assert r.status_code == 403 and r.json()["error"], content_type
    assert (
        client.post(
            "/api/submissions", content=body, headers={"content-type": "text/plain", "X-CSRF-Token": "forged"}
        ).status_code
        == 403
    )
    assert client.post("/api/submissions", json=_payload(), headers={"X-CSRF-Token": token}).status_code == 201
    assert client.post("/api/submissions", json=_payload()).status_code == 201
    assert client.app.state.site.submission_counts()["pending"] == 2


def test_star_and_unstar(client, csrf):
    token = csrf(client, "/")
    headers = {"X-CSRF-Token": token}
    url = "/api/entries/rate-limit-429/star"
    assert client.post(url, headers=headers).json() == {"slug": "rate-limit-429", "stars": 1, "starred": True}
    assert client.post(url, headers=headers).json()["stars"] == 1  # idempotent
    assert client.get("/api/entries/rate-limit-429").json()["stars"] == 1
    assert client.delete(url, headers=headers).json() == {"slug": "rate-limit-429", "stars": 0, "starred": False}
    assert client.delete(url, headers=headers).json()["stars"] == 0
    assert client.post(url).status_code == 403  # neither the header nor a JSON content type
    assert client.post(url, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(url, headers={"content-type": "application/json"}).json()["stars"] == 1
    assert client.post("/api/entries/no-such/star", headers=headers).status_code == 404


def test_star_without_cookie_is_not_counted_and_says_to_retry_with_the_cookie(make_app):
    app = make_app()
    url = "/api/entries/rate-limit-429/star"
    with TestClient(app) as c:
        stuffed = [c.__class__(app).post(url, headers={"content-type": "application/json"}) for _ in range(5)]
        assert {r.status_code for r in stuffed} == {428}
        assert all("synapse_cid=" in r.headers["set-cookie"] for r in stuffed)
        first = stuffed[0].json()
        assert first["detail"] == {"retry_with_cookie": "synapse_cid"} and "send the request again" in first["error"]
        assert c.get("/api/entries/rate-limit-429").json()["stars"] == 0  # nothing counted; c has a cookie now
        for _ in range(3):  # retried with the cookie it was given: counted, once
            r = c.post(url, headers={"content-type": "application/json"})
            assert r.status_code == 200 and r.json() == {"slug": "rate-limit-429", "stars": 1, "starred": True}
        assert c.get("/").status_code == 200


def test_star_rate_limit_per_address_across_client_cookies(make_app):
    app = make_app(star_limit=2)
    codes = []
    for _ in range(3):
        with TestClient(app) as c:  # fresh client cookie each time, same address
            c.get("/")
            codes.append(
                c.post("/api/entries/rate-limit-429/star", headers={"content-type": "application/json"}).status_code
            )
    assert codes == [200, 200, 429]


def test_search_answer_is_what_the_schema_describes(client):
    from synapse_ai.web.routes.api import SearchOut

    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    why = schemas["Why"]["properties"]
    assert {"pattern", "pattern_text", "evidence", "section", "snippet", "signals", "feedback", "decision"} == set(why)
    assert all(prop.get("description") for prop in why.values())
    signals = {"pattern_rank", "generic_rank", "bm25", "bm25_rank", "cosine", "dense_rank"}
    assert set(schemas["Signals"]["properties"]) == signals
    for q in ("anthropic.RateLimitError: Error code: 429", "tool calls run one after another"):
        body = client.get("/api/search", params={"q": q, "limit": 5}).json()
        parsed = SearchOut.model_validate(body)  # the typed model reads the real answer back
        assert [r.why.to_dict() for r in parsed.results] == [r["why"] for r in body["results"]]
