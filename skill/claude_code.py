"""Read Claude Code / Claude Agent SDK session transcripts (JSONL) into a :class:`Transcript`.

Why a reader of its own: the agents most people run every day already write a complete,
timestamped transcript (``~/.claude/projects/<project>/<session-id>.jsonl``; every hook payload
carries its ``transcript_path``), but it is not a list of Messages-API messages. Each line is one
*record*::

    {"type": "assistant", "uuid": "...", "parentUuid": "...", "isSidechain": false,
     "sessionId": "...", "timestamp": "2026-01-20T11:57:19.402Z", "requestId": "req_...",
     "message": {"id": "msg_...", "role": "assistant", "model": "...",
                 "content": [{"type": "tool_use", "id": "toolu_...", "name": "Read", "input": {...}}]}}
    {"type": "user", "timestamp": "...", "sourceToolAssistantUUID": "...", "toolUseResult": {...},
     "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_...",
                                              "content": "..."}]}}

What this reader relies on (the format is not formally specified; these are the documented,
stable parts):

* one record per content block: the records of one API response share ``message.id`` (and
  ``requestId``), so a response is rebuilt by grouping on ``message.id``, in order of first
  appearance (a result may be written before the response's last block: Claude Code starts
  read-only tools while the response still streams);
* tool results arrive in ``user`` records, one ``tool_result`` block each, paired by
  ``tool_use_id``; a ``user`` record with text is the person typing (a run of tool turns ends);
* every record has an ISO-8601 ``timestamp``: a call's duration is its result record's time minus
  its ``tool_use`` record's time (measured, not a default), and a model round trip is the time from
  the last record before a response to that response's first record;
* ``isSidechain: true`` records (with ``agentId``) belong to a subagent (the Task/Agent tool); each
  subagent is its own conversation, so it is analysed as a separate thread after the main one,
  never mixed into the main thread's turns. Newer versions write subagents to
  ``<session-id>/subagents/agent-<id>.jsonl`` next to the session file: :func:`subagent_records`
  reads those;
* other record types (``summary``, ``file-history-snapshot``, ``system``, ``progress``,
  ``queue-operation``, ``attachment`` ...) and ``isMeta`` user records carry nothing about tool
  calls and are skipped; a ``summary`` or a compaction summary ends a run.

Sources the fixtures and this reader were built from (public, no private data): the field tables
in DRMacIver/claude-reliability ``notes/transcript-format.md`` (Claude Code 2.1.12: ``message.id``,
``requestId``, ``toolUseResult``, ``sourceToolAssistantUUID``, ``isMeta``), alicoding/claude-parser
``docs/JSONL-STRUCTURE.md`` (``isSidechain``, ``summary`` records), the ``agent-<id>.jsonl`` and
``subagents/`` layout described in erk's ``docs/learned/sessions/layout.md`` and in
daymade/claude-code-skills#472 ("one content block per JSONL line ... group by ``message.id``"),
langfuse/claude-observability-plugin#8 (responses split across rows with one ``message.id``) and
anthropics/claude-code#24663 (a corrupted last line after a streaming fallback).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .transcript import Call, Transcript, _plain_text

__all__ = ["FORMAT", "looks_like_claude_code", "parse_records", "subagent_records"]

FORMAT = "claude-code"
_MESSAGE_TYPES = ("user", "assistant")
MAIN_THREAD = "main"


def looks_like_claude_code(rows: Any) -> bool:
    """True for a list of Claude Code records (``type`` + ``message`` object, no top-level ``role``)."""
    if not isinstance(rows, list) or not rows:
        return False
    hits = 0
    for row in rows:
        if not isinstance(row, Mapping) or "role" in row:
            return False
        if row.get("type") in _MESSAGE_TYPES and isinstance(row.get("message"), Mapping):
            hits += 1
    return hits > 0


def timestamp_seconds(value: Any) -> float | None:
    """Seconds since the epoch for an ISO-8601 record timestamp (``...Z`` accepted); None if unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / (1000.0 if value > 1e11 else 1.0)  # milliseconds or seconds
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def thread_of(record: Mapping[str, Any]) -> str:
    """``main`` for the session's own records, ``agent:<id>`` (or ``sidechain``) for a subagent's."""
    if not record.get("isSidechain"):
        return MAIN_THREAD
    agent = record.get("agentId")
    return f"agent:{agent}" if isinstance(agent, str) and agent else "sidechain"


def subagent_records(session_file: Path) -> list[dict[str, Any]]:
    """Records of the subagent transcripts stored beside ``session_file`` (``<stem>/subagents/*.jsonl``).

    Each record is marked as a sidechain of its agent (the file name gives the id when the record
    does not), so the subagent is analysed as its own thread. Unreadable lines are skipped.
    """
    folder = session_file.with_suffix("") / "subagents"
    if not folder.is_dir():
        return []
    records: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.jsonl")):
        agent = path.stem[len("agent-") :] if path.stem.startswith("agent-") else path.stem
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                row.setdefault("agentId", agent)
                row["isSidechain"] = True
                records.append(row)
    return records


