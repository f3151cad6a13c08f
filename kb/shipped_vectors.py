"""Vectors of the shipped entries, computed once with the reference model and shipped in the package.

Why: a first index embeds ~260 texts of up to 256 tokens each; on a 2-core machine that is 15-30 s
of matrix products whichever library runs them, and the first ``synapse search`` of a newcomer
waits for it.  The shipped entries are the same for everyone, so their vectors travel with them.

Trust, on load: a vector is used only for the exact text and model it was computed from (its key
is ``synapse_ai.kb.indexer.text_hash(model, text)``); the file carries a SHA-256 of its payload and
is ignored whole if that does not match; and before the first use the indexer re-embeds one of the
texts with the installed model and compares (``verify``), so different weights under the same model
name are never mixed with these.  Entries added or edited since the file was written are simply
embedded as usual.

Refresh after changing entries: ``python -m synapse_ai.kb.shipped_vectors`` (uses
sentence-transformers, the reference, when it is installed; else the numpy port).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

VECTORS_FILE = Path(__file__).resolve().parent / "shipped_vectors.bin"
_MAGIC = b"SYNAPSE-VECTORS 1\n"
_KEY_BYTES = 32
# The shipped vectors come from sentence-transformers; the numpy port agrees to ~1e-7 (cosine).
AGREEMENT = 0.9999


class ShippedVectors:
    """``text hash -> float32 BLOB`` for one model (empty when there is no valid file for it)."""

    def __init__(self, model: str, blobs: dict[str, bytes]):
        self.model = model
        self.blobs = blobs

    def __len__(self) -> int:
        return len(self.blobs)

    def get(self, key: str) -> bytes | None:
        """The float32 BLOB for text hash ``key``, or None. Raises nothing of its own."""
        return self.blobs.get(key)


def load(model: str, path: Path | None = None) -> ShippedVectors:
    """The shipped vectors for ``model`` (from ``path``, default the package's file); empty for
    another model or a damaged or missing file."""
    path = path or VECTORS_FILE
    try:
        raw = path.read_bytes()
    except OSError:
        return ShippedVectors(model, {})
    if not raw.startswith(_MAGIC):
        return ShippedVectors(model, {})
    header_end = raw.find(b"\n", len(_MAGIC))
    try:
        header = json.loads(raw[len(_MAGIC) : header_end])
        payload = raw[header_end + 1 :]
        dims, count = int(header["dims"]), int(header["count"])
        valid = header["model"] == model and header["sha256"] == hashlib.sha256(payload).hexdigest()
    except (ValueError, KeyError, TypeError):
        return ShippedVectors(model, {})
    record = _KEY_BYTES + 4 * dims
    if not valid or len(payload) != count * record:
        return ShippedVectors(model, {})
    blobs = {
        payload[i : i + _KEY_BYTES].hex(): payload[i + _KEY_BYTES : i + record] for i in range(0, len(payload), record)
    }
    return ShippedVectors(model, blobs)


def write(path: Path, model: str, vectors: dict[str, bytes]) -> None:
    """Write ``text hash -> float32 BLOB`` (sorted by key, so a rebuild of the same entries gives
    the same bytes)."""
    dims = {len(blob) // 4 for blob in vectors.values()}
    if len(dims) != 1:
        raise ValueError(f"vectors of mixed sizes: {sorted(dims)}")
    payload = b"".join(bytes.fromhex(key) + vectors[key] for key in sorted(vectors))
    header = {"model": model, "dims": dims.pop(), "count": len(vectors), "sha256": hashlib.sha256(payload).hexdigest()}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload)
    tmp.replace(path)


def verify(embedder, text: str, blob: bytes) -> bool:
    """Whether the installed model gives (to float rounding) the shipped vector for ``text``."""
    from synapse_ai.kb.embed import blob_to_vector

    shipped = blob_to_vector(blob)
    fresh = embedder.embed([text])[0]
    return sum(a * b for a, b in zip(shipped, fresh)) >= AGREEMENT


def main(argv: list[str] | None = None) -> int:
    """Recompute the vectors of the shipped entries with the reference model and write the file."""
    import argparse

    from synapse_ai.kb.embed import DEFAULT_MODEL, vector_to_blob
    from synapse_ai.kb.indexer import embedding_texts, entry_files, text_hash
    from synapse_ai.kb.parse import read_entry
    from synapse_ai.kb.paths import shipped_entries_dir

    parser = argparse.ArgumentParser(prog="python -m synapse_ai.kb.shipped_vectors", description=main.__doc__)
    parser.add_argument("--output", type=Path, default=VECTORS_FILE, help="file to write (default: the package's)")
    parser.add_argument(
        "--numpy", action="store_true", help="use the numpy port even when sentence-transformers is installed"
    )
    args = parser.parse_args(argv)
    texts = sorted({t for p in entry_files([shipped_entries_dir()]) for t in embedding_texts(read_entry(p)).values()})
    embedder = _reference_embedder(DEFAULT_MODEL, force_numpy=args.numpy)
    vectors = embedder.embed(texts)
    model = DEFAULT_MODEL
    write(args.output, model, {text_hash(model, t): vector_to_blob(v) for t, v in zip(texts, vectors)})
    print(f"wrote {len(texts)} vectors ({type(embedder).__name__}) to {args.output}")
    return 0


def _reference_embedder(model: str, force_numpy: bool):
    from synapse_ai.kb import embed

    if not force_numpy:
        try:
            import sentence_transformers  # noqa: F401 - only asks whether the reference is installed

            return embed.SentenceTransformerEmbedder(model)
        except ImportError:
            pass
    import tempfile

    target = Path(tempfile.mkdtemp()) / "model"
    embed.export_numpy_model_from_folder(Path(embed.resolve_model_path(model)), target)
    return embed.NumpyBertEmbedder(target, model)


if __name__ == "__main__":
    raise SystemExit(main())
