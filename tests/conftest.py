"""Shared fixtures.

Every test runs with its own data directory and, unless marked ``real_model``, with the hashing
embedder (``SYNAPSE_MODEL=hash``): deterministic, instant, and never loads torch.  Tests marked
``real_model`` use sentence-transformers/all-MiniLM-L6-v2 from the installed wheel.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = ROOT / "entries"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch, request):
    home = tmp_path_factory.mktemp("synapse-home")
    monkeypatch.setenv("SYNAPSE_HOME", str(home))
    monkeypatch.delenv("SYNAPSE_DB", raising=False)
    monkeypatch.delenv("SYNAPSE_DATABASE_URL", raising=False)
    monkeypatch.delenv("SYNAPSE_ENTRIES_DIR", raising=False)
    if request.node.get_closest_marker("real_model") is None:
        monkeypatch.setenv("SYNAPSE_MODEL", "hash")
    yield home


@pytest.fixture
def entries_copy(tmp_path) -> Path:
    """A writable copy of the shipped entries."""
    target = tmp_path / "entries"
    shutil.copytree(ENTRIES, target)
    return target


@pytest.fixture
def kb(tmp_path, entries_copy):
    """A KnowledgeBase over a copy of the shipped entries, with the hashing embedder."""
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder

    base = KnowledgeBase.open(tmp_path / "kb.db", [entries_copy], embedder=HashingEmbedder())
    yield base
    base.close()


@pytest.fixture(scope="session")
def real_kb(tmp_path_factory):
    """One KnowledgeBase over the shipped entries with the real model, shared by every
    ``real_model`` test (building it loads torch once: ~20-40 s on 2 cores)."""
    import os

    from synapse_ai.kb import KnowledgeBase

    home = tmp_path_factory.mktemp("real-home")
    old = {k: os.environ.get(k) for k in ("SYNAPSE_HOME", "SYNAPSE_MODEL")}
    os.environ["SYNAPSE_HOME"] = str(home)
    os.environ.pop("SYNAPSE_MODEL", None)
    try:
        entries = home / "entries"
        shutil.copytree(ENTRIES, entries)
        kb = KnowledgeBase.open(home / "kb.db", [entries])
        kb.query_embedder()  # load it while SYNAPSE_HOME points here (its cache lives there)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield kb
    kb.close()
