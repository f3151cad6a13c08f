"""The PostgreSQL store (``IndexStore`` for a team): PostgreSQL >= 15 with the pgvector extension.

Several ``synapse serve`` replicas (and ``synapse index``) share one database, so this store is the
source of truth: connections come from a psycopg pool (safe across threads), indexing is serialised
by an advisory lock instead of a lock file, and an entry approved on one replica is a row every
replica reads.  Opening it applies pending migrations (``kb/stores/pg_migrations.py``).

Keywords.  Stock ``ts_rank``/``ts_rank_cd`` rank by term frequency and proximity with no inverse
document frequency, so a common word ("error") weighs as much as a rare one ("tool_use_id").  On the
labelled query set that cost hit@1 (docs/deployment.md has the numbers), so ``lexical_search``
computes Okapi BM25 as FTS5 does (k1 = 1.2, b = 0.75, the same field weights), from postings kept in
``entry_terms`` (lexeme, weighted frequency) and each entry's length.  ``LEXICAL_RANKINGS`` keeps the
``ts_rank`` variants selectable so the benchmark can measure them (``bench/quality.py --lexical``).

Meaning.  pgvector HNSW on cosine distance (``vector_cosine_ops``); one expression index per vector
dimension, so two models can share the table.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import PoolTimeout

from synapse_ai.kb.model import Entry, Section, code_blocks_in
from synapse_ai.kb.stores import Hit, redacted_url
from synapse_ai.kb.stores.errors import server_unavailable
from synapse_ai.kb.stores.pg_migrations import kb_migrations, open_migrated_pool
from synapse_ai.kb.stores.rows import SIGNAL_COLUMNS, entry_row, row_to_entry, signals_of
from synapse_ai.kb.stores.sqlite import INDEX_WAIT_S

POOL_MAX = 8  # connections per process; a replica's thread pool rarely has more searches in flight
HNSW_EF_SEARCH = 100  # candidates HNSW keeps while searching (pgvector's default is 40)
_INDEX_LOCK_KEY = 7_391_023  # pg_advisory_lock key held while indexing
K1, B = 1.2, 0.75  # BM25 parameters, as SQLite FTS5

_QUERY_LEXEMES = "select distinct lexeme from unnest(to_tsvector('english', %(text)s))"
LEXICAL_RANKINGS = {
    # Okapi BM25 over entry_terms, the formula FTS5 uses (IDF floored at 1e-6 for very common terms).
    "bm25": f"""
        with q as ({_QUERY_LEXEMES}),
        stats as (select count(*)::float8 as n, greatest(avg(doc_len), 1)::float8 as avgdl from entries),
        idf as (
            select t.lexeme, greatest(ln((stats.n - count(*) + 0.5) / (count(*) + 0.5)), 1e-6) as idf
            from entry_terms t join q using (lexeme) cross join stats group by t.lexeme, stats.n
        )
        select t.slug,
               sum(idf.idf * t.tf * {K1 + 1} / (t.tf + {K1} * ({1 - B} + {B} * e.doc_len / stats.avgdl))) as score
        from entry_terms t join idf using (lexeme) join entries e on e.slug = t.slug cross join stats
        group by t.slug order by score desc, t.slug limit %(limit)s
    """,
    # Cover density with the same field weights ({D, C, B, A}) and length normalisation 1.
    "ts_rank_cd": f"""
        with tq as (select string_agg(quote_literal(lexeme), ' | ')::tsquery as query from ({_QUERY_LEXEMES}) q)
        select slug, ts_rank_cd('{{0.25, 0.5, 0.75, 1.0}}', tsv, tq.query, 1) as score from entries, tq
        where tsv @@ tq.query order by score desc, slug limit %(limit)s
    """,
    # Stock ts_rank: default weights, no normalisation.
    "ts_rank": f"""
        with tq as (select string_agg(quote_literal(lexeme), ' | ')::tsquery as query from ({_QUERY_LEXEMES}) q)
        select slug, ts_rank(tsv, tq.query) as score from entries, tq
        where tsv @@ tq.query order by score desc, slug limit %(limit)s
    """,
}

# An entry's postings and length, recomputed from its tsvector whenever it is written.
_POSTINGS_SQL = """
    insert into entry_terms (slug, lexeme, tf)
    select e.slug, u.lexeme,
           (select sum(case w when 'A' then 4 when 'B' then 3 when 'C' then 2 else 1 end) from unnest(u.weights) w)
    from entries e, unnest(e.tsv) u where e.slug = %(slug)s
