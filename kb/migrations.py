"""Numbered schema migrations, applied whenever a store is opened (sqlite-utils ``Migrations``).

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
    """Create the site's submissions and stars tables."""
    # Solutions sent through the web form / API, waiting for (or after) moderation.  ``ref`` is the
    # random token the submitter gets for the status page.  ``data`` holds the fields as typed
    # (JSON), ``markdown`` the entry as it would be written, ``flags`` the moderator warnings (JSON).
    db["submissions"].create(
        {
            "ref": str,
            "status": str,  # pending | approved | rejected
            "created_at": str,
            "updated_at": str,
            "title": str,
            "data": str,
            "markdown": str,
            "flags": str,
            "contact": str,
            "reason": str,  # why it was rejected (shown to the submitter)
            "slug": str,  # the entry written on approval
        },
        pk="ref",
    )
    db["submissions"].create_index(["status", "created_at"])
    # One star per (entry, client).  No foreign key to entries: re-indexing deletes and re-creates
    # entry rows, and stars must survive that.
    db["stars"].create({"slug": str, "client": str, "created_at": str}, pk=("slug", "client"))
    db["stars"].create_index(["slug"])


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
    # Site data for the feedback loop (web/keys.py, web/feedback.py), kept apart from the index
    # tables so it moves with the rest of the site's schema.  Plain types, text ids and no
    # autoincrement, so the same tables exist on PostgreSQL.
    #
    # API keys: only the sha256 of the key is stored (see web/keys.py for why not bcrypt).
    # ``scopes`` is space-separated ("read vote"); ``revoked_at`` empty while the key works.
    db["api_keys"].create(
        {"id": str, "name": str, "key_hash": str, "prefix": str, "scopes": str, "created_at": str, "revoked_at": str},
        pk="id",
    )
    db["api_keys"].create_index(["key_hash"], unique=True)
    # "This fixed it": one row per (entry, voter), so repeating is idempotent and the count is of
    # distinct voters ("key:<id>", "local:<user>").  No foreign key: re-indexing rewrites entries.
    db["confirmations"].create({"slug": str, "voter": str, "created_at": str}, pk=("slug", "voter"))
    # Reports that an entry is stale, incorrect, a duplicate or harmful.  One open report per
    # (entry, voter, reason) (a repeat updates its note); a moderator resolves them.
    db["entry_flags"].create(
        {
            "id": str,
            "slug": str,
            "voter": str,
            "reason": str,
            "note": str,
            "status": str,  # open | resolved
            "created_at": str,
            "resolved_at": str,
            "resolution": str,
        },
        pk="id",
    )
    db.execute(
        "create unique index entry_flags_open_once on entry_flags (slug, voter, reason) where status = 'open'"
    )
    db["entry_flags"].create_index(["status", "slug"])
