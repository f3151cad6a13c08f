"""The SQLite store (``IndexStore`` for one machine): entries, sections, code blocks, tags, embeddings
and FTS5.  Keywords are ranked by FTS5's BM25; meaning by a numpy matrix of every vector, loaded once
per index generation and kept here, so the rest of the code never learns where vectors live.

Every logical write (an entry with all its rows, a batch of vectors, the index's bookkeeping) is one
``BEGIN IMMEDIATE`` … ``COMMIT`` transaction on this connection, so a reader, a crash or a second
writer never sees or leaves half of it.  Opening a store applies pending migrations and turns on
WAL; a fresh file is set up by one process at a time (a lock file next to the database), and the
others wait for it.

Errors are sorted by what they are: only SQLite's own "file is not a database" / "database disk
image is malformed" (or a failed integrity check) raises ``CorruptDatabase``; a locked database,
a full disk, an I/O or permission error raises ``DatabaseUnavailable`` and the file is left alone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from synapse_ai.kb.embed import vector_to_blob
from synapse_ai.kb.model import Entry, Section, code_blocks_in
from synapse_ai.kb.signature import required_literal
from synapse_ai.kb.stores import Hit
from synapse_ai.kb.stores.errors import CorruptDatabase, DatabaseUnavailable  # noqa: F401 - re-exported
from synapse_ai.kb.stores.rows import SIGNAL_COLUMNS, entry_row, row_to_entry, signals_of

# The names of every migration in kb/migrations.py, in order (tests/kb/test_store_index.py keeps
# the two in agreement).  Comparing them with what the database has applied needs only sqlite3,
# so opening a current database never imports sqlite-utils.
SCHEMA_MIGRATIONS = (
    "m001_core",
    "m002_submissions_and_stars",
    "m003_pattern_literals",
    "m004_entry_signals",
    "m005_api_keys_and_feedback",
)


def _busy_timeout() -> float:
    """How long a statement waits for another process's write lock (``Config.busy_timeout``), for a store
    opened without one."""
    from synapse_ai.kb.config import Config

    return Config.from_env().busy_timeout


INDEX_WAIT_S = 600.0  # how long a process waits for another one's index build

# SQLite primary result codes (https://www.sqlite.org/rescode.html).
_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_DAMAGE_TEXT = ("file is not a database", "database disk image is malformed")
_KIND_BY_CODE = {
    5: "locked",
    6: "locked",
    13: "full",
    10: "io",
    8: "read-only",
    3: "permission",
    14: "cannot-open",
    23: "permission",
}
_KIND_BY_TEXT = (
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("database or disk is full", "full"),
    ("disk i/o error", "io"),
    ("readonly database", "read-only"),
    ("unable to open database file", "cannot-open"),
)


def is_damage(exc: BaseException) -> bool:
    """Whether SQLite itself says the file is damaged (and nothing else: locks, full disks, I/O)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _DAMAGE_CODES:
        return True
    return any(text in str(exc).lower() for text in _DAMAGE_TEXT)


