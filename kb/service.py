"""``KnowledgeBase``: the one object the CLI, the web site and the skill talk to.

It owns an ``IndexStore`` (``synapse_ai.kb.stores``: SQLite or PostgreSQL), the entry folders it
mirrors, and the embedders.  Opening it is cheap when the
index is current (one directory stat per entry folder and file); otherwise it (re)builds the index
first, so a newcomer's first ``synapse search`` just works.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from synapse_ai.kb import embed
from synapse_ai.kb.config import Config
from synapse_ai.kb.embed import Embedder
from synapse_ai.kb.errors import DuplicateEntry, EntryNotFound
from synapse_ai.kb.indexer import IndexReport, Progress, describe_dirs, fingerprint, index_dirs
from synapse_ai.kb.model import Entry
from synapse_ai.kb.paths import shipped_entries_dir, write_text_atomically
from synapse_ai.kb.search import SearchFilter, SearchResponse, analyse, hybrid_search
from synapse_ai.kb.stores import IndexStore, open_store, resolve_url, sqlite_path
from synapse_ai.kb.stores.sqlite import CorruptDatabase, DatabaseUnavailable, classify

if TYPE_CHECKING:
    from synapse_ai.kb.signals import SignalIndex

LARGE_BATCH = 2000  # texts to embed from which sentence-transformers, when installed, beats the numpy port
QUERY_CACHE_SIZE = 512  # recent query vectors kept in memory (384 floats each: ~0.8 MB)


def local_entries_dir() -> Path:
    """Where approved submissions are written (``SYNAPSE_ENTRIES_DIR`` overrides)."""
    return Config.from_env().entries_dir


def default_entry_dirs(config: Config | None = None) -> list[Path]:
    """The folders indexed by default: the shipped entries and the local entries folder."""
    return [shipped_entries_dir(), config.entries_dir if config is not None else local_entries_dir()]


def _reference_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("sentence_transformers") is not None


@dataclass(frozen=True)
class IndexSnapshot:
    """What searches read from the index, valid while its ``generation`` stays the same, loaded on
    first use.  The vectors are the store's to keep (``IndexStore.vector_search``): SQLite caches its
    matrix per generation the same way, PostgreSQL searches its HNSW index."""

    generation: str
    signals: SignalIndex | None = None  # patterns, statuses and error types


class KnowledgeBase:
    def __init__(
        self,
        store: IndexStore,
        dirs: Sequence[Path],
        embedder: Embedder | None = None,
        notices: list[str] | None = None,
        config: Config | None = None,
    ):
        self.config = config if config is not None else Config.from_env()
        self.store = store
        self.dirs = [Path(d) for d in dirs]
        self._embedder = embedder
        self.model_id = embedder.model_id if embedder is not None else self.config.model
        self._query_embedder = None
        self._batch_embedder = None
        self._snapshot = IndexSnapshot("")  # replaced (never changed) when the index's generation moves
        self._lock = threading.RLock()
        self._vectors: OrderedDict = OrderedDict()  # (model, query) -> vector, least recent first
        self.notices = notices or []
        self.last_report: IndexReport | None = None

    # ------------------------------------------------------------------ opening
    _dirs_to_remember: str | None = None  # set by open(remember_dirs=True); stored after a good index

    @classmethod
    def open(
        cls,
        db: Path | str | None = None,
        entries_dirs: Sequence[Path] | None = None,
        *,
        embedder: Embedder | None = None,
        progress: Progress | None = None,
        refresh: bool = True,
        remember_dirs: bool = False,
        config: Config | None = None,
    ) -> KnowledgeBase:
        """Open (creating or migrating) the database and, with ``refresh``, bring the index up to date.

        Only real damage (SQLite's "file is not a database" / "database disk image is malformed")
        moves the file aside, and then its submissions and stars are carried into the rebuilt one
        (``synapse_ai.kb.doctor.replace_damaged_database``).  A locked database, a full disk or an I/O error
        raises ``DatabaseUnavailable`` and leaves the file as it is.

        ``config`` holds the settings (database, entries folder, model, lock wait); None reads them from
        the environment once (``Config.from_env()``).
        """
        config = config if config is not None else Config.from_env()
        path = resolve_url(db or config.database_url or config.db_path)  # a file path or a postgresql:// URL
        notices: list[str] = []
        opened = (path, entries_dirs, embedder, progress)
        try:
            return cls._open(*opened, refresh, remember_dirs, notices, config)
        except CorruptDatabase as exc:  # raised for SQLite files only: a server database is never moved aside
            from synapse_ai.kb.doctor import replace_damaged_database

            replace_damaged_database(sqlite_path(path), exc, notices)
            # Rebuild the index now, even for a caller that asked for no refresh (the hook): an
            # empty index would answer nothing until some other command happened to rebuild it.
            return cls._open(*opened, True, remember_dirs, notices, config)

    @classmethod
    def _open(cls, path, entries_dirs, embedder, progress, refresh, remember_dirs, notices, config) -> KnowledgeBase:
        store = open_store(path, busy_timeout=config.busy_timeout)
        try:
            dirs = entries_dirs
            if dirs is None and not remember_dirs:
                override = store.get_meta("entries_override")
                dirs = [Path(d) for d in json.loads(override)] if override else None
            kb = cls(store, dirs if dirs is not None else default_entry_dirs(config), embedder, notices, config)
            if remember_dirs:
                # ``synapse index --entries DIR`` makes DIR the database's entry folders until the next
                # plain ``synapse index``; everything else follows the installed package's entries.
                # Stored only once that index has succeeded, so a failed one is not retried forever.
                kb._dirs_to_remember = describe_dirs(entries_dirs) if entries_dirs is not None else ""
            if refresh:
                kb.refresh(progress)
            return kb
        except sqlite3.DatabaseError as exc:
            store.close()
            raise classify(exc, path) from exc
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        """Close the database connection."""
        self.store.close()

    def _index_state(self) -> str:
        """Whether the index is "current", "stale", or "failed" (the last automatic update of these
        very files failed: searches wait for an explicit ``synapse index`` instead of retrying)."""
        current = fingerprint(self.dirs, self.model_id)
        if self.store.get_meta("fingerprint") == current and self.store.get_meta("dirs") == describe_dirs(self.dirs):
            return "current"
        return "failed" if self.store.get_meta("index_failure") == current else "stale"

    def refresh(self, progress: Progress | None = None, force: bool = False) -> IndexReport | None:
        """Re-index if the entry folders or the model changed since the last index.

        One process indexes at a time (a lock file next to the database).  While another one holds
        it, a process that has an index answers from it at once; one with an empty index waits for
        the build and then reads it.  A failure that leaves the database intact (a full disk, a lock
        held too long) becomes a notice, and the current index answers.
        """
        with self._lock:
            state = "stale" if force else self._index_state()
            if state == "current":
                return None
            # An index counts once one build has finished (its fingerprint is stored): entries that
            # another process is still writing for the first time are not an index to answer from.
            has_index = bool(self.store.get_meta("fingerprint")) and self.store.count() > 0
            if state == "failed" and has_index:
                self.notices.append("the index is out of date: its last update failed; run 'synapse index' to retry")
                return None
            try:
                with self.store.index_lock(timeout=0) as held:
                    if held:
                        return self._index_if_needed(progress, force)
                if has_index:
                    return None  # another process is updating it; answer from what is there
                with self.store.index_lock():
                    return self._index_if_needed(progress, force)
            except DatabaseUnavailable as exc:
                if not has_index:
                    raise
                self._remember_failure()
                self.notices.append(f"the index could not be updated ({exc}); answering from the current index")
                return None

    def _index_if_needed(self, progress: Progress | None, force: bool) -> IndexReport | None:
        if not force and self._index_state() == "current":  # another process just built it
            return None
        return self._index(progress)

    def _remember_failure(self) -> None:
        try:
            self.store.set_meta("index_failure", fingerprint(self.dirs, self.model_id))
        except (sqlite3.Error, OSError):
            pass  # the same fault (a full disk) may refuse this too; the next search then retries

    def index(self, progress: Progress | None = None) -> IndexReport:
        """Bring the index in line with the entry folders, waiting for another process's index."""
        with self._lock, self.store.index_lock():
            return self._index(progress)

    def _index(self, progress: Progress | None) -> IndexReport:
        try:
            report = index_dirs(self.store, self.dirs, self._embedder_for, progress)
            done = {
                "fingerprint": fingerprint(self.dirs, self.model_id),
                "dirs": describe_dirs(self.dirs),
                "model": self.model_id,
                "index_failure": "",
            }
            if self._dirs_to_remember is not None:
                done["entries_override"] = self._dirs_to_remember
            if report.added or report.updated or report.removed or report.embedded:
                done["generation"] = str(int(self.store.get_meta("generation", "0")) + 1)
            self.store.set_metas(done)
        except sqlite3.DatabaseError as exc:
            raise classify(exc, getattr(self.store, "path", None)) from exc
        self._dirs_to_remember = None
        self._export_query_model()
        self.last_report = report
        return report

    # ------------------------------------------------------------------ embedders
    def _numpy_dir(self) -> Path:
        return self.config.model_cache_dir / embed.model_cache_key(self.model_id)

    def _embedder_for(self, n: int) -> Embedder:
        """The embedder for indexing ``n`` texts: the numpy port whenever the model has one (no
        torch), else the reference.  ``n == 0`` only asks for the model id: nothing loads.

        From ``LARGE_BATCH`` texts on, the reference is used when it is installed: torch's kernels
        embed a large collection faster than numpy, which then outweighs loading torch (10-40 s).
        """
        if self._embedder is not None:
            return self._embedder
        if self.model_id == "hash":
            return self.query_embedder()
        if n >= LARGE_BATCH and _reference_installed():
            n = 0  # the lazy reference below
        if n > 0:
            port = self.query_embedder(load_reference=False)
            if port is not None:
                return port
        if self._batch_embedder is None:
            self._batch_embedder = embed.SentenceTransformerEmbedder(self.model_id)
        return self._batch_embedder

    def _export_query_model(self) -> None:
        """Write the numpy port from the loaded reference model (models without a safetensors folder)."""
        st = self._batch_embedder
        if st is None or st._model is None or self._numpy_dir().exists():
            return
        try:
            embed.export_numpy_model(st.model, self._numpy_dir())
        except (ValueError, AttributeError, KeyError, OSError) as exc:
            self.notices.append(
                f"fast query model unavailable for {self.model_id} ({exc}); queries use sentence-transformers"
            )

    def _export_without_torch(self) -> bool:
        """Write the numpy port straight from the model's folder (``model.safetensors``): ~1 s, no torch."""
        source = Path(embed.resolve_model_path(self.model_id))
        if not (source / "model.safetensors").is_file():
            return False
        try:
            embed.export_numpy_model_from_folder(source, self._numpy_dir())
        except (ValueError, KeyError, OSError):
            return False  # not a layout the port reads: the reference loads it
        return self._numpy_dir().exists()

    def query_embedder(self, load_reference: bool = True) -> Embedder | None:
        """The embedder for queries: the numpy port (exported on first use, without torch when the
        model folder allows), else the reference.  With ``load_reference=False``, None instead of
        loading the reference."""
        if self._embedder is not None:
            return self._embedder
        if self._query_embedder is not None:
            return self._query_embedder
        with self._lock:  # concurrent first searches load the model once
            return self._load_query_embedder(load_reference)

    def _load_query_embedder(self, load_reference: bool) -> Embedder | None:
        if self._query_embedder is None:
            if self.model_id == "hash":
                self._query_embedder = embed.HashingEmbedder()
            elif self._numpy_dir().exists() or self._export_without_torch():
                self._query_embedder = embed.NumpyBertEmbedder(self._numpy_dir(), self.model_id)
            elif load_reference:
                if self._batch_embedder is None:
                    self._batch_embedder = embed.SentenceTransformerEmbedder(self.model_id)
                self._batch_embedder.model  # noqa: B018 - load, then export
                self._export_query_model()
                self._query_embedder = (
                    embed.NumpyBertEmbedder(self._numpy_dir(), self.model_id)
                    if self._numpy_dir().exists()
                    else self._batch_embedder
                )
        return self._query_embedder

    def _current_snapshot(self) -> IndexSnapshot:
        """The snapshot of the index as it is now: a fresh, empty one once the generation moved."""
        generation = self.store.get_meta("generation", "0")
        if self._snapshot.generation != generation:
            self._snapshot = IndexSnapshot(generation)
        return self._snapshot

    def _signal_index(self) -> SignalIndex:
        """Patterns, statuses and error types, cached until the index changes (its generation moves).
        The hook often decides on these alone and then never imports numpy."""
        from synapse_ai.kb.signals import SignalIndex

        snapshot = self._current_snapshot()
        if snapshot.signals is None:
            snapshot = self._snapshot = replace(snapshot, signals=SignalIndex(self.store.all_signals()))
        return snapshot.signals

    def embed_query(self, text: str):
        """The query model's vector for ``text``; raises ModelUnavailable when the model cannot be loaded."""
        return self.query_embedder().embed_one(text)

    # ------------------------------------------------------------------ queries
    def search(
        self,
        query: str,
        limit: int = 5,
        *,
        error_text: bool | None = None,
        lazy_meaning: bool = False,
        feedback=None,
        only: SearchFilter | None = None,
    ) -> SearchResponse:
        """Search with a question, a symptom or a pasted error.  A text holding error blocks is
        searched by them (``synapse_ai.kb.extract``); ``error_text=True`` treats the whole text as a failure's
        output even when no block is recognised (``match``).

        The embedding model is skipped when specific evidence (an entry's own error text) names
        the answer: meaning cannot change ``matched`` or the first result then, and a pasted error
        is answered without loading numpy (a cold ``synapse search`` of an error costs about what
        the hook does).  ``lazy_meaning`` also skips it for an error text without agent context,
        which can never match on meaning (the hook uses it).

        ``feedback``: a ``synapse_ai.kb.feedback.FeedbackLookup`` (the site's confirmations and flags).

        ``only``: a category and/or tag filter, applied to the candidates before the limit.
        """
        with self._lock:
            signals = self._signal_index()
            allowed = self._filtered_slugs(only) if only is not None and only.active else None
        analysis = analyse(query, signals, error_text)
        use_meaning = bool(analysis.focus)
        if analysis.evidence.specific_rank() or (lazy_meaning and analysis.error_text and not analysis.context):
            use_meaning = False
        vector = None
        if use_meaning:
            with self._lock:
                embedder = self.query_embedder() if self.store.has_vectors(self.model_id) else None
            # Embedding the query is most of a search's CPU and touches no shared state (read-only
            # weights), so it runs outside the lock: concurrent searches (the web site's thread
            # pool) use both cores instead of queueing behind each other.  Store access stays serialised.
            vector = self._cached_vector(embedder, analysis.focus) if embedder is not None else None
        # A store that is safe across threads (a connection pool) runs concurrent searches at once;
        # SQLite's shared connection is used by one thread at a time.
        with contextlib.nullcontext() if self.store.thread_safe else self._lock:
            return hybrid_search(
                self.store, query, limit, vector, self.model_id, signals, analysis, feedback=feedback, allowed=allowed
            )

    def _filtered_slugs(self, only: SearchFilter) -> frozenset[str]:
        """The slugs a filter lets through (through the store interface, so any backend serves it)."""
        return frozenset(entry.slug for entry in self.store.list_entries(only.category, only.tag))

    def _cached_vector(self, embedder: Embedder, query: str):
        """Query vectors for recently seen texts (the same error is searched again and again by
        retrying agents and by the site's suggested queries); the model runs only on a miss."""
        key = (self.model_id, query)
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                return vector
        vector = embedder.embed_one(query)
        with self._lock:
            self._vectors[key] = vector
            while len(self._vectors) > QUERY_CACHE_SIZE:
                self._vectors.popitem(last=False)
        return vector

    def match(self, error_text: str, limit: int = 5, *, lazy_meaning: bool = False, feedback=None) -> SearchResponse:
        """Look up a failure's output (a pasted log, a hook's error): the same pipeline, with the
        rule for error text (no match on meaning alone without agent context)."""
        return self.search(error_text, limit, error_text=True, lazy_meaning=lazy_meaning, feedback=feedback)

    def get(self, slug: str) -> Entry | None:
        """The entry with this slug, or None (``require`` raises EntryNotFound instead)."""
        with self._lock:
            return self.store.get_entry(slug)

    def require(self, slug: str) -> Entry:
        """The entry ``slug``.  Raises ``EntryNotFound`` carrying the closest slugs (for "did you mean")."""
        entry = self.get(slug)
        if entry is None:
            raise EntryNotFound(slug, self.nearest_slugs(slug))
        return entry

    def markdown(self, slug: str) -> str | None:
        """The entry's markdown source, or None."""
        with self._lock:
            return self.store.markdown(slug)

    def nearest_slugs(self, slug_like: str, n: int = 3) -> list[str]:
        """Up to ``n`` slugs close to ``slug_like`` (difflib, then substrings), for "did you mean"."""
        with self._lock:
            slugs = self.store.slugs()
        from difflib import get_close_matches  # ~8 ms to import: only for a mistyped slug

        close = get_close_matches(slug_like.lower(), slugs, n=n, cutoff=0.4)
        if len(close) < n:
            close += [s for s in slugs if slug_like.lower() in s and s not in close][: n - len(close)]
        return close

    def related(self, slug: str, n: int = 5) -> list[Entry]:
        """Nearest entries by embedding (mean of the entry's vectors)."""
        with self._lock:
            own = self.store.entry_vectors(slug, self.model_id)
            if not own:
                return []
            centre = [sum(values) / len(own) for values in zip(*own)]
            hits = self.store.vector_search(centre, self.model_id, n + 1)
            order = [h.slug for h in hits if h.slug != slug][:n]
            return [e for e in (self.store.get_entry(s) for s in order) if e]

    def list_entries(self, category: str | None = None, tag: str | None = None) -> list[Entry]:
        """The entries, optionally of one category or with one tag."""
        with self._lock:
            return self.store.list_entries(category, tag)

    def categories(self) -> list[tuple[str, int]]:
        """``(category, entry count)`` pairs, by name."""
        with self._lock:
            return self.store.categories()

    def tags(self) -> list[tuple[str, int]]:
        """``(tag, entry count)`` pairs, most used first."""
        with self._lock:
            return self.store.tags()

    # ------------------------------------------------------------------ writing
    def add_entry(self, entry: Entry, write_to: Path | None = None) -> Entry:
        """Write ``entry`` as ``<dir>/<slug>.md`` atomically and index it at once.

        Refuses (``DuplicateEntry``, a ``ValueError``) a slug that is already in use; callers choose a free slug with
        ``free_slug``.  If indexing fails (a full disk, say) the file and any row are removed again,
        so a retry finds the same slug free instead of stepping around an orphan (``…-2``).
        """
        from synapse_ai.kb.parse import parse_entry, render_entry

        if self.store.shared:
            return self._add_to_store(entry)
        directory = Path(write_to) if write_to else self.config.entries_dir
        with self._lock:
            target = directory / f"{entry.slug}.md"
            if self._slug_in_use(entry.slug) or target.exists():
                raise DuplicateEntry(entry.slug)
            text = render_entry(entry)
            parse_entry(text, target)  # never write a file that would not index
            directory.mkdir(parents=True, exist_ok=True)
            write_text_atomically(target, text)
            if directory.resolve() not in [d.resolve() for d in self.dirs]:
                self.dirs.append(directory)
            try:
                self.index()
            except BaseException:
                target.unlink(missing_ok=True)
                try:
                    self.store.delete_entries([entry.slug])
                except (sqlite3.Error, OSError):
                    pass  # a row without its file is dropped by the next index and ignored by free_slug
                raise
            return self.store.get_entry(entry.slug)

    def _add_to_store(self, entry: Entry) -> Entry:
        """A shared store (several servers on one database) is the source of truth for entries written
        at run time: the entry is stored with its markdown and no file, so every server sees it at once
        and a re-index from one server's folders keeps it (``synapse export`` writes it out)."""
        from synapse_ai.kb.indexer import content_hash, embed_missing
        from synapse_ai.kb.parse import parse_entry, render_entry

        text = render_entry(entry)
        parse_entry(text)  # never store an entry that would not index
        with self._lock, self.store.index_lock():
            if self.store.entry_path(entry.slug) is not None:
                raise DuplicateEntry(entry.slug)
            self.store.upsert_entry(entry, text, content_hash(text))
            try:
                embed_missing(self.store, self._embedder_for)
            except BaseException:
                self.store.delete_entries([entry.slug])
                raise
            self.store.set_meta("generation", str(int(self.store.get_meta("generation", "0")) + 1))
            return self.store.get_entry(entry.slug)

    def replace_in_store(self, text: str) -> Entry:
        """A shared store: an approved edit replaces the entry's row with ``text`` and no file, so every
        server serves the new text at once; re-indexing from a server's folders keeps it, as it keeps
        approved entries (``index_dirs``)."""
        from synapse_ai.kb.indexer import content_hash, embed_missing
        from synapse_ai.kb.parse import parse_entry

        entry = replace(parse_entry(text), path=None)  # never store an entry that would not index
        with self._lock, self.store.index_lock():
            self.store.upsert_entry(entry, text, content_hash(text))
            embed_missing(self.store, self._embedder_for)
            self.store.set_meta("generation", str(int(self.store.get_meta("generation", "0")) + 1))
            return self.store.get_entry(entry.slug)

    def remove_entry(self, slug: str) -> None:
        """Take back an entry written at run time (``add_entry``): its row, and its file if it has one
        in a folder entries are written to.  Used when an approval loses a race to another server."""
        with self._lock, self.store.index_lock():
            path = self.store.entry_path(slug)
            if path:
                Path(path).unlink(missing_ok=True)
            self.store.delete_entries([slug])
            self.store.set_meta("generation", str(int(self.store.get_meta("generation", "0")) + 1))

    def _slug_in_use(self, slug: str) -> bool:
        """An indexed entry whose file still exists (a row left by a failed write does not count)."""
        path = self.store.entry_path(slug)
        return path is not None and (not path or Path(path).exists())

    def free_slug(self, wanted: str) -> str:
        """``wanted`` or the first of ``wanted-2``, ``wanted-3``... that no entry or file uses."""
        with self._lock:
            taken = {
                slug
                for slug, (path, *_stat) in self.store.entry_fingerprints().items()
                if not path or Path(path).exists()
            }
        slug, n = wanted, 2
        while slug in taken or any((d / f"{slug}.md").exists() for d in self.dirs):
            slug, n = f"{wanted}-{n}", n + 1
        return slug
