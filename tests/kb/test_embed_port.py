"""The torch-free model path: safetensors read with numpy, the export from a model folder, the
batch encoder, and the shipped vectors of the entries (with how they are trusted).

A tiny random BERT written in the sentence-transformers folder layout stands in for the real model
here; ``tests/kb/test_real_model.py`` checks the real one against sentence-transformers.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from synapse_ai.kb import embed, shipped_vectors
from synapse_ai.kb.embed import HashingEmbedder, NumpyBertEmbedder, vector_to_blob
from synapse_ai.kb.indexer import embedding_texts, text_hash
from tests.conftest import ENTRIES
from tests.kb.helpers import CountingEmbedder, write_entry

HIDDEN, HEADS, LAYERS, INTER = 16, 4, 2, 32
WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "rate",
    "limit",
    "error",
    "tool",
    "call",
    "##s",
    "slow",
    "the",
    "a",
    "429",
]


def write_safetensors(path: Path, arrays: dict) -> None:
    """The format as its specification gives it (8-byte header size, JSON header, raw data)."""
    header, offset, chunks = {"__metadata__": {"format": "pt"}}, 0, []
    for name, array in arrays.items():
        raw = np.ascontiguousarray(array).tobytes()
        kind = {"float32": "F32", "int64": "I64"}[str(array.dtype)]
        header[name] = {"dtype": kind, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def tiny_bert_state(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    r = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)  # noqa: E731
    state = {
        "embeddings.position_ids": np.arange(64, dtype=np.int64)[None],
        "embeddings.word_embeddings.weight": r(len(WORDS), HIDDEN),
        "embeddings.position_embeddings.weight": r(64, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + r(HIDDEN),
        "embeddings.LayerNorm.bias": r(HIDDEN),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value", "output.dense"):
            full = f"attention.self.{name}" if name != "output.dense" else "attention.output.dense"
            state[p + full + ".weight"], state[p + full + ".bias"] = r(HIDDEN, HIDDEN), r(HIDDEN)
        state[p + "attention.output.LayerNorm.weight"] = 1 + r(HIDDEN)
        state[p + "attention.output.LayerNorm.bias"] = r(HIDDEN)
        state[p + "intermediate.dense.weight"], state[p + "intermediate.dense.bias"] = r(INTER, HIDDEN), r(INTER)
        state[p + "output.dense.weight"], state[p + "output.dense.bias"] = r(HIDDEN, INTER), r(HIDDEN)
        state[p + "output.LayerNorm.weight"], state[p + "output.LayerNorm.bias"] = 1 + r(HIDDEN), r(HIDDEN)
    return state


CLS, SEP = ({"SpecialToken": {"id": token, "type_id": 0}} for token in ("[CLS]", "[SEP]"))


def tokenizer_json() -> dict:
    """A BERT WordPiece tokenizer.json over ``WORDS`` (the layout ``tokenizers`` writes)."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": True,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [CLS, {"Sequence": {"id": "A", "type_id": 0}}, SEP],
            "pair": [
                CLS,
                {"Sequence": {"id": "A", "type_id": 0}},
                SEP,
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
            ],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {w: i for i, w in enumerate(WORDS)},
        },
    }


def write_model_folder(folder: Path, pooling: str = "mean", model_type: str = "bert") -> Path:
    folder.mkdir(parents=True)
    write_safetensors(folder / "model.safetensors", tiny_bert_state())
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": model_type,
                "num_hidden_layers": LAYERS,
                "num_attention_heads": HEADS,
                "hidden_size": HIDDEN,
                "layer_norm_eps": 1e-12,
                "position_embedding_type": "absolute",
            }
        )
    )
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ]
        )
    )
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": HIDDEN,
                "pooling_mode_cls_token": pooling == "cls",
                "pooling_mode_mean_tokens": pooling == "mean",
                "pooling_mode_max_tokens": pooling == "max",
            }
        )
    )
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json()))
    return folder


def test_safetensors_read_with_numpy_alone(tmp_path):
    state = tiny_bert_state()
    write_safetensors(tmp_path / "m.safetensors", state)
    read = embed.read_safetensors(tmp_path / "m.safetensors")
    assert read.keys() == state.keys()
    for name, array in state.items():
        assert read[name].dtype == array.dtype and np.array_equal(read[name], array), name


def test_half_precision_weights_are_refused_not_misread(tmp_path):
    write_safetensors(tmp_path / "m.safetensors", {"w": np.zeros(4, dtype=np.float32)})
    raw = (tmp_path / "m.safetensors").read_bytes().replace(b'"F32"', b'"F16"')
    (tmp_path / "m.safetensors").write_bytes(raw)
    with pytest.raises(ValueError, match="F16"):
        embed.read_safetensors(tmp_path / "m.safetensors")


def test_export_from_a_model_folder_packs_every_weight(tmp_path):
    target = embed.export_numpy_model_from_folder(write_model_folder(tmp_path / "model"), tmp_path / "port")
    meta = json.loads((target / "config.json").read_text())
    assert meta == {
        "layers": LAYERS,
        "heads": HEADS,
        "eps": 1e-12,
        "max_seq_length": 48,
        "pooling": "mean",
        "normalize": True,
        "prefix": "",
    }
    packed = embed._packed_weights(target)
    state = tiny_bert_state()
    assert set(packed) == {k for k, v in state.items() if v.dtype.kind == "f"}
    for name, array in packed.items():
        assert np.array_equal(array, state[name]), name


