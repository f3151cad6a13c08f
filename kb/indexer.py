"""Incremental indexing of entry folders into the store.

Unchanged files (same path, mtime and size) are not even parsed; changed files whose canonical
content hash is unchanged only get their stat updated; embeddings are keyed by a hash of the exact
text and model, so an unchanged text is never embedded again.  A broken entry is reported and
skipped: it never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synapse_ai.kb.model import Entry, prose_lines
from synapse_ai.kb.stores import IndexStore as Store

# kb.parse (and yaml) load only when a file must actually be read: a current index is checked with
# file stats alone, which keeps the per-error CLI start-up short.

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    problems: list = field(default_factory=list)  # kb.parse.Problem
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Entries in the index after the run: added + updated + unchanged."""
        return self.added + self.updated + self.unchanged

    def summary(self) -> str:
        """One line for the terminal, pointing at ``synapse lint`` when files were skipped."""
        text = (
            f"indexed {self.total} entries ({self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed), embedded {self.embedded} texts in {self.seconds:.1f}s"
        )
        if self.problems:
            files = len({p.path for p in self.problems})
            text += f"; {files} file{'s' if files != 1 else ''} skipped with problems (run 'synapse lint')"
        return text


def content_hash(markdown: str) -> str:
    """SHA-256 of an entry's markdown: the same hash means nothing to re-index."""
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()


def _strip_code(markdown: str) -> str:
    return "\n".join(prose_lines(markdown))


def embedding_texts(entry: Entry) -> dict[str, str]:
    """The texts embedded for one entry, by field name.  The field name doubles as the section that
    a dense match points to ("summary" → the entry as a whole)."""
    symptom = entry.section("Symptom")
    cause = entry.section("Root Cause")
    return {
        "summary": f"{entry.title}. {entry.summary} ({', '.join(entry.tags)})",
        "symptom": _strip_code((symptom.body if symptom else "") + "\n" + (cause.body if cause else ""))[:2000],
    }


def text_hash(model: str, text: str) -> str:
    """SHA-256 of a model id and a text: a stored embedding is reused while both are unchanged."""
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()


def entry_files(paths: Sequence[Path]) -> list[Path]:
    """The entry markdown files under ``paths`` (``synapse_ai.kb.lint.entry_files``)."""
    from synapse_ai.kb.lint import entry_files as files

    return files(list(paths))


def fingerprint(dirs: Sequence[Path], model: str) -> str:
    """A cheap digest of the entry folders (names, mtimes, sizes) and model: if it is unchanged,
    the index is current and nothing needs to be parsed."""
    h = hashlib.sha1(model.encode())
    for d in dirs:
        h.update(str(Path(d).resolve()).encode())
        for path in entry_files([Path(d)]) if Path(d).is_dir() else []:
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{path.name}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
    return h.hexdigest()


