"""Load an agent transcript (Anthropic Messages, OpenAI chat or Claude Code) into one neutral shape.

``synapse diagnose`` must accept whatever developers have at hand: a saved request body, a bare
list of messages, a trace written by :class:`synapse_ai.skill.executor.Recorder`, an OpenAI chat log, a
JSONL file with one message per line, or a Claude Code / Agent SDK session transcript (JSONL, one
record per content block; read by :mod:`synapse_ai.skill.claude_code`). All of them become a
:class:`Transcript`: a chronological list of events (context text, assistant turns with tool calls,
tool results, run breaks) plus per-call timings. Anything malformed raises :class:`TranscriptError` with one
readable sentence.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synapse_ai.kb.errors import UserError

__all__ = ["Call", "Transcript", "TranscriptError", "load_path", "parse_transcript", "replace_surrogates"]

_SURROGATE = re.compile("[\ud800-\udfff]")


class TranscriptError(UserError, ValueError):
    """The input is not a transcript we can read; the message says what is wrong."""


@dataclasses.dataclass
class Call:
    """One tool call and what came back."""

    id: str
    name: str
    input: Any
    turn: int  # 1-based number of the assistant message that issued it
    result: str = ""
    is_error: bool = False
    seconds: float | None = None  # measured duration, when the trace has one
    start: float | None = None
    end: float | None = None
    thread: str | None = None  # a subagent's calls name their thread ("agent:<id>"); None = the main one


@dataclasses.dataclass
class Transcript:
    """Neutral view of a transcript.

    ``events`` holds tuples: ``("text", str)`` for context the model had (system prompt, user
    text, assistant prose, tool schemas); ``("turn", [Call, ...])`` for an assistant message with
    tool calls; ``("results", [Call, ...])`` when those calls' results arrive; ``("break", why)``
    when a run of tool turns ends (new user input or an assistant turn without tool calls).
    """

    format: str
    events: list[tuple[str, Any]]
    calls: dict[str, Call]
    assistant_turns: int
    message_count: int
    model_latencies: list[float]
    unmatched_timings: list[str]


def load_path(path: str) -> Any:
    """Read a transcript file (``-`` = stdin) as JSON, or JSONL with one message per line."""
    if path == "-":
        import sys

        text = sys.stdin.read()
        label = "stdin"
    else:
        p = Path(path)
        if not p.exists():
            raise TranscriptError(f"no such file: {path}")
        if p.is_dir():
            raise TranscriptError(f"{path} is a directory, not a transcript file")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise TranscriptError(f"{path} is not UTF-8 text; expected a JSON transcript") from None
        except OSError as exc:
            raise TranscriptError(f"cannot read {path}: {exc.strerror or exc}") from None
        label = path
    if not text.strip():
        raise TranscriptError(f"{label} is empty; expected a JSON transcript")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        rows = _jsonl_rows(text)
        if rows is None:
            raise TranscriptError(
                f"{label} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
    if path != "-":
        from .claude_code import looks_like_claude_code, subagent_records

        if looks_like_claude_code(rows):
            rows += subagent_records(Path(path))
    return rows


def _jsonl_rows(text: str) -> list[Any] | None:
    """JSON Lines as a list of objects, or None when ``text`` is not JSONL.

    The last line may be cut off (a session transcript is appended to while it is read): it is
    dropped. A broken line anywhere else means the file is not JSONL.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    rows: list[Any] = []
    for number, line in enumerate(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) - 1 and rows:
                break
            return None
        if not isinstance(row, dict):
            return None
        rows.append(row)
    return rows


