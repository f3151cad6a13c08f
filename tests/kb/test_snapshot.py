"""kb.service.IndexSnapshot and the Embedder protocol: the typed joints of the search path."""

from __future__ import annotations

import dataclasses

import pytest

from synapse_ai.kb import KnowledgeBase
from synapse_ai.kb.embed import Embedder, HashingEmbedder
from synapse_ai.kb.service import IndexSnapshot
from tests.kb.helpers import write_entry


def test_embed_one_is_part_of_every_embedder():
    embedder = HashingEmbedder()
    assert Embedder in type(embedder).__mro__  # the default embed_one is inherited, not copied
    assert embedder.embed_one("429 rate_limit_error") == embedder.embed(["429 rate_limit_error"])[0]


def test_snapshot_is_replaced_when_the_index_changes(tmp_path):
    folder = tmp_path / "entries"
    write_entry(folder, "first-entry", title="First entry about timeouts")
    kb = KnowledgeBase.open(tmp_path / "kb.db", [folder], embedder=HashingEmbedder())
    try:
        kb.search("timeouts")
        before = kb._snapshot
        assert before.signals is not None and len(kb.store.embedding_matrix(kb.model_id)[0]) == 2  # the store's cache
        with pytest.raises(dataclasses.FrozenInstanceError):
            before.generation = "x"  # type: ignore[misc]
        kb.search("timeouts again")
        assert kb._snapshot is before  # nothing changed: nothing reloaded
        write_entry(folder, "second-entry", title="Second entry about retries")
        kb.refresh()
        assert [r.slug for r in kb.search("Second entry about retries").results][:1] == ["second-entry"]
        after = kb._snapshot
        assert isinstance(after, IndexSnapshot) and after.generation != before.generation
        assert len(kb.store.embedding_matrix(kb.model_id)[0]) == 4
    finally:
        kb.close()
