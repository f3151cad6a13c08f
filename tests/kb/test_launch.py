"""The ``synapse`` entry point (kb/launch.py): ``search --json`` answered without click, with exactly
the output of the click command; every other command line, and a stale index, go to click."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from synapse_ai.kb.launch import plain_json_search
from tests.skill.index_helper import build_default_index

FAST = "import sys; from synapse_ai.kb.launch import main; main()"
CLICK = "import sys; from synapse_ai.kb.cli import main; main(prog_name='synapse')"


@pytest.mark.parametrize(
    "argv, parsed",
    [
        (["search", "--json", "429 rate limit"], ("429 rate limit", 5, None)),
        (["search", "429", "--json", "-n", "3"], ("429", 3, None)),
        (["search", "--limit", "50", "--db", "x.db", "--json", "q"], ("q", 50, "x.db")),
        (["search", "q"], None),  # human output needs rich: click's command
        (["search", "--json", "-"], None),  # stdin
        (["search", "--json", "--batch", "f"], None),
        (["search", "--json", "--limit", "0", "q"], None),
        (["search", "--json", "--limit", "51", "q"], None),
        (["search", "--json", "--limit=3", "q"], None),
        (["search", "--json", "a", "b"], None),
        (["search", "--json", "   "], None),
        (["search", "--json", "bad \udcff byte"], None),
        (["search", "--help"], None),
        (["match", "--json"], None),
        ([], None),
    ],
)
def test_only_the_plain_json_search_takes_the_short_way(argv, parsed):
    assert plain_json_search(argv) == parsed


def _run(code: str, *args: str, flags: tuple = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *flags, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SYNAPSE_MODEL": "hash"},
    )


@pytest.mark.parametrize(
    "args",
    [
        ("search", "--json", "tool calls run one after another"),
        ("search", "--json", "-n", "3", "anthropic.RateLimitError: Error code: 429 rate_limit_error"),
        ("search", "--limit", "2", "--json", "ünïcödé agent loop “quotes”"),
    ],
)
def test_short_way_prints_exactly_what_the_click_command_prints(args):
    build_default_index()
    fast, slow = _run(FAST, *args), _run(CLICK, *args)
    assert fast.returncode == slow.returncode == 0, (fast.stderr, slow.stderr)
    assert fast.stdout == slow.stdout and json.loads(fast.stdout)["results"]
    assert fast.stderr == slow.stderr == ""


def test_short_way_does_not_load_click():
    build_default_index()
    result = _run(FAST, "search", "--json", "tool calls run one after another", flags=("-X", "importtime"))
    assert result.returncode == 0 and json.loads(result.stdout)["results"]
    modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "click" not in modules and "synapse_ai.kb.service" in modules


def test_a_stale_index_goes_to_the_click_command_which_builds_it(tmp_path):
    result = _run(FAST, "search", "--json", "tool calls run one after another")  # empty home: no index yet
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["results"] and "Traceback" not in result.stderr


def test_other_commands_go_to_click():
    result = _run(FAST, "--help")
    assert result.returncode == 0 and "Commands:" in result.stdout
    result = _run(FAST, "search", "--json", "--limit", "0", "q")
    assert result.returncode == 2 and "Invalid value for '--limit'" in result.stderr
