"""Submissions and stars in a SQLite file (by default the knowledge base's own file).

The tables come from the migration set ``synapse.site`` (sqlite-utils ``Migrations``),
applied when the store is opened; databases made before the site owned its schema already have them
(kb's old ``m002_submissions_and_stars``), so ``m001`` creates only what is missing.  This class opens
its *own* connection to the file: the
``KnowledgeBase`` connection is shared by search threads under the kb lock, and a separate WAL
connection lets a star or a submission commit without waiting for, or interleaving with, a search.
Every write commits before returning, so a submission acknowledged to its author is on disk.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from synapse_ai.kb.feedback import Feedback
from synapse_ai.web.keys import ApiKey, new_key_id
from synapse_ai.web.sitestore.records import Revision, Submission
from synapse_ai.web.sitestore.records import client_key as _client_key
from synapse_ai.web.sitestore.records import now as _now
from synapse_ai.web.sitestore.sqlite_migrations import migrations


def _now_precise() -> str:
    """Microseconds, so rows made within one second (keys, flags) still list in the order they came."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SqliteSiteStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.url = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._lock = threading.Lock()
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _migrate(self) -> None:
        """Apply ``synapse.site``'s pending migrations in one write transaction (BEGIN IMMEDIATE: a
        second process opening the file at the same moment waits, then finds nothing pending)."""
        from sqlite_utils import Database

        db = Database(self._conn, execute_plugins=False)
        if not migrations.pending(db):
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            migrations.apply(db)
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close this store's connection. Raises nothing of its own (closing twice is harmless)."""
        with self._lock:
            self._conn.close()

    def _write(self, sql: str, params: list) -> int:
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def _read(self, sql: str, params: list | tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ submissions
    def add_submission(self, title: str, data: dict, markdown: str, flags: list[dict], contact: str = "") -> str:
        """Store a pending submission; returns its ref. Raises TypeError when data or flags are not
        JSON-serialisable, sqlite3.Error when the database fails."""
        ref = secrets.token_urlsafe(16)
        now = _now()
        self._write(
            "insert into submissions (ref, status, created_at, updated_at, title, data, markdown, flags, contact, "
            "reason, slug) "
            "values (?, 'pending', ?, ?, ?, ?, ?, ?, ?, '', '')",
            [
                ref,
                now,
                now,
                title,
                json.dumps(data, ensure_ascii=False),
                markdown,
                json.dumps(flags, ensure_ascii=False),
                contact,
            ],
        )
        return ref

    def submission(self, ref: str) -> Submission | None:
        """The submission with this ref, or None. Raises sqlite3.Error when the database fails."""
        rows = self._read("select * from submissions where ref = ?", [ref])
        return Submission.from_row(rows[0]) if rows else None

    def submissions(self, status: str | None = None, limit: int = 200) -> list[Submission]:
        """Submissions newest first, optionally of one status, at most limit.
        Raises sqlite3.Error when the database fails."""
        if status:
            rows = self._read(
                "select * from submissions where status = ? order by created_at desc limit ?", [status, limit]
            )
        else:
            rows = self._read("select * from submissions order by created_at desc limit ?", [limit])
        return [Submission.from_row(r) for r in rows]

    def submission_counts(self) -> dict[str, int]:
        """Number of submissions per status (pending, approved, rejected always present).
        Raises sqlite3.Error when the database fails."""
        counts = {"pending": 0, "approved": 0, "rejected": 0}
        counts.update({r[0]: r[1] for r in self._read("select status, count(*) from submissions group by status")})
        return counts

    def mark_approved(self, ref: str, slug: str) -> bool:
        """pending → approved; False if it was not pending (someone else moderated it)."""
        return (
            self._write(
                "update submissions set status = 'approved', slug = ?, updated_at = ? where ref = ? and status = "
                "'pending'",
                [slug, _now(), ref],
            )
            == 1
        )

    def approved_slugs(self) -> set[str]:
        """The entry slugs approved submissions were published under."""
        return {r[0] for r in self._read("select slug from submissions where status = 'approved' and slug != ''")}

    def mark_rejected(self, ref: str, reason: str) -> bool:
        """pending → rejected with reason; False if it was not pending. Raises sqlite3.Error when the database fails."""
        return (
            self._write(
                "update submissions set status = 'rejected', reason = ?, updated_at = ? where ref = ? and status = "
                "'pending'",
                [reason, _now(), ref],
            )
            == 1
        )

    # ------------------------------------------------------------------ stars
    def star(self, slug: str, client_id: str) -> bool:
        """Idempotent: starring twice is one star.  Returns whether a star was added."""
        return (
            self._write(
                "insert or ignore into stars (slug, client, created_at) values (?, ?, ?)",
                [slug, _client_key(client_id), _now()],
            )
            == 1
        )

    def unstar(self, slug: str, client_id: str) -> bool:
        """Remove the client's star; returns whether one was removed. Raises sqlite3.Error when the database fails."""
        return self._write("delete from stars where slug = ? and client = ?", [slug, _client_key(client_id)]) == 1

    def is_starred(self, slug: str, client_id: str) -> bool:
        """Whether this client starred the entry. Raises sqlite3.Error when the database fails."""
        return bool(self._read("select 1 from stars where slug = ? and client = ?", [slug, _client_key(client_id)]))

    def starred_by(self, client_id: str) -> set[str]:
        """Slugs of the entries this client starred. Raises sqlite3.Error when the database fails."""
        return {r[0] for r in self._read("select slug from stars where client = ?", [_client_key(client_id)])}

    def star_count(self, slug: str) -> int:
        """Number of stars of one entry. Raises sqlite3.Error when the database fails."""
        return self._read("select count(*) from stars where slug = ?", [slug])[0][0]

    def star_counts(self) -> dict[str, int]:
        """Number of stars per starred entry. Raises sqlite3.Error when the database fails."""
        return {r[0]: r[1] for r in self._read("select slug, count(*) from stars group by slug")}

    # ------------------------------------------------------------------ admin sessions
    def revoke_admin_session(self, cookie: str, expires: float) -> None:
        """Sign-out: the cookie stops working on every server sharing this database, though its
        signature is still valid until ``expires``."""
        digest = hashlib.sha256(cookie.encode()).hexdigest()
        self._write("delete from revoked_admin_sessions where expires < ?", [time.time()])
        self._write("insert or replace into revoked_admin_sessions (digest, expires) values (?, ?)", [digest, expires])

    def admin_session_revoked(self, cookie: str) -> bool:
        """Whether this admin cookie was signed out. Raises sqlite3.Error when the database fails."""
        digest = hashlib.sha256(cookie.encode()).hexdigest()
        return bool(self._read("select 1 from revoked_admin_sessions where digest = ?", [digest]))

    # ------------------------------------------------------------------ rate limits (migration m004)
    def claim_rate_slot(self, action: str, key: str, limit: int, window: float, now: float | None = None) -> float:
        """Count one ``action`` by ``key`` if fewer than ``limit`` were counted in the last ``window``
        seconds: 0.0 when counted, else the seconds until the oldest counted one leaves the window.

        Check and record are one step in the database, so 20 simultaneous requests (from any
        number of threads, processes or replicas sharing the database) get exactly ``limit`` slots.
        SQLite: ``BEGIN IMMEDIATE`` takes the write lock before the count is read, so no other
        writer can count in between.  PostgreSQL (``postgres.py``): the same statements, after
        ``pg_advisory_xact_lock`` on the (action, key) pair.
        """
        with self._lock:
            conn = self._conn
            conn.execute("begin immediate")
            try:
                now = time.time() if now is None else now  # read under the lock: times follow claim order
                since = now - window
                conn.execute("delete from rate_events where action = ? and key = ? and at <= ?", [action, key, since])
                counted = conn.execute(
                    "insert into rate_events (action, key, at) select ?, ?, ? "
                    "where (select count(*) from rate_events where action = ? and key = ? and at > ?) < ?",
                    [action, key, now, action, key, since, limit],
                ).rowcount
                oldest = (
                    None
                    if counted
                    else conn.execute(
                        "select min(at) from rate_events where action = ? and key = ? and at > ?", [action, key, since]
                    ).fetchone()[0]
                )
                conn.execute("commit")
            except BaseException:
                conn.execute("rollback")
                raise
        if counted:
            return 0.0
        return max(0.001, (oldest if oldest is not None else now) + window - now)

    def rate_wait(self, action: str, key: str, limit: int, window: float, now: float | None = None) -> float:
        """Seconds until ``key`` may do ``action`` again, without counting anything (0.0: now)."""
        now = time.time() if now is None else now
        rows = self._read(
            "select count(*), min(at) from rate_events where action = ? and key = ? and at > ?",
            [action, key, now - window],
        )
        count, oldest = rows[0][0], rows[0][1]
        return 0.0 if count < limit else max(0.001, oldest + window - now)

    def forget_rate_events(self, older_than: float) -> int:
        """Drop events older than ``older_than`` (epoch seconds) of every key; keeps the table small."""
        return self._write("delete from rate_events where at < ?", [older_than])

    def most_starred(self, n: int = 5) -> list[tuple[str, int]]:
        """The n most starred entries as (slug, stars), most first then by slug.
        Raises sqlite3.Error when the database fails."""
        rows = self._read("select slug, count(*) c from stars group by slug order by c desc, slug limit ?", [n])
        return [(r[0], r[1]) for r in rows]

    # ------------------------------------------------------------------ API keys (migration m002)
    def add_api_key(self, name: str, scopes: tuple[str, ...], key_hash: str, prefix: str) -> ApiKey:
        """Store a new API key (by its hash) and return it. Raises sqlite3.IntegrityError when key_hash
        is already stored; sqlite3.Error when the database fails."""
        key = ApiKey(new_key_id(), name, prefix, tuple(scopes), _now_precise())
        self._write(
            "insert into api_keys (id, name, key_hash, prefix, scopes, created_at, revoked_at) "
            "values (?, ?, ?, ?, ?, ?, '')",
            [key.id, name, key_hash, prefix, " ".join(scopes), key.created_at],
        )
        return key

    def api_keys(self) -> list[ApiKey]:
        """Every API key, revoked ones included, oldest first. Raises sqlite3.Error when the database fails."""
        return [_api_key(r) for r in self._read("select * from api_keys order by created_at, id")]

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The API key with this sha256, revoked or not, or None. Raises sqlite3.Error when the database fails."""
        rows = self._read("select * from api_keys where key_hash = ?", [key_hash])
        return _api_key(rows[0]) if rows else None

    def revoke_api_key(self, key_id: str) -> bool:
        """False when there is no such key or it was already revoked."""
        return self._write("update api_keys set revoked_at = ? where id = ? and revoked_at = ''", [_now(), key_id]) == 1

    # ------------------------------------------------------------------ confirmations and entry flags
    def confirm(self, slug: str, voter: str) -> bool:
        """Idempotent: one confirmation per (entry, voter).  Returns whether one was added."""
        return (
            self._write(
                "insert into confirmations (slug, voter, created_at) values (?, ?, ?) on conflict do nothing",
                [slug, voter, _now()],
            )
            == 1
        )

    def has_confirmed(self, slug: str, voter: str) -> bool:
        """Whether this voter confirmed the entry. Raises sqlite3.Error when the database fails."""
        return bool(self._read("select 1 from confirmations where slug = ? and voter = ?", [slug, voter]))

    def confirmation_count(self, slug: str) -> int:
        """Counted confirmations of one entry (revoked keys left out). Raises sqlite3.Error when the database fails."""
        return self._read(f"select count(*) from confirmations where slug = ? and {_COUNTED}", [slug])[0][0]

    def confirmation_counts(self) -> dict[str, int]:
        """Counted confirmations of every confirmed entry (the "most confirmed" sort)."""
        rows = self._read(f"select slug, count(*) from confirmations where {_COUNTED} group by slug")
        return {r[0]: r[1] for r in rows}

    def add_entry_flag(self, slug: str, voter: str, reason: str, note: str) -> None:
        """One open flag per (entry, voter, reason): flagging again only replaces the note."""
        self._write(
            "insert into entry_flags (id, slug, voter, reason, note, status, created_at, resolved_at, resolution) "
            "values (?, ?, ?, ?, ?, 'open', ?, '', '') "
            "on conflict (slug, voter, reason) where status = 'open' do update set note = excluded.note",
            [secrets.token_hex(8), slug, voter, reason, note, _now_precise()],
        )

    def open_entry_flags(self, slug: str | None = None) -> list[dict]:
        """Open flags, oldest first, without who sent them (voters stay private)."""
        where, params = ("status = 'open' and slug = ?", [slug]) if slug else ("status = 'open'", [])
        rows = self._read(
            f"select id, slug, reason, note, created_at from entry_flags where {where} order by created_at, id", params
        )
        return [dict(r) for r in rows]

    def resolve_entry_flags(self, slug: str, resolution: str) -> int:
        """Close every open flag of an entry (the moderator reviewed it); returns how many."""
        return self._write(
            "update entry_flags set status = 'resolved', resolved_at = ?, resolution = ? "
            "where slug = ? and status = 'open'",
            [_now(), resolution, slug],
        )

    def feedback_for(self, slugs: Sequence[str]) -> dict[str, Feedback]:
        """Confirmations and open ``incorrect`` flags (distinct voters, revoked keys left out) of these
        entries, for ranking."""
        slugs = list(dict.fromkeys(slugs))
        if not slugs:
            return {}
        marks = ", ".join("?" * len(slugs))
        confirmed = self._read(
            f"select slug, count(*) from confirmations where slug in ({marks}) and {_COUNTED} and {_RANKED} "
            "group by slug",
            slugs,
        )
        incorrect = self._read(
            f"select slug, count(distinct voter) from entry_flags where status = 'open' and reason = 'incorrect' "
            f"and slug in ({marks}) and {_COUNTED} group by slug",
            slugs,
        )
        counts: dict[str, list[int]] = {}
        for slug, n in confirmed:
            counts.setdefault(slug, [0, 0])[0] = n
        for slug, n in incorrect:
            counts.setdefault(slug, [0, 0])[1] = n
        return {slug: Feedback(confirmations=c, incorrect_flags=i) for slug, (c, i) in counts.items()}

    # ------------------------------------------------------------------ suggested edits (migration m003)
    def add_revision(self, slug: str, base: str, markdown: str, author: str, note: str, flags: list[dict]) -> str:
        """Store a suggested edit as pending; returns the reference for its status page."""
        ref, now = secrets.token_urlsafe(16), _now_precise()  # microseconds: history lists in order
        self._write(
            "insert into revisions (ref, slug, status, created_at, updated_at, author, note, base, markdown, flags, "
            "reason) values (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, '')",
            [ref, slug, now, now, author, note, base, markdown, json.dumps(flags, ensure_ascii=False)],
        )
        return ref

    def revision(self, ref: str) -> Revision | None:
        """The suggested edit with this ref, or None. Raises sqlite3.Error when the database fails."""
        rows = self._read("select * from revisions where ref = ?", [ref])
        return Revision.from_row(rows[0]) if rows else None

    def revisions(self, *, status: str | None = None, slug: str | None = None, limit: int = 200) -> list[Revision]:
        """Newest first, optionally only one status and/or one entry's."""
        sql, params = "select * from revisions where 1 = 1", []
        if status:
            sql, params = sql + " and status = ?", params + [status]
        if slug:
            sql, params = sql + " and slug = ?", params + [slug]
        rows = self._read(sql + " order by created_at desc, ref limit ?", params + [limit])
        return [Revision.from_row(r) for r in rows]

    def decide_revision(self, ref: str, status: str, reason: str = "") -> bool:
        """pending → ``status`` (approved or rejected); False if it was not pending any more."""
        return (
            self._write(
                "update revisions set status = ?, reason = ?, updated_at = ? where ref = ? and status = 'pending'",
                [status, reason, _now(), ref],
            )
            == 1
        )


# Revoking a key withdraws what it said: its confirmations and flags stop counting (the rows stay,
# and its flags stay in the moderation queue), so keys made to stuff votes can be undone at once.
_COUNTED = "voter not in (select 'key:' || id from api_keys where revoked_at != '')"
# Ranking leaves out the entry page's cookie identities (``site:<cid>``): they are free to mint (docs/web.md).
_RANKED = "voter not like 'site:%'"


def _api_key(row: sqlite3.Row) -> ApiKey:
    scopes = tuple(row["scopes"].split())
    return ApiKey(row["id"], row["name"], row["prefix"], scopes, row["created_at"], row["revoked_at"] or "")


SiteStore = SqliteSiteStore  # the name callers used before there were two backends
