"""Submissions, moderation decisions and stars in PostgreSQL: the team deployment's source of truth.

Every ``synapse serve`` replica opens this store on the same database, so a submission sent to one
replica, approved on a second and starred on a third is one row everyone reads at once.  The SQL is
the SQLite store's, statement for statement (``web/sitestore/sqlite.py``), with Postgres placeholders
and ``on conflict do nothing`` for SQLite's ``insert or ignore``; moderation stays a guarded
``update ... where status = 'pending'``, which Postgres applies at most once however many replicas ask.
"""

from __future__ import annotations

import json
import secrets

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import PoolTimeout

from synapse_ai.kb.stores import redacted_url
from synapse_ai.kb.stores.errors import server_unavailable
from synapse_ai.kb.stores.pg_migrations import PgMigrations, open_migrated_pool
from synapse_ai.web.sitestore.records import Submission, client_key as _client_key, now as _now

migrations = PgMigrations("synapse.site")


@migrations()
def m001_submissions_and_stars(conn):
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


class PostgresSiteStore:
    def __init__(self, url: str, *, pool_max: int = 8):
        self.url = url
        self._pool = open_migrated_pool(url, migrations, pool_max)

    def close(self) -> None:
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
        ref = secrets.token_urlsafe(16)
        now = _now()
        self._write(
            "insert into submissions (ref, status, created_at, updated_at, title, data, markdown, flags, contact, "
            "reason, slug) values (%s, 'pending', %s, %s, %s, %s, %s, %s, %s, '', '')",
            [
                ref, now, now, title, json.dumps(data, ensure_ascii=False), markdown,
                json.dumps(flags, ensure_ascii=False), contact,
            ],
        )
        return ref

    def submission(self, ref: str) -> Submission | None:
        rows = self._read("select * from submissions where ref = %s", [ref])
        return Submission.from_row(rows[0]) if rows else None

    def submissions(self, status: str | None = None, limit: int = 200) -> list[Submission]:
        if status:
            sql = "select * from submissions where status = %s order by created_at desc limit %s"
            rows = self._read(sql, [status, limit])
        else:
            rows = self._read("select * from submissions order by created_at desc limit %s", [limit])
        return [Submission.from_row(r) for r in rows]

    def submission_counts(self) -> dict[str, int]:
        counts = {"pending": 0, "approved": 0, "rejected": 0}
        rows = self._read("select status, count(*) as n from submissions group by status")
        counts.update({r["status"]: r["n"] for r in rows})
        return counts

    def mark_approved(self, ref: str, slug: str) -> bool:
        """pending → approved; False if it was not pending (someone else moderated it)."""
        return self._write(
            "update submissions set status = 'approved', slug = %s, updated_at = %s "
            "where ref = %s and status = 'pending'",
            [slug, _now(), ref],
        ) == 1

    def approved_slugs(self) -> set[str]:
        return {r["slug"] for r in self._read("select slug from submissions where status = 'approved' and slug != ''")}

    def mark_rejected(self, ref: str, reason: str) -> bool:
        return self._write(
            "update submissions set status = 'rejected', reason = %s, updated_at = %s "
            "where ref = %s and status = 'pending'",
            [reason, _now(), ref],
        ) == 1

    # ------------------------------------------------------------------ stars
    def star(self, slug: str, client_id: str) -> bool:
        """Idempotent: starring twice is one star.  Returns whether a star was added."""
        return self._write(
            "insert into stars (slug, client, created_at) values (%s, %s, %s) on conflict do nothing",
            [slug, _client_key(client_id), _now()],
        ) == 1

    def unstar(self, slug: str, client_id: str) -> bool:
        return self._write("delete from stars where slug = %s and client = %s", [slug, _client_key(client_id)]) == 1

    def is_starred(self, slug: str, client_id: str) -> bool:
        return bool(self._read("select 1 from stars where slug = %s and client = %s", [slug, _client_key(client_id)]))

    def starred_by(self, client_id: str) -> set[str]:
        return {r["slug"] for r in self._read("select slug from stars where client = %s", [_client_key(client_id)])}

    def star_count(self, slug: str) -> int:
        return self._read("select count(*) as n from stars where slug = %s", [slug])[0]["n"]

    def star_counts(self) -> dict[str, int]:
        return {r["slug"]: r["n"] for r in self._read("select slug, count(*) as n from stars group by slug")}

    def most_starred(self, n: int = 5) -> list[tuple[str, int]]:
        rows = self._read("select slug, count(*) as c from stars group by slug order by c desc, slug limit %s", [n])
        return [(r["slug"], r["c"]) for r in rows]
