"""``synapse hook`` on ``PostToolUse``: a one-time note when independent calls went out one per turn.

Claude Code runs the hook after every successful tool call with the event on stdin::

    {"hook_event_name": "PostToolUse", "session_id": "...", "transcript_path": "~/.claude/projects/.../<id>.jsonl",
     "cwd": "...", "tool_name": "Read", "tool_input": {...}, "tool_response": {...},
     "tool_use_id": "toolu_...", "duration_ms": 41, "agent_id": "..." (calls made inside a subagent)}

and reads ``{"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "..."}}``
from stdout (exit 0), adding the text to what the model sees next to the tool result. That shape
is the one the Claude Code hooks reference gives under "PostToolUse decision control" (quoted in
anthropics/claude-code#19115: ``"hookSpecificOutput": {"hookEventName": "PostToolUse",
"additionalContext": "Additional information for Claude"}``); ``decision: "block"`` is not used,
nothing is blocked. ``duration_ms``, ``agent_id`` and ``agent_type`` are in the payload although
the reference omitted them (anthropics/claude-code#52607); each is optional here.

What it does, within a budget of a few tens of milliseconds on top of Python's start-up:

* reads only the end of ``transcript_path`` (from ``TAIL_START_BYTES``, doubling up to
  ``TAIL_MAX_BYTES``) and parses it from the last line backwards, stopping at the person's last
  message or after ``MAX_LOOKBACK`` tool turns: the cost does not grow with the session;
* rebuilds the last turns (:mod:`synapse_ai.skill.claude_code`), adds this call's own result and
  duration from the payload (the transcript may not hold them yet; Claude Code writes it
  asynchronously, so when even the call's own response is not on disk yet, the call is taken as
  the newest turn, on its own), and asks
  :func:`synapse_ai.skill.nudge.latest_run` whether this call completed a run worth one note;
* keeps no state: whether the run was already reported is worked out from the transcript itself
  (see :mod:`synapse_ai.skill.nudge`), so nothing is written, nothing needs cleaning up, and two
  sessions (or two hooks of one session running at once) can never disagree through a shared file;
* prints nothing at all otherwise: on batched calls, dependent chains, writes followed by tests,
  polls, a missing or unreadable transcript, or ``SYNAPSE_NUDGE=0`` in the environment.

Imports: the standard library, :mod:`.nudge`, :mod:`.parallelism`, :mod:`.transcript` and
:mod:`.claude_code`. Never numpy, sqlite-utils or the knowledge base (``bench/nudge.py`` checks).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .claude_code import parse_records
from .nudge import MAX_LOOKBACK, SplitRun, describe_call, latest_run
from .transcript import Call

__all__ = ["EVENT", "build_context", "read_tail", "respond"]

EVENT = "PostToolUse"
TAIL_START_BYTES = 256 * 1024
TAIL_MAX_BYTES = 4 * 1024 * 1024  # one file read of at most this much, whatever the session's size
MAX_CONTEXT_CHARS = 900


def respond(payload: Any, now: float | None = None) -> dict | None:
    """The hook's JSON answer for a ``PostToolUse`` payload, or None (the usual case)."""
    if not isinstance(payload, dict) or payload.get("hook_event_name") != EVENT:
        return None
    try:
        return _respond(payload, now)
    except (OSError, ValueError, RuntimeError, RecursionError):  # odd paths, odd records: say nothing
        return None


def _respond(payload: dict, now: float | None) -> dict | None:
    if os.environ.get("SYNAPSE_NUDGE", "1").strip().lower() in ("0", "off", "false", "no"):
        return None
    call_id = payload.get("tool_use_id")
    path = payload.get("transcript_path")
    if not isinstance(call_id, str) or not call_id or not isinstance(path, str) or not path:
        return None
    now = time.time() if now is None else now
    records = None
    files = _transcript_files(payload, Path(path).expanduser())
    for candidate in files:
        rows = read_tail(candidate)
        if rows and any(_has_call(r, call_id) for r in rows):
            records = rows
            break
    if records is None:
        # Claude Code writes the transcript asynchronously: the response holding this call may not be
        # on disk yet (anthropics/claude-code#87223). The call is then the newest one, in a turn of its own.
        own = next((f for f in files[1:] if f.is_file()), files[0])  # a subagent's file, if it has one
        records = read_tail(own)
        if not records:
            return None
        records.append(_record_for(payload, records, now))
    transcript = parse_records(_since_last_message(records, call_id))
    call = transcript.calls.get(call_id)
    if call is None:
        return None
    _complete(call, payload, now)
    run = latest_run(transcript, last_call=call_id)
    if run is None:
        return None
    return {"hookSpecificOutput": {"hookEventName": EVENT, "additionalContext": build_context(run)}}


def build_context(run: SplitRun) -> str:
    """A short factual note: which calls, seconds one after another vs together, what the model can do."""
    names = "; ".join(describe_call(c) for c in run.calls)
    timing = "" if run.measured else " (estimated)"
    text = (
        f"SynapseAI timing note (facts about this session, not instructions): the last {len(run.calls)} tool calls "
        f"went out one per response ({names}). None of them uses another's result or changes what another one reads. "
        f"One after another they took {run.sequential_s:.1f} s over {len(run.calls)} model responses{timing}; "
        f"issued together in one response they would have taken about {run.together_s:.1f} s "
        f"(about {run.saved_s:.1f} s and {run.turns_saved} model round trips less). "
        "The model can issue independent tool calls in one response, as several tool_use blocks, and they run together."
    )
    return text if len(text) <= MAX_CONTEXT_CHARS else text[: MAX_CONTEXT_CHARS - 1] + "…"


