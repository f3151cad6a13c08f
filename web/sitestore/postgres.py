"""Submissions, moderation decisions and stars in PostgreSQL: the team deployment's source of truth.

Every ``synapse serve`` replica opens this store on the same database, so a submission sent to one
replica, approved on a second and starred on a third is one row everyone reads at once.  The SQL is
the SQLite store's, statement for statement (``web/sitestore/sqlite.py``), with Postgres placeholders
and ``on conflict do nothing`` for SQLite's ``insert or ignore``; moderation stays a guarded
``update ... where status = 'pending'``, which Postgres applies at most once however many replicas ask.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import PoolTimeout

from synapse_ai.kb.feedback import Feedback
from synapse_ai.kb.stores import redacted_url
from synapse_ai.kb.stores.errors import server_unavailable
from synapse_ai.kb.stores.pg_migrations import PgMigrations, open_migrated_pool
from synapse_ai.web.keys import ApiKey, new_key_id
from synapse_ai.web.sitestore.records import Revision, Submission
from synapse_ai.web.sitestore.records import client_key as _client_key
from synapse_ai.web.sitestore.records import now as _now

migrations = PgMigrations("synapse.site")


@migrations()
def m001_submissions_and_stars(conn):
    """Create the submissions and stars tables if missing. Raises psycopg.Error on failure."""
    # As SQLite's m001: ``ref`` is the submitter's status-page token, ``data`` the typed fields (JSON),
    # ``flags`` the moderator warnings (JSON).  Stars have no foreign key to entries (re-indexing
    # re-creates entry rows) and are keyed by a hash of the client cookie.
    conn.execute(
        "create table if not exists submissions (ref text primary key, status text not null, "
        "created_at text not null, updated_at text not null, title text, data text, markdown text, flags text, "
        "contact text, reason text, slug text)"
    )
    conn.execute("create index if not exists submissions_status_created on submissions (status, created_at)")
    conn.execute(
        "create table if not exists stars (slug text not null, client text not null, created_at text not null, "
        "primary key (slug, client))"
    )
    conn.execute("create index if not exists stars_slug on stars (slug)")


@migrations()
def m002_api_keys_and_feedback(conn):
    """Create the api_keys, confirmations and entry_flags tables if missing. Raises psycopg.Error on failure."""
    # As SQLite's m002: keys stored as their sha256 only, one confirmation per (entry, voter), one open
    # flag per (entry, voter, reason).
    conn.execute(
        "create table if not exists api_keys (id text primary key, name text not null, key_hash text not null, "
        "prefix text not null, scopes text not null, created_at text not null, revoked_at text not null default '')"
    )
    conn.execute("create unique index if not exists api_keys_key_hash on api_keys (key_hash)")
    conn.execute(
        "create table if not exists confirmations (slug text not null, voter text not null, created_at text not null, "
        "primary key (slug, voter))"
    )
    conn.execute(
        "create table if not exists entry_flags (id text primary key, slug text not null, voter text not null, "
        "reason text not null, note text, status text not null, created_at text not null, resolved_at text, "
        "resolution text)"
    )
    conn.execute(
        "create unique index if not exists entry_flags_open_once on entry_flags (slug, voter, reason) "
        "where status = 'open'"
    )
    conn.execute("create index if not exists entry_flags_status_slug on entry_flags (status, slug)")


@migrations()
def m003_revisions(conn):
    """Create the revisions table (suggested edits) if missing. Raises psycopg.Error on failure."""
    # As SQLite's m003: suggested edits to entries, the approved ones being an entry's history.
    conn.execute(
        "create table if not exists revisions (ref text primary key, slug text not null, status text not null, "
        "created_at text not null, updated_at text not null, author text, note text, base text, markdown text, "
        "flags text, reason text)"
    )
    conn.execute("create index if not exists revisions_slug_status on revisions (slug, status, created_at)")


@migrations()
def m004_rate_events_and_revoked_admin_sessions(conn):
    """Create the rate_events and revoked_admin_sessions tables. Raises psycopg.Error on failure."""
    # As SQLite's m004: rate limits counted in the database (one row per counted action per client
    # address), and signed-out admin cookies by sha256 until they would have expired.
    conn.execute(
        "create table if not exists rate_events (action text not null, key text not null, at double precision not null)"
    )
    conn.execute("create index if not exists rate_events_by_key on rate_events (action, key, at)")
    conn.execute(
        "create table if not exists revoked_admin_sessions (digest text primary key, expires double precision not null)"
    )


# Revoking a key withdraws what it said (as in SQLite): its confirmations and flags stop counting.
_COUNTED = "voter not in (select 'key:' || id from api_keys where revoked_at != '')"
# Ranking leaves out the entry page's cookie identities (``site:<cid>``): they are free to mint (docs/web.md).
_RANKED = "voter not like 'site:%%'"


def _now_precise() -> str:
    """Microseconds, so rows made within one second (keys, flags) still list in the order they came."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _api_key(row: dict) -> ApiKey:
    return ApiKey(
        row["id"], row["name"], row["prefix"], tuple(row["scopes"].split()), row["created_at"], row["revoked_at"] or ""
    )


