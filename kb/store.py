"""The SQLite store (sqlite-utils): entries, sections, code blocks, tags, embeddings and FTS5.

Opening a store applies pending migrations and turns on WAL.  A file that is not a SQLite database
(or is damaged) raises ``CorruptDatabase``; ``KnowledgeBase`` moves it aside and rebuilds it from the
entry files, which are the source of truth.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Iterable

from kb.embed import vector_to_blob
from kb.model import Entry, Section, Verified, code_blocks_in
from kb.signature import required_literal


# The names of every migration in kb/migrations.py, in order (tests/kb/test_store_index.py keeps
# the two in agreement).  Comparing them with what the database has applied needs only sqlite3,
# so opening a current database never imports sqlite-utils.
SCHEMA_MIGRATIONS = ("m001_core", "m002_submissions_and_stars", "m003_pattern_literals", "m004_entry_signals")


class CorruptDatabase(Exception):
    pass


def _applied_migrations(conn) -> tuple[str, ...]:
    try:
        rows = conn.execute("select name from _sqlite_migrations where migration_set = 'synapse' order by id").fetchall()
    except sqlite3.OperationalError:  # a new database: no migrations table yet
        return ()
    return tuple(r[0] for r in rows)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _verified(text: str | None) -> Verified | None:
    if not text:
        return None
    data = json.loads(text)
    return Verified(date.fromisoformat(data["date"]), tuple(data["against"]))


class Store:
    def __init__(self, path: Path | str | None = None, *, memory: bool = False):
        self.path = None if memory else Path(path)
        self._db = None
        try:
            if memory:
                self.conn = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
                self.conn.execute("PRAGMA journal_mode=WAL").fetchall()
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            if _applied_migrations(self.conn) != SCHEMA_MIGRATIONS:
                from kb.migrations import migrations

                migrations.apply(self.db)
        except sqlite3.DatabaseError as exc:
            raise CorruptDatabase(f"{self.path}: {exc}") from exc

    @property
    def db(self):
        """The sqlite-utils ``Database`` over the same connection, for writes and migrations.

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
        self.conn.close()

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    # ------------------------------------------------------------------ entries
    def entry_fingerprints(self) -> dict[str, tuple[str, int, int, str]]:
        """slug -> (path, mtime_ns, size, content_hash) for incremental indexing."""
        return {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in self.conn.execute("select slug, path, file_mtime_ns, file_size, content_hash from entries")
        }

    def upsert_entry(self, entry: Entry, markdown: str, content_hash: str, mtime_ns: int = 0, size: int = 0) -> None:
        """Write one entry with its sections, code blocks and tags, replacing any previous version."""
        slug = entry.slug
        with self.db.conn:
            self._delete_children(slug)
            self.db["entries"].upsert(
                {
                    "slug": slug,
                    "title": entry.title,
                    "summary": entry.summary,
                    "category": entry.category,
                    "tags": _json(entry.tags),
                    "patterns": _json(entry.patterns),
                    "environment": _json(entry.environment),
                    "savings": entry.savings,
                    "sources": _json(entry.sources),
                    "created": entry.created.isoformat(),
                    "updated": entry.updated.isoformat(),
                    "body": "\n\n".join([entry.quick_fix] + [f"## {s.name}\n\n{s.body}" for s in entry.sections]),
                    "patterns_text": "\n".join(entry.patterns),
                    "pattern_literals": _json([required_literal(p) for p in entry.patterns]),
                    "quick_fix": entry.quick_fix,
                    "verified": _json(entry.verified.to_dict()) if entry.verified else None,
                    "http_statuses": _json(entry.http_statuses),
                    "error_types": _json(entry.error_types),
                    "generic_patterns": _json(entry.generic_patterns),
                    "generic_literals": _json([required_literal(p) for p in entry.generic_patterns]),
                    "markdown": markdown,
                    "path": str(entry.path) if entry.path else "",
                    "file_mtime_ns": mtime_ns,
                    "file_size": size,
                    "content_hash": content_hash,
                },
                pk="slug",
            )
            self.db["sections"].insert_all(
                {"slug": slug, "position": i, "name": s.name, "body": s.body} for i, s in enumerate(entry.sections)
            )
            self.db["code_blocks"].insert_all(
                {"slug": slug, "section": s.name, "position": j, "language": b.language, "attrs": " ".join(b.attrs), "code": b.code}
                for s in entry.sections
                for j, b in enumerate(code_blocks_in(s.body))
            )
            self.db["tags"].insert_all(({"slug": slug, "tag": t} for t in dict.fromkeys(entry.tags)), pk=("slug", "tag"))

    def touch_entry(self, slug: str, mtime_ns: int, size: int) -> None:
        """Record a new file stat for an entry whose content did not change."""
        self.db.execute("update entries set file_mtime_ns = ?, file_size = ? where slug = ?", [mtime_ns, size, slug])

    def _delete_children(self, slug: str) -> None:
        for table in ("sections", "code_blocks", "tags"):
            self.db.execute(f"delete from {table} where slug = ?", [slug])

    def delete_entries(self, slugs: Iterable[str]) -> None:
        with self.db.conn:
            for slug in slugs:
                self._delete_children(slug)
                self.db.execute("delete from embeddings where slug = ?", [slug])
                self.db.execute("delete from entries where slug = ?", [slug])

    def count(self) -> int:
        return self.conn.execute("select count(*) from entries").fetchone()[0]

    def slugs(self) -> list[str]:
        return [r[0] for r in self.conn.execute("select slug from entries order by slug")]

    def get_entry(self, slug: str) -> Entry | None:
        cursor = self.conn.execute("select * from entries where slug = ?", [slug])
        row = cursor.fetchone()
        if row is None:
            return None
        return self._row_to_entry(dict(zip([d[0] for d in cursor.description], row)))

    def list_entries(self, category: str | None = None, tag: str | None = None) -> list[Entry]:
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
        return Entry(
            slug=row["slug"],
            title=row["title"],
            summary=row["summary"],
            category=row["category"],
            tags=json.loads(row["tags"]),
            patterns=json.loads(row["patterns"]),
            environment=json.loads(row["environment"]),
            savings=row["savings"],
            sources=json.loads(row["sources"]),
            created=date.fromisoformat(row["created"]),
            updated=date.fromisoformat(row["updated"]),
            quick_fix=row.get("quick_fix") or "",
            verified=_verified(row.get("verified")),
            http_statuses=json.loads(row.get("http_statuses") or "[]"),
            error_types=json.loads(row.get("error_types") or "[]"),
            generic_patterns=json.loads(row.get("generic_patterns") or "[]"),
            sections=sections,
            path=Path(row["path"]) if row["path"] else None,
        )

    def markdown(self, slug: str) -> str | None:
        row = self.conn.execute("select markdown from entries where slug = ?", [slug]).fetchone()
        return row[0] if row else None

    def all_patterns(self) -> dict[str, list[tuple[str, str]]]:
        """slug -> [(pattern, required literal)], the literals as stored at index time."""
        out = {}
        for slug, patterns, literals in self.conn.execute("select slug, patterns, pattern_literals from entries"):
            patterns = json.loads(patterns)
            literals = json.loads(literals) if literals else [required_literal(p) for p in patterns]
            out[slug] = list(zip(patterns, literals))
        return out

    def categories(self) -> list[tuple[str, int]]:
        return [tuple(r) for r in self.conn.execute("select category, count(*) from entries group by category order by category")]

    def tags(self) -> list[tuple[str, int]]:
        return [tuple(r) for r in self.conn.execute("select tag, count(*) c from tags group by tag order by c desc, tag")]

    # ------------------------------------------------------------------ embeddings
    def embedding_hashes(self) -> dict[tuple[str, str], str]:
        return {(r[0], r[1]): r[2] for r in self.conn.execute("select slug, field, content_hash from embeddings")}

    def save_embeddings(self, rows: list[tuple[str, str, str, str, list[float]]]) -> None:
        """rows: (slug, field, model, content_hash, vector)."""
        with self.db.conn:
            self.db["embeddings"].upsert_all(
                ({"slug": s, "field": f, "model": m, "content_hash": h, "vector": vector_to_blob(v)} for s, f, m, h, v in rows),
                pk=("slug", "field"),
            )

    def delete_embeddings_except(self, keep: set[tuple[str, str]]) -> None:
        stale = [key for key in self.embedding_hashes() if key not in keep]
        with self.db.conn:
            for slug, field in stale:
                self.db.execute("delete from embeddings where slug = ? and field = ?", [slug, field])

    def embedding_matrix(self, model: str):
        """(slugs, fields, float32 matrix) of every stored vector for ``model``."""
        import numpy as np

        rows = self.conn.execute("select slug, field, vector from embeddings where model = ? order by slug, field", [model]).fetchall()
        if not rows:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), -1)
        return [r[0] for r in rows], [r[1] for r in rows], matrix

    # ------------------------------------------------------------------ full text
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
