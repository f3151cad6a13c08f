"""Finding and repairing damage: ``synapse doctor``, and the rebuild of a damaged database file.

Entries can always be rebuilt from their files (or from the markdown the database keeps of each), but
submissions and stars exist only in the database.  So before a damaged file is set aside, every row of
those tables that can still be read from it is carried into the new database, and an entry whose file
is gone is written out next to the damaged file: damage never silently leaves community data behind.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from synapse_ai.kb.stores.sqlite import CorruptDatabase, file_lock
from synapse_ai.kb.stores.sqlite import SqliteStore as Store

COMMUNITY_TABLES = ("submissions", "stars")
RECOVER_TIMEOUT_S = 120  # the sqlite3 shell's .recover on a badly damaged file


# ---------------------------------------------------------------------- salvage
@dataclass
class Salvage:
    """What could be read from a damaged file, table by table."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)  # rows (or probes) that failed; -1: the whole table


def _read_whole(conn: sqlite3.Connection, table: str) -> list[dict]:
    cursor = conn.execute(f"select * from {table}")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _read_row_by_row(conn: sqlite3.Connection, table: str, max_misses: int = 2000) -> tuple[list[dict], int]:
    """Read a table one rowid at a time, so a damaged page costs the rows on it, not the table."""
    columns = [r[1] for r in conn.execute(f"pragma table_info({table})")]
    rows, failed, misses, rowid = [], 0, 0, 1
    while misses < max_misses:
        try:
            row = conn.execute(f"select * from {table} where rowid = ?", [rowid]).fetchone()
        except sqlite3.DatabaseError:
            failed, row = failed + 1, None
        if row is None:
            misses += 1
        else:
            misses = 0
            rows.append(dict(zip(columns, row)))
        rowid += 1
    return rows, failed


