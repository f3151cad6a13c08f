"""RemoteKnowledgeBase over the real app (FastAPI's TestClient is an httpx client) answers exactly
as the local KnowledgeBase does: every labelled query, searched and matched, and every entry."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from synapse_ai.kb import __version__
from synapse_ai.kb.evaluation import load_query_set
from synapse_ai.kb.reader import KnowledgeReader
from synapse_ai.kb.remote import RemoteKnowledgeBase
from synapse_ai.kb.search import SearchResponse
from synapse_ai.kb.views import entry_to_dict
from tests.conftest import ROOT


def wire(data):
    """What a value looks like after a trip through JSON (tuples become lists)."""
    return json.loads(json.dumps(data))


@pytest.fixture
def pair(make_app):
    with TestClient(make_app()) as client:
        yield client.app.state.kb, RemoteKnowledgeBase(http=client)


def test_both_are_knowledge_readers(pair):
    local, remote = pair
    assert isinstance(local, KnowledgeReader) and isinstance(remote, KnowledgeReader)


def test_every_labelled_query_gives_the_same_answer_remotely(pair):
    local, remote = pair
    queries = load_query_set(ROOT / "tests" / "queries")
    assert len(queries) > 800
    differ = []
    for q in queries:
        if remote.search(q.text, 5).to_dict() != wire(local.search(q.text, 5).to_dict()):
            differ.append(("search", q.text[:80]))
        if remote.match(q.text, 3).to_dict() != wire(local.match(q.text, 3).to_dict()):
            differ.append(("match", q.text[:80]))
        hook_answer = local.match(q.text, 1, lazy_meaning=True).to_dict()
        if remote.match(q.text, 1, lazy_meaning=True).to_dict() != wire(hook_answer):
            differ.append(("hook's match", q.text[:80]))
    assert differ == []


def test_every_entry_reads_back_the_same(pair):
    local, remote = pair
    for entry in local.list_entries():
        assert entry_to_dict(remote.get(entry.slug)) == wire(entry_to_dict(entry))
        assert remote.markdown(entry.slug) == local.markdown(entry.slug)


def test_a_missing_entry_is_none_with_the_same_suggestions(pair):
    local, remote = pair
    assert remote.get("rate-limit-42") is None and remote.markdown("rate-limit-42") is None
    assert remote.nearest_slugs("rate-limit-42") == local.nearest_slugs("rate-limit-42")
    assert remote.get("../../etc/passwd") is None


def test_search_response_from_dict_is_the_inverse_of_to_dict(pair):
    local, _ = pair
    long_log = "INFO step\n" * 5000 + "anthropic.RateLimitError: Error code: 429 rate_limit_error"
    for text in ("429 rate_limit_error", "tool calls run one after another", long_log, "css flexbox"):
        data = wire(local.search(text, 7).to_dict())
        assert SearchResponse.from_dict(data).to_dict() == data


def test_health_says_version_api_version_model_and_entries(pair):
    local, remote = pair
    health = remote.health()
    assert health == {"version": __version__, "api_version": "1", "model": "hash", "entries": len(local.list_entries())}


def test_a_server_on_postgresql_answers_like_its_own_knowledge_base(postgres_url, web_entries):
    """The remote reader over an app whose database is PostgreSQL (pgvector, full-text search): the
    same wire shape and the same answers as that KnowledgeBase, and ``connect`` opens the URL itself."""
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.connect import connect
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.web.app import create_app
    from synapse_ai.web.settings import Settings

    KnowledgeBase.open(postgres_url, [web_entries], embedder=HashingEmbedder()).close()
    app = create_app(
        Settings(entries_dirs=[web_entries]),
        kb_factory=lambda: KnowledgeBase.open(postgres_url, [web_entries], embedder=HashingEmbedder()),
    )
    queries = [q.text for q in load_query_set(ROOT / "tests" / "queries")][::20]
    with TestClient(app) as client:
        local, remote = client.app.state.kb, RemoteKnowledgeBase(http=client)
        for text in queries:
            assert remote.search(text, 5).to_dict() == wire(local.search(text, 5).to_dict())
            assert remote.match(text, 3).to_dict() == wire(local.match(text, 3).to_dict())
        assert entry_to_dict(remote.require("rate-limit-429")) == wire(entry_to_dict(local.get("rate-limit-429")))
    direct = connect(postgres_url)
    try:
        assert isinstance(direct, KnowledgeReader) and direct.get("rate-limit-429") is not None
    finally:
        direct.close()
