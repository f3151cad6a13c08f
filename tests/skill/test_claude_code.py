"""Claude Code session transcripts: ``synapse diagnose`` reads them, the PostToolUse nudge speaks on them.

The sessions in ``data/claude_code/`` are written in Claude Code's record format by
``claude_code_sessions.py`` (sources of the format: ``synapse_ai.skill.claude_code``'s docstring).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from synapse_ai.skill.claude_code import parse_records
from synapse_ai.skill.diagnose import diagnose, diagnose_command
from synapse_ai.skill.nudge_hook import read_tail, respond
from synapse_ai.skill.transcript import load_path

from .claude_code_sessions import DATA, Session, load_labelled, post_tool_use_events, read, score, text

LABELLED = load_labelled()
SYNAPSE = str(Path(sys.executable).with_name("synapse"))


def rows_of(name):
    return LABELLED[name][0]


def write_jsonl(path, rows, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- diagnose


def test_diagnose_recognises_a_session_file_and_times_calls_from_timestamps():
    report = diagnose(load_path(str(DATA / "sequential_reads.jsonl")))
    summary = report["summary"]
    assert summary["format"] == "claude-code" and summary["timings"] == "measured"
    assert summary["tool_calls"] == 4 and summary["assistant_turns"] == 5
    (finding,) = report["findings"]
    assert finding["kind"] == "sequential-tool-calls" and finding["turns"] == [1, 2, 3, 4]
    assert finding["tool_use_ids"] == LABELLED["sequential_reads"][1][0]
    assert all(call["measured"] and call["seconds"] == 0.05 for call in finding["calls"])
    # the model's round trips are measured too: 3.0, 3.4, 2.9, 3.1 and 6.0 s in the session
    assert finding["model_round_trip_s"] == pytest.approx(3.68, abs=0.01)
    assert report["fix"]["entry"] == "sequential-tool-calls"


@pytest.mark.parametrize("name", ["batched_reads", "dependent_chain", "write_then_test", "read_follow_import"])
def test_diagnose_finds_nothing_to_batch(name):
    report = diagnose(rows_of(name))
    assert [f for f in report["findings"] if f["kind"] == "sequential-tool-calls"] == []


def test_diagnose_reports_polling_as_loops_not_batches():
    report = diagnose(rows_of("polling"))
    assert [f["kind"] for f in report["findings"]] == ["repeated-tool-call", "repeated-tool-call"]
    assert [f["repeats"] for f in report["findings"]] == [4, 3]


def test_a_subagent_is_its_own_thread():
    report = diagnose(rows_of("subagent_sequential"))
    (finding,) = report["findings"]
    assert finding["thread"] == "agent:a3f9c21" and finding["message"].startswith("In subagent a3f9c21:")
    assert finding["tool_use_ids"] == LABELLED["subagent_sequential"][1][0]


def test_subagent_files_beside_the_session_are_read(tmp_path):
    rows = rows_of("subagent_sequential")
    main = [r for r in rows if not r.get("isSidechain")]
    side = [{k: v for k, v in r.items() if k not in ("isSidechain", "agentId")} for r in rows if r.get("isSidechain")]
    session = write_jsonl(tmp_path / "1f0a2b3c.jsonl", main)
    (tmp_path / "1f0a2b3c" / "subagents").mkdir(parents=True)
    write_jsonl(tmp_path / "1f0a2b3c" / "subagents" / "agent-a3f9c21.jsonl", side)
    (finding,) = diagnose(load_path(str(session)))["findings"]
    assert finding["thread"] == "agent:a3f9c21" and len(finding["tool_use_ids"]) == 3


def test_a_partial_last_line_and_foreign_record_types_are_survived(tmp_path):
    rows = rows_of("long_session")
    assert {r["type"] for r in rows} >= {"summary", "progress", "user", "assistant"}
    path = write_jsonl(tmp_path / "s.jsonl", rows, tail='{"parentUuid":"x","type":"assistant","message":{"id":"m')
    result = CliRunner().invoke(diagnose_command, [str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"]["format"] == "claude-code" and len(report["findings"]) == 1
    broken = tmp_path / "broken.jsonl"
    lines = [json.dumps(r) for r in rows]
    broken.write_text("\n".join(lines[:3] + ["{not json"] + lines[3:]) + "\n")
    result = CliRunner().invoke(diagnose_command, [str(broken)])
    assert result.exit_code == 1 and "not valid JSON" in result.output and "Traceback" not in result.output


def test_quick_calls_of_one_response_are_not_reported_as_run_one_after_another():
    """Block records are written as the response streams: a 10 ms call can end before the next block
    is written, which says nothing about how Claude Code ran them."""
    s = Session("quick-0000", 41)
    s.user("Read shop/a.py, shop/b.py and shop/c.py")
    s.respond(*[read(f"/p/shop/{n}.py", "X = 1\n", seconds=0.01) for n in "abc"])
    s.respond(text("Done."))
    assert diagnose(s.rows)["findings"] == []


def test_a_response_split_over_records_is_one_turn_even_with_a_result_between_its_blocks():
    s = Session("split-0000", 40)
    s.user("Read shop/a.py and shop/b.py")
    s.respond(text("Both."), read("/p/shop/a.py", "A = 1\n"), read("/p/shop/b.py", "B = 2\n", seconds=2.0))
    rows = s.rows
    # move the first result before the second tool_use record, as a streaming executor writes it
    first_result = next(i for i, r in enumerate(rows) if "toolUseResult" in r)
    second_use = max(i for i, r in enumerate(rows) if r["type"] == "assistant")
    rows.insert(second_use, rows.pop(first_result))
    transcript = parse_records(rows)
    turns = [p for kind, p in transcript.events if kind == "turn" and p]
    assert len(turns) == 1 and [c.name for c in turns[0]] == ["Read", "Read"]
    assert transcript.assistant_turns == 1 and all(c.seconds is not None for c in turns[0])


# --------------------------------------------------------------------------- the PostToolUse nudge


@pytest.mark.parametrize("lagging", [False, True], ids=["flushed", "response-not-on-disk-yet"])
def test_nudge_precision_and_recall_on_the_labelled_sessions(tmp_path, lagging):
    result = score(tmp_path, respond, lagging=lagging)
    assert result["labelled_runs"] >= 5
    assert result["precision"] >= 0.9, result["sessions"]
    assert result["recall"] >= 0.8, result["sessions"]


def test_nudge_speaks_once_per_run_with_the_documented_output_shape(tmp_path):
    rows, (run,) = LABELLED["sequential_reads"]
    path = tmp_path / "s.jsonl"
    answers = []
    for index, payload, now in post_tool_use_events(rows, str(path)):
        write_jsonl(path, rows[:index])
        answers.append((payload["tool_use_id"], respond(payload, now=now)))
    spoken = [(call, a) for call, a in answers if a]
    assert [call for call, _ in spoken] == [run[2]]  # at the third of four reads, and only there
    ((_, answer),) = spoken
    assert list(answer) == ["hookSpecificOutput"]
    out = answer["hookSpecificOutput"]
    assert out["hookEventName"] == "PostToolUse" and set(out) == {"hookEventName", "additionalContext"}
    note = out["additionalContext"]
    assert "shop/cart.py" in note and "shop/prices.py" in note and "shop/orders.py" in note
    assert "one per response" in note and "in one response" in note and len(note) < 900


def test_nudge_uses_the_subagent_file_named_by_agent_id(tmp_path):
    rows = rows_of("subagent_sequential")
    main = [r for r in rows if not r.get("isSidechain")]
    session = write_jsonl(tmp_path / "sess.jsonl", main)
    subagents = tmp_path / "sess" / "subagents"
    subagents.mkdir(parents=True)
    events = post_tool_use_events(rows, str(session))
    sidechain_events = [(i, p) for i, p, _ in events if p.get("agent_id")]
    index, payload = sidechain_events[2]
    write_jsonl(subagents / "agent-a3f9c21.jsonl", [r for r in rows[:index] if r.get("isSidechain")])
    answer = respond(payload)
    assert answer and "docs/api.md" in answer["hookSpecificOutput"]["additionalContext"]
    assert respond({**payload, "agent_id": "../../etc"}) is None  # not a file name: no subagent file is looked for


def test_tail_read_is_bounded_and_still_finds_the_run(tmp_path):
    rows, (run,) = LABELLED["git_inspection"]
    filler = rows_of("batched_reads") * 400  # earlier work in the same session, about 3.5 MB
    index, payload = [(i, p) for i, p, _ in post_tool_use_events(rows, "") if p["tool_use_id"] == run[2]][0]
    path = write_jsonl(tmp_path / "big.jsonl", filler + rows[:index])
    payload["transcript_path"] = str(path)
    assert path.stat().st_size > 3_000_000
    tail = read_tail(path)
    total = len(filler) + index
    assert 0 < len(tail) < total / 10  # one 256 kB window from the end, not the whole file
    assert tail[-1] == rows[index - 1] and tail[0] != filler[0]
    assert respond(payload)


def test_nudge_is_silent_on_what_it_cannot_read(tmp_path, monkeypatch):
    rows, (run,) = LABELLED["git_inspection"]
    index, payload = [(i, p) for i, p, _ in post_tool_use_events(rows, "") if p["tool_use_id"] == run[2]][0]
    path = write_jsonl(tmp_path / "s.jsonl", rows[:index])
    payload["transcript_path"] = str(path)
    assert respond(payload)
    assert respond({**payload, "transcript_path": str(tmp_path / "missing.jsonl")}) is None
    assert respond({**payload, "transcript_path": str(tmp_path)}) is None  # a directory
    assert respond({**payload, "tool_use_id": "toolu_unknown"}) is None
    assert respond({**payload, "transcript_path": 7}) is None
    (tmp_path / "bin.jsonl").write_bytes(os.urandom(4096))
    assert respond({**payload, "transcript_path": str(tmp_path / "bin.jsonl")}) is None
    monkeypatch.setenv("SYNAPSE_NUDGE", "0")
    assert respond(payload) is None


def test_synapse_hook_command_answers_post_tool_use_without_loading_the_knowledge_base(tmp_path):
    rows, (run,) = LABELLED["git_inspection"]
    index, payload = [(i, p) for i, p, _ in post_tool_use_events(rows, "") if p["tool_use_id"] == run[2]][0]
    payload["transcript_path"] = str(write_jsonl(tmp_path / "s.jsonl", rows[:index]))
    env = {**os.environ, "SYNAPSE_HOME": str(tmp_path / "home"), "SYNAPSE_DB": str(tmp_path / "none.db")}
    done = subprocess.run(
        [SYNAPSE, "hook"], input=json.dumps(payload).encode(), capture_output=True, env=env, timeout=60
    )
    assert done.returncode == 0 and done.stderr == b""
    assert json.loads(done.stdout)["hookSpecificOutput"]["hookEventName"] == "PostToolUse"
    for bad in (b"not json", b"", json.dumps({**payload, "transcript_path": "/nonexistent"}).encode()):
        done = subprocess.run([SYNAPSE, "hook"], input=bad, capture_output=True, env=env, timeout=60)
        assert done.returncode == 0 and done.stdout == b""
    probe = (
        "import sys, json\n"
        "from synapse_ai.skill.hook import run\n"
        f"run(json.dumps({payload!r}).encode())\n"
        "heavy = [m for m in ('numpy', 'sqlite_utils', 'torch', 'rich', 'synapse_ai.kb.service',"
        " 'synapse_ai.kb.store') if m in sys.modules]\n"
        "print(json.dumps(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
