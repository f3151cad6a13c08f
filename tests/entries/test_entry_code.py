"""Code quality gate for the corpus.

Every ```python block must compile; every ```python runnable block is executed in a fresh
subprocess with no API key and no network (outbound connections other than loopback are refused by
a ``sitecustomize`` installed for the run), with a time limit.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from synapse_ai.kb.lint import entry_files
from synapse_ai.kb.parse import read_entry
from tests.conftest import ENTRIES

NO_NETWORK = """
import socket

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address):
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host in ("127.0.0.1", "::1", "localhost") or host.startswith("/"))


def _guard(method):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _allowed(address):
            raise OSError(f"network disabled in entry code checks: {address!r}")
        return method(self, address)
    return connect


socket.socket.connect = _guard(_real_connect)
socket.socket.connect_ex = _guard(_real_connect_ex)
"""

BLOCKS = [
    (entry.slug, i, block)
    for entry in (read_entry(p) for p in entry_files([ENTRIES]))
    for i, block in enumerate(entry.code_blocks)
]


@pytest.mark.parametrize(
    "slug, index, block",
    [b for b in BLOCKS if b[2].language == "python"],
    ids=[f"{s}-{i}" for s, i, b in BLOCKS if b.language == "python"],
)
def test_python_blocks_compile(slug, index, block):
    compile(ast.parse(block.code), f"{slug}[{index}]", "exec")


@pytest.mark.parametrize(
    "slug, index, block",
    [b for b in BLOCKS if b[2].language == "json"],
    ids=[f"{s}-{i}" for s, i, b in BLOCKS if b.language == "json"],
)
def test_json_blocks_parse(slug, index, block):
    json.loads(block.code)


RUNNABLE = [b for b in BLOCKS if b[2].language == "python" and b[2].runnable]


@pytest.mark.parametrize("slug, index, block", RUNNABLE, ids=[f"{s}-{i}" for s, i, _ in RUNNABLE])
def test_runnable_blocks_run_offline(slug, index, block, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(NO_NETWORK)
    script = tmp_path / f"{slug}_{index}.py"
    script.write_text(block.code)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{slug} block {index} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def test_network_guard_really_blocks(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(NO_NETWORK)
    probe = (
        "import socket\ntry:\n    socket.create_connection(('203.0.113.1', 80), timeout=2)\nexcept OSError as "
        "e:\n    print('blocked' if 'network disabled' in str(e) else 'other')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout.strip() == "blocked"


def test_seed_entry_shows_parallel_speedup():
    seed = read_entry(ENTRIES / "sequential-tool-calls.md")
    runnable = [b for b in seed.code_blocks if b.runnable]
    assert runnable, "the seed entry needs a runnable executor example"
    assert any("gather" in b.code or "execute_tool_calls" in b.code for b in runnable)
