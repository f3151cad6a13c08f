"""The labelled query set covers every entry (fast checks; quality floors are in test_real_model.py)."""

from __future__ import annotations

from collections import Counter

from synapse_ai.kb.evaluation import load_query_set
from synapse_ai.kb.lint import entry_files
from tests.conftest import ENTRIES, ROOT

QUERIES = ROOT / "tests" / "queries"


def test_every_entry_has_at_least_three_queries_of_both_kinds():
    from synapse_ai.kb.parse import read_entry

    queries = load_query_set(QUERIES)
    per_slug = Counter(q.slug for q in queries if q.slug)
    kinds = {(q.slug, q.kind) for q in queries if q.slug}
    for path in entry_files([ENTRIES]):
        entry = read_entry(path)
        assert per_slug[entry.slug] >= 3, f"{entry.slug} has {per_slug[entry.slug]} queries"
        assert (entry.slug, "symptom") in kinds, f"{entry.slug} has no plain-language query"
        if entry.patterns:
            assert (entry.slug, "error") in kinds, f"{entry.slug} has patterns but no raw error query"


def test_query_files_name_real_entries():
    slugs = {p.stem for p in entry_files([ENTRIES])}
    labelled = {q.slug for q in load_query_set(QUERIES) if q.slug}
    assert labelled <= slugs, labelled - slugs
    assert all(q.kind in ("error", "symptom", "off-topic") for q in load_query_set(QUERIES))


def test_enough_off_topic_queries():
    assert sum(1 for q in load_query_set(QUERIES) if q.slug is None) >= 30
