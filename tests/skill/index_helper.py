"""Build the default search index for tests that run ``synapse`` in a subprocess.

Why: the subprocesses run with ``SYNAPSE_MODEL=hash`` and the test's ``SYNAPSE_HOME``; building the
index once in-process with an explicit ``HashingEmbedder`` gives the same fingerprint (model id
"hash", default entry folders), so each subprocess finds it current and only reads it.
"""

from __future__ import annotations

from pathlib import Path


def build_default_index() -> Path:
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.kb.service import KnowledgeBase

    kb = KnowledgeBase.open(None, embedder=HashingEmbedder())
    try:
        return kb.store.path
    finally:
        kb.close()