def read_tail(path: Path, start: int = TAIL_START_BYTES, cap: int = TAIL_MAX_BYTES) -> list[dict[str, Any]]:
    """The last records of a JSONL transcript, back to the person's last message.

    Reads a window from the end of the file, growing it (doubling, at most ``cap`` bytes) until it
    reaches the start of the file, the person's last message, or ``MAX_LOOKBACK + 1``
    tool-calling responses. Lines are parsed from the end and parsing stops there, so a session's
    size costs nothing. The first line of a window that does not start the file is cut and
    dropped; so is a last line still being written. Returns [] on any error.
    """
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            window = min(max(1, start), size)
            while True:
                offset = size - window
                handle.seek(offset)
                text = handle.read(window).decode("utf-8", errors="replace")
                rows, reached = _scan_back(text.split("\n")[1 if offset > 0 else 0 :])
                if reached or offset == 0 or window >= cap:
                    return rows
                window = min(size, window * 2, cap)
    except (OSError, ValueError):
        return []


# --------------------------------------------------------------------------- internals


def _transcript_files(payload: dict, main: Path) -> list[Path]:
    """The session transcript, then (for a call made inside a subagent) the subagent's own file."""
    files = [main]
    agent = payload.get("agent_id")
    if isinstance(agent, str) and agent and "/" not in agent and "\\" not in agent:
        for key in ("agent_transcript_path",):
            if isinstance(payload.get(key), str) and payload[key]:
                files.append(Path(payload[key]).expanduser())
        files.append(main.with_suffix("") / "subagents" / f"agent-{agent}.jsonl")
        files.append(main.parent / f"agent-{agent}.jsonl")
    return files


def _scan_back(lines: list[str]) -> tuple[list[dict[str, Any]], bool]:
    """Parse ``lines`` from the last one back; stop after the person's last message or once more than
    ``MAX_LOOKBACK`` tool-calling responses were seen. Returns the records in file order, and whether
    it stopped (True) or ran out of lines (False)."""
    rows: list[dict[str, Any]] = []
    responses: set[str] = set()
    for line in reversed(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line still being written, or a damaged one: skipped, never fatal
        if not isinstance(row, dict):
            continue
        rows.append(row)
        if row.get("type") == "summary" or _is_person(row, sidechain=False):
            return rows[::-1], True
        message = row.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if row.get("type") == "assistant" and isinstance(content, list):
            if any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content):
                responses.add(str(message.get("id") or row.get("uuid")))
                if len(responses) > MAX_LOOKBACK:
                    return rows[::-1], True
    return rows[::-1], False


def _is_person(row: dict[str, Any], sidechain: bool) -> bool:
    """A ``user`` record with text (someone typing, or a subagent's prompt), not a tool result."""
    if row.get("type") != "user" or row.get("isMeta") or bool(row.get("isSidechain")) != sidechain:
        return False
    message = row.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return isinstance(content, str) or (
        isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "text" for b in content)
    )


def _since_last_message(rows: list[dict[str, Any]], call_id: str) -> list[dict[str, Any]]:
    """The records from the last message before the call in the call's own thread (the person's, or
    a subagent's prompt) on: a run never crosses one, so nothing before it is parsed."""
    at = next((i for i in range(len(rows) - 1, -1, -1) if _has_call(rows[i], call_id)), None)
    if at is None:
        return rows
    side = bool(rows[at].get("isSidechain"))
    for i in range(at - 1, -1, -1):
        if _is_person(rows[i], side):
            return rows[i:]
    return rows


def _has_call(row: dict[str, Any], call_id: str) -> bool:
    message = row.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return (
        row.get("type") == "assistant"
        and isinstance(content, list)
        and any(isinstance(b, dict) and b.get("id") == call_id for b in content)
    )


def _record_for(payload: dict, records: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """An assistant record for a call that is not in the transcript yet, built from the payload."""
    duration = payload.get("duration_ms")
    seconds = float(duration) / 1000.0 if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 0.0
    last = records[-1]
    block = {
        "type": "tool_use",
        "id": payload["tool_use_id"],
        "name": str(payload.get("tool_name") or "?"),
        "input": payload.get("tool_input") or {},
    }
    return {
        "type": "assistant",
        "isSidechain": bool(last.get("isSidechain")),
        "agentId": last.get("agentId"),
        "timestamp": max(now - seconds, 0.0),
        "message": {"id": "pending-" + payload["tool_use_id"], "role": "assistant", "content": [block]},
    }


def _complete(call: Call, payload: dict, now: float) -> None:
    """This call's result and timing, from the payload when the transcript does not have them yet."""
    if call.end is None:
        duration = payload.get("duration_ms")
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0:
            seconds = float(duration) / 1000.0
            call.end = (call.start if call.start is not None else now - seconds) + seconds
        else:
            call.end = now
        if call.start is not None and call.end >= call.start:
            call.seconds = call.end - call.start
    if not call.result:
        response = payload.get("tool_response")
        if response is not None:
            text = response if isinstance(response, str) else json.dumps(response, ensure_ascii=False, default=str)
            call.result = text


def main() -> None:
    """``python -m synapse_ai.skill.nudge_hook``: the nudge alone, without the ``synapse`` command's start-up."""
    import sys

    try:
        data = sys.stdin.buffer.read(16_000_000)
        answer = respond(json.loads(data.decode("utf-8", errors="replace") or "null"))
        if answer:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    except Exception:  # noqa: BLE001 - a hook must never break the session
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
