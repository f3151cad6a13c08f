"""Numbered schema migrations of the SQLite index, applied whenever a store is opened (sqlite-utils
``Migrations``).  The PostgreSQL index has its own set (``kb/stores/pg_migrations.py``); the web site's
tables belong to the site, which applies its own migration set (``synapse.site``).

Never edit a migration that has shipped: add the next number.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("synapse")


@migrations()
def m001_core(db):
    """Create the core tables: entries (with full-text search), sections, code blocks, tags, embeddings, meta."""
    db["entries"].create(
        {
            "slug": str,
            "title": str,
            "summary": str,
            "category": str,
            "tags": str,  # JSON list
            "patterns": str,  # JSON list
            "environment": str,  # JSON list
            "savings": str,
            "sources": str,  # JSON list
            "created": str,
            "updated": str,
            "body": str,  # all sections as markdown, for full-text search
            "patterns_text": str,  # patterns joined, for full-text search
            "markdown": str,  # the canonical file text
            "path": str,
            "file_mtime_ns": int,
            "file_size": int,
            "content_hash": str,
        },
        pk="slug",
    )
    db["sections"].create(
        {"id": int, "slug": str, "position": int, "name": str, "body": str},
        pk="id",
        foreign_keys=[("slug", "entries", "slug")],
    )
    db["sections"].create_index(["slug"])
    db["code_blocks"].create(
        {"id": int, "slug": str, "section": str, "position": int, "language": str, "attrs": str, "code": str},
        pk="id",
        foreign_keys=[("slug", "entries", "slug")],
    )
    db["code_blocks"].create_index(["slug"])
    db["tags"].create({"slug": str, "tag": str}, pk=("slug", "tag"), foreign_keys=[("slug", "entries", "slug")])
    db["tags"].create_index(["tag"])
    # One row per embedded text of an entry ("summary": title+summary+tags, "symptom": symptom+root cause).
    # vector: little-endian float32 BLOB (kb.embed.vector_to_blob); content_hash: sha256 of the embedded
    # text + model, so unchanged text is never embedded again.
    db["embeddings"].create(
        {"slug": str, "field": str, "model": str, "content_hash": str, "vector": bytes},
        pk=("slug", "field"),
        foreign_keys=[("slug", "entries", "slug")],
    )
    db["entries"].enable_fts(
        ["title", "summary", "body", "patterns_text"], fts_version="FTS5", tokenize="porter", create_triggers=True
    )
    db["meta"].create({"key": str, "value": str}, pk="key")


@migrations()
def m002_submissions_and_stars(db):
    """Nothing now: it created the web site's submissions and stars tables, which the site owns."""
    # The site creates them itself (its migration set ``synapse.site``); the
    # name stays so databases that applied it and new ones list the same migrations.


@migrations()
def m003_pattern_literals(db):
    """Store each pattern's required literal beside the patterns."""
    # Each pattern's required literal (kb.signature.required_literal), parallel to ``patterns``:
    # computing them costs ~0.1 ms per pattern, seconds per process at 10k entries, so it is done
    # once when an entry is indexed.
    import json

    from synapse_ai.kb.signature import required_literal

    db["entries"].add_column("pattern_literals", str)
    for slug, patterns in db.execute("select slug, patterns from entries").fetchall():
        literals = [required_literal(p) for p in json.loads(patterns)]
        db.execute("update entries set pattern_literals = ? where slug = ?", [json.dumps(literals), slug])


@migrations()
def m004_entry_signals(db):
    """Add the matching and freshness columns (quick fix, verified, statuses, error types, generic patterns)."""
    # The front-matter fields added for matching and freshness: the one-breath fix, the statuses and
    # error types an entry explains, its generic patterns (with their required literals, as m003),
    # and when it was last verified (JSON).  Emptying content_hash makes the next index rewrite every
    # entry, so the new columns are filled from the files.
    for column in ("quick_fix", "verified", "http_statuses", "error_types", "generic_patterns", "generic_literals"):
        db["entries"].add_column(column, str)
    db.execute("update entries set content_hash = ''")


@migrations()
def m005_api_keys_and_feedback(db):
    """Nothing now: it created the site's api_keys, confirmations and entry_flags tables, which the
    site's own set creates (``synapse.site`` m002); the name stays for databases that applied it."""
