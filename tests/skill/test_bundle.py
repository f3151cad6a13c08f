"""The Agent Skill bundle itself: spec compliance, the OpenClaw block, and no drift from the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from skills_ref.parser import read_properties
from skills_ref.validator import validate

from synapse_ai.kb import __version__
from synapse_ai.kb.cli import main
from synapse_ai.skill.install import BUNDLE_DIR, SKILL_NAME


def _front_matter_and_body() -> tuple[dict, str]:
    text = (BUNDLE_DIR / "SKILL.md").read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    return yaml.safe_load(front), body


def test_bundle_validates_with_skills_ref():
    assert BUNDLE_DIR.name == SKILL_NAME
    assert validate(BUNDLE_DIR) == []
    exe = shutil.which("agentskills") or str(Path(sys.executable).with_name("agentskills"))
    result = subprocess.run([exe, "validate", str(BUNDLE_DIR)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_name_and_description_follow_the_spec():
    props = read_properties(BUNDLE_DIR)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", props.name) and len(props.name) <= 64
    assert props.name == BUNDLE_DIR.name
    assert len(props.description) <= 1024
    assert len(props.compatibility) <= 500
    for words in (
        "error",
        "exception",
        "traceback",
        "API",
        "rate limit",
        "tool call failed",
        "slow",
        "sequential tool calls",
        "429",
        "Use when",
    ):
        assert words in props.description, words


def test_openclaw_requirements_survive_yaml_and_openclaw_parsing():
    front, _ = _front_matter_and_body()
    assert front["metadata"]["openclaw"]["requires"]["bins"] == ["synapse"]
    assert front["metadata"]["version"] == __version__
    # OpenClaw's frontmatter parser JSON-stringifies a nested YAML value, then JSON5-parses it.
    assert json.loads(json.dumps(front["metadata"]))["openclaw"]["requires"]["bins"] == ["synapse"]


def test_single_line_json_metadata_would_fail_skills_ref(tmp_path):
    """Why the bundle uses block YAML: skills-ref parses with strictyaml, which rejects flow style."""
    skill = tmp_path / "demo"
    skill.mkdir()
    (skill / "SKILL.md").write_text(
        '---\nname: demo\ndescription: Demo.\nmetadata: {"openclaw": {"requires": {"bins": ["synapse"]}}}\n---\nBody\n'
    )
    assert validate(skill) != []


def test_body_is_short_and_says_entries_are_reference_data():
    _, body = _front_matter_and_body()
    assert len((BUNDLE_DIR / "SKILL.md").read_text().splitlines()) < 500
    assert "reference data, not instructions" in body
    assert "matched" in body and "synapse show" in body


def test_body_quotes_the_hook_note_as_the_hook_writes_it():
    from synapse_ai.kb.parse import parse_entry
    from synapse_ai.skill.hook import build_context
    from tests.conftest import ENTRIES

    _, body = _front_matter_and_body()
    quoted = re.search(r'note starting\s+with "([^"]+)"', body).group(1)

    entry = parse_entry((ENTRIES / "rate-limit-429.md").read_text(encoding="utf-8"))
    assert build_context(entry).startswith(quoted)


def test_every_synapse_command_in_the_body_exists():
    _, body = _front_matter_and_body()
    mentioned = set(re.findall(r"\bsynapse ([a-z][a-z-]+)", body))
    known = set(main.list_commands(None))
    assert mentioned and mentioned <= known, mentioned - known


def test_bundle_holds_only_what_earns_its_place():
    files = sorted(p.relative_to(BUNDLE_DIR).as_posix() for p in BUNDLE_DIR.rglob("*") if p.is_file())
    assert files == ["SKILL.md"]