@pytest.mark.parametrize("pooling, model_type", [("max", "bert"), ("mean", "roberta")])
def test_export_refuses_what_the_port_cannot_run(tmp_path, pooling, model_type):
    with pytest.raises(ValueError):
        folder = write_model_folder(tmp_path / "model", pooling, model_type)
        embed.export_numpy_model_from_folder(folder, tmp_path / "port")
    assert not (tmp_path / "port").exists()


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_batch_encoder_equals_one_text_at_a_time(tmp_path, pooling):
    port = embed.export_numpy_model_from_folder(write_model_folder(tmp_path / "model", pooling), tmp_path / "port")
    model = NumpyBertEmbedder(port, "tiny")
    texts = ["rate limit error", "tool calls", "the slow tool call " * 6, "429", "a", "rate " * 60]
    batched = np.array(model.embed(texts))
    one_by_one = np.array([model.embed_array(t) for t in texts])
    assert batched.shape == (len(texts), HIDDEN)
    assert np.abs(batched - one_by_one).max() < 1e-6
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-6)


def test_batch_encoder_reports_progress_to_the_end(tmp_path):
    port = embed.export_numpy_model_from_folder(write_model_folder(tmp_path / "model"), tmp_path / "port")
    seen = []
    texts = ["rate limit"] * 70 + ["tool call " * 40] * 30
    NumpyBertEmbedder(port, "tiny").embed(texts, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (100, 100) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_shipped_vectors_round_trip_and_refuse_damage(tmp_path):
    texts = ["a b", "c d"]
    vectors = {text_hash("hash", t): vector_to_blob(v) for t, v in zip(texts, HashingEmbedder().embed(texts))}
    path = tmp_path / "v.bin"
    shipped_vectors.write(path, "hash", vectors)
    assert shipped_vectors.load("hash", path).blobs == vectors
    assert len(shipped_vectors.load("another-model", path)) == 0
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # one flipped byte in a vector
    path.write_bytes(bytes(raw))
    assert len(shipped_vectors.load("hash", path)) == 0
    assert len(shipped_vectors.load("hash", tmp_path / "missing.bin")) == 0


def _index_with_shipped(tmp_path, monkeypatch, vectors_from):
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.parse import read_entry

    folder = tmp_path / "entries"
    for slug in ("one", "two", "three"):
        write_entry(folder, slug, title=f"Entry {slug}", symptom=f"Symptom of {slug}.")
    texts = [t for slug in ("one", "two") for t in embedding_texts(read_entry(folder / f"{slug}.md")).values()]
    path = tmp_path / "shipped.bin"
    vectors = {text_hash("hash", t): vector_to_blob(v) for t, v in zip(texts, vectors_from.embed(texts))}
    shipped_vectors.write(path, "hash", vectors)
    monkeypatch.setattr(shipped_vectors, "VECTORS_FILE", path)
    counting = CountingEmbedder()
    kb = KnowledgeBase.open(tmp_path / "kb.db", [folder], embedder=counting)
    stored = kb.store.embedding_matrix("hash")
    kb.close()
    return counting.texts, texts, stored


def test_index_takes_shipped_vectors_after_checking_one(tmp_path, monkeypatch):
    embedded, shipped_texts, (slugs, _fields, matrix) = _index_with_shipped(tmp_path, monkeypatch, HashingEmbedder())
    # One shipped text re-embedded as the check (the shortest), then only the entry without vectors.
    assert len(embedded) == 3 and embedded[0] == min(shipped_texts, key=len)
    assert not set(embedded[1:]) & set(shipped_texts)
    assert sorted(set(slugs)) == ["one", "three", "two"] and matrix.shape == (6, HashingEmbedder.dims)


class OtherWeights(HashingEmbedder):
    """Same model name, different vectors: what a changed model under the same id would give."""

    def embed(self, texts):
        return [list(reversed(v)) for v in super().embed(texts)]


def test_index_ignores_shipped_vectors_the_installed_model_disagrees_with(tmp_path, monkeypatch):
    embedded, shipped_texts, (_slugs, _fields, matrix) = _index_with_shipped(tmp_path, monkeypatch, OtherWeights())
    assert set(shipped_texts) <= set(embedded) and len(embedded) == 1 + 6  # the check, then every text
    fresh = np.array(HashingEmbedder().embed([min(shipped_texts, key=len)]))[0]
    assert np.isclose(matrix @ fresh, 1.0, atol=1e-6).any()


def test_shipped_vectors_file_covers_the_shipped_entries():
    """The package's file is valid and covers nearly all shipped texts (entries added since it was
    written are embedded at index time; refresh it with ``python -m synapse_ai.kb.shipped_vectors``)."""
    from synapse_ai.kb.indexer import entry_files
    from synapse_ai.kb.parse import read_entry

    shipped = shipped_vectors.load(embed.DEFAULT_MODEL)
    texts = [t for p in entry_files([ENTRIES]) for t in embedding_texts(read_entry(p)).values()]
    covered = [t for t in texts if shipped.get(text_hash(embed.DEFAULT_MODEL, t)) is not None]
    assert len(shipped) > 0 and len(covered) >= 0.9 * len(texts), (len(covered), len(texts))
