"""kb.why: the typed explanation of a search result, its JSON form and its inverse."""

from __future__ import annotations

import json

import pytest

from synapse_ai.kb.why import DecisionTrace, MatchedEvidence, Signals, Why

QUERIES = [
    "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error'}}",
    "HTTP 429",
    "the agent calls the same tool again and again and never stops",
    "TypeError: Object of type datetime is not JSON serializable",
    "xyzzy plugh",
]


@pytest.mark.parametrize("query", QUERIES)
def test_from_dict_inverts_to_dict_for_real_results(kb, query):
    for response in (kb.search(query, 5), kb.match(query, 5)):
        for result in response.results:
            data = json.loads(json.dumps(result.why.to_dict()))  # through JSON, as a remote client reads it
            back = Why.from_dict(data)
            assert back == result.why
            assert back.to_dict() == data


def test_json_shape_is_the_documented_one(kb):
    results = kb.match(QUERIES[0], 3).results
    top, rest = results[0].why.to_dict(), [r.why.to_dict() for r in results[1:]]
    assert list(top) == ["pattern", "pattern_text", "evidence", "section", "snippet", "signals", "decision"]
    assert all("decision" not in w for w in rest)  # only the top result says how matched was decided
    assert list(top["signals"]) == ["pattern_rank", "generic_rank", "bm25", "bm25_rank", "cosine", "dense_rank"]
    assert list(top["decision"]) == ["rule", "generic_candidates", "lead", "error_text", "context", "blocks"]
    pattern = {"level": "specific", "kind": "pattern", "pattern": top["pattern"], "text": top["pattern_text"]}
    assert top["evidence"] == pattern


def test_evidence_without_a_pattern_has_no_pattern_key():
    status = MatchedEvidence("generic", "http_status", "429")
    assert status.to_dict() == {"level": "generic", "kind": "http_status", "text": "429"}
    assert MatchedEvidence.from_dict(status.to_dict()) == status


def test_reasons_read_the_evidence_strongest_first():
    why = Why(
        pattern="rate_limit_error",
        pattern_text="'rate_limit_error'",
        signals=Signals(pattern_rank=1, bm25=3.25, bm25_rank=2, cosine=0.8123, dense_rank=1),
    )
    assert [(r.kind, r.text) for r in why.reasons()] == [
        ("pattern", "Error pattern matched: 'rate_limit_error'"),
        ("keywords", "Keywords (rank 2)"),
        ("meaning", "Meaning (similarity 0.81)"),
    ]
    assert [r.brief for r in why.reasons()] == ["error pattern", "keywords", "meaning 0.81"]
    assert Why(pattern="x").reasons()[0].text == "Error pattern matched: x"  # no query text: the pattern
    assert Why().reasons() == []


def test_for_agent_keeps_what_a_model_can_act_on():
    why = Why(
        pattern="p",
        section="Fix",
        snippet="",
        signals=Signals(bm25=1.0, bm25_rank=1),
        decision=DecisionTrace("specific", 0, None, True, ("anthropic",), ()),
    )
    assert why.for_agent() == {"pattern": "p", "section": "Fix"}


def test_from_dict_tolerates_missing_keys():
    assert Why.from_dict({}) == Why() and Why.from_dict(None) == Why()
    assert Why.from_dict({"signals": {"cosine": 0.5, "unknown": 1}}).signals == Signals(cosine=0.5)


def test_why_is_the_same_in_every_process(kb):
    """The error type an explanation names does not depend on the interpreter's hash seed."""
    import os
    import subprocess
    import sys

    db = kb.store.path
    query = "anthropic.BadRequestError: Error code: 400 - {'type': 'error', 'error': {'type': 'invalid_request_error'}}"
    script = (
        "import json, sys; from synapse_ai.kb import KnowledgeBase; from synapse_ai.kb.embed import HashingEmbedder; "
        "kb = KnowledgeBase.open(sys.argv[1], refresh=False, embedder=HashingEmbedder()); "
        "print(json.dumps([r.why.to_dict().get('evidence') for r in kb.match(sys.argv[2], 10).results]))"
    )
    answers = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", script, str(db), query]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        answers.add(done.stdout)
    assert len(answers) == 1 and '"error_type"' in answers.pop()