class _Thread:
    """The events of one conversation (the main session or one subagent), built record by record."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[tuple[str, Any]] = []
        self.turns: dict[str, list[Call]] = {}  # message.id -> the response's calls (grows as blocks arrive)
        self.turn_number: dict[str, int] = {}
        self.open_turn: str | None = None  # the response whose blocks are still arriving
        self.turn_event: dict[str, int] = {}  # message.id -> index of its "turn" event
        self.had_tools: dict[str, bool] = {}
        self.last_time: float | None = None  # time of the latest record that the model will answer


def parse_records(records: Iterable[Any], calls: dict[str, Call] | None = None) -> Transcript:
    """Rebuild API responses, pair calls with results and time them; see the module docstring."""
    calls = {} if calls is None else calls
    threads: dict[str, _Thread] = {}
    order: list[str] = []
    latencies: list[float] = []
    turn_count = 0
    count = 0
    for record in records:
        if not isinstance(record, Mapping):
            continue
        kind = record.get("type")
        name = thread_of(record)
        thread = threads.get(name)
        if thread is None:
            thread = threads[name] = _Thread(name)
            order.append(name)
        if kind == "summary" or record.get("isCompactSummary"):
            _close(thread)
            thread.events.append(("break", "conversation compacted"))
            continue
        message = record.get("message")
        if kind not in _MESSAGE_TYPES or not isinstance(message, Mapping):
            continue  # file-history-snapshot, system, progress, queue-operation, attachment ...
        count += 1
        when = timestamp_seconds(record.get("timestamp"))
        if kind == "assistant":
            turn_count = _assistant(thread, record, message, when, calls, turn_count, latencies)
        elif not record.get("isMeta"):
            _user(thread, message, when, calls)
    events: list[tuple[str, Any]] = []
    for name in order:
        thread = threads[name]
        _close(thread)
        if events and thread.events:
            events.append(("break", f"subagent transcript ({name})"))
        events.extend(thread.events)
    return Transcript(FORMAT, events, calls, turn_count, count, latencies, [])


def _close(thread: _Thread) -> None:
    """The response still receiving blocks is complete: a response without tool calls ends the run."""
    key = thread.open_turn
    if key is not None and not thread.had_tools.get(key):
        thread.events[thread.turn_event[key]] = ("text", "")  # no calls: not a tool turn after all
        thread.events.append(("break", "assistant turn without tool calls"))
    thread.open_turn = None


def _assistant(
    thread: _Thread,
    record: Mapping[str, Any],
    message: Mapping[str, Any],
    when: float | None,
    calls: dict[str, Call],
    turn_count: int,
    latencies: list[float],
) -> int:
    key = message.get("id") or record.get("requestId") or record.get("uuid") or f"record-{id(record)}"
    key = str(key)
    if key not in thread.turns:
        _close(thread)
        turn_count += 1
        thread.turns[key] = []
        thread.turn_number[key] = turn_count
        thread.had_tools[key] = False
        thread.open_turn = key
        thread.turn_event[key] = len(thread.events)
        thread.events.append(("turn", thread.turns[key]))
        if when is not None and thread.last_time is not None and when >= thread.last_time:
            latencies.append(when - thread.last_time)
    content = message.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}] if content else []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "tool_use" and isinstance(block.get("id"), str) and block["id"]:
            call = Call(block["id"], str(block.get("name") or "?"), block.get("input") or {}, thread.turn_number[key])
            call.start = when
            if thread.name != MAIN_THREAD:
                call.thread = thread.name
            calls[call.id] = call
            thread.turns[key].append(call)
            thread.had_tools[key] = True
        elif isinstance(block.get("text"), str) and block["text"].strip():
            thread.events.append(("text", block["text"]))
    return turn_count


def _user(thread: _Thread, message: Mapping[str, Any], when: float | None, calls: dict[str, Call]) -> None:
    content = message.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}] if content else []
    arrived: list[Call] = []
    texts: list[str] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "tool_result":
            call = calls.get(block.get("tool_use_id"))
            if call is None:
                continue
            call.result = _plain_text(block.get("content"))
            call.is_error = bool(block.get("is_error"))
            call.end = when
            if when is not None and call.start is not None and when >= call.start:
                call.seconds = when - call.start
            arrived.append(call)
        elif isinstance(block.get("text"), str) and block["text"].strip():
            texts.append(block["text"])
    if when is not None:
        thread.last_time = when
    if arrived:
        thread.events.append(("results", arrived))
    if texts:
        _close(thread)
        thread.events.append(("text", "\n".join(texts)))
        thread.events.append(("break", "new user message"))
