"""End to end with the real model (sentence-transformers/all-MiniLM-L6-v2 from the installed wheel).

Slow (torch loads once, ~10–20 s): marked ``real_model``; it runs in CI.  It checks that the numpy
query model gives the reference model's vectors, and asserts quality floors on the labelled set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from synapse_ai.kb.evaluation import evaluate, load_query_set
from tests.conftest import ENTRIES, ROOT

pytestmark = pytest.mark.real_model

# Floors, set below the measured values in the README so that a real regression fails the suite.
FLOORS = {"hit_at_1": 0.90, "hit_at_3": 0.95, "mrr": 0.90, "matched_correct": 0.65, "abstention": 0.95}
# matched=true on a wrong entry is what an agent acts on without checking: at most 2% of queries.
# (The precision-first rule gave up matched-and-correct, 0.83 -> about 0.65, to take this from
# about 8% to about 1%; docs/search.md has the measurements.)
MAX_MATCHED_WRONG = 0.02
UNCOVERED_ABSTENTION = 0.90


@pytest.fixture(scope="module")
def reference():
    from synapse_ai.kb.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def test_numpy_query_model_matches_sentence_transformers(real_kb, reference):
    import numpy as np

    from synapse_ai.kb.embed import NumpyBertEmbedder

    fast = real_kb.query_embedder()
    assert isinstance(fast, NumpyBertEmbedder)
    texts = ["tool calls run one after another", "Error code: 429 rate_limit_error", "ünïcödé " * 300, "x"]
    a = np.array(reference.embed(texts))
    batched, one_by_one = np.array(fast.embed(texts)), np.array([fast.embed_array(t) for t in texts])
    assert np.abs(a - batched).max() < 1e-6 and np.abs(a - one_by_one).max() < 1e-6


def test_torch_free_export_holds_the_reference_weights(reference, tmp_path):
    import numpy as np

    from synapse_ai.kb import embed

    source = Path(embed.resolve_model_path(embed.DEFAULT_MODEL))
    from_folder = embed.export_numpy_model_from_folder(source, tmp_path / "a")
    from_torch = embed.export_numpy_model(reference.model, tmp_path / "b")
    assert (from_folder / "config.json").read_text() == (from_torch / "config.json").read_text()
    a, b = embed._packed_weights(from_folder), embed._packed_weights(from_torch)
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


def test_shipped_vectors_are_the_reference_vectors(reference):
    import numpy as np

    from synapse_ai.kb import shipped_vectors
    from synapse_ai.kb.embed import DEFAULT_MODEL, blob_to_vector
    from synapse_ai.kb.indexer import embedding_texts, entry_files, text_hash
    from synapse_ai.kb.parse import read_entry

    shipped = shipped_vectors.load(DEFAULT_MODEL)
    texts = [t for p in entry_files([ENTRIES]) for t in embedding_texts(read_entry(p)).values()]
    texts = [t for t in texts if shipped.get(text_hash(DEFAULT_MODEL, t)) is not None][:40]
    stored = np.array([blob_to_vector(shipped.get(text_hash(DEFAULT_MODEL, t))) for t in texts])
    assert len(texts) == 40 and np.abs(stored - np.array(reference.embed(texts))).max() < 1e-6


@pytest.fixture(scope="module")
def answers(real_kb):
    """Every labelled query searched once: (query, ranked slugs, matched)."""
    out = []
    for q in load_query_set(ROOT / "tests" / "queries"):
        response = real_kb.search(q.text, 5)
        out.append((q, [r.slug for r in response.results], response.matched))
    return out


def test_quality_floors_on_labelled_queries(answers):
    lookup = {q.text: (ranked, matched) for q, ranked, matched in answers}
    metrics = evaluate([q for q, _, _ in answers], lambda text: lookup[text])
    report = metrics.as_dict()
    for name, floor in FLOORS.items():
        assert report[name] >= floor, (name, report, metrics.misses[:15])


def test_matched_is_rarely_wrong(answers):
    lookup = {q.text: (ranked, matched) for q, ranked, matched in answers}
    metrics = evaluate([q for q, _, _ in answers], lambda text: lookup[text])
    wrong = [
        (q.slug, q.text[:80], ranked[0]) for q, ranked, matched in answers if q.slug and matched and ranked[0] != q.slug
    ]
    assert metrics.matched_wrong <= MAX_MATCHED_WRONG, wrong


def test_abstains_on_in_domain_questions_without_an_entry(real_kb):
    from synapse_ai.kb.evaluation import load_uncovered

    questions = load_uncovered(ROOT / "tests" / "queries")
    assert len(questions) >= 30
    answered = [(q, real_kb.search(q, 3)) for q in questions]
    confident = [(q[:80], r.results[0].slug) for q, r in answered if r.matched]
    assert 1 - len(confident) / len(questions) >= UNCOVERED_ABSTENTION, confident


def test_every_entry_findable_from_error_text_and_from_a_description(answers):
    best: dict[tuple[str, str], int] = {}
    for q, ranked, _ in answers:
        if q.slug is None:
            continue
        rank = ranked.index(q.slug) + 1 if q.slug in ranked else 99
        best[(q.slug, q.kind)] = min(best.get((q.slug, q.kind), 99), rank)
    not_found = {key: rank for key, rank in best.items() if rank > 1}
    assert not not_found, not_found


@pytest.mark.parametrize(
    "query, slug",
    [
        ("429", "rate-limit-429"),
        ("HTTP 429", "rate-limit-429"),
        ("Too Many Requests", "rate-limit-429"),
        ("529", "overloaded-529"),
        ("overloaded", "overloaded-529"),
        ("413", "request-too-large"),
        ("401", "invalid-api-key"),
        ("HTTP 401 Unauthorized", "invalid-api-key"),
        ("404", "model-not-found"),
    ],
)
def test_status_codes_and_their_reason_phrases_find_the_entry(real_kb, query, slug):
    response = real_kb.search(query, 3)
    ranked = [r.slug for r in response.results]
    if slug == "invalid-api-key":  # two entries explain a bare 401 authentication_error equally well
        assert slug in ranked[:2] and set(ranked[:2]) <= {slug, "claude-code-oauth-token-expired"}, ranked
    else:
        assert ranked[0] == slug, ranked
    assert response.matched is False  # a bare status names a family of failures, not this one
