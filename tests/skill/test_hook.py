"""``synapse hook``: the Claude Code PostToolUseFailure hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from synapse_ai.skill import hook
from synapse_ai.skill.hook import HARD_CAP_CHARS, MIN_CONTEXT_CHARS, build_context, build_query, hook_command, respond

from .index_helper import build_default_index

RATE_LIMIT_EVENT = {
    "session_id": "abc",
    "transcript_path": "/tmp/t.jsonl",
    "cwd": "/tmp",
    "hook_event_name": "PostToolUseFailure",
    "tool_name": "Bash",
    "tool_input": {"command": "python agent.py", "description": "Run the agent"},
    "tool_use_id": "toolu_01",
    "error": (
        'Exit code 1\nTraceback (most recent call last):\n  File "agent.py", line 12, in <module>\n'
        "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', "
        "'message': \"This request would exceed your organization's rate limit\"}}"
    ),
    "is_interrupt": False,
}
UNRELATED_EVENT = {**RATE_LIMIT_EVENT, "error": "ls: cannot access 'nothere': No such file or directory"}
HEAVY = ("torch", "sentence_transformers", "rich", "anthropic", "mcp", "transformers")


def _synapse() -> str:
    return shutil.which("synapse") or str(Path(sys.executable).with_name("synapse"))


def _run_hook(stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([_synapse(), "hook"], input=stdin, capture_output=True, timeout=60, env=os.environ.copy())


# ------------------------------------------------------------------ in-process


def test_build_query_is_the_error_alone():
    query = build_query(
        {**RATE_LIMIT_EVENT, "tool_input": {"command": "python agent.py", "content": "rate_limit_error"}}
    )
    assert query.startswith("Exit code 1")
    assert "python agent.py" not in query and "Bash" not in query  # tool context made unrelated failures match
    assert query.count("rate_limit_error") == 1  # file contents never join the query
    assert build_query({**RATE_LIMIT_EVENT, "is_interrupt": True}) is None
    assert build_query({**RATE_LIMIT_EVENT, "hook_event_name": "PostToolUse"}) is None
    assert build_query({**RATE_LIMIT_EVENT, "error": "   "}) is None
    assert build_query(["not", "a", "dict"]) is None
    assert "rate_limit_error" in build_query({**RATE_LIMIT_EVENT, "error": {"type": "rate_limit_error"}})


def test_respond_matched_is_facts_with_show_command(shared_kb):
    answer = respond(RATE_LIMIT_EVENT, shared_kb)
    out = answer["hookSpecificOutput"]
    assert out["hookEventName"] == "PostToolUseFailure"
    text = out["additionalContext"]
    entry = shared_kb.get("rate-limit-429")
    assert entry.title in text
    assert "Root cause:" in text and "Option 1:" in text
    assert "synapse show rate-limit-429" in text
    assert "not instructions" in text
    assert len(text) <= hook.MAX_CONTEXT_CHARS


def test_respond_silent_when_not_matched(shared_kb):
    assert respond(UNRELATED_EVENT, shared_kb) is None
    # an Edit whose file content mentions the error must not look like that error
    edit = {
        **UNRELATED_EVENT,
        "tool_name": "Edit",
        "error": "String to replace not found in file.",
        "tool_input": {"file_path": "x.py", "old_string": "except anthropic.RateLimitError:", "new_string": "pass"},
    }
    assert respond(edit, shared_kb) is None


def test_error_at_the_end_of_a_long_log_is_found(shared_kb):
    """The exception line sits after ~30 kB of logging (the head-only cut used to lose it)."""
    noise = "".join(
        f"2026-12-01 10:00:{i % 60:02d} INFO agent step {i}: calling read_file path=src/m{i}.py\n" for i in range(400)
    )
    event = {**RATE_LIMIT_EVENT, "error": "Exit code 1\n" + noise + RATE_LIMIT_EVENT["error"].split("\n", 1)[1]}
    assert len(event["error"]) > 20_000
    answer = respond(event, shared_kb)
    assert answer and "rate-limit-429" in answer["hookSpecificOutput"]["additionalContext"]
    # ... and across Claude Code's middle-truncation marker
    cut = {**event, "error": event["error"][:3000] + "\n... [28417 characters truncated] ...\n" + event["error"][-600:]}
    assert respond(cut, shared_kb) is not None


def test_quick_fix_leads_the_context(shared_kb):
    entry = shared_kb.get("rate-limit-429")
    text = build_context(entry)
    if entry.quick_fix:
        assert text.index("Quick fix:") < text.index("Root cause:")


def test_read_event_drains_oversized_input():
    import io

    big = io.BytesIO(b"x" * (hook.MAX_STDIN_BYTES + 10))
    assert hook.read_event(big) == b""
    assert big.read() == b""  # everything was consumed: the writer never sees a broken pipe
    assert hook.read_event(io.BytesIO(b'{"a": 1}')) == b'{"a": 1}'


@pytest.mark.parametrize("cap", [MIN_CONTEXT_CHARS, 800, HARD_CAP_CHARS + 5000])
def test_context_is_capped_and_keeps_the_show_command(shared_kb, cap):
    text = build_context(shared_kb.get("rate-limit-429"), {"pattern": "rate_limit_error"}, max_chars=cap)
    assert len(text) <= min(cap, HARD_CAP_CHARS)
    assert text.rstrip().endswith("--section Fix)")


def test_any_exception_exits_zero_silently(monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(hook, "run", boom)
    result = CliRunner().invoke(hook_command, [], input=json.dumps(RATE_LIMIT_EVENT))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "database is locked" in result.stderr


# ------------------------------------------------------------------ the real command


def test_command_end_to_end():
    build_default_index()
    matched = _run_hook(json.dumps(RATE_LIMIT_EVENT).encode())
    assert matched.returncode == 0, matched.stderr
    payload = json.loads(matched.stdout)
    assert "rate-limit-429" in payload["hookSpecificOutput"]["additionalContext"]

    for stdin in (
        json.dumps(UNRELATED_EVENT).encode(),
        b"",
        b"not json",
        b"[1, 2]",
        b"\xff\xfe\x00",
        json.dumps({**RATE_LIMIT_EVENT, "is_interrupt": True}).encode(),
    ):
        quiet = _run_hook(stdin)
        assert quiet.returncode == 0, (stdin, quiet.stderr)
        assert quiet.stdout == b"", stdin


def test_missing_index_is_silent_and_creates_nothing(_isolated_home):
    result = _run_hook(json.dumps(RATE_LIMIT_EVENT).encode())
    assert result.returncode == 0
    assert result.stdout == b""
    assert b"synapse index" in result.stderr
    assert not (_isolated_home / "synapse.db").exists()


def test_cold_start_is_light_and_fast():
    """Same budget as ``synapse search``: nothing heavy imported, answer well under a second."""
    build_default_index()
    probe = (
        "import sys, json\n"
        "from synapse_ai.kb.cli import main\n"
        "try:\n    main(['hook'])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], input=json.dumps(RATE_LIMIT_EVENT).encode(), capture_output=True, timeout=60
    )
    assert json.loads(result.stdout)["hookSpecificOutput"]
    assert json.loads(result.stderr.decode().strip().splitlines()[-1]) == []

    started = time.perf_counter()
    _run_hook(json.dumps(RATE_LIMIT_EVENT).encode())
    assert time.perf_counter() - started < 1.5  # ~0.3 s locally; generous for loaded CI machines


def test_huge_and_junk_events_are_silent_and_exit_zero():
    build_default_index()
    noise = "".join(f"line {i}: building module {i} ok\n" for i in range(120_000))  # ~3.5 MB of routine output
    big = json.dumps({**UNRELATED_EVENT, "error": "Exit code 1\n" + noise + "npm ERR! code ELIFECYCLE"}).encode()
    assert len(big) > 3_000_000
    result = _run_hook(big)
    assert result.returncode == 0 and result.stdout == b"", result.stderr
    junk = bytes(range(256)) * 20_000  # 5 MB of binary junk
    result = _run_hook(junk)
    assert result.returncode == 0 and result.stdout == b""


def test_follow_up_command_names_this_synapse_when_it_is_not_on_path(monkeypatch, tmp_path):
    fake = tmp_path / "venv" / "bin" / "synapse"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(fake), "hook"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert hook.synapse_command() == str(fake.resolve())
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    assert hook.synapse_command() == "synapse"