def index_dirs(
    store: Store,
    dirs: Sequence[Path],
    embedder_for: Callable[[int], object],
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the store in line with the entry files in ``dirs``.

    ``embedder_for(n)`` returns the embedder to use for ``n`` texts (so a handful of texts can use the
    light query model while a full build uses the batch one); it is only called when n > 0.
    """
    from synapse_ai.kb.lint import duplicate_slug, load_entry
    from synapse_ai.kb.parse import Problem, render_entry

    started = time.perf_counter()
    report = IndexReport()
    known = store.entry_fingerprints()
    files = [f for d in dirs if Path(d).is_dir() for f in entry_files([Path(d)])]
    seen: dict[str, Path] = {}
    for i, path in enumerate(files, start=1):
        if progress:
            progress("reading entries", i, len(files))
        try:
            st = path.stat()
        except OSError as exc:
            report.problems.append(Problem(0, f"cannot read: {exc.strerror}", str(path)))
            continue
        slug = path.stem
        previous = known.get(slug)
        if previous and store.shared and not previous[0]:  # edited or approved in the shared store: it wins
            seen[slug] = path
            report.unchanged += 1
            continue
        if previous and previous[0] == str(path) and previous[1] == st.st_mtime_ns and previous[2] == st.st_size:
            seen[slug] = path
            report.unchanged += 1
            continue
        entry, unreadable = load_entry(path)
        if entry is None:
            report.problems.extend(unreadable)
            continue
        duplicate = duplicate_slug(seen, entry.slug, path)
        if duplicate:
            report.problems.append(duplicate)
            continue
        markdown = render_entry(entry)
        digest = content_hash(markdown)
        if previous and previous[3] == digest and previous[0] == str(path) and _rows_complete(store, entry):
            store.touch_entry(entry.slug, st.st_mtime_ns, st.st_size)
            report.unchanged += 1
            continue
        store.upsert_entry(entry, path.read_text(encoding="utf-8"), digest, st.st_mtime_ns, st.st_size)
        if previous:
            report.updated += 1
        else:
            report.added += 1
    # In a shared store an entry with no file (approved on some server) lives in the store alone.
    gone = [slug for slug in known if slug not in seen and (known[slug][0] or not store.shared)]
    store.delete_entries(gone)
    report.removed = len(gone)
    report.embedded = embed_missing(store, embedder_for, progress)
    report.seconds = time.perf_counter() - started
    return report


def _rows_complete(store: Store, entry: Entry) -> bool:
    """Whether the stored sections and tags of an unchanged entry are all there: a row stripped by
    an older, non-atomic write is re-written by ``synapse index --full`` instead of only touched."""
    return store.child_counts(entry.slug) == (len(entry.sections), len(set(entry.tags)))


def embed_missing(
    store: Store, embedder_for: Callable[[int], object], progress: Progress | None = None, batch: int = 64
) -> int:
    """Embed every entry text whose (model, text) hash is not stored yet; drop stale vectors.

    Texts of the shipped entries take their vectors from the package (``synapse_ai.kb.shipped_vectors``)
    once one of them has been re-embedded with the installed model and agrees; the rest are embedded.
    Returns how many texts were embedded here (shipped vectors do not count)."""
    hashes = store.embedding_hashes()
    todo: list[tuple[str, str, str, str]] = []  # slug, field, text, hash
    keep: set[tuple[str, str]] = set()
    for entry in store.list_entries():
        for field_name, text in embedding_texts(entry).items():
            keep.add((entry.slug, field_name))
            todo.append((entry.slug, field_name, text, ""))
    if not todo:
        store.delete_embeddings_except(keep)
        return 0
    # The model id is needed to hash; ask for an embedder only if something is missing, and learn
    # the model name without loading it (embedders are lazy).
    model_id = embedder_for(0).model_id
    todo = [(s, f, t, text_hash(model_id, t)) for s, f, t, _ in todo]
    todo = [row for row in todo if hashes.get((row[0], row[1])) != row[3]]
    store.delete_embeddings_except(keep)
    if not todo:
        return 0
    todo = _take_shipped_vectors(store, todo, model_id, embedder_for, progress)
    if not todo:
        return 0
    if progress:  # said before the model loads, which can take a while for a sentence-transformers model
        progress("embedding", 0, len(todo))
    embedder = embedder_for(len(todo))
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        vectors = embedder.embed([t for _, _, t, _ in chunk])
        store.save_embeddings([(s, f, model_id, h, v) for (s, f, _, h), v in zip(chunk, vectors)])
        if progress:
            progress("embedding", min(start + batch, len(todo)), len(todo))
    return len(todo)


def _take_shipped_vectors(store: Store, todo: list, model_id: str, embedder_for, progress: Progress | None) -> list:
    """Store the shipped vectors of the rows that have one (after checking one against the installed
    model) and return the rows still to embed."""
    from synapse_ai.kb import shipped_vectors
    from synapse_ai.kb.embed import blob_to_vector

    shipped = shipped_vectors.load(model_id)
    found = [row for row in todo if shipped.get(row[3]) is not None]
    if not found:
        return todo
    if progress:
        progress("checking the shipped vectors", 0, 1)
    probe = min(found, key=lambda row: len(row[2]))  # the shortest text: the cheapest to re-embed
    if not shipped_vectors.verify(embedder_for(1), probe[2], shipped.get(probe[3])):
        return todo  # other weights under this model name: embed everything here
    store.save_embeddings([(s, f, model_id, h, blob_to_vector(shipped.get(h))) for s, f, _, h in found])
    if progress:
        progress("checking the shipped vectors", 1, 1)
    return [row for row in todo if shipped.get(row[3]) is None]


def describe_dirs(dirs: Sequence[Path]) -> str:
    """The folders as a JSON list of absolute paths, as the database remembers them."""
    return json.dumps([str(Path(d).resolve()) for d in dirs])
