"""Fixtures shared by the skill tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def shared_kb(tmp_path_factory):
    """One read-only index per test module (building one takes 1-2 s; these tests never write)."""
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.kb.service import KnowledgeBase
    from tests.conftest import ENTRIES

    base = KnowledgeBase.open(tmp_path_factory.mktemp("shared-kb") / "kb.db", [ENTRIES], embedder=HashingEmbedder())
    yield base
    base.close()
