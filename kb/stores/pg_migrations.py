"""Numbered migrations for PostgreSQL: the same decorator API as sqlite-utils ``Migrations``, a ledger
table, and a lock so that several servers starting at once migrate a database exactly once.

Each set (``synapse.kb`` for the index, ``synapse.site`` for the web site's rows) has its own owner and
its own rows in ``_synapse_migrations``.  All pending migrations of a set run in one transaction under
a transaction-scoped advisory lock: a replica that waited finds the work done and applies nothing.
Never edit a migration that has shipped: add the next number.
"""

from __future__ import annotations

from collections.abc import Callable

CONNECT_TIMEOUT_S = 10

LEDGER = (
    "create table if not exists _synapse_migrations ("
    "migration_set text not null, name text not null, applied_at timestamptz not null default now(), "
    "primary key (migration_set, name))"
)
_LOCK_KEY = 7_391_022  # advisory lock taken while migrating (any set): DDL is serialised anyway


class PgMigrations:
    """A named, ordered set of migrations; each is a function taking a psycopg connection."""

    def __init__(self, name: str):
        self.name = name
        self._steps: list[tuple[str, Callable]] = []

    def __call__(self) -> Callable[[Callable], Callable]:
        def register(fn: Callable) -> Callable:
            if any(name == fn.__name__ for name, _ in self._steps):
                raise ValueError(f"migration {fn.__name__} is already in set {self.name}")
            self._steps.append((fn.__name__, fn))
            return fn

        return register

    @property
    def names(self) -> tuple[str, ...]:
        """Every migration's name, in the order applied; raises nothing."""
        return tuple(name for name, _ in self._steps)

    def applied(self, conn) -> list[str]:
        """The names already applied (read-only; [] on a database never migrated)."""
        exists = conn.execute("select to_regclass('_synapse_migrations') is not null").fetchone()[0]
        if not exists:
            return []
        rows = conn.execute("select name from _synapse_migrations where migration_set = %s", [self.name]).fetchall()
        return [r[0] for r in rows]

    def pending(self, conn) -> list[str]:
        """The names not applied yet, in order; raises psycopg.Error when the database cannot be read."""
        done = set(self.applied(conn))
        return [name for name in self.names if name not in done]

    def apply(self, conn) -> list[str]:
        """Apply what is pending in one transaction; returns the names applied."""
        if not self.pending(conn):
            return []
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            conn.execute(LEDGER)
            done = set(self.applied(conn))
            ran = []
            for name, step in self._steps:
                if name in done:
                    continue
                step(conn)
                conn.execute("insert into _synapse_migrations (migration_set, name) values (%s, %s)", [self.name, name])
                ran.append(name)
            return ran


def open_migrated_pool(url: str, migrations: PgMigrations, max_size: int):
    """Connect once (failing fast, with the server's own reason, when it cannot be reached), apply
    ``migrations``, then open a connection pool (autocommit; transactions are explicit)."""
    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout

    from synapse_ai.kb.stores import redacted_url
    from synapse_ai.kb.stores.errors import server_unavailable

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            migrations.apply(conn)
        pool = ConnectionPool(
            url, min_size=1, max_size=max(2, max_size), kwargs={"autocommit": True}, open=False, timeout=30
        )
        pool.open(wait=True, timeout=30)
        return pool
    except (psycopg.OperationalError, PoolTimeout) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise server_unavailable(f"cannot connect to {redacted_url(url)}: {reason}") from None


kb_migrations = PgMigrations("synapse.kb")


@kb_migrations()
def m001_core(conn):
    """Create the vector extension and the index tables (entries, sections, code blocks, tags, postings,
    embeddings, meta); raises psycopg.Error when a statement fails (e.g. pgvector is not installed)."""
    # The same columns as SQLite's ``entries`` (kb/stores/rows.py lays them out).  ``tsv`` weights
    # the fields as SQLite's bm25() does (title 4, summary 3, patterns 2, body 1 -> A, B, C, D), and
    # ``entry_terms`` holds each entry's lexemes with their weighted frequency: the postings that
    # BM25 is computed from (kb/stores/postgres.py explains why not ts_rank).
    conn.execute("create extension if not exists vector")
    conn.execute(
        """
        create table entries (
            slug text primary key, title text not null, summary text not null, category text not null,
            tags text not null, patterns text not null, environment text not null, savings text, sources text,
            created text not null, updated text not null, body text, patterns_text text, pattern_literals text,
            quick_fix text, verified text, http_statuses text, error_types text, generic_patterns text,
            generic_literals text, markdown text, path text not null default '', file_mtime_ns bigint,
            file_size bigint, content_hash text, doc_len integer not null default 0,
            tsv tsvector generated always as (
                setweight(to_tsvector('english', coalesce(title, '')), 'A')
                || setweight(to_tsvector('english', coalesce(summary, '')), 'B')
                || setweight(to_tsvector('english', coalesce(patterns_text, '')), 'C')
                || setweight(to_tsvector('english', coalesce(body, '')), 'D')
            ) stored
        )
        """
    )
    conn.execute("create index entries_tsv on entries using gin (tsv)")
    conn.execute("create index entries_category on entries (category)")
    conn.execute(
        "create table sections (slug text not null references entries (slug) on delete cascade, "
        "position integer not null, name text not null, body text not null, primary key (slug, position))"
    )
    conn.execute(
        "create table code_blocks (id bigserial primary key, slug text not null references entries (slug) "
        "on delete cascade, section text, position integer, language text, attrs text, code text)"
    )
    conn.execute("create index code_blocks_slug on code_blocks (slug)")
    conn.execute(
        "create table tags (slug text not null references entries (slug) on delete cascade, tag text not null, "
        "primary key (slug, tag))"
    )
    conn.execute("create index tags_tag on tags (tag)")
    conn.execute(
        "create table entry_terms (slug text not null references entries (slug) on delete cascade, "
        "lexeme text not null, tf real not null, primary key (slug, lexeme))"
    )
    conn.execute("create index entry_terms_lexeme on entry_terms (lexeme)")
    # vector has no fixed dimension (models differ); each dimension gets its own HNSW index on first
    # use (PostgresStore.save_embeddings), as an expression index with a matching partial predicate.
    conn.execute(
        "create table embeddings (slug text not null references entries (slug) on delete cascade, "
        "field text not null, model text not null, content_hash text not null, vector vector not null, "
        "primary key (slug, field))"
    )
    conn.execute("create index embeddings_model on embeddings (model)")
    conn.execute("create table kb_meta (key text primary key, value text)")
