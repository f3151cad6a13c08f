"""Hybrid search behaviour with the deterministic hashing embedder."""

from __future__ import annotations

import pytest

from synapse_ai.kb import KnowledgeBase
from synapse_ai.kb.embed import HashingEmbedder
from synapse_ai.kb.search import decide_matched, query_terms
from synapse_ai.kb.stores.sqlite import fts_expression
from tests.kb.helpers import write_entry

HOSTILE = [
    "",
    " ",
    '"',
    "'",
    "*",
    "(((",
    "a AND OR NOT b",
    'NEAR("a" "b", 3)',
    "title:foo",
    "^start",
    "x" * 10_000,
    "e" * 10_240 + " 429",
    "ünïcödé ✓ 🤖 中文",
    "\x00\x01",
    "-- DROP TABLE entries;",
    '{"json": [1,2]}',
    "a\nb\r\nc",
]


@pytest.fixture
def small_kb(tmp_path):
    folder = tmp_path / "entries"
    write_entry(
        folder,
        "rate-limited",
        title="429 rate_limit_error from the API",
        summary="Too many requests per minute.",
        patterns=r"'rate_limit_error', 'Error code: 429'",
        symptom="Requests fail with 429 rate_limit_error.",
        cause="You exceeded requests per minute.",
        fix="Back off and retry after the retry-after header.",
    )
    write_entry(
        folder,
        "slow-tools",
        title="Tool calls run one after another",
        summary="Independent tool calls are executed sequentially.",
        symptom="The agent reads files one at a time and is slow.",
        cause="Tools are awaited in a loop.",
        fix="Run independent calls concurrently with asyncio.gather.",
    )
    kb = KnowledgeBase.open(tmp_path / "kb.db", [folder], embedder=HashingEmbedder())
    yield kb
    kb.close()


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_any_text_is_safe(small_kb, query):
    data = small_kb.search(query, 5).to_dict()
    assert set(data) == {"query", "matched", "results"} and isinstance(data["matched"], bool)


def test_fts_expression_quotes_everything():
    assert fts_expression(query_terms('NEAR(a "b") AND title:x*')) == '"near" OR "title"'
    assert fts_expression([]) is None


def test_pasted_error_finds_entry_by_pattern(small_kb):
    error = (
        'Traceback (most recent call last):\n  File "/srv/agent.py", line 12, in run\n'
        "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', "
        "'message': 'Number of request tokens has exceeded your per-minute rate limit'}, 'request_id': 'req_011CXy'}"
    )
    data = small_kb.match(error).to_dict()
    top = data["results"][0]
    assert data["matched"] is True and top["slug"] == "rate-limited"
    assert top["why"]["pattern"] in ("rate_limit_error", "Error code: 429")
    assert set(top["why"]["signals"]) == {"pattern_rank", "generic_rank", "bm25", "bm25_rank", "cosine", "dense_rank"}
    assert top["why"]["evidence"]["level"] == "specific" and top["why"]["decision"]["rule"] == "specific"
    assert {"slug", "title", "summary", "score", "category", "why"} <= set(top)


def test_results_say_why_with_section_and_snippet(small_kb):
    top = small_kb.search("agent reads files one at a time").to_dict()["results"][0]
    assert top["slug"] == "slow-tools"
    assert top["why"]["section"] == "Symptom" and "**files**" in top["why"]["snippet"]


def test_off_topic_is_not_matched(small_kb):
    assert small_kb.search("how do I center a div in css").matched is False


def _decide(
    specific=False,
    generic=False,
    error_text=False,
    context=False,
    cosine=None,
    bm25_rank=None,
    lead=None,
    generic_unique=True,
):
    return decide_matched(
        specific=specific,
        generic=generic,
        generic_unique=generic_unique,
        error_text=error_text,
        context=context,
        cosine=cosine,
        bm25_rank=bm25_rank,
        lead=lead,
    ).matched


def test_specific_evidence_decides_alone():
    assert _decide(specific=True, error_text=True) is True
    assert _decide(specific=True) is True


def test_generic_evidence_needs_agent_context():
    assert _decide(generic=True, error_text=True, context=True) is True
    assert _decide(generic=True, error_text=True, context=False, cosine=0.9, bm25_rank=1, lead=0.3) is False
    # shared by several entries: only for the one meaning puts first
    assert _decide(generic=True, generic_unique=False, error_text=True, context=True, cosine=0.5, lead=0.01) is True
    assert _decide(generic=True, generic_unique=False, error_text=True, context=True, cosine=0.5, lead=-0.02) is False
    # in a question, a status phrase is a topic, not evidence
    assert _decide(generic=True, error_text=False, context=True, cosine=0.3, bm25_rank=5) is False


def test_error_text_without_context_never_matches_on_meaning():
    assert _decide(error_text=True, cosine=0.95, bm25_rank=1, lead=0.5) is False
    assert _decide(error_text=True, context=True, cosine=0.95) is True


def test_questions_need_strong_or_corroborated_meaning():
    assert _decide(cosine=0.9) is True
    assert _decide(cosine=0.69, bm25_rank=3, lead=0.01) is False
    assert _decide(cosine=0.55, bm25_rank=1, lead=0.10) is True
    assert _decide(cosine=0.55, bm25_rank=2, lead=0.10) is False  # keywords must agree on the same entry
    assert _decide(cosine=0.55, bm25_rank=1, lead=0.01) is False  # and it must lead the others
    assert _decide(cosine=0.40, bm25_rank=1, lead=0.30) is False
    assert _decide(cosine=None, bm25_rank=1) is False


def test_limit_is_respected(small_kb):
    assert len(small_kb.search("error", limit=1).results) == 1


def test_snippet_markers_are_only_ours():
    from synapse_ai.kb.search import snippet

    assert snippet("Use **asyncio.gather** for tool calls", ["tool"]) == "Use asyncio.gather for **tool** calls"
    assert snippet("### Option 1: Cap tool calls", ["cap"]) == "Option 1: **Cap** tool calls"


def test_long_queries_are_not_echoed_whole(small_kb):
    log = "INFO step\n" * 100_000 + "anthropic.RateLimitError: Error code: 429 - rate_limit_error"
    data = small_kb.match(log).to_dict()
    assert len(data["query"]) < 2_000
    assert data["query"].endswith("rate_limit_error") and "characters omitted" in data["query"]
    assert data["results"][0]["slug"] == "rate-limited"
