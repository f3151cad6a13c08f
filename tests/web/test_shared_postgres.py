"""Two site replicas on one PostgreSQL: what one accepts, approves or stars, the other serves at once.

Each app is a full ``create_app`` with its own KnowledgeBase, site store and connection pools, as two
``synapse serve`` processes behind a load balancer would be; only the database is shared.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import ADMIN_TOKEN, valid_api_payload


@pytest.fixture
def replicas(postgres_url, web_entries, tmp_path):
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.web.app import create_app, entry_dirs
    from synapse_ai.web.settings import Settings

    settings = Settings(entries_dirs=[web_entries], write_dir=tmp_path / "approved", admin_token=ADMIN_TOKEN)
    KnowledgeBase.open(postgres_url, entry_dirs(settings), embedder=HashingEmbedder()).close()  # `synapse index`

    def app():
        def open_kb():
            return KnowledgeBase.open(postgres_url, entry_dirs(settings), embedder=HashingEmbedder())

        return create_app(settings, kb_factory=open_kb)

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(app(), headers=headers) as first, TestClient(app(), headers=headers) as second:
        yield first, second


def _within_a_second(check) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < 1.0, "not visible on the other replica within a second"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_submission_approved_on_one_replica_is_served_by_the_other(replicas, tmp_path):
    first, second = replicas
    assert type(first.app.state.site).__name__ == "PostgresSiteStore"
    created = first.post("/api/submissions", json=valid_api_payload())
    assert created.status_code == 201, created.text
    ref = created.json()["ref"]
    assert second.app.state.site.submission(ref).status == "pending"

    approved = second.post(f"/admin/submissions/{ref}/approve", follow_redirects=False)
    assert approved.status_code == 303, approved.text
    slug = approved.headers["location"].split("slug=")[1]
    assert not (tmp_path / "approved").exists()  # the shared database holds the entry, not one replica's disk

    _within_a_second(lambda: first.get(f"/api/entries/{slug}").status_code == 200)
    assert first.app.state.site.submission(ref).status == "approved"
    found = first.get("/api/search", params={"q": "frobnicator timed out after 30 seconds"}).json()
    assert found["results"][0]["slug"] == slug and found["matched"]
    assert second.post(f"/admin/submissions/{ref}/approve", follow_redirects=False).status_code == 409  # only once


def test_stars_given_on_one_replica_are_counted_on_the_other(replicas, csrf):
    first, second = replicas
    first.post("/entries/rate-limit-429/star", data={"csrf_token": csrf(first, "/"), "action": "star"})
    _within_a_second(lambda: second.get("/api/entries/rate-limit-429").json()["stars"] == 1)
    # The second client has its own cookie: a second star.
    second.post("/entries/rate-limit-429/star", data={"csrf_token": csrf(second, "/"), "action": "star"})
    _within_a_second(lambda: first.get("/api/entries/rate-limit-429").json()["stars"] == 2)


def test_two_replicas_approving_the_same_submission_at_once_publish_one_entry(replicas, monkeypatch):
    import contextlib
    import threading

    from synapse_ai.web import moderate
    from synapse_ai.web.moderate import ModerationError, approve

    # The two apps share this process; two servers would not share its approval lock.
    monkeypatch.setattr(moderate, "_approve_lock", contextlib.nullcontext())
    first, second = replicas
    ref = first.post("/api/submissions", json=valid_api_payload()).json()["ref"]
    outcomes: list[str] = []

    def moderate(client):
        state = client.app.state
        try:
            outcomes.append(approve(state.kb, state.site, state.settings, ref).slug)
        except ModerationError as exc:
            outcomes.append(f"refused: {exc}")

    threads = [threading.Thread(target=moderate, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    published = [o for o in outcomes if not o.startswith("refused")]
    assert len(published) == 1 and len(outcomes) == 2, outcomes
    slugs = [e.slug for e in first.app.state.kb.list_entries() if e.title == valid_api_payload()["title"]]
    assert slugs == published and first.app.state.site.submission(ref).slug == published[0]


def test_a_confirmation_and_a_flag_through_one_replica_are_seen_by_the_other(replicas):
    from synapse_ai.web.keys import hash_key, key_prefix, new_key

    first, second = replicas
    key = new_key()
    first.app.state.site.add_api_key("agent", ("vote",), hash_key(key), key_prefix(key))
    agent = {"Authorization": f"Bearer {key}"}  # a key made on one replica works on the other
    confirmed = second.post("/api/entries/rate-limit-429/confirm", headers=agent)
    assert confirmed.status_code == 200 and confirmed.json()["confirmations"] == 1, confirmed.text
    _within_a_second(lambda: first.get("/api/entries/rate-limit-429").json()["confirmations"] == 1)
    flagged = first.post("/api/entries/rate-limit-429/flag", headers=agent, json={"reason": "stale", "note": "v2 API"})
    assert flagged.status_code in (200, 201), flagged.text
    site = second.app.state.site
    _within_a_second(lambda: [f["reason"] for f in site.open_entry_flags("rate-limit-429")] == ["stale"])


def test_the_submission_limit_holds_across_replicas_for_simultaneous_requests(replicas):
    """20 simultaneous submissions from one client, spread over both replicas: 5 get in (the limit is
    counted in the shared database, under a lock on the client's key), 15 are told to wait."""
    import threading
    from collections import Counter

    first, second = replicas
    barrier, codes = threading.Barrier(20), []

    def send(i: int) -> None:
        client = (first, second)[i % 2]
        barrier.wait()
        body = valid_api_payload(title=f"Frobnicator times out after {i + 30} seconds")
        codes.append(client.post("/api/submissions", json=body).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert Counter(codes) == Counter({201: 5, 429: 15})
    assert first.app.state.site.submission_counts()["pending"] == 5


def test_one_key_gets_its_limit_once_across_two_replicas(postgres_url, web_entries, tmp_path):
    """Per-key limits are counted in the shared database: 2 replicas do not give a key twice its limit."""
    from concurrent.futures import ThreadPoolExecutor

    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.web.app import create_app, entry_dirs
    from synapse_ai.web.keys import hash_key, key_prefix, new_key
    from synapse_ai.web.settings import Settings

    settings = Settings(entries_dirs=[web_entries], write_dir=tmp_path / "approved", key_rate_limit=6)
    KnowledgeBase.open(postgres_url, entry_dirs(settings), embedder=HashingEmbedder()).close()

    def app():
        return create_app(
            settings,
            kb_factory=lambda: KnowledgeBase.open(postgres_url, entry_dirs(settings), embedder=HashingEmbedder()),
        )

    key = new_key()
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app(), headers=headers) as first, TestClient(app(), headers=headers) as second:
        first.app.state.site.add_api_key("shared", ("read",), hash_key(key), key_prefix(key))
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda c: c.get("/api/entries/rate-limit-429").status_code, [first, second] * 10))
        assert sorted(codes) == [200] * 6 + [429] * 14
        refused = second.get("/api/entries/rate-limit-429")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_an_edit_approved_on_one_replica_is_served_by_the_other(replicas, web_entries, postgres_url):
    """On a shared store an approved edit replaces the entry's row, not one server's file."""
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder
    from tests.web.conftest import csrf_from

    first, second = replicas
    slug, line = "rate-limit-429", "The limit is per organisation, not per key."
    on_disk = (web_entries / f"{slug}.md").read_text()
    form = first.get(f"/entries/{slug}/edit").text
    edited = on_disk.replace("## Root Cause", f"## Root Cause\n\n{line}", 1)
    data = {"csrf_token": csrf_from(form), "markdown": edited, "action": "send", "author": "Ada"}
    sent = first.post(f"/entries/{slug}/edit", data=data, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    ref = sent.headers["location"].split("/edits/")[1].split("?")[0]

    assert second.post(f"/admin/edits/{ref}/approve", follow_redirects=False).status_code == 303
    assert (web_entries / f"{slug}.md").read_text() == on_disk  # no replica's file was rewritten
    _within_a_second(lambda: line in first.get(f"/api/entries/{slug}").text)
    assert line in first.get(f"/entries/{slug}/edit").text  # the next edit starts from the new text
    # `synapse index` from a server's folders keeps the approved edit (the database is the truth).
    KnowledgeBase.open(postgres_url, [web_entries], embedder=HashingEmbedder()).close()
    assert line in second.get(f"/api/entries/{slug}").text