def parse_transcript(obj: Any) -> Transcript:
    """Turn a loaded JSON value into a :class:`Transcript` (format detected automatically)."""
    header: Mapping[str, Any] = {}
    from .claude_code import looks_like_claude_code, parse_records  # noqa: PLC0415 - the module imports this one

    if isinstance(obj, Mapping) and looks_like_claude_code([obj]):
        obj = [obj]  # a session file holding a single record
    if looks_like_claude_code(obj):
        return parse_records(obj)
    if isinstance(obj, list):
        messages = obj
    elif isinstance(obj, Mapping):
        if "messages" not in obj:
            keys = ", ".join(sorted(map(str, obj))[:8]) or "none"
            raise TranscriptError(
                f"expected a list of messages or an object with a 'messages' list; found keys: {keys}"
            )
        messages, header = obj["messages"], obj
        if not isinstance(messages, list):
            raise TranscriptError(f"'messages' must be a list, got {type(messages).__name__}")
    else:
        raise TranscriptError(
            f"expected a list of messages or an object with a 'messages' list, got {type(obj).__name__}"
        )
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            raise TranscriptError(f"message {i} is a {type(msg).__name__}, expected an object with a 'role'")
        if not isinstance(msg.get("role"), str):
            raise TranscriptError(f"message {i} has no 'role'")

    fmt = "openai" if _looks_openai(messages) else "anthropic"
    events: list[tuple[str, Any]] = []
    for key in ("system", "instructions"):
        if header.get(key):
            events.append(("text", _plain_text(header[key])))
    if header.get("tools"):
        events.append(("text", json.dumps(header["tools"], ensure_ascii=False, default=str)))
    parser = _parse_openai if fmt == "openai" else _parse_anthropic
    calls, turns = parser(messages, events)

    timings = _read_timings(header.get("timings"))
    unmatched = sorted(set(timings) - set(calls))
    for record in _read_call_records(header.get("calls")):
        call = calls.get(record.get("id"))
        if call is None:
            continue
        call.start, call.end = _num(record.get("start")), _num(record.get("end"))
        if call.seconds is None:
            call.seconds = _num(record.get("duration_s"))
    for call_id, seconds in timings.items():
        if call_id in calls:
            calls[call_id].seconds = seconds
    latencies = [
        x for x in (_num(m.get("duration_s")) for m in _read_call_records(header.get("model_calls"))) if x is not None
    ]
    return Transcript(fmt, events, calls, turns, len(messages), latencies, unmatched)


# --------------------------------------------------------------------------- helpers


def replace_surrogates(value: Any) -> Any:
    """A JSON-like ``value`` with every lone UTF-16 surrogate in its text replaced by U+FFFD.

    JSON may spell them as ``\\ud800`` escapes and ``json.loads`` keeps them, but they cannot be
    encoded as UTF-8, so printing or sending them fails. The value is returned unchanged (the same
    object) when it holds none.
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    if not _SURROGATE.search(text):
        return value
    return json.loads(_SURROGATE.sub("\ufffd", text))


def _looks_openai(messages: list[Mapping[str, Any]]) -> bool:
    for msg in messages:
        if msg.get("role") in ("tool", "function") or "tool_calls" in msg or "function_call" in msg:
            return True
    return False


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def _read_timings(raw: Any) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TranscriptError("'timings' must be an object mapping tool_use id to seconds")
    timings = {}
    for key, value in raw.items():
        seconds = _num(value)
        if seconds is None:
            raise TranscriptError(f"timing for '{key}' must be a non-negative number of seconds, got {value!r}")
        timings[str(key)] = seconds
    return timings


def _read_call_records(raw: Any) -> list[Mapping[str, Any]]:
    if not isinstance(raw, list):
        return []
    return [r for r in raw if isinstance(r, Mapping)]


def _plain_text(content: Any) -> str:
    """Text of a message content: a string, or the text of a list of blocks/parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping):
                if isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif block.get("type") == "tool_result":
                    parts.append(_plain_text(block.get("content")))
        return "\n".join(parts)
    if isinstance(content, Mapping):
        return json.dumps(content, ensure_ascii=False, default=str)
    return str(content)


def _blocks(msg: Mapping[str, Any], index: int) -> list[Mapping[str, Any]]:
    content = msg.get("content")
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise TranscriptError(f"message {index} content must be a string or a list of blocks")
    blocks = []
    for block in content:
        if isinstance(block, str):
            blocks.append({"type": "text", "text": block})
        elif isinstance(block, Mapping):
            blocks.append(block)
        else:
            raise TranscriptError(f"message {index} has a content block that is a {type(block).__name__}")
    return blocks


