"""Build the default search index for tests that run ``synapse`` in a subprocess.

Why: the subprocesses run with ``SYNAPSE_MODEL=hash`` and the test's ``SYNAPSE_HOME``; building the
index once in-process with an explicit ``HashingEmbedder`` gives the same fingerprint (model id
"hash", default entry folders), so each subprocess finds it current and only reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def build_default_index() -> Path:
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.kb.service import KnowledgeBase

    kb = KnowledgeBase.open(None, embedder=HashingEmbedder())
    try:
        return kb.store.path
    finally:
        kb.close()


@pytest.fixture(scope="module")
def shared_kb(tmp_path_factory):
    """One read-only index per test module (building one takes 1-2 s; these tests never write)."""
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.kb.service import KnowledgeBase

    from tests.conftest import ENTRIES

    base = KnowledgeBase.open(tmp_path_factory.mktemp("shared-kb") / "kb.db", [ENTRIES], embedder=HashingEmbedder())
    yield base
    base.close()
