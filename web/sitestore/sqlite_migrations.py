"""The SQLite site store's numbered migrations (sqlite-utils ``Migrations``, set ``synapse.site``).

Kept apart from ``sqlite.py`` so the store's module stays short; ``SqliteSiteStore`` applies them
whenever it opens a database. Never edit a migration that has shipped: add the next number.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("synapse.site")


@migrations()
def m001_submissions_and_stars(db):
    """Create the submissions and stars tables if missing. Raises sqlite3.Error when the database fails."""
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
        if_not_exists=True,
    )
    db["submissions"].create_index(["status", "created_at"], if_not_exists=True)
    # One star per (entry, client).  No foreign key to entries: re-indexing deletes and re-creates
    # entry rows, and stars must survive that.
    db["stars"].create({"slug": str, "client": str, "created_at": str}, pk=("slug", "client"), if_not_exists=True)
    db["stars"].create_index(["slug"], if_not_exists=True)


@migrations()
def m002_api_keys_and_feedback(db):
    """Create the api_keys, confirmations and entry_flags tables if missing.
    Raises sqlite3.Error when the database fails."""
    # The feedback loop's rows (web/keys.py, web/feedback.py); databases whose kb set ran the old
    # ``m005_api_keys_and_feedback`` already have them, so only what is missing is created.
    # API keys: only the sha256 of the key is stored (see web/keys.py for why not bcrypt).
    # ``scopes`` is space-separated ("read vote"); ``revoked_at`` empty while the key works.
    db["api_keys"].create(
        {"id": str, "name": str, "key_hash": str, "prefix": str, "scopes": str, "created_at": str, "revoked_at": str},
        pk="id",
        if_not_exists=True,
    )
    db["api_keys"].create_index(["key_hash"], unique=True, if_not_exists=True)
    # "This fixed it": one row per (entry, voter), so repeating is idempotent and the count is of
    # distinct voters ("key:<id>", "local:<user>").  No foreign key: re-indexing rewrites entries.
    db["confirmations"].create({"slug": str, "voter": str, "created_at": str}, pk=("slug", "voter"), if_not_exists=True)
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
        if_not_exists=True,
    )
    db.execute(
        "create unique index if not exists entry_flags_open_once on entry_flags (slug, voter, reason) "
        "where status = 'open'"
    )
    db["entry_flags"].create_index(["status", "slug"], if_not_exists=True)


@migrations()
def m003_revisions(db):
    """Create the revisions table (suggested edits) if missing. Raises sqlite3.Error when the database fails."""
    # Suggested edits to entries (web/revisions.py).  ``ref`` is the random token of the suggestion's
    # status page; ``base`` the entry file's text the edit was made on (approval refuses when the file
    # has changed since), ``markdown`` the proposed text, ``author`` the public credit (may be empty),
    # ``note`` the editor's summary, ``flags`` the moderator warnings (JSON), ``reason`` why it was
    # rejected.  Approved rows are the entry's history.
    db["revisions"].create(
        {
            "ref": str,
            "slug": str,
            "status": str,  # pending | approved | rejected
            "created_at": str,
            "updated_at": str,
            "author": str,
            "note": str,
            "base": str,
            "markdown": str,
            "flags": str,
            "reason": str,
        },
        pk="ref",
        if_not_exists=True,
    )
    db["revisions"].create_index(["slug", "status", "created_at"], if_not_exists=True)


@migrations()
def m004_rate_events_and_revoked_admin_sessions(db):
    """Create the rate_events and revoked_admin_sessions tables. Raises sqlite3.Error when the database fails."""
    # Rate limits counted in the database (``claim_rate_slot``): one row per counted action (a
    # submission, a new star, a failed sign-in) per key (a client address), so the check and the
    # record are one transaction and every process sharing the database shares the limits.
    # Signed-out admin cookies, by sha256, until they would have expired anyway.
    db.execute("create table if not exists rate_events (action text not null, key text not null, at real not null)")
    db.execute("create index if not exists rate_events_by_key on rate_events (action, key, at)")
    db.execute("create table if not exists revoked_admin_sessions (digest text primary key, expires real not null)")
