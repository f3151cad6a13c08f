"""The labelled failure corpus is well formed (tests/queries/failures, tests/failure_corpus.py).

Why: the matching floors (silent on routine failures, right entry on buried agent failures) are
only as good as the data they are measured on. These tests keep that data honest: enough items,
spread over enough ecosystems and entries, every payload shaped like a real Claude Code
PostToolUseFailure event, the buried failure really at the end of the output, the truncation
marker where Claude Code puts it, and the build reproducible byte for byte.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest

from tests.conftest import ENTRIES
from tests.failure_corpus import (
    NOISE_KINDS,
    TRUNCATE_ABOVE,
    TRUNCATE_KEEP,
    build_buried_payload,
    buried_items,
    buried_output,
    buried_payloads,
    middle_truncate,
    noise_text,
    routine_items,
    routine_payloads,
)

REQUIRED_KEYS = {
    "session_id",
    "transcript_path",
    "cwd",
    "hook_event_name",
    "tool_name",
    "tool_input",
    "tool_use_id",
    "error",
    "is_interrupt",
}
BASH_ERROR = re.compile(r"\AExit code -?\d+(\n|\Z)")
MARKER = re.compile(r"\n\n\.\.\. \[(\d+) characters truncated\] \.\.\.\n\n")


@pytest.fixture(scope="module")
def routine():
    return routine_items()


@pytest.fixture(scope="module")
def buried():
    return buried_items()


@pytest.fixture(scope="module")
def built(buried):
    return {item["id"]: build_buried_payload(item) for item in buried}


def test_counts_and_spread(routine, buried):
    assert len(routine) >= 150
    assert len(buried) >= 60
    assert len({item["ecosystem"] for item in routine}) >= 15
    per_slug = Counter(item["slug"] for item in buried)
    assert len(per_slug) >= 30
    assert max(per_slug.values()) <= 4, per_slug.most_common(3)
    assert 15 <= sum(bool(item["truncate"]) for item in buried) <= 30


def test_ids_unique_across_both_sets(routine, buried):
    ids = [item["id"] for item in routine] + [item["id"] for item in buried]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", i) for i in ids)


def test_every_buried_slug_is_an_existing_entry(buried):
    missing = sorted({item["slug"] for item in buried if not (ENTRIES / f"{item['slug']}.md").is_file()})
    assert not missing, f"no entry file for: {missing}"


def _check_payload(item_id: str, payload: dict) -> None:
    assert REQUIRED_KEYS <= payload.keys(), (item_id, REQUIRED_KEYS - payload.keys())
    assert payload["hook_event_name"] == "PostToolUseFailure", item_id
    assert payload["is_interrupt"] is False, item_id
    assert isinstance(payload["tool_input"], dict) and payload["tool_input"], item_id
    assert re.fullmatch(r"toolu_01[A-Za-z0-9]{22}", payload["tool_use_id"]), item_id
    assert payload["cwd"].startswith("/"), item_id
    assert isinstance(payload["error"], str) and payload["error"].strip(), item_id
    tool = payload["tool_name"]
    assert re.fullmatch(r"[A-Z]\w+|mcp__[\w-]+__\w+", tool), (item_id, tool)
    if tool == "Bash":
        assert isinstance(payload["tool_input"].get("command"), str), item_id
        assert BASH_ERROR.match(payload["error"]), (item_id, payload["error"][:40])
    else:
        assert not payload["error"].startswith("Exit code"), item_id
    assert json.loads(json.dumps(payload)) == payload, item_id


def test_routine_payloads_are_hook_events(routine):
    for item_id, payload in routine_payloads():
        _check_payload(item_id, payload)
    assert {item["payload"]["tool_name"] for item in routine} >= {"Bash", "Read", "Edit", "Write", "WebFetch"}
    assert any(item["payload"]["tool_name"].startswith("mcp__") for item in routine)


def test_no_two_routine_failures_are_the_same(routine):
    seen = Counter(
        (json.dumps(item["payload"]["tool_input"], sort_keys=True), item["payload"]["error"]) for item in routine
    )
    assert max(seen.values()) == 1
    assert len({item["payload"]["tool_use_id"] for item in routine}) == len(routine)


def test_buried_payloads_are_hook_events_with_the_failure_last(buried, built):
    assert {i["noise"] for i in buried} <= NOISE_KINDS.keys()
    for item in buried:
        assert 2 <= item["noise_kb"] <= 50, item["id"]
        payload = built[item["id"]]
        _check_payload(item["id"], payload)
        assert payload["tool_input"]["command"] == item["command"]
        assert payload["error"].endswith(item["tail"]), item["id"]  # the hook sees the failure last
        assert payload["error"].startswith(f"Exit code {item.get('exit_code', 1)}\n"), item["id"]


def test_noise_has_the_requested_size_and_comes_first(buried):
    for item in buried:
        if re.search(r"\|\s*tail\s", item["command"]):
            continue
        output = buried_output(item)
        noise_chars = len(output) - len(item["tail"]) - 1
        assert item["noise_kb"] * 1024 <= noise_chars <= item["noise_kb"] * 1024 + 2048, item["id"]


def test_tail_pipes_keep_only_the_last_lines(buried):
    piped = [item for item in buried if re.search(r"\|\s*tail -\d+", item["command"])]
    assert len(piped) >= 3  # the README's `... 2>&1 | tail -30 | synapse match` shape
    for item in piped:
        lines = int(re.search(r"tail -(\d+)", item["command"]).group(1))
        output = buried_output(item)
        assert len(output.split("\n")) <= lines, item["id"]
        assert output.endswith(item["tail"]), item["id"]
    assert any(len(buried_output(item).split("\n")) == 30 for item in piped)  # some really were cut


def test_truncated_items_carry_claude_codes_marker_in_the_noise(buried, built):
    for item in buried:
        error = built[item["id"]]["error"]
        markers = MARKER.findall(error)
        if not item["truncate"]:
            assert not markers, item["id"]
            continue
        assert len(markers) == 1, item["id"]
        full = f"Exit code {item.get('exit_code', 1)}\n{buried_output(item)}"
        assert int(markers[0]) == len(full) - 2 * TRUNCATE_KEEP, item["id"]
        assert error.startswith(full[:TRUNCATE_KEEP]) and error.endswith(full[-TRUNCATE_KEEP:]), item["id"]
        assert len(item["tail"]) < TRUNCATE_KEEP, item["id"]  # the cut falls inside the noise


def test_middle_truncate_leaves_short_text_alone():
    assert middle_truncate("x" * TRUNCATE_ABOVE) == "x" * TRUNCATE_ABOVE
    long = "a" * 6000 + "b" * 6000
    cut = middle_truncate(long)
    assert cut == "a" * 5000 + "\n\n... [2000 characters truncated] ...\n\n" + "b" * 5000


def test_build_is_deterministic_and_varies_by_id(buried):
    first = buried_payloads()
    second = buried_payloads()
    assert first == second
    assert json.dumps(first) == json.dumps(second)
    noises = {buried_output(item).rsplit(item["tail"], 1)[0] for item in buried}
    assert len(noises) == len(buried)  # every item gets its own preamble


def test_every_noise_kind_is_neutral():
    """Generated preambles never contain an entry's error pattern: only the tail decides."""
    from synapse_ai.kb.parse import EntryError, read_entry
    from synapse_ai.kb.signature import compile_pattern, normalize, required_literal

    patterns = []
    for path in sorted(ENTRIES.glob("*.md")):
        if path.name == "README.md":
            continue
        try:
            entry = read_entry(path)
        except (EntryError, OSError):
            continue  # an entry being edited; the slug test covers existence
        patterns += [(entry.slug, p, compile_pattern(p), required_literal(p)) for p in entry.patterns]
    assert patterns
    for kind in NOISE_KINDS:
        text = noise_text(kind, 20, random.Random(f"neutral-{kind}"))
        for variant in (text, normalize(text)):
            lowered = variant.lower()
            for slug, pattern, regex, literal in patterns:
                # the literal every match must contain rules most patterns out without a regex scan
                if regex is None or (literal and literal not in lowered):
                    continue
                assert not regex.search(variant), (kind, slug, pattern)


def test_unknown_noise_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown noise kind 'syslog'"):
        noise_text("syslog", 2, random.Random(0))