def _recover_with_shell(path: Path) -> sqlite3.Connection | None:
    """The sqlite3 shell's ``.recover`` (it reads pages the library refuses), loaded into memory."""
    shell = shutil.which("sqlite3")
    if shell is None:
        return None
    try:
        out = subprocess.run([shell, str(path), ".recover"], capture_output=True, timeout=RECOVER_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    memory = sqlite3.connect(":memory:")
    for statement in out.stdout.decode("utf-8", "replace").split(";\n"):
        try:
            memory.execute(statement)
        except sqlite3.Error:
            continue  # one bad statement (a half-recovered row) does not stop the others
    return memory


_MAGIC = b"SQLite format 3\x00"


def _reheaded_copy(path: Path, page_size: int, workdir: Path) -> Path | None:
    """A copy of ``path`` with a fresh 100-byte file header for ``page_size``: a garbled header makes
    SQLite refuse the whole file although every table page behind it may be intact."""
    data = bytearray(path.read_bytes())
    if len(data) < page_size or len(data) % page_size:
        return None
    template = workdir / "template.db"
    template.unlink(missing_ok=True)
    conn = sqlite3.connect(str(template))
    conn.execute(f"pragma page_size = {page_size}")
    conn.execute("create table t(x)")
    conn.commit()
    conn.close()
    header = bytearray(template.read_bytes()[:100])
    header[18] = header[19] = 1  # rollback journal: the copy has no -wal
    header[28:32] = (len(data) // page_size).to_bytes(4, "big")
    header[32:40] = bytes(8)  # no freelist: the old one cannot be trusted
    data[:100] = header
    copy = workdir / f"reheaded-{page_size}.db"
    copy.write_bytes(bytes(data))
    return copy


def _salvage_from(path: Path, tables: tuple[str, ...]) -> Salvage:
    salvage = Salvage()
    try:
        conn = sqlite3.connect(str(path), timeout=5)
    except sqlite3.Error:
        return Salvage({t: [] for t in tables}, {t: -1 for t in tables})
    for table in tables:
        try:
            rows, failed = _read_whole(conn, table), 0
        except sqlite3.DatabaseError:
            try:
                rows, failed = _read_row_by_row(conn, table)
            except sqlite3.DatabaseError:
                rows, failed = [], -1
        salvage.rows[table], salvage.unreadable[table] = rows, failed
    conn.close()
    return salvage


def _merge(into: Salvage, other: Salvage) -> None:
    """Add ``other``'s rows that ``into`` lacks; a table counts as complete once any source read it whole."""
    for table, rows in other.rows.items():
        known = {tuple(sorted(r.items())) for r in into.rows.get(table, [])}
        into.rows.setdefault(table, []).extend(r for r in rows if tuple(sorted(r.items())) not in known)
        if other.unreadable.get(table) == 0:
            into.unreadable[table] = 0


def salvage_database(path: Path, tables: tuple[str, ...] = COMMUNITY_TABLES + ("entries",)) -> Salvage:
    """Read every row of ``tables`` that can still be read from the damaged file at ``path``: directly,
    then (for tables not read whole) from copies with a rebuilt header and via the sqlite3 shell's
    ``.recover``."""
    salvage = _salvage_from(path, tables)
    if not any(salvage.unreadable.values()):
        return salvage
    with tempfile.TemporaryDirectory() as tmp:
        candidates = [path]
        try:
            with open(path, "rb") as handle:
                garbled = handle.read(16) != _MAGIC
        except OSError:
            garbled = False
        if garbled:
            for size in (4096, 1024, 2048, 8192, 16384, 32768, 65536):
                copy = _reheaded_copy(path, size, Path(tmp))
                if copy is None:
                    continue
                candidates.append(copy)
                _merge(salvage, _salvage_from(copy, tables))
                if not any(salvage.unreadable.values()):
                    return salvage
        for candidate in candidates:
            recovered = _recover_with_shell(candidate)
            if recovered is None:
                continue
            partial = Salvage()
            for table in tables:
                try:
                    partial.rows[table] = _read_whole(recovered, table)
                except sqlite3.Error:
                    continue
            recovered.close()
            _merge(salvage, partial)
    return salvage


def _recreate_tables(store: Store, schema_rows: list[dict], tables: tuple[str, ...]) -> None:
    """Create ``tables`` (and their indexes) in the new file as the damaged file declared them.  The
    community tables belong to the web site (it creates them when it opens the file); kb copies their
    declarations instead of knowing them, so the salvaged rows have somewhere to go now."""
    with store.transaction():
        for row in sorted(schema_rows, key=lambda r: r.get("type") != "table"):  # tables before indexes
            sql = row.get("sql") or ""
            if row.get("tbl_name") not in tables or row.get("type") not in ("table", "index") or not sql:
                continue
            store.conn.execute(
                re.sub(
                    r"^\s*CREATE\s+(UNIQUE\s+)?(TABLE|INDEX)\s+(?!IF NOT EXISTS)",
                    r"CREATE \1\2 IF NOT EXISTS ",
                    sql,
                    flags=re.I,
                )
            )


def _restore_rows(store: Store, table: str, rows: list[dict]) -> int:
    """Insert salvaged rows that are not there yet; returns how many were added."""
    columns = [r[1] for r in store.conn.execute(f"pragma table_info({table})")]
    if not columns:  # the damaged file's schema could not be read: the rows stay in it
        return 0
    added = 0
    with store.transaction():
        for row in rows:
            values = [row.get(c) for c in columns]
            added += store.conn.execute(
                f"insert or ignore into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})", values
            ).rowcount
    return added


def _unique_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 2
    while aside.exists():
        aside, n = path.with_name(f"{path.name}.corrupt-{stamp}-{n}"), n + 1
    return aside


def replace_damaged_database(path: Path, damage: CorruptDatabase, notices: list[str]) -> Path | None:
    """Set the damaged file aside (with its -wal and -shm, never deleted), create a new database, and
    carry the damaged file's submissions and stars into it.  Returns where the damaged file went
    (None if another process had already replaced it)."""
    path = Path(path)
    try:
        seen = os.stat(path).st_ino
    except FileNotFoundError:
        return None
    with file_lock(path.with_name(f"{path.name}-schema.lock"), timeout=240):
        try:
            if os.stat(path).st_ino != seen:
                return None  # another process set it aside while this one waited
        except FileNotFoundError:
            return None
        aside = _unique_aside(path)
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            companion = Path(f"{path}{suffix}")
            if companion.exists():
                os.replace(companion, Path(f"{aside}{suffix}"))
    salvage = salvage_database(aside, COMMUNITY_TABLES + ("entries", "sqlite_master"))
    store = Store(path)
    try:
        _recreate_tables(store, salvage.rows.get("sqlite_master", []), COMMUNITY_TABLES)
        restored = {table: _restore_rows(store, table, salvage.rows.get(table, [])) for table in COMMUNITY_TABLES}
    finally:
        store.close()
    orphans = _write_orphan_entries(salvage.rows.get("entries", []), aside.with_name(f"{aside.name}-entries"))
    reason = str(damage).split(": ", 1)[-1]
    message = (
        f"the database at {path} was damaged ({reason}); it was moved to {aside.name} and rebuilt from the entry "
        "files; "
        f"{restored['submissions']} submissions and {restored['stars']} stars were recovered into the new database"
    )
    lost = {t: n for t, n in salvage.unreadable.items() if t in COMMUNITY_TABLES and n}
    if lost:
        message += f"; some {' and '.join(lost)} rows could not be read and remain only in {aside}"
    if orphans:
        message += f"; {orphans} entries with no file left were written to {aside.name}-entries"
    notices.append(message)
    return aside


def _write_orphan_entries(rows: list[dict], directory: Path) -> int:
    """Entries whose markdown the damaged database held but whose file no longer exists."""
    written = 0
    for row in rows:
        markdown, slug, source = row.get("markdown"), row.get("slug"), row.get("path") or ""
        if not markdown or not slug or (source and Path(source).exists()):
            continue
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{Path(str(slug)).name}.md").write_text(markdown, encoding="utf-8")
        written += 1
    return written


# ---------------------------------------------------------------------- synapse doctor
@dataclass
class DoctorReport:
    database: str
    integrity: str = "ok"
    fts: str = "ok"
    entries: int = 0
    repaired: list[dict] = field(default_factory=list)  # {slug, problem, source}
    unrepairable: list[dict] = field(default_factory=list)  # {slug, problem}: left as found (or --check-only)
    embedded: int = 0
    approved_without_entry: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when the integrity check and the full-text index pass and nothing was left unrepaired."""
        return self.integrity in ("ok", "ok (rebuilt)") and self.fts in ("ok", "rebuilt") and not self.unrepairable

    def to_dict(self) -> dict:
        """The report as JSON-ready data, with ``healthy``."""
        return asdict(self) | {"healthy": self.healthy}

    def lines(self) -> list[str]:
        """The report as lines for the terminal, ending with whether problems remain."""
        out = [
            f"database: {self.database}",
            f"integrity check: {self.integrity}",
            f"full-text index: {self.fts}",
            f"entries: {self.entries}",
        ]
        out += [f"repaired {r['slug']}: {r['problem']} (re-written from {r['source']})" for r in self.repaired]
        out += [f"not repaired {r['slug']}: {r['problem']}" for r in self.unrepairable]
        if self.embedded:
            out.append(f"embedded {self.embedded} missing texts")
        if self.approved_without_entry:
            out.append(
                f"{len(self.approved_without_entry)} approved submissions have no entry in the index "
                f"({', '.join(self.approved_without_entry[:5])}); 'synapse export DIR' writes them back as files"
            )
        out += self.notices
        out.append("no problems left" if self.healthy else "problems remain")
        return out


def _indexed_entry(row: dict):
    """The entry a row claims to hold: its stored markdown, parsed (the file if that does not parse).
    A file edited since the last index is not damage: ``synapse index`` picks it up."""
    from synapse_ai.kb.parse import EntryError, parse_entry, read_entry

    source = Path(row["path"]) if row["path"] else None
    if row["markdown"]:
        try:
            return parse_entry(row["markdown"], source)
        except EntryError:
            pass
    if source is None or not source.is_file():
        raise EntryError([])
    return read_entry(source)


def _repair_source(row: dict, stored):
    """What to re-write a damaged row from: its file when it still parses as the same slug (the
    source of truth), else the stored markdown.  Returns (entry, markdown, source, stat)."""
    from synapse_ai.kb.parse import EntryError, read_entry

    source = Path(row["path"]) if row["path"] else None
    if source is not None and source.is_file():
        try:
            entry = read_entry(source)
            if entry.slug == row["slug"]:
                return entry, source.read_text(encoding="utf-8"), "its file", source.stat()
        except (EntryError, OSError, UnicodeDecodeError):
            pass
    return stored, row["markdown"], "the stored markdown", None


def _entry_problem(store: Store, row: dict, entry) -> str | None:
    """Why the stored rows of an entry do not match ``entry`` (None if they do)."""
    stored = [
        (n, b)
        for n, b in store.conn.execute(
            "select name, body from sections where slug = ? order by position", [row["slug"]]
        )
    ]
    if not stored and entry.sections:
        return "its sections are missing"
    if stored != [(s.name, s.body) for s in entry.sections]:
        return "its sections differ from its markdown"
    tags = {t for (t,) in store.conn.execute("select tag from tags where slug = ?", [row["slug"]])}
    if tags != set(entry.tags):
        return "its tags are missing" if not tags else "its tags differ from its markdown"
    if row["title"] != entry.title or row["summary"] != entry.summary:
        return "its title or summary differs from its markdown"
    return None


def check_entries(store: Store, report: DoctorReport, repair: bool) -> None:
    """Compare indexed entries with their files, re-writing damaged ones with ``repair``; raises sqlite3.Error."""
    from synapse_ai.kb.indexer import content_hash
    from synapse_ai.kb.parse import EntryError, render_entry

    cursor = store.conn.execute(
        "select slug, path, markdown, title, summary, file_mtime_ns, file_size from entries order by slug"
    )
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, r)) for r in cursor.fetchall()]
    report.entries = len(rows)
    for row in rows:
        try:
            stored = _indexed_entry(row)
        except EntryError:
            report.unrepairable.append(
                {"slug": row["slug"], "problem": "neither its stored markdown nor its file parses"}
            )
            continue
        problem = _entry_problem(store, row, stored)
        if problem is None:
            continue
        if not repair:
            report.unrepairable.append({"slug": row["slug"], "problem": problem})
            continue
        entry, markdown, source, stat = _repair_source(row, stored)
        if entry.slug != row["slug"]:
            report.unrepairable.append(
                {"slug": row["slug"], "problem": f"{problem}, and its markdown says slug '{entry.slug}'"}
            )
            continue
        mtime, size = (stat.st_mtime_ns, stat.st_size) if stat else (row["file_mtime_ns"], row["file_size"])
        store.upsert_entry(entry, markdown, content_hash(render_entry(entry)), mtime, size)
        report.repaired.append({"slug": row["slug"], "problem": problem, "source": source})


def check_fts(store: Store, report: DoctorReport, repair: bool) -> None:
    """Run FTS5's integrity check; with ``repair`` rebuild the index (raises sqlite3.Error if that fails)."""
    try:
        with store.transaction():
            store.conn.execute("insert into entries_fts(entries_fts, rank) values('integrity-check', 1)")
        return
    except sqlite3.DatabaseError as exc:
        report.fts = f"out of step with the entries ({exc})"
    if repair:
        with store.transaction():
            store.conn.execute("insert into entries_fts(entries_fts) values('rebuild')")
        report.fts = "rebuilt"


def run_doctor(db: Path | None = None, repair: bool = True) -> DoctorReport:
    """Check the database at ``db`` (default: the user's) and, with ``repair``, fix what can be fixed."""
    from synapse_ai.kb.indexer import embed_missing
    from synapse_ai.kb.service import KnowledgeBase

    kb = KnowledgeBase.open(db, refresh=False)
    if not isinstance(kb.store, Store):
        return _doctor_server_store(kb, repair)
    report = DoctorReport(database=str(kb.store.path), notices=list(kb.notices))
    try:
        problems = [r[0] for r in kb.store.conn.execute("pragma integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        report.integrity = "; ".join(problems[:5])
        if not repair:
            kb.close()
            return report
        path = kb.store.path
        kb.close()
        replace_damaged_database(
            path, CorruptDatabase(f"{path}: integrity check failed: {problems[0]}"), report.notices
        )
        kb = KnowledgeBase.open(path)
        report.notices += kb.notices
        report.integrity = "ok (rebuilt)"
    try:
        check_entries(kb.store, report, repair)
        check_fts(kb.store, report, repair)
        if repair:
            report.embedded = embed_missing(kb.store, kb._embedder_for)
            if report.repaired or report.embedded or report.fts == "rebuilt":
                # Other processes cache vectors and patterns by generation: make them reload.
                kb.store.set_meta("generation", str(int(kb.store.get_meta("generation", "0")) + 1))
        indexed = set(kb.store.slugs())
        report.approved_without_entry = [slug for slug, _md in kb.store.approved_markdown() if slug not in indexed]
    finally:
        kb.close()
    return report


def _doctor_server_store(kb, repair: bool) -> DoctorReport:
    """A database server keeps its own files whole (WAL, checksums, its own backups), and the store
    writes every entry in one transaction: what is left to check is missing vectors and approved
    entries with no entry row."""
    from synapse_ai.kb.indexer import embed_missing
    from synapse_ai.kb.stores import redacted_url

    report = DoctorReport(database=redacted_url(kb.store.url), notices=list(kb.notices))
    try:
        report.entries = kb.store.count()
        if repair:
            with kb.store.index_lock():
                report.embedded = embed_missing(kb.store, kb._embedder_for)
                if report.embedded:
                    kb.store.set_meta("generation", str(int(kb.store.get_meta("generation", "0")) + 1))
        indexed = set(kb.store.slugs())
        report.approved_without_entry = [slug for slug, _md in kb.store.approved_markdown() if slug not in indexed]
    finally:
        kb.close()
    return report
