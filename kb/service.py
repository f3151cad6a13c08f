"""``KnowledgeBase``: the one object the CLI, the web site and the skill talk to.

It owns a ``Store``, the entry folders it mirrors, and the embedders.  Opening it is cheap when the
index is current (one directory stat per entry folder and file); otherwise it (re)builds the index
first, so a newcomer's first ``synapse search`` just works.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
import time
from difflib import get_close_matches
from pathlib import Path
from typing import Sequence

from kb import embed
from kb.indexer import IndexReport, Progress, describe_dirs, fingerprint, index_dirs
from kb.model import Entry
from kb.paths import default_db_path, model_cache_dir, shipped_entries_dir, data_dir
from kb.search import SearchResponse, hybrid_search
from kb.store import CorruptDatabase, Store

SMALL_BATCH = 24  # up to this many texts are embedded with the light query model
QUERY_CACHE_SIZE = 512  # recent query vectors kept in memory (384 floats each: ~0.8 MB)


def local_entries_dir() -> Path:
    """Where approved submissions are written (``SYNAPSE_ENTRIES_DIR`` overrides)."""
    override = os.environ.get("SYNAPSE_ENTRIES_DIR")
    return Path(override).expanduser() if override else data_dir() / "entries"


def default_entry_dirs() -> list[Path]:
    return [shipped_entries_dir(), local_entries_dir()]


def _embed_one(embedder, text: str):
    if hasattr(embedder, "embed_array"):
        return embedder.embed_array(text)
    return embedder.embed([text])[0]


class KnowledgeBase:
    def __init__(self, store: Store, dirs: Sequence[Path], embedder=None, notices: list[str] | None = None):
        self.store = store
        self.dirs = [Path(d) for d in dirs]
        self._embedder = embedder
        self.model_id = embedder.model_id if embedder is not None else embed.configured_model()
        self._query_embedder = None
        self._batch_embedder = None
        self._dense = None  # (generation, (slugs, fields, matrix))
        self._lock = threading.RLock()
        self._vectors: OrderedDict = OrderedDict()  # (model, query) -> vector, least recent first
        self.notices = notices or []
        self.last_report: IndexReport | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        db: Path | str | None = None,
        entries_dirs: Sequence[Path] | None = None,
        *,
        embedder=None,
        progress: Progress | None = None,
        refresh: bool = True,
        remember_dirs: bool = False,
    ) -> "KnowledgeBase":
        path = Path(db) if db else default_db_path()
        notices: list[str] = []
        try:
            store = Store(path)
        except CorruptDatabase:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            notices.append(f"the database at {path} was damaged; it was moved to {aside.name} and rebuilt from the entries")
            store = Store(path)
        if remember_dirs:
            # ``synapse index --entries DIR`` makes DIR the database's entry folders until the next
            # plain ``synapse index``; everything else follows the installed package's entries.
            explicit = entries_dirs is not None
            store.set_meta("entries_override", describe_dirs(entries_dirs) if explicit else "")
        if entries_dirs is None:
            override = store.get_meta("entries_override")
            entries_dirs = [Path(d) for d in json.loads(override)] if override else default_entry_dirs()
        kb = cls(store, entries_dirs, embedder, notices)
        if refresh:
            kb.refresh(progress)
        return kb

    def close(self) -> None:
        self.store.close()

    def refresh(self, progress: Progress | None = None, force: bool = False) -> IndexReport | None:
        """Re-index if the entry folders or the model changed since the last index."""
        with self._lock:
            current = fingerprint(self.dirs, self.model_id)
            stored = self.store.get_meta("fingerprint")
            if not force and stored == current and self.store.get_meta("dirs") == describe_dirs(self.dirs):
                return None
            return self.index(progress)

    def index(self, progress: Progress | None = None) -> IndexReport:
        with self._lock:
            report = index_dirs(self.store, self.dirs, self._embedder_for, progress)
            self.store.set_meta("fingerprint", fingerprint(self.dirs, self.model_id))
            self.store.set_meta("dirs", describe_dirs(self.dirs))
            self.store.set_meta("model", self.model_id)
            if report.added or report.updated or report.removed or report.embedded:
                self._bump_generation()
            self._export_query_model()
            self.last_report = report
            return report

    def _bump_generation(self) -> None:
        self.store.set_meta("generation", str(int(self.store.get_meta("generation", "0")) + 1))

    # ------------------------------------------------------------------ embedders
    def _numpy_dir(self) -> Path:
        return model_cache_dir() / embed.model_cache_key(self.model_id)

    def _embedder_for(self, n: int):
        if self._embedder is not None:
            return self._embedder
        if self.model_id == "hash":
            return self.query_embedder()
        if n == 0:
            # The indexer only asks for the model id here (to hash texts): answer with the lazy
            # sentence-transformers wrapper, which costs nothing to construct, instead of loading
            # the numpy model's weights (~0.15-0.25 s) on every no-change re-index.
            if self._batch_embedder is None:
                self._batch_embedder = embed.SentenceTransformerEmbedder(self.model_id)
            return self._batch_embedder
        if 0 < n <= SMALL_BATCH:
            light = self.query_embedder(load_reference=False)
            if light is not None:
                return light
        if self._batch_embedder is None:
            self._batch_embedder = embed.SentenceTransformerEmbedder(self.model_id)
        return self._batch_embedder

    def _export_query_model(self) -> None:
        """Write the numpy port once, while the reference model is loaded anyway."""
        st = self._batch_embedder
        if st is None or st._model is None or self._numpy_dir().exists():
            return
        try:
            embed.export_numpy_model(st.model, self._numpy_dir())
        except (ValueError, AttributeError, KeyError, OSError) as exc:
            self.notices.append(f"fast query model unavailable for {self.model_id} ({exc}); queries use sentence-transformers")

    def query_embedder(self, load_reference: bool = True):
        """The embedder for queries: the numpy port when it exists (no torch), else the reference."""
        if self._embedder is not None:
            return self._embedder
        if self._query_embedder is not None:
            return self._query_embedder
        with self._lock:  # concurrent first searches load the model once
            return self._load_query_embedder(load_reference)

    def _load_query_embedder(self, load_reference: bool):
        if self._query_embedder is None:
            if self.model_id == "hash":
                self._query_embedder = embed.HashingEmbedder()
            elif self._numpy_dir().exists():
                self._query_embedder = embed.NumpyBertEmbedder(self._numpy_dir(), self.model_id)
            elif load_reference:
                self._embedder_for(SMALL_BATCH + 1)
                self._batch_embedder.model  # noqa: B018 - load, then export
                self._export_query_model()
                self._query_embedder = (
                    embed.NumpyBertEmbedder(self._numpy_dir(), self.model_id) if self._numpy_dir().exists() else self._batch_embedder
                )
        return self._query_embedder

    def _dense_index(self):
        """Vectors and compiled patterns, cached until the index changes (its generation moves)."""
        generation = self.store.get_meta("generation", "0")
        if self._dense is None or self._dense[0] != generation:
            from kb.signature import PatternIndex

            self._dense = (generation, self.store.embedding_matrix(self.model_id), PatternIndex(self.store.all_patterns()))
        return self._dense[1]

    def _pattern_index(self):
        self._dense_index()
        return self._dense[2]

    def embed_query(self, text: str):
        return _embed_one(self.query_embedder(), text)

    # ------------------------------------------------------------------ queries
    def search(self, query: str, limit: int = 5) -> SearchResponse:
        with self._lock:
            dense = self._dense_index()
            patterns = self._dense[2]
            embedder = self.query_embedder() if len(dense[0]) else None
        # Embedding the query is most of a search's CPU and touches no shared state (read-only
        # weights), so it runs outside the lock: concurrent searches (the web site's thread pool)
        # use both cores instead of queueing behind each other.  Store access stays serialised.
        vector = self._cached_vector(embedder, query) if embedder is not None else None
        with self._lock:
            return hybrid_search(self.store, query, limit, vector, dense, patterns)

    def _cached_vector(self, embedder, query: str):
        """Query vectors for recently seen texts (the same error is searched again and again by
        retrying agents and by the site's suggested queries); the model runs only on a miss."""
        key = (self.model_id, query)
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                return vector
        vector = _embed_one(embedder, query)
        with self._lock:
            self._vectors[key] = vector
            while len(self._vectors) > QUERY_CACHE_SIZE:
                self._vectors.popitem(last=False)
        return vector

    def match(self, error_text: str, limit: int = 5) -> SearchResponse:
        """Search with a pasted error, traceback or log (the same pipeline; patterns lead)."""
        return self.search(error_text, limit)

    def get(self, slug: str) -> Entry | None:
        with self._lock:
            return self.store.get_entry(slug)

    def markdown(self, slug: str) -> str | None:
        with self._lock:
            return self.store.markdown(slug)

    def nearest_slugs(self, slug_like: str, n: int = 3) -> list[str]:
        with self._lock:
            slugs = self.store.slugs()
        close = get_close_matches(slug_like.lower(), slugs, n=n, cutoff=0.4)
        if len(close) < n:
            close += [s for s in slugs if slug_like.lower() in s and s not in close][: n - len(close)]
        return close

    def related(self, slug: str, n: int = 5) -> list[Entry]:
        """Nearest entries by embedding (mean of the entry's vectors)."""
        import numpy as np

        with self._lock:
            slugs, _fields, matrix = self._dense_index()
            own = [i for i, s in enumerate(slugs) if s == slug]
            if not own:
                return []
            centre = matrix[own].mean(0)
            sims = matrix @ centre
            order: list[str] = []
            for i in np.argsort(-sims):
                if slugs[i] != slug and slugs[i] not in order:
                    order.append(slugs[i])
                if len(order) >= n:
                    break
            return [e for e in (self.store.get_entry(s) for s in order) if e]

    def list_entries(self, category: str | None = None, tag: str | None = None) -> list[Entry]:
        with self._lock:
            return self.store.list_entries(category, tag)

    def categories(self) -> list[tuple[str, int]]:
        with self._lock:
            return self.store.categories()

    def tags(self) -> list[tuple[str, int]]:
        with self._lock:
            return self.store.tags()

    # ------------------------------------------------------------------ writing
    def add_entry(self, entry: Entry, write_to: Path | None = None) -> Entry:
        """Write ``entry`` as ``<dir>/<slug>.md`` atomically and index it at once.

        Refuses (``ValueError``) a slug that is already in the index; callers choose a free slug
        with ``free_slug``.
        """
        from kb.parse import parse_entry, render_entry

        directory = Path(write_to) if write_to else local_entries_dir()
        with self._lock:
            if self.store.get_entry(entry.slug) is not None:
                raise ValueError(f"an entry with slug '{entry.slug}' already exists")
            target = directory / f"{entry.slug}.md"
            text = render_entry(entry)
            parse_entry(text, target)  # never write a file that would not index
            directory.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
            if directory.resolve() not in [d.resolve() for d in self.dirs]:
                self.dirs.append(directory)
            self.index()
            return self.store.get_entry(entry.slug)

    def free_slug(self, wanted: str) -> str:
        with self._lock:
            taken = set(self.store.slugs())
        slug, n = wanted, 2
        while slug in taken or any((d / f"{slug}.md").exists() for d in self.dirs):
            slug, n = f"{wanted}-{n}", n + 1
        return slug
