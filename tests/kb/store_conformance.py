"""What every ``IndexStore`` must do alike (cq's ``run_store_conformance`` idea).

Each check takes a fresh, empty store; ``tests/kb/test_store_conformance.py`` runs them all on SQLite
and on a real PostgreSQL.  Only observable behaviour is pinned: rows written come back equal, writes
are whole, lexical hits are ranked best first, vector hits are one per entry with the true cosine.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from pathlib import Path

from synapse_ai.kb.model import Entry
from synapse_ai.kb.parse import read_entry, render_entry
from synapse_ai.kb.stores import Hit, IndexStore

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ("tool-use-without-tool-result", "rate-limit-429", "agent-infinite-loop", "openai-context-length-exceeded")


def sample_entries() -> list[Entry]:
    return [read_entry(ROOT / "entries" / f"{slug}.md") for slug in SAMPLE]


def _fill(store: IndexStore) -> list[Entry]:
    entries = sample_entries()
    for i, entry in enumerate(entries):
        store.upsert_entry(entry, render_entry(entry), f"hash-{i}", mtime_ns=1000 + i, size=10 + i)
    return entries


def _same(got: Entry | None, want: Entry) -> bool:
    """Equal as stored: sections keep their names and bodies (not their line numbers in the file)."""
    assert got is not None
    pairs = lambda e: [(s.name, s.body) for s in e.sections]  # noqa: E731
    return dataclasses.replace(got, sections=[]) == dataclasses.replace(want, sections=[]) and pairs(got) == pairs(want)


def _unit(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def check_is_an_index_store(store: IndexStore) -> None:
    assert isinstance(store, IndexStore)
    assert isinstance(store.url, str) and isinstance(store.shared, bool) and isinstance(store.thread_safe, bool)


def check_entries_round_trip(store: IndexStore) -> None:
    entries = _fill(store)
    for entry in entries:
        got = store.get_entry(entry.slug)
        assert _same(got, entry)
        assert store.markdown(entry.slug) == render_entry(entry)
        assert store.child_counts(entry.slug) == (len(entry.sections), len(set(entry.tags)))
    assert store.count() == len(entries)
    assert store.slugs() == sorted(e.slug for e in entries)
    assert store.get_entry("no-such-entry") is None and store.markdown("no-such-entry") is None
    assert set(store.entries_markdown()) == {e.slug for e in entries}


def check_upsert_replaces_every_row(store: IndexStore) -> None:
    entry = _fill(store)[0]
    changed = dataclasses.replace(entry, title="A new title", tags=["only-tag"], sections=entry.sections[:1])
    store.upsert_entry(changed, render_entry(changed), "hash-new")
    assert _same(store.get_entry(entry.slug), changed)
    assert store.child_counts(entry.slug) == (1, 1)
    assert ("only-tag", 1) in store.tags()
    assert store.lexical_search(["new", "title"], 5)[0].slug == entry.slug


def check_file_stats(store: IndexStore) -> None:
    entries = _fill(store)
    first = entries[0].slug
    prints = store.entry_fingerprints()
    assert prints[first] == (str(entries[0].path), 1000, 10, "hash-0")
    store.touch_entry(first, 5, 6)
    assert store.entry_fingerprints()[first][1:3] == (5, 6)
    store.forget_file_stats()
    assert {p[1] for p in store.entry_fingerprints().values()} == {-1}
    assert store.entry_path(first) == str(entries[0].path)
    assert store.entry_path("missing") is None


def check_delete_removes_everything(store: IndexStore) -> None:
    entries = _fill(store)
    slug = entries[0].slug
    store.save_embeddings([(slug, "summary", "m", "h", _unit([1.0, 0.0, 0.0]))])
    store.delete_entries([slug])
    assert store.get_entry(slug) is None and store.child_counts(slug) == (0, 0)
    assert (slug, "summary") not in store.embedding_hashes()
    assert slug not in {h.slug for h in store.lexical_search(entries[0].title.lower().split(), 10)}
    assert store.count() == len(entries) - 1


def check_listing(store: IndexStore) -> None:
    entries = _fill(store)
    assert [e.slug for e in store.list_entries()] == [e.slug for e in sorted(entries, key=lambda e: e.title.lower())]
    tag = entries[0].tags[0]
    assert {e.slug for e in store.list_entries(tag=tag)} == {e.slug for e in entries if tag in e.tags}
    category = entries[1].category
    in_category = {e.slug for e in entries if e.category == category}
    assert {e.slug for e in store.list_entries(category=category)} == in_category
    assert dict(store.categories()) == {c: sum(e.category == c for e in entries) for c in {e.category for e in entries}}


def check_meta(store: IndexStore) -> None:
    assert store.get_meta("generation", "0") == "0"
    store.set_meta("generation", "3")
    store.set_metas({"generation": "4", "fingerprint": "abc"})
    assert (store.get_meta("generation"), store.get_meta("fingerprint")) == ("4", "abc")


def check_signals(store: IndexStore) -> None:
    entries = _fill(store)
    signals = store.all_signals()
    for entry in entries:
        assert [p for p, _ in signals[entry.slug]["patterns"]] == entry.patterns
        assert signals[entry.slug]["http_statuses"] == entry.http_statuses
        assert [p for p, _ in store.all_patterns()[entry.slug]] == entry.patterns


def check_lexical_ranking(store: IndexStore) -> None:
    entries = {e.slug: e for e in _fill(store)}
    assert store.lexical_search([], 5) == []
    hits = store.lexical_search(["tool_use", "tool_result", "without"], 5)
    assert hits and hits[0].slug == "tool-use-without-tool-result"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(isinstance(h, Hit) and h.slug in entries for h in hits)
    assert store.lexical_search(["429", "backoff"], 5)[0].slug == "rate-limit-429"
    assert store.lexical_search(["zzqqxx"], 5) == []
    # Untrusted text is only ever data: operators and quotes neither fail nor change the syntax.
    for hostile in (['NEAR(a "b")', "title:x*"], ["'", '"', "|", "!", "&", "(", ")"], ["a' or '1'='1"]):
        assert isinstance(store.lexical_search(hostile, 5), list)
    assert len(store.lexical_search(["error", "agent", "tool", "context", "rate"], 2)) <= 2


def check_vectors(store: IndexStore) -> None:
    _fill(store)
    assert not store.has_vectors("m")
    rows = [
        ("tool-use-without-tool-result", "summary", "m", "h1", _unit([1.0, 0.0, 0.0])),
        ("tool-use-without-tool-result", "symptom", "m", "h2", _unit([0.9, 0.1, 0.0])),
        ("rate-limit-429", "summary", "m", "h3", _unit([0.0, 1.0, 0.0])),
        ("rate-limit-429", "symptom", "m", "h4", _unit([0.6, 0.8, 0.0])),
        ("agent-infinite-loop", "summary", "other-model", "h5", _unit([0.0, 0.0, 1.0, 0.0])),
    ]
    store.save_embeddings(rows)
    assert store.has_vectors("m") and store.has_vectors("other-model") and not store.has_vectors("none")
    assert store.embedding_hashes()[("rate-limit-429", "symptom")] == "h4"
    store.set_meta("generation", "1")  # what the indexer does after writing vectors
    hits = store.vector_search(_unit([0.7, 0.7, 0.0]), "m", 5)
    assert [h.slug for h in hits] == ["rate-limit-429", "tool-use-without-tool-result"]  # one hit per entry
    assert hits[0].field == "symptom" and math.isclose(hits[0].score, (0.6 + 0.8) / math.sqrt(2), rel_tol=1e-4)
    assert store.vector_search(_unit([0.7, 0.7, 0.0]), "m", 1)[0].slug == "rate-limit-429"
    assert [h.slug for h in store.vector_search([0.0, 0.0, 1.0, 0.0], "other-model", 5)] == ["agent-infinite-loop"]
    vectors = store.entry_vectors("tool-use-without-tool-result", "m")
    assert len(vectors) == 2 and all(len(v) == 3 for v in vectors)
    store.delete_embeddings_except({("tool-use-without-tool-result", "summary")})
    assert set(store.embedding_hashes()) == {("tool-use-without-tool-result", "summary")}


def check_index_lock_excludes_a_second_holder(store: IndexStore, other: IndexStore) -> None:
    with store.index_lock(timeout=5) as held:
        assert held
        seen: list[bool] = []
        thread = threading.Thread(target=lambda: seen.append(other.index_lock(timeout=0).__enter__()))
        thread.start()
        thread.join()
        assert seen == [False]
    with other.index_lock(timeout=5) as held:
        assert held


CHECKS = [
    value
    for name, value in dict(globals()).items()
    if name.startswith("check_") and name != "check_index_lock_excludes_a_second_holder"
]