"""
_DOC_LEN_SQL = (
    "update entries set doc_len = (select coalesce(sum(cardinality(u.positions)), 0) from unnest(tsv) u) "
    "where slug = %(slug)s"
)


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(v)) for v in vector) + "]"


def _parse_vector(text: str) -> list[float]:
    return [float(v) for v in text.strip("[]").split(",") if v]


class PostgresStore:
    shared = True  # the database is what every replica serves: entries written at run time live here
    thread_safe = True  # every call takes its own pooled connection

    def __init__(self, url: str, *, lexical: str = "bm25", pool_max: int = POOL_MAX):
        if lexical not in LEXICAL_RANKINGS:
            raise ValueError(f"lexical ranking must be one of {', '.join(LEXICAL_RANKINGS)}")
        self.url = url
        self.path = None  # no file: nothing to move aside, no lock files
        self._lexical_sql = LEXICAL_RANKINGS[lexical]
        self._indexed_dims: set[int] = set()
        self._pool = open_migrated_pool(url, kb_migrations, pool_max)

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; a lost server or an exhausted pool becomes ``DatabaseUnavailable``."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise server_unavailable(f"{redacted_url(self.url)}: {exc}") from None

    def _rows(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

    def _dicts(self, sql: str, params: Sequence | dict = ()) -> list[dict]:
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection pool; raises nothing of its own."""
        self._pool.close()

    @contextlib.contextmanager
    def index_lock(self, timeout: float | None = INDEX_WAIT_S) -> Iterator[bool]:
        """Held while (re)indexing, across every process on every machine using this database."""
        with self._conn() as conn:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not conn.execute("select pg_try_advisory_lock(%s)", [_INDEX_LOCK_KEY]).fetchone()[0]:
                if timeout == 0:
                    yield False
                    return
                if deadline is not None and time.monotonic() > deadline:
                    held = f"the index is busy: another process held it for over {timeout:.0f}s"
                    raise server_unavailable(held, "locked")
                time.sleep(0.05)
            try:
                yield True
            finally:
                conn.execute("select pg_advisory_unlock(%s)", [_INDEX_LOCK_KEY])

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """The meta value for ``key``, or ``default`` if unset;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        rows = self._rows("select value from kb_meta where key = %s", [key])
        return rows[0][0] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        """Set one meta value (via ``set_metas``);
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        self.set_metas({key: value})

    def set_metas(self, values: dict[str, str]) -> None:
        """Upsert several meta values in one transaction;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        with self._conn() as conn, conn.transaction():
            conn.cursor().executemany(
                "insert into kb_meta (key, value) values (%s, %s) "
                "on conflict (key) do update set value = excluded.value",
                list(values.items()),
            )

    # ------------------------------------------------------------------ entries
    def entry_fingerprints(self) -> dict[str, tuple[str, int, int, str]]:
        """slug -> (path, mtime_ns, size, content_hash) for incremental indexing;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        rows = self._rows("select slug, path, file_mtime_ns, file_size, content_hash from entries")
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def upsert_entry(self, entry: Entry, markdown: str, content_hash: str, mtime_ns: int = 0, size: int = 0) -> None:
        """One entry with its sections, code blocks, tags and postings, in one transaction."""
        row = entry_row(entry, markdown, content_hash, mtime_ns, size)
        columns = list(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "slug")
        slug = entry.slug
        sections = [(slug, i, s.name, s.body) for i, s in enumerate(entry.sections)]
        blocks = [
            (slug, s.name, j, b.language, " ".join(b.attrs), b.code)
            for s in entry.sections
            for j, b in enumerate(code_blocks_in(s.body))
        ]
        # One transaction, sent as a pipeline: the statements travel together instead of one round trip each.
        with self._conn() as conn, conn.transaction(), conn.pipeline():
            self._delete_children(conn, slug)
            conn.execute(
                f"insert into entries ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))}) "
                f"on conflict (slug) do update set {updates}",
                list(row.values()),
            )
            cur = conn.cursor()
            cur.executemany("insert into sections (slug, position, name, body) values (%s, %s, %s, %s)", sections)
            cur.executemany(
                "insert into code_blocks (slug, section, position, language, attrs, code) "
                "values (%s, %s, %s, %s, %s, %s)",
                blocks,
            )
            cur.executemany(
                "insert into tags (slug, tag) values (%s, %s) on conflict do nothing",
                [(slug, t) for t in dict.fromkeys(entry.tags)],
            )
            conn.execute(_POSTINGS_SQL, {"slug": slug})
            conn.execute(_DOC_LEN_SQL, {"slug": slug})

    @staticmethod
    def _delete_children(conn, slug: str) -> None:
        for table in ("sections", "code_blocks", "tags", "entry_terms"):
            conn.execute(f"delete from {table} where slug = %s", [slug])

    def entry_path(self, slug: str) -> str | None:
        """The stored file path of ``slug`` ("" if none), None if not indexed;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        rows = self._rows("select path from entries where slug = %s", [slug])
        return (rows[0][0] or "") if rows else None

    def touch_entry(self, slug: str, mtime_ns: int, size: int) -> None:
        """Record a new file stat for an entry whose content did not change;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        with self._conn() as conn:
            sql = "update entries set file_mtime_ns = %s, file_size = %s where slug = %s"
            conn.execute(sql, [mtime_ns, size, slug])

    def forget_file_stats(self) -> None:
        """Make the next index re-read every file;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        with self._conn() as conn:
            conn.execute("update entries set file_mtime_ns = -1")

    def delete_entries(self, slugs: Iterable[str]) -> None:
        """Delete ``slugs`` in one transaction (their rows cascade);
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        slugs = list(slugs)
        if slugs:
            with self._conn() as conn, conn.transaction():
                conn.execute("delete from entries where slug = any(%s)", [slugs])  # children cascade

    def child_counts(self, slug: str) -> tuple[int, int]:
        """(sections, tags) stored for ``slug``;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        rows = self._rows(
            "select (select count(*) from sections where slug = %(s)s), (select count(*) from tags where slug = %(s)s)",
            {"s": slug},
        )
        return rows[0][0], rows[0][1]

    def count(self) -> int:
        """The number of indexed entries;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return self._rows("select count(*) from entries")[0][0]

    def slugs(self) -> list[str]:
        """Every indexed slug, sorted;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return [r[0] for r in self._rows("select slug from entries order by slug")]

    def get_entry(self, slug: str) -> Entry | None:
        """The entry ``slug`` with its sections, or None if not indexed;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        rows = self._dicts("select * from entries where slug = %s", [slug])
        return row_to_entry(rows[0], self._sections_for([slug]).get(slug, [])) if rows else None

    def list_entries(self, category: str | None = None, tag: str | None = None) -> list[Entry]:
        """Entries (with sections) filtered by ``category`` and/or ``tag``, by title;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        sql, params = "select * from entries where true", []
        if tag:
            sql += " and slug in (select slug from tags where tag = %s)"
            params.append(tag)
        if category:
            sql += " and category = %s"
            params.append(category)
        rows = self._dicts(sql + " order by lower(title), title", params)
        sections = self._sections_for([r["slug"] for r in rows])
        return [row_to_entry(r, sections.get(r["slug"], [])) for r in rows]

    def _sections_for(self, slugs: list[str]) -> dict[str, list[Section]]:
        out: dict[str, list[Section]] = {}
        if slugs:
            sql = "select slug, name, body from sections where slug = any(%s) order by slug, position"
            rows = self._rows(sql, [slugs])
            for slug, name, body in rows:
                out.setdefault(slug, []).append(Section(name, body))
        return out

    def markdown(self, slug: str) -> str | None:
        """The markdown ``slug`` was indexed from, or None;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        rows = self._rows("select markdown from entries where slug = %s", [slug])
        return rows[0][0] if rows else None

    def entries_markdown(self) -> dict[str, str]:
        """slug -> the markdown each entry was indexed from;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return {slug: md for slug, md in self._rows("select slug, markdown from entries order by slug") if md}

    def approved_markdown(self) -> list[tuple[str, str]]:
        """(slug, markdown) of approved submissions in this database (the site store's table)."""
        if not self._rows("select to_regclass('submissions') is not null")[0][0]:
            return []
        sql = "select slug, markdown from submissions where status = 'approved' and slug != '' order by slug"
        return [(slug, md) for slug, md in self._rows(sql)]

    def all_patterns(self) -> dict[str, list[tuple[str, str]]]:
        """slug -> [(pattern, required literal)] as stored at index time;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return {slug: signals["patterns"] for slug, signals in self.all_signals().items()}

    def all_signals(self) -> dict[str, dict]:
        """slug -> the entry's matching signals (patterns, HTTP statuses, error types);
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return {slug: signals_of(*rest) for slug, *rest in self._rows(f"select {SIGNAL_COLUMNS} from entries")}

    def categories(self) -> list[tuple[str, int]]:
        """(category, entry count) pairs, by category;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        sql = "select category, count(*) from entries group by category order by category"
        return [tuple(r) for r in self._rows(sql)]

    def tags(self) -> list[tuple[str, int]]:
        """(tag, entry count) pairs, most used first;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return [tuple(r) for r in self._rows("select tag, count(*) c from tags group by tag order by c desc, tag")]

    # ------------------------------------------------------------------ embeddings
    def embedding_hashes(self) -> dict[tuple[str, str], str]:
        """(slug, field) -> content hash of each stored vector;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return {(r[0], r[1]): r[2] for r in self._rows("select slug, field, content_hash from embeddings")}

    def save_embeddings(self, rows: list[tuple[str, str, str, str, list[float]]]) -> None:
        """rows: (slug, field, model, content_hash, vector), in one transaction."""
        if not rows:
            return
        with self._conn() as conn, conn.transaction():
            for dims in {len(r[4]) for r in rows} - self._indexed_dims:
                self._ensure_hnsw(conn, dims)
            conn.cursor().executemany(
                "insert into embeddings (slug, field, model, content_hash, vector) values (%s, %s, %s, %s, %s::vector) "
                "on conflict (slug, field) do update set model = excluded.model, content_hash = excluded.content_hash, "
                "vector = excluded.vector",
                [(s, f, m, h, _vector_literal(v)) for s, f, m, h, v in rows],
            )

    def _ensure_hnsw(self, conn, dims: int) -> None:
        dims = int(dims)
        conn.execute(
            f"create index if not exists embeddings_hnsw_{dims} on embeddings "
            f"using hnsw ((vector::vector({dims})) vector_cosine_ops) where vector_dims(vector) = {dims}"
        )
        self._indexed_dims.add(dims)

    def delete_embeddings_except(self, keep: set[tuple[str, str]]) -> None:
        """Delete every vector whose (slug, field) is not in ``keep``;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        stale = [key for key in self.embedding_hashes() if key not in keep]
        if stale:
            with self._conn() as conn, conn.transaction():
                conn.cursor().executemany("delete from embeddings where slug = %s and field = %s", stale)

    def has_vectors(self, model: str) -> bool:
        """Whether any vector is stored for ``model``;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        return self._rows("select exists (select 1 from embeddings where model = %s)", [model])[0][0]

    def entry_vectors(self, slug: str, model: str) -> list[list[float]]:
        """The stored vectors of ``slug`` for ``model``;
        raises DatabaseUnavailable when the server is unreachable or the pool is exhausted."""
        rows = self._rows("select vector::text from embeddings where slug = %s and model = %s", [slug, model])
        return [_parse_vector(r[0]) for r in rows]

    def vector_search(self, vector: Sequence[float], model: str, limit: int) -> list[Hit]:
        """The ``limit`` nearest entries by cosine through the HNSW index, one hit per entry (its best
        field): twice as many rows as entries are asked for, since each entry has two fields."""
        dims = len(vector)
        literal = _vector_literal(vector)
        sql = (
            f"select slug, field, 1 - (vector::vector({dims}) <=> %(v)s::vector({dims})) as cosine from embeddings "
            f"where model = %(model)s and vector_dims(vector) = {dims} "
            f"order by vector::vector({dims}) <=> %(v)s::vector({dims}) limit %(rows)s"
        )
        with self._conn() as conn, conn.transaction():
            conn.execute("select set_config('hnsw.ef_search', %s, true)", [str(max(HNSW_EF_SEARCH, 4 * limit))])
            rows = conn.execute(sql, {"v": literal, "model": model, "rows": 2 * limit + 2}).fetchall()
        hits: dict[str, Hit] = {}
        for slug, field, cosine in rows:
            if slug not in hits:
                hits[slug] = Hit(slug, float(cosine), field)
        return list(hits.values())[:limit]

    # ------------------------------------------------------------------ full text
    def lexical_search(self, terms: Sequence[str], limit: int) -> list[Hit]:
        """Entries sharing any of ``terms`` (stemmed as the documents are), best first by BM25."""
        if not terms:
            return []
        rows = self._rows(self._lexical_sql, {"text": " ".join(terms), "limit": limit})
        return [Hit(slug, float(score)) for slug, score in rows]