def error_kind(exc: BaseException) -> str:
    """The failure's kind ("locked", "full", "io"...; "error" if unknown) from its SQLite code or text; never raises."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _KIND_BY_CODE:
        return _KIND_BY_CODE[code & 0xFF]
    text = str(exc).lower()
    return next((kind for needle, kind in _KIND_BY_TEXT if needle in text), "error")


def classify(exc: sqlite3.DatabaseError, path) -> Exception:
    """The exception to raise for a sqlite3 error on the database at ``path``."""
    if is_damage(exc):
        return CorruptDatabase(f"{path}: {exc}")
    kind = error_kind(exc)
    if kind == "io" and path is not None and _disk_is_full(Path(path).parent):
        kind = "full"  # a full disk often surfaces as an I/O error (the -shm file cannot grow)
    return DatabaseUnavailable(path, kind, str(exc))


def _disk_is_full(folder: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


@contextlib.contextmanager
def file_lock(path: Path | None, timeout: float | None = None, what: str = "the database") -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (a small file next to the database) for the block.

    ``timeout=0`` tries once and yields False if another process holds it; otherwise waits up to
    ``timeout`` seconds (forever for None) and raises ``DatabaseUnavailable`` when it runs out.  The
    operating system drops the lock when its process dies, so a crash never leaves it held.
    """
    if path is None:
        yield True
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locks and BEGIN IMMEDIATE still apply
        yield True
        return
    try:
        fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a read-only or foreign data directory: nothing can be written anyway
        kind = {
            errno.ENOSPC: "full",
            errno.EROFS: "read-only",
            errno.EACCES: "permission",
            errno.EPERM: "permission",
        }.get(exc.errno, "io")
        raise DatabaseUnavailable(None, kind, f"cannot create the lock file {path}: {exc.strerror or exc}") from exc
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if timeout == 0:
                    yield False
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise DatabaseUnavailable(
                        None, "locked", f"{what} is busy: another process held {path.name} for over {timeout:.0f}s"
                    ) from None
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _applied_migrations(conn) -> tuple[str, ...]:
    try:
        rows = conn.execute(
            "select name from _sqlite_migrations where migration_set = 'synapse' order by id"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a new database: no migrations table yet
            return ()
        raise
    return tuple(r[0] for r in rows)


def _upsert_sql(table: str, columns: list[str], key: tuple[str, ...]) -> str:
    """INSERT … ON CONFLICT DO UPDATE: unlike INSERT OR REPLACE it fires the UPDATE trigger that
    keeps the FTS5 index in step (REPLACE deletes without firing the delete trigger)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))}) "
        f"on conflict({', '.join(key)}) do update set {updates}"
    )


def fts_expression(terms) -> str | None:
    """An FTS5 MATCH expression that cannot be a syntax error: every term quoted, OR-ed together."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    return " OR ".join(quoted) if quoted else None


class SqliteStore:
    shared = False  # one machine's file: approved entries are written as files next to it
    thread_safe = False  # one sqlite3 connection: KnowledgeBase serialises its calls

    def __init__(self, path: Path | str | None = None, *, memory: bool = False, busy_timeout: float | None = None):
        self.path = None if memory else Path(path)
        self.busy_timeout = _busy_timeout() if busy_timeout is None else busy_timeout
        self.url = ":memory:" if memory else str(self.path)
        self._db = None
        self._matrix = None  # (generation, model, (slugs, fields, float32 matrix))
        self._depth = 0  # > 0 inside ``transaction()``
        self.conn = None
        try:
            if memory:
                self.conn = sqlite3.connect(":memory:", check_same_thread=False)
                self.conn.execute("PRAGMA foreign_keys=ON")
                self._migrate()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=self.busy_timeout)
            self.conn.execute("PRAGMA foreign_keys=ON")
            if not self._is_current():
                # One process sets up or migrates a file at a time; the others wait here, then
                # find the work done when they re-check inside the transaction.
                with file_lock(self.lock_path("schema"), timeout=self.busy_timeout * 4):
                    self._use_wal()
                    self._migrate()
            self.conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            if self.conn is not None:
                self.conn.close()
            raise classify(exc, self.path) from exc
        except BaseException:
            if self.conn is not None:
                self.conn.close()
            raise

    def lock_path(self, purpose: str) -> Path | None:
        """The lock file for ``purpose`` ("schema", "index"), next to the database; None in memory."""
        return None if self.path is None else self.path.with_name(f"{self.path.name}-{purpose}.lock")

    def _is_current(self) -> bool:
        try:
            mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
            return mode == "wal" and _applied_migrations(self.conn) == SCHEMA_MIGRATIONS
        except sqlite3.OperationalError as exc:
            if error_kind(exc) == "locked":  # a process is setting the file up: wait for it
                return False
            raise

    def _use_wal(self) -> None:
        """Switch to WAL.  The switch needs the file to itself and SQLite answers busy at once rather
        than waiting, so readers still on the old journal are waited out here."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL").fetchall()
                return
            except sqlite3.OperationalError as exc:
                if error_kind(exc) != "locked" or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        with self.transaction():
            if _applied_migrations(self.conn) == SCHEMA_MIGRATIONS:
                return  # another process finished while this one waited
            from synapse_ai.kb.migrations import migrations

            # Inside an open transaction sqlite-utils runs each migration in a SAVEPOINT, so the
            # whole set commits (or not) with this transaction.
            migrations.apply(self.db)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error.

        IMMEDIATE takes the write lock up front, so a busy database is waited for (busy timeout)
        instead of failing half-way.  Nested use joins the outer transaction.  sqlite-utils calls made
        inside use savepoints (``Database.atomic``) and never commit on their own.
        """
        if self._depth:
            yield
            return
        if self.conn.in_transaction:
            self.conn.commit()  # an implicit transaction some plain conn.execute write left open
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @contextlib.contextmanager
    def index_lock(self, timeout: float | None = INDEX_WAIT_S) -> Iterator[bool]:
        """Held while (re)indexing, so one process builds the index and the others wait or read."""
        with file_lock(self.lock_path("index"), timeout, what="the index") as held:
            yield held

    @property
    def db(self):
        """The sqlite-utils ``Database`` over the same connection, for migrations.

        Created on first use: importing sqlite-utils costs ~100 ms, and a search on a current
        index (every agent error, as a fresh process) only reads, through ``self.conn``.
        """
        if self._db is None:
            from sqlite_utils import Database

            # execute_plugins=False: sqlite-utils would otherwise scan every installed package's
            # entry points for plugins; the store uses none.
            self._db = Database(self.conn, execute_plugins=False)
        return self._db

    def close(self) -> None:
        """Close the sqlite3 connection if one was opened; raises nothing of its own."""
        if self.conn is not None:
            self.conn.close()

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """The meta value for ``key``, or ``default`` if unset; raises sqlite3.Error when the file cannot be read."""
        row = self.conn.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Set one meta value (one transaction, via ``set_metas``);
        raises sqlite3.OperationalError when the write lock is not had within the busy timeout."""
        self.set_metas({key: value})

    def set_metas(self, values: dict[str, str]) -> None:
        """Several meta values in one transaction (the index's bookkeeping moves together)."""
        with self.transaction():
            self.conn.executemany(_upsert_sql("meta", ["key", "value"], ("key",)), list(values.items()))

    # ------------------------------------------------------------------ entries
    def entry_fingerprints(self) -> dict[str, tuple[str, int, int, str]]:
        """slug -> (path, mtime_ns, size, content_hash) for incremental indexing."""
        return {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in self.conn.execute("select slug, path, file_mtime_ns, file_size, content_hash from entries")
        }

    def upsert_entry(self, entry: Entry, markdown: str, content_hash: str, mtime_ns: int = 0, size: int = 0) -> None:
        """Write one entry with its sections, code blocks and tags (and, by trigger, its FTS row),
        replacing any previous version, as one transaction: all of it lands or none of it does."""
        slug = entry.slug
        row = entry_row(entry, markdown, content_hash, mtime_ns, size)
        sections = [(slug, i, s.name, s.body) for i, s in enumerate(entry.sections)]
        blocks = [
            (slug, s.name, j, b.language, " ".join(b.attrs), b.code)
            for s in entry.sections
            for j, b in enumerate(code_blocks_in(s.body))
        ]
        with self.transaction():
            self._delete_children(slug)
            self.conn.execute(_upsert_sql("entries", list(row), ("slug",)), list(row.values()))
            self.conn.executemany("insert into sections (slug, position, name, body) values (?, ?, ?, ?)", sections)
            self.conn.executemany(
                "insert into code_blocks (slug, section, position, language, attrs, code) values (?, ?, ?, ?, ?, ?)",
                blocks,
            )
            self.conn.executemany(
                "insert or ignore into tags (slug, tag) values (?, ?)", [(slug, t) for t in dict.fromkeys(entry.tags)]
            )

    def entry_path(self, slug: str) -> str | None:
        """The stored file path of ``slug`` ("" for an entry without a file), None if not indexed."""
        row = self.conn.execute("select path from entries where slug = ?", [slug]).fetchone()
        return None if row is None else (row[0] or "")

    def touch_entry(self, slug: str, mtime_ns: int, size: int) -> None:
        """Record a new file stat for an entry whose content did not change."""
        with self.transaction():
            self.conn.execute(
                "update entries set file_mtime_ns = ?, file_size = ? where slug = ?", [mtime_ns, size, slug]
            )

    def forget_file_stats(self) -> None:
        """Make the next index re-read every file (``synapse index --full``)."""
        with self.transaction():
            self.conn.execute("update entries set file_mtime_ns = -1")

    def _delete_children(self, slug: str) -> None:
        for table in ("sections", "code_blocks", "tags"):
            self.conn.execute(f"delete from {table} where slug = ?", [slug])

    def delete_entries(self, slugs: Iterable[str]) -> None:
        """Delete ``slugs`` with their sections, code blocks, tags and vectors in one transaction;
        raises sqlite3.OperationalError when the write lock is not had within the busy timeout."""
        self._matrix = None
        with self.transaction():
            for slug in slugs:
                self._delete_children(slug)
                self.conn.execute("delete from embeddings where slug = ?", [slug])
                self.conn.execute("delete from entries where slug = ?", [slug])

    def child_counts(self, slug: str) -> tuple[int, int]:
        """(sections, tags) stored for ``slug``: the indexer and ``synapse doctor`` compare them with
        the entry to find one whose rows were lost."""
        sections = self.conn.execute("select count(*) from sections where slug = ?", [slug]).fetchone()[0]
        tags = self.conn.execute("select count(*) from tags where slug = ?", [slug]).fetchone()[0]
        return sections, tags

    def count(self) -> int:
        """The number of indexed entries; raises sqlite3.Error when the file cannot be read."""
        return self.conn.execute("select count(*) from entries").fetchone()[0]

    def slugs(self) -> list[str]:
        """Every indexed slug, sorted; raises sqlite3.Error when the file cannot be read."""
        return [r[0] for r in self.conn.execute("select slug from entries order by slug")]

    def get_entry(self, slug: str) -> Entry | None:
        """The entry ``slug`` with its sections, or None if not indexed;
        raises sqlite3.Error when the file cannot be read."""
        cursor = self.conn.execute("select * from entries where slug = ?", [slug])
        row = cursor.fetchone()
        if row is None:
            return None
        return self._row_to_entry(dict(zip([d[0] for d in cursor.description], row)))

    def list_entries(self, category: str | None = None, tag: str | None = None) -> list[Entry]:
        """Entries (with sections) filtered by ``category`` and/or ``tag``, by title;
        raises sqlite3.Error when the file cannot be read."""
        sql = "select * from entries"
        params: list = []
        if tag:
            sql += " where slug in (select slug from tags where tag = ?)"
            params.append(tag)
        if category:
            sql += (" and" if tag else " where") + " category = ?"
            params.append(category)
        cursor = self.conn.execute(sql + " order by title collate nocase", params)
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, r)) for r in cursor.fetchall()]
        sections = self._sections_for([r["slug"] for r in rows])
        return [self._row_to_entry(r, sections.get(r["slug"], [])) for r in rows]

    def _sections_for(self, slugs: list[str]) -> dict[str, list[Section]]:
        out: dict[str, list[Section]] = {}
        if not slugs:
            return out
        marks = ",".join("?" * len(slugs))
        for slug, name, body in self.conn.execute(
            f"select slug, name, body from sections where slug in ({marks}) order by slug, position", slugs
        ):
            out.setdefault(slug, []).append(Section(name, body))
        return out

    def _row_to_entry(self, row: dict, sections: list[Section] | None = None) -> Entry:
        if sections is None:
            sections = self._sections_for([row["slug"]]).get(row["slug"], [])
        return row_to_entry(row, sections)

    def markdown(self, slug: str) -> str | None:
        """The markdown ``slug`` was indexed from, or None; raises sqlite3.Error when the file cannot be read."""
        row = self.conn.execute("select markdown from entries where slug = ?", [slug]).fetchone()
        return row[0] if row else None

    def entries_markdown(self) -> dict[str, str]:
        """slug -> the markdown each entry was indexed from (``synapse export``)."""
        return {slug: md for slug, md in self.conn.execute("select slug, markdown from entries order by slug") if md}

    def approved_markdown(self) -> list[tuple[str, str]]:
        """(slug, markdown) of the approved submissions in this file (the site store keeps them here by
        default): ``synapse export`` writes back an approved entry whose file was lost."""
        try:
            rows = self.conn.execute(
                "select slug, markdown from submissions where status = 'approved' and slug != '' order by slug"
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # the site never opened this file
                return []
            raise
        return [(slug, md) for slug, md in rows]

    def all_patterns(self) -> dict[str, list[tuple[str, str]]]:
        """slug -> [(pattern, required literal)], the literals as stored at index time."""
        out = {}
        for slug, patterns, literals in self.conn.execute("select slug, patterns, pattern_literals from entries"):
            patterns = json.loads(patterns)
            literals = json.loads(literals) if literals else [required_literal(p) for p in patterns]
            out[slug] = list(zip(patterns, literals))
        return out

    def all_signals(self) -> dict[str, dict]:
        """slug -> the entry's matching signals (``synapse_ai.kb.signals.SignalIndex``): specific and generic
        patterns as (pattern, required literal) pairs, HTTP statuses and error types."""
        return {row[0]: signals_of(*row[1:]) for row in self.conn.execute(f"select {SIGNAL_COLUMNS} from entries")}

    def categories(self) -> list[tuple[str, int]]:
        """(category, entry count) pairs, by category; raises sqlite3.Error when the file cannot be read."""
        return [
            tuple(r)
            for r in self.conn.execute("select category, count(*) from entries group by category order by category")
        ]

    def tags(self) -> list[tuple[str, int]]:
        """(tag, entry count) pairs, most used first; raises sqlite3.Error when the file cannot be read."""
        return [
            tuple(r) for r in self.conn.execute("select tag, count(*) c from tags group by tag order by c desc, tag")
        ]

    # ------------------------------------------------------------------ embeddings
    def embedding_hashes(self) -> dict[tuple[str, str], str]:
        """(slug, field) -> content hash of each stored vector; raises sqlite3.Error when the file cannot be read."""
        return {(r[0], r[1]): r[2] for r in self.conn.execute("select slug, field, content_hash from embeddings")}

    def save_embeddings(self, rows: list[tuple[str, str, str, str, list[float]]]) -> None:
        """rows: (slug, field, model, content_hash, vector), written in one transaction."""
        columns = ["slug", "field", "model", "content_hash", "vector"]
        self._matrix = None  # this process sees its own writes; others reload when the generation moves
        with self.transaction():
            self.conn.executemany(
                _upsert_sql("embeddings", columns, ("slug", "field")),
                [(s, f, m, h, vector_to_blob(v)) for s, f, m, h, v in rows],
            )

    def delete_embeddings_except(self, keep: set[tuple[str, str]]) -> None:
        """Delete every vector whose (slug, field) is not in ``keep``, in one transaction;
        raises sqlite3.OperationalError when the write lock is not had within the busy timeout."""
        self._matrix = None
        with self.transaction():
            stale = [key for key in self.embedding_hashes() if key not in keep]
            self.conn.executemany("delete from embeddings where slug = ? and field = ?", stale)

    def embedding_matrix(self, model: str):
        """(slugs, fields, float32 matrix) of every stored vector for ``model``, read once per index
        generation (``meta.generation`` moves whenever entries or vectors change)."""
        generation = self.get_meta("generation", "0")
        if self._matrix is None or self._matrix[:2] != (generation, model):
            self._matrix = (generation, model, self._read_matrix(model))
        return self._matrix[2]

    def _read_matrix(self, model: str):
        import numpy as np

        rows = self.conn.execute(
            "select slug, field, vector from embeddings where model = ? order by slug, field", [model]
        ).fetchall()
        if not rows:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), -1)
        return [r[0] for r in rows], [r[1] for r in rows], matrix

    def has_vectors(self, model: str) -> bool:
        """Whether any vector is stored for ``model`` (loads the cached matrix);
        raises sqlite3.Error when the file cannot be read."""
        return bool(len(self.embedding_matrix(model)[0]))

    def entry_vectors(self, slug: str, model: str) -> list:
        """The stored vectors of ``slug`` for ``model`` (rows of the cached matrix);
        raises sqlite3.Error when the file cannot be read."""
        slugs, _fields, matrix = self.embedding_matrix(model)
        return [matrix[i] for i, s in enumerate(slugs) if s == slug]

    def vector_search(self, vector, model: str, limit: int) -> list[Hit]:
        """The ``limit`` entries nearest ``vector`` by cosine (vectors are unit length), one hit per
        entry: its best field."""
        import numpy as np

        slugs, fields, matrix = self.embedding_matrix(model)
        if not len(slugs):
            return []
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        hits: dict[str, Hit] = {}
        for i in np.argsort(-sims):
            if slugs[i] not in hits:
                hits[slugs[i]] = Hit(slugs[i], float(sims[i]), fields[i])
                if len(hits) >= limit:
                    break
        return list(hits.values())

    # ------------------------------------------------------------------ full text
    def lexical_search(self, terms, limit: int) -> list[Hit]:
        """FTS5 BM25 over title, summary, body and patterns for any of ``terms``, best first."""
        expression = fts_expression(terms)
        return [Hit(slug, score) for slug, score in self.fts_search(expression, limit)] if expression else []

    def fts_search(self, match_expr: str, limit: int = 50) -> list[tuple[str, float]]:
        """(slug, bm25 score) best first.  FTS5's bm25 is lower-is-better, so the sign is flipped
        here and every caller sees higher-is-better."""
        # bm25() weights per column: title, summary, body, patterns_text.
        sql = (
            "select entries.slug, bm25(entries_fts, 4.0, 3.0, 1.0, 2.0) as score from entries_fts "
            "join entries on entries.rowid = entries_fts.rowid "
            "where entries_fts match ? order by score limit ?"
        )
        return [(slug, -rank) for slug, rank in self.conn.execute(sql, [match_expr, limit])]


Store = SqliteStore  # the name callers used before there were two backends