def _parse_anthropic(messages: list[Mapping[str, Any]], events: list[tuple[str, Any]]) -> tuple[dict[str, Call], int]:
    calls: dict[str, Call] = {}
    turns = 0
    for index, msg in enumerate(messages):
        role = msg["role"]
        blocks = _blocks(msg, index)
        text = "\n".join(b["text"] for b in blocks if isinstance(b.get("text"), str))
        if role == "assistant":
            turns += 1
            if text:
                events.append(("text", text))
            batch = []
            for block in blocks:
                if block.get("type") != "tool_use":
                    continue
                call_id = block.get("id")
                if not isinstance(call_id, str) or not call_id:
                    raise TranscriptError(f"message {index} has a tool_use block without an 'id'")
                call = Call(call_id, str(block.get("name") or "?"), block.get("input") or {}, turns)
                calls[call_id] = call
                batch.append(call)
            events.append(("turn", batch) if batch else ("break", "assistant turn without tool calls"))
        elif role == "user":
            arrived = []
            for block in blocks:
                if block.get("type") == "tool_result":
                    call = calls.get(block.get("tool_use_id"))
                    if call is not None:
                        call.result = _plain_text(block.get("content"))
                        call.is_error = bool(block.get("is_error"))
                        arrived.append(call)
            if arrived:
                events.append(("results", arrived))
            if text:
                events.append(("text", text))
            if not arrived:
                events.append(("break", "new user message"))
        elif role in ("system", "developer"):
            events.append(("text", text))
        else:
            raise TranscriptError(f"message {index} has unknown role '{role}'")
    return calls, turns


def _parse_openai(messages: list[Mapping[str, Any]], events: list[tuple[str, Any]]) -> tuple[dict[str, Call], int]:
    calls: dict[str, Call] = {}
    turns = 0
    pending_results: list[Call] = []
    last_function_call: Call | None = None

    def flush() -> None:
        if pending_results:
            events.append(("results", list(pending_results)))
            pending_results.clear()

    for index, msg in enumerate(messages):
        role = msg["role"]
        text = _plain_text(msg.get("content"))
        if role in ("tool", "function"):
            call = calls.get(msg.get("tool_call_id")) if role == "tool" else last_function_call
            if call is not None:
                call.result = text
                pending_results.append(call)
            continue
        flush()
        if role == "assistant":
            turns += 1
            if text:
                events.append(("text", text))
            batch = []
            raw_calls = msg.get("tool_calls") or []
            if not isinstance(raw_calls, list):
                raise TranscriptError(f"message {index} 'tool_calls' must be a list")
            if msg.get("function_call"):
                raw_calls = raw_calls + [{"id": f"function_call_{index}", "function": msg["function_call"]}]
            for raw in raw_calls:
                if not isinstance(raw, Mapping):
                    raise TranscriptError(f"message {index} has a tool call that is not an object")
                fn = raw.get("function") if isinstance(raw.get("function"), Mapping) else {}
                call_id = raw.get("id")
                if not isinstance(call_id, str) or not call_id:
                    raise TranscriptError(f"message {index} has a tool call without an 'id'")
                call = Call(call_id, str(fn.get("name") or "?"), _arguments(fn.get("arguments")), turns)
                calls[call_id] = call
                batch.append(call)
                last_function_call = call
            events.append(("turn", batch) if batch else ("break", "assistant turn without tool calls"))
        elif role == "user":
            if text:
                events.append(("text", text))
            events.append(("break", "new user message"))
        elif role in ("system", "developer"):
            events.append(("text", text))
        else:
            raise TranscriptError(f"message {index} has unknown role '{role}'")
    flush()
    return calls, turns


def _arguments(raw: Any) -> Any:
    """OpenAI sends arguments as a JSON string; keep unparsable text as one string value."""
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {"arguments": raw}
    return raw if raw is not None else {}