class PostgresSiteStore:
    def __init__(self, url: str, *, pool_max: int = 8):
        self.url = url
        self._pool = open_migrated_pool(url, migrations, pool_max)

    def close(self) -> None:
        """Close the connection pool. Raises nothing of its own."""
        self._pool.close()

    def _write(self, sql: str, params: list) -> int:
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql, params).rowcount
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise server_unavailable(f"{redacted_url(self.url)}: {exc}") from None

    def _read(self, sql: str, params: list | tuple = ()) -> list[dict]:
        try:
            with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                return cur.execute(sql, params).fetchall()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise server_unavailable(f"{redacted_url(self.url)}: {exc}") from None

    # ------------------------------------------------------------------ submissions
    def add_submission(self, title: str, data: dict, markdown: str, flags: list[dict], contact: str = "") -> str:
        """Store a pending submission; returns its ref. Raises TypeError when data or flags are not JSON-serialisable,
        DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        ref = secrets.token_urlsafe(16)
        now = _now()
        self._write(
            "insert into submissions (ref, status, created_at, updated_at, title, data, markdown, flags, contact, "
            "reason, slug) values (%s, 'pending', %s, %s, %s, %s, %s, %s, %s, '', '')",
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
        """The submission with this ref, or None.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        rows = self._read("select * from submissions where ref = %s", [ref])
        return Submission.from_row(rows[0]) if rows else None

    def submissions(self, status: str | None = None, limit: int = 200) -> list[Submission]:
        """Submissions newest first, optionally of one status, at most limit.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        if status:
            sql = "select * from submissions where status = %s order by created_at desc limit %s"
            rows = self._read(sql, [status, limit])
        else:
            rows = self._read("select * from submissions order by created_at desc limit %s", [limit])
        return [Submission.from_row(r) for r in rows]

    def submission_counts(self) -> dict[str, int]:
        """Number of submissions per status (pending, approved, rejected always present).
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        counts = {"pending": 0, "approved": 0, "rejected": 0}
        rows = self._read("select status, count(*) as n from submissions group by status")
        counts.update({r["status"]: r["n"] for r in rows})
        return counts

    def mark_approved(self, ref: str, slug: str) -> bool:
        """pending → approved; False if it was not pending (someone else moderated it)."""
        return (
            self._write(
                "update submissions set status = 'approved', slug = %s, updated_at = %s "
                "where ref = %s and status = 'pending'",
                [slug, _now(), ref],
            )
            == 1
        )

    def approved_slugs(self) -> set[str]:
        """The entry slugs approved submissions were published under.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return {r["slug"] for r in self._read("select slug from submissions where status = 'approved' and slug != ''")}

    def mark_rejected(self, ref: str, reason: str) -> bool:
        """pending → rejected with reason; False if it was not pending.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return (
            self._write(
                "update submissions set status = 'rejected', reason = %s, updated_at = %s "
                "where ref = %s and status = 'pending'",
                [reason, _now(), ref],
            )
            == 1
        )

    # ------------------------------------------------------------------ stars
    def star(self, slug: str, client_id: str) -> bool:
        """Idempotent: starring twice is one star.  Returns whether a star was added."""
        return (
            self._write(
                "insert into stars (slug, client, created_at) values (%s, %s, %s) on conflict do nothing",
                [slug, _client_key(client_id), _now()],
            )
            == 1
        )

    def unstar(self, slug: str, client_id: str) -> bool:
        """Remove the client's star; returns whether one was removed.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return self._write("delete from stars where slug = %s and client = %s", [slug, _client_key(client_id)]) == 1

    def is_starred(self, slug: str, client_id: str) -> bool:
        """Whether this client starred the entry.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return bool(self._read("select 1 from stars where slug = %s and client = %s", [slug, _client_key(client_id)]))

    def starred_by(self, client_id: str) -> set[str]:
        """Slugs of the entries this client starred.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return {r["slug"] for r in self._read("select slug from stars where client = %s", [_client_key(client_id)])}

    def star_count(self, slug: str) -> int:
        """Number of stars of one entry.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return self._read("select count(*) as n from stars where slug = %s", [slug])[0]["n"]

    def star_counts(self) -> dict[str, int]:
        """Number of stars per starred entry.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return {r["slug"]: r["n"] for r in self._read("select slug, count(*) as n from stars group by slug")}

    # ------------------------------------------------------------------ admin sessions
    def revoke_admin_session(self, cookie: str, expires: float) -> None:
        """Sign-out: the cookie stops working on every replica, though its signature is valid until ``expires``."""
        digest = hashlib.sha256(cookie.encode()).hexdigest()
        self._write("delete from revoked_admin_sessions where expires < %s", [time.time()])
        self._write(
            "insert into revoked_admin_sessions (digest, expires) values (%s, %s) on conflict (digest) do nothing",
            [digest, expires],
        )

    def admin_session_revoked(self, cookie: str) -> bool:
        """Whether this admin cookie was signed out.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        digest = hashlib.sha256(cookie.encode()).hexdigest()
        return bool(self._read("select 1 from revoked_admin_sessions where digest = %s", [digest]))

    # ------------------------------------------------------------------ rate limits (migration m004)
    def claim_rate_slot(self, action: str, key: str, limit: int, window: float, now: float | None = None) -> float:
        """As SQLite's: count one ``action`` by ``key`` if fewer than ``limit`` were counted in the last
        ``window`` seconds; 0.0 when counted, else the seconds to wait.  The transaction first takes a
        lock on the (action, key) pair (``pg_advisory_xact_lock``, released at commit), so replicas
        claiming for the same client queue there and each reads the count the previous one left."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{action} {key}"])
                now = time.time() if now is None else now
                since = now - window
                conn.execute(
                    "delete from rate_events where action = %s and key = %s and at <= %s", [action, key, since]
                )
                counted = conn.execute(
                    "insert into rate_events (action, key, at) select %s, %s, %s "
                    "where (select count(*) from rate_events where action = %s and key = %s and at > %s) < %s",
                    [action, key, now, action, key, since, limit],
                ).rowcount
                oldest = (
                    None
                    if counted
                    else conn.execute(
                        "select min(at) from rate_events where action = %s and key = %s and at > %s",
                        [action, key, since],
                    ).fetchone()[0]
                )
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise server_unavailable(f"{redacted_url(self.url)}: {exc}") from None
        if counted:
            return 0.0
        return max(0.001, (oldest if oldest is not None else now) + window - now)

    def rate_wait(self, action: str, key: str, limit: int, window: float, now: float | None = None) -> float:
        """Seconds until ``key`` may do ``action`` again, without counting anything (0.0: now)."""
        now = time.time() if now is None else now
        row = self._read(
            "select count(*) as n, min(at) as oldest from rate_events where action = %s and key = %s and at > %s",
            [action, key, now - window],
        )[0]
        return 0.0 if row["n"] < limit else max(0.001, row["oldest"] + window - now)

    def forget_rate_events(self, older_than: float) -> int:
        """Drop events older than ``older_than`` (epoch seconds) of every key; keeps the table small."""
        return self._write("delete from rate_events where at < %s", [older_than])

    def most_starred(self, n: int = 5) -> list[tuple[str, int]]:
        """The n most starred entries as (slug, stars), most first then by slug.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        rows = self._read("select slug, count(*) as c from stars group by slug order by c desc, slug limit %s", [n])
        return [(r["slug"], r["c"]) for r in rows]

    # ------------------------------------------------------------------ API keys (migration m002)
    def add_api_key(self, name: str, scopes: tuple[str, ...], key_hash: str, prefix: str) -> ApiKey:
        """Store a new API key (by its hash) and return it. Raises psycopg.errors.UniqueViolation when key_hash is
        stored, DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        key = ApiKey(new_key_id(), name, prefix, tuple(scopes), _now_precise())
        self._write(
            "insert into api_keys (id, name, key_hash, prefix, scopes, created_at, revoked_at) "
            "values (%s, %s, %s, %s, %s, %s, '')",
            [key.id, name, key_hash, prefix, " ".join(scopes), key.created_at],
        )
        return key

    def api_keys(self) -> list[ApiKey]:
        """Every API key, revoked ones included, oldest first.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return [_api_key(r) for r in self._read("select * from api_keys order by created_at, id")]

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The API key with this sha256, revoked or not, or None.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        rows = self._read("select * from api_keys where key_hash = %s", [key_hash])
        return _api_key(rows[0]) if rows else None

    def revoke_api_key(self, key_id: str) -> bool:
        """False when there is no such key or it was already revoked."""
        return (
            self._write("update api_keys set revoked_at = %s where id = %s and revoked_at = ''", [_now(), key_id]) == 1
        )

    # ------------------------------------------------------------------ confirmations and entry flags
    def confirm(self, slug: str, voter: str) -> bool:
        """Idempotent: one confirmation per (entry, voter).  Returns whether one was added."""
        return (
            self._write(
                "insert into confirmations (slug, voter, created_at) values (%s, %s, %s) on conflict do nothing",
                [slug, voter, _now()],
            )
            == 1
        )

    def has_confirmed(self, slug: str, voter: str) -> bool:
        """Whether this voter confirmed the entry.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        return bool(self._read("select 1 from confirmations where slug = %s and voter = %s", [slug, voter]))

    def confirmation_count(self, slug: str) -> int:
        """Counted confirmations of one entry (revoked keys left out).
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        sql = f"select count(*) as n from confirmations where slug = %s and {_COUNTED}"
        return self._read(sql, [slug])[0]["n"]

    def confirmation_counts(self) -> dict[str, int]:
        """Counted confirmations of every confirmed entry (the "most confirmed" sort)."""
        rows = self._read(f"select slug, count(*) as n from confirmations where {_COUNTED} group by slug")
        return {row["slug"]: row["n"] for row in rows}

    def add_entry_flag(self, slug: str, voter: str, reason: str, note: str) -> None:
        """One open flag per (entry, voter, reason): flagging again only replaces the note."""
        self._write(
            "insert into entry_flags (id, slug, voter, reason, note, status, created_at, resolved_at, resolution) "
            "values (%s, %s, %s, %s, %s, 'open', %s, '', '') "
            "on conflict (slug, voter, reason) where status = 'open' do update set note = excluded.note",
            [secrets.token_hex(8), slug, voter, reason, note, _now_precise()],
        )

    def open_entry_flags(self, slug: str | None = None) -> list[dict]:
        """Open flags, oldest first, without who sent them (voters stay private)."""
        where, params = ("status = 'open' and slug = %s", [slug]) if slug else ("status = 'open'", [])
        return self._read(
            f"select id, slug, reason, note, created_at from entry_flags where {where} order by created_at, id", params
        )

    def resolve_entry_flags(self, slug: str, resolution: str) -> int:
        """Close every open flag of an entry (the moderator reviewed it); returns how many."""
        return self._write(
            "update entry_flags set status = 'resolved', resolved_at = %s, resolution = %s "
            "where slug = %s and status = 'open'",
            [_now(), resolution, slug],
        )

    def feedback_for(self, slugs: Sequence[str]) -> dict[str, Feedback]:
        """Confirmations and open ``incorrect`` flags (distinct voters, revoked keys left out) of these
        entries, for ranking."""
        slugs = list(dict.fromkeys(slugs))
        if not slugs:
            return {}
        confirmed = self._read(
            f"select slug, count(*) as n from confirmations where slug = any(%s) and {_COUNTED} and {_RANKED} "
            "group by slug",
            [slugs],
        )
        incorrect = self._read(
            "select slug, count(distinct voter) as n from entry_flags where status = 'open' and reason = 'incorrect' "
            f"and slug = any(%s) and {_COUNTED} group by slug",
            [slugs],
        )
        counts: dict[str, list[int]] = {}
        for row in confirmed:
            counts.setdefault(row["slug"], [0, 0])[0] = row["n"]
        for row in incorrect:
            counts.setdefault(row["slug"], [0, 0])[1] = row["n"]
        return {slug: Feedback(confirmations=c, incorrect_flags=i) for slug, (c, i) in counts.items()}

    # ------------------------------------------------------------------ suggested edits (migration m003)
    def add_revision(self, slug: str, base: str, markdown: str, author: str, note: str, flags: list[dict]) -> str:
        """Store a suggested edit as pending; returns the reference for its status page."""
        ref, now = secrets.token_urlsafe(16), _now_precise()
        self._write(
            "insert into revisions (ref, slug, status, created_at, updated_at, author, note, base, markdown, flags, "
            "reason) values (%s, %s, 'pending', %s, %s, %s, %s, %s, %s, %s, '')",
            [ref, slug, now, now, author, note, base, markdown, json.dumps(flags, ensure_ascii=False)],
        )
        return ref

    def revision(self, ref: str) -> Revision | None:
        """The suggested edit with this ref, or None.
        Raises DatabaseUnavailable when the server is unreachable or busy, psycopg.Error on other failures."""
        rows = self._read("select * from revisions where ref = %s", [ref])
        return Revision.from_row(rows[0]) if rows else None

    def revisions(self, *, status: str | None = None, slug: str | None = None, limit: int = 200) -> list[Revision]:
        """Newest first, optionally only one status and/or one entry's."""
        sql, params = "select * from revisions where 1 = 1", []
        if status:
            sql, params = sql + " and status = %s", params + [status]
        if slug:
            sql, params = sql + " and slug = %s", params + [slug]
        rows = self._read(sql + " order by created_at desc, ref limit %s", params + [limit])
        return [Revision.from_row(r) for r in rows]

    def decide_revision(self, ref: str, status: str, reason: str = "") -> bool:
        """pending → ``status`` (approved or rejected); False if it was not pending any more."""
        return (
            self._write(
                "update revisions set status = %s, reason = %s, updated_at = %s where ref = %s and status = 'pending'",
                [status, reason, _now(), ref],
            )
            == 1
        )
