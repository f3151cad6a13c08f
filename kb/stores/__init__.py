"""The storage interface: what ``KnowledgeBase`` needs from a backend, and ``open_store(url)``.

Two siblings implement it: ``SqliteStore`` (``kb/stores/sqlite.py``, the embedded default: one file,
FTS5 BM25, a numpy matrix for meaning) and ``PostgresStore`` (``kb/stores/postgres.py``, a shared
team database: BM25 computed from Postgres term statistics, pgvector HNSW for meaning).  The backend
is chosen once, from a URL, when a store is opened; every caller then talks to ``IndexStore`` and never
learns which one it holds.

The retrieval contract is ranked lists (``Hit``): fusion (``synapse_ai.kb.fusion.rrf``) uses only the
order of lexical hits, so FTS5's and Postgres's scores may differ in scale.  Vector hits carry the
cosine itself, because the abstention rule (``synapse_ai.kb.search.decide_matched``) is calibrated on it,
and give one hit per entry (its best embedded field).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from synapse_ai.kb.errors import UserError

if TYPE_CHECKING:
    from synapse_ai.kb.model import Entry

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class StoreError(UserError):
    """A store cannot be opened as asked (an unknown URL, a backend whose extra is not installed)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved entry.  ``score`` is backend-native and higher is better; for vector hits it is
    the cosine similarity, and ``field`` the embedded text that won ("summary" | "symptom")."""

    slug: str
    score: float
    field: str | None = None


@runtime_checkable
class IndexStore(Protocol):
    """What ``KnowledgeBase``, the indexer, ``synapse export`` and ``synapse doctor`` use.

    ``shared`` is True for a store several processes on several machines serve from (Postgres):
    entries written at run time (approved submissions) then live in the store itself, not in a file
    on one machine's disk.  ``thread_safe`` is True when several threads may call it at once (a
    connection pool); otherwise the caller serialises its calls.
    """

    url: str
    shared: bool
    thread_safe: bool

    def close(self) -> None:
        """Release the store's connection(s); raises nothing of its own."""
        ...

    def index_lock(self, timeout: float | None = ...) -> AbstractContextManager[bool]:
        """Held while (re)indexing, across processes; yields False at once if ``timeout`` is 0 and another holds it,
        else waits and raises DatabaseUnavailable when ``timeout`` runs out."""
        ...

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """The meta value for ``key``, or ``default`` if unset;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Set one meta value;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def set_metas(self, values: dict[str, str]) -> None:
        """Set several meta values in one transaction;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def entry_fingerprints(self) -> dict[str, tuple[str, int, int, str]]:
        """slug -> (path, mtime_ns, size, content_hash) for incremental indexing;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def upsert_entry(self, entry: Entry, markdown: str, content_hash: str, mtime_ns: int = 0, size: int = 0) -> None:
        """Write one entry with all its rows, replacing any previous version, in one transaction;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def entry_path(self, slug: str) -> str | None:
        """The stored file path of ``slug`` ("" if none), None if not indexed;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def touch_entry(self, slug: str, mtime_ns: int, size: int) -> None:
        """Record a new file stat for an entry whose content did not change;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def forget_file_stats(self) -> None:
        """Make the next index re-read every file;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def delete_entries(self, slugs: Iterable[str]) -> None:
        """Delete ``slugs`` with their rows and vectors (unknown slugs are ignored);
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def child_counts(self, slug: str) -> tuple[int, int]:
        """(sections, tags) stored for ``slug``;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def count(self) -> int:
        """The number of indexed entries;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def slugs(self) -> list[str]:
        """Every indexed slug, sorted;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def get_entry(self, slug: str) -> Entry | None:
        """The entry ``slug`` with its sections, or None if not indexed;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def list_entries(self, category: str | None = None, tag: str | None = None) -> list[Entry]:
        """Entries (with sections) filtered by ``category`` and/or ``tag``, by title;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def markdown(self, slug: str) -> str | None:
        """The markdown ``slug`` was indexed from, or None;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def entries_markdown(self) -> dict[str, str]:
        """slug -> the markdown each entry was indexed from;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def approved_markdown(self) -> list[tuple[str, str]]:
        """(slug, markdown) of approved submissions stored here ([] without that table);
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def all_patterns(self) -> dict[str, list[tuple[str, str]]]:
        """slug -> [(pattern, required literal)] as stored at index time;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def all_signals(self) -> dict[str, dict]:
        """slug -> the entry's matching signals (patterns, HTTP statuses, error types);
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def categories(self) -> list[tuple[str, int]]:
        """(category, entry count) pairs, by category;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def tags(self) -> list[tuple[str, int]]:
        """(tag, entry count) pairs, most used first;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def embedding_hashes(self) -> dict[tuple[str, str], str]:
        """(slug, field) -> content hash of each stored vector;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def save_embeddings(self, rows: list[tuple[str, str, str, str, list[float]]]) -> None:
        """Upsert (slug, field, model, content_hash, vector) rows in one transaction;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def delete_embeddings_except(self, keep: set[tuple[str, str]]) -> None:
        """Delete every vector whose (slug, field) is not in ``keep``;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be written."""
        ...

    def has_vectors(self, model: str) -> bool:
        """Whether any vector is stored for ``model``;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def entry_vectors(self, slug: str, model: str) -> list[list[float]]:
        """The stored vectors of ``slug`` for ``model``;
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def lexical_search(self, terms: Sequence[str], limit: int) -> list[Hit]:
        """Entries matching any of ``terms``, best first (higher score is better, scale backend-native);
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...

    def vector_search(self, vector: Sequence[float], model: str, limit: int) -> list[Hit]:
        """The ``limit`` entries nearest ``vector`` by cosine, one hit per entry (its best field);
        backends raise DatabaseUnavailable (or SQLite's sqlite3.Error) when it cannot be read."""
        ...


def configured_database_url() -> str | None:
    """``SYNAPSE_DATABASE_URL`` (e.g. ``postgresql://user@host/synapse``) as ``Config`` reads it, or None
    for the default file: every command (index, serve, search, ...) picks the same backend."""
    from synapse_ai.kb.config import Config

    return Config.from_env().database_url


def is_postgres_url(url: str | Path | None) -> bool:
    """True for a ``postgresql://`` or ``postgres://`` URL given as text; raises nothing."""
    return isinstance(url, str) and url.startswith(POSTGRES_SCHEMES)


def redacted_url(url: str) -> str:
    """``url`` without its password, for messages and reports."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def sqlite_path(url: str | Path) -> Path:
    """A bare path, ``sqlite:///abs/path`` or ``sqlite:relative/path`` as a file path."""
    text = str(url)
    for prefix in ("sqlite:///", "sqlite://", "sqlite:"):
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            return Path("/" + rest if prefix == "sqlite:///" else rest)
    return Path(text)


def resolve_url(url: str | Path | None = None) -> str | Path:
    """What to open: ``url`` when given, else ``SYNAPSE_DATABASE_URL``, else the per-user SQLite file."""
    if url:
        return url
    configured = configured_database_url()
    if configured:
        return configured
    from synapse_ai.kb.paths import default_db_path

    return default_db_path()


def open_store(url: str | Path | None = None, *, busy_timeout: float | None = None) -> IndexStore:
    """The store for ``url`` (see ``resolve_url``): ``postgresql://...`` opens ``PostgresStore``,
    anything else ``SqliteStore`` on that file (waiting ``busy_timeout`` seconds for a write lock; None:
    ``Config.busy_timeout``).  Both apply their pending migrations on opening.  Raises StoreError,
    CorruptStore or DatabaseUnavailable."""
    target = resolve_url(url)
    if is_postgres_url(str(target)):
        return _postgres_class()(str(target))
    from synapse_ai.kb.stores.sqlite import SqliteStore

    return SqliteStore(sqlite_path(target), busy_timeout=busy_timeout)


def _postgres_class():
    try:
        from synapse_ai.kb.stores.postgres import PostgresStore
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(("psycopg", "pgvector")):
            raise
        raise StoreError(
            "a PostgreSQL database needs the 'synapse-ai[postgres]' extra (pip install 'synapse-ai[postgres]')"
        ) from exc
    return PostgresStore
