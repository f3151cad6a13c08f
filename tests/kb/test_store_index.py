"""The store and incremental indexing."""

from __future__ import annotations

import os
import sqlite3

from synapse_ai.kb import KnowledgeBase
from synapse_ai.kb.embed import HashingEmbedder, blob_to_vector, vector_to_blob
from synapse_ai.kb.migrations import migrations
from synapse_ai.kb.store import Store
from tests.kb.helpers import CountingEmbedder, write_entry


def open_kb(tmp_path, folder, embedder=None):
    return KnowledgeBase.open(tmp_path / "kb.db", [folder], embedder=embedder or CountingEmbedder())


def test_schema_migrations_wal_and_fts(tmp_path):
    store = Store(tmp_path / "s.db")
    tables = set(store.db.table_names())
    assert {
        "entries",
        "sections",
        "code_blocks",
        "tags",
        "embeddings",
        "meta",
        "entries_fts",
        "_sqlite_migrations",
    } <= tables
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [m.name for m in migrations.applied(store.db)][0] == "m001_core"
    assert migrations.pending(store.db) == []
    store.close()
    Store(tmp_path / "s.db").close()  # reopening applies nothing twice


def test_vector_blob_is_float32_little_endian():
    blob = vector_to_blob([1.0, -0.5, 0.25])
    assert len(blob) == 12 and blob[:4] == b"\x00\x00\x80\x3f"
    assert blob_to_vector(blob) == [1.0, -0.5, 0.25]


def test_index_is_incremental(tmp_path):
    folder = tmp_path / "entries"
    for name in ("alpha-error", "beta-error", "gamma-error"):
        write_entry(folder, name, symptom=f"{name} happens")
    embedder = CountingEmbedder()
    kb = open_kb(tmp_path, folder, embedder)
    first = kb.last_report
    assert (first.added, first.updated, first.unchanged, first.removed) == (3, 0, 0, 0)
    assert first.embedded == 6 and len(embedder.texts) == 6  # two texts per entry

    # nothing changed: nothing parsed again, nothing embedded
    again = kb.index()
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 3, 0)
    assert len(embedder.texts) == 6

    # touch without changing content: only the stat is refreshed
    path = folder / "alpha-error.md"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    touched = kb.index()
    assert (touched.updated, touched.unchanged, touched.embedded) == (0, 3, 0)

    # change one entry's symptom: one entry updated, only its changed text re-embedded
    write_entry(folder, "beta-error", symptom="beta now fails differently")
    changed = kb.index()
    assert (changed.updated, changed.unchanged, changed.embedded) == (1, 2, 1)

    # delete a file: it leaves the index, with its sections, tags and vectors
    (folder / "gamma-error.md").unlink()
    removed = kb.index()
    assert removed.removed == 1 and kb.get("gamma-error") is None
    for table in ("sections", "tags", "embeddings", "code_blocks"):
        assert kb.store.db.execute(f"select count(*) from {table} where slug = 'gamma-error'").fetchone()[0] == 0
    assert "indexed 2 entries" in removed.summary()


def test_broken_entry_is_reported_and_others_indexed(tmp_path):
    folder = tmp_path / "entries"
    write_entry(folder, "good-one")
    (folder / "bad-one.md").write_text("no front matter here\n")
    kb = open_kb(tmp_path, folder)
    assert kb.get("good-one") is not None and kb.get("bad-one") is None
    assert [p.path for p in kb.last_report.problems] == [str(folder / "bad-one.md")]
    assert "1 file skipped with problems" in kb.last_report.summary()


def test_open_refreshes_only_when_files_change(tmp_path):
    folder = tmp_path / "entries"
    write_entry(folder, "one-thing")
    open_kb(tmp_path, folder).close()
    kb = open_kb(tmp_path, folder)
    assert kb.last_report is None  # fingerprint unchanged: no indexing at all
    kb.close()
    write_entry(folder, "two-thing")
    kb = open_kb(tmp_path, folder)
    assert kb.last_report is not None and kb.last_report.added == 1


def test_corrupt_database_is_moved_aside_and_rebuilt(tmp_path):
    folder = tmp_path / "entries"
    write_entry(folder, "one-thing")
    db = tmp_path / "kb.db"
    db.write_bytes(b"this is not a sqlite database at all" * 100)
    kb = KnowledgeBase.open(db, [folder], embedder=HashingEmbedder())
    assert kb.get("one-thing") is not None
    assert any("damaged" in n for n in kb.notices)
    assert list(tmp_path.glob("kb.db.corrupt-*"))
    sqlite3.connect(db).execute("select count(*) from entries").fetchone()


def test_add_entry_writes_atomically_and_is_searchable(tmp_path, entries_copy):
    from synapse_ai.kb.parse import read_entry

    kb = KnowledgeBase.open(tmp_path / "kb.db", [entries_copy], embedder=HashingEmbedder())
    template = read_entry(
        write_entry(
            tmp_path / "scratch", "zebra-quota-error", title="Zebra quota exceeded", symptom="zebra quota exceeded"
        )
    )
    local = tmp_path / "local"
    slug = kb.free_slug("zebra-quota-error")
    template.slug = slug
    added = kb.add_entry(template, local)
    assert (local / f"{slug}.md").exists() and not list(local.glob(".*.tmp"))
    assert kb.search("zebra quota exceeded").results[0].slug == slug
    assert kb.free_slug(slug) == f"{slug}-2"
    try:
        kb.add_entry(added, local)
    except ValueError as exc:
        assert "already exists" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("duplicate slug accepted")


def test_repeated_query_embeds_once(tmp_path):
    folder = tmp_path / "entries"
    write_entry(folder, "one-thing", symptom="zeppelin overheats")
    embedder = CountingEmbedder()
    kb = open_kb(tmp_path, folder, embedder)
    before = len(embedder.texts)
    first = kb.search("zeppelin overheats again").to_dict()
    second = kb.search("zeppelin overheats again").to_dict()
    assert first == second
    assert len(embedder.texts) == before + 1


def test_schema_migration_names_match_the_migration_set():
    from synapse_ai.kb.store import SCHEMA_MIGRATIONS

    assert tuple(m.name for m in migrations._migrations) == SCHEMA_MIGRATIONS


def test_reading_a_current_database_does_not_import_sqlite_utils(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "entries"
    write_entry(folder, "one-thing")
    open_kb(tmp_path, folder).close()
    probe = (
        "import sys\nfrom pathlib import Path\nfrom synapse_ai.kb import KnowledgeBase\nfrom synapse_ai.kb.embed "
        "import HashingEmbedder\n"
        f"kb = KnowledgeBase.open(Path({str(tmp_path / 'kb.db')!r}), [Path({str(folder)!r})], "
        "embedder=HashingEmbedder())\n"
        "assert kb.last_report is None and kb.search('one thing').results\n"
        "print('sqlite_utils' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
