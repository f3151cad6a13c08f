"""Submissions and stars in a SQLite file (by default the knowledge base's own file).

The tables come from this module's migration set ``synapse.site`` (sqlite-utils ``Migrations``),
applied when the store is opened; databases made before the site owned its schema already have them
(kb's old ``m002_submissions_and_stars``), so ``m001`` creates only what is missing.  This class opens
its *own* connection to the file: the
``KnowledgeBase`` connection is shared by search threads under the kb lock, and a separate WAL
connection lets a star or a submission commit without waiting for, or interleaving with, a search.
Every write commits before returning, so a submission acknowledged to its author is on disk.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from pathlib import Path

from sqlite_utils.migrations import Migrations

from synapse_ai.web.sitestore.records import Submission, client_key as _client_key, now as _now

migrations = Migrations("synapse.site")


@migrations()
def m001_submissions_and_stars(db):
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
        ref = secrets.token_urlsafe(16)
        now = _now()
        self._write(
            "insert into submissions (ref, status, created_at, updated_at, title, data, markdown, flags, contact, reason, slug) "
            "values (?, 'pending', ?, ?, ?, ?, ?, ?, ?, '', '')",
            [ref, now, now, title, json.dumps(data, ensure_ascii=False), markdown, json.dumps(flags, ensure_ascii=False), contact],
        )
        return ref

    def submission(self, ref: str) -> Submission | None:
        rows = self._read("select * from submissions where ref = ?", [ref])
        return Submission.from_row(rows[0]) if rows else None

    def submissions(self, status: str | None = None, limit: int = 200) -> list[Submission]:
        if status:
            rows = self._read("select * from submissions where status = ? order by created_at desc limit ?", [status, limit])
        else:
            rows = self._read("select * from submissions order by created_at desc limit ?", [limit])
        return [Submission.from_row(r) for r in rows]

    def submission_counts(self) -> dict[str, int]:
        counts = {"pending": 0, "approved": 0, "rejected": 0}
        counts.update({r[0]: r[1] for r in self._read("select status, count(*) from submissions group by status")})
        return counts

    def mark_approved(self, ref: str, slug: str) -> bool:
        """pending → approved; False if it was not pending (someone else moderated it)."""
        return self._write(
            "update submissions set status = 'approved', slug = ?, updated_at = ? where ref = ? and status = 'pending'",
            [slug, _now(), ref],
        ) == 1

    def approved_slugs(self) -> set[str]:
        """The entry slugs approved submissions were published under."""
        return {r[0] for r in self._read("select slug from submissions where status = 'approved' and slug != ''")}

    def mark_rejected(self, ref: str, reason: str) -> bool:
        return self._write(
            "update submissions set status = 'rejected', reason = ?, updated_at = ? where ref = ? and status = 'pending'",
            [reason, _now(), ref],
        ) == 1

    # ------------------------------------------------------------------ stars
    def star(self, slug: str, client_id: str) -> bool:
        """Idempotent: starring twice is one star.  Returns whether a star was added."""
        return self._write(
            "insert or ignore into stars (slug, client, created_at) values (?, ?, ?)", [slug, _client_key(client_id), _now()]
        ) == 1

    def unstar(self, slug: str, client_id: str) -> bool:
        return self._write("delete from stars where slug = ? and client = ?", [slug, _client_key(client_id)]) == 1

    def is_starred(self, slug: str, client_id: str) -> bool:
        return bool(self._read("select 1 from stars where slug = ? and client = ?", [slug, _client_key(client_id)]))

    def starred_by(self, client_id: str) -> set[str]:
        return {r[0] for r in self._read("select slug from stars where client = ?", [_client_key(client_id)])}

    def star_count(self, slug: str) -> int:
        return self._read("select count(*) from stars where slug = ?", [slug])[0][0]

    def star_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._read("select slug, count(*) from stars group by slug")}

    def most_starred(self, n: int = 5) -> list[tuple[str, int]]:
        rows = self._read("select slug, count(*) c from stars group by slug order by c desc, slug limit ?", [n])
        return [(r[0], r[1]) for r in rows]


SiteStore = SqliteSiteStore  # the name callers used before there were two backends
