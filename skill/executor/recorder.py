"""Record tool-call timings while an agent runs and save them as a ``synapse diagnose`` trace.

Why: "my agent is slow" is only actionable with numbers. ``synapse diagnose`` reads a transcript
(the messages) plus a ``timings`` map ``tool_use id -> seconds``; this recorder produces exactly
that from a real run, so the report shows measured seconds instead of a default latency.

Usage with :func:`synapse_ai.skill.executor.run_agent` (everything is wired for you)::

    rec = Recorder()
    result = await run_agent(client, ..., tools=tools, recorder=rec)
    rec.save("trace.json")

With your own loop, wrap the tool mapping and pass your history when saving::

    tools = rec.wrap(tools)              # or decorate each function with @rec.tool
    ...                                  # your loop, using synapse_ai.skill.executor or your own code
    rec.save("trace.json", messages=history)

The ``tool_use`` id of each call is taken from :func:`synapse_ai.skill.executor.current_call` (set by the
executor); calls made outside the executor get a generated id ``call_<n>``.

Run-time warning: when calls that could have been one turn arrive one per turn (at least three
turns in a row, independent by the rules of ``synapse diagnose``, saving at least
``warn_min_saving_s``), the recorder logs one ``logging`` warning on the
``synapse_ai.skill.executor`` logger, naming the turns and the seconds lost, so the slowdown is
seen while developing. With :func:`run_agent` the turns are the real ones; with your own loop
(no history given) a call that starts more than ``turn_gap_s`` after every earlier call has
ended is taken to start a new turn. ``Recorder(warn=False)`` turns the warning off.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._core import _is_async_callable, current_call, serialize_result

__all__ = ["CallRecord", "Recorder", "TRANSCRIPT_FORMAT"]

TRANSCRIPT_FORMAT = "synapse-transcript/1"
_PREVIEW_CHARS = 2000
logger = logging.getLogger("synapse_ai.skill.executor")


@dataclasses.dataclass
class CallRecord:
    """One tool execution. ``start``/``end`` are seconds since the recorder was created."""

    id: str
    name: str
    input: dict[str, Any]
    start: float
    end: float | None = None
    result: str | None = None
    is_error: bool = False

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "input": self.input,
            "start": round(self.start, 6),
            "end": None if self.end is None else round(self.end, 6),
            "duration_s": None if self.duration is None else round(self.duration, 6),
            "is_error": self.is_error,
            "result": self.result,
        }


class Recorder:
    """Collects :class:`CallRecord` s (thread-safe) and model-request timings for one run."""

    def __init__(self, *, warn: bool = True, warn_min_saving_s: float | None = None, turn_gap_s: float = 0.05) -> None:
        self.warn = warn
        self.warn_min_saving_s = warn_min_saving_s
        self.turn_gap_s = turn_gap_s
        self._warned: set[str] = set()
        self._in_flight = 0
        self._turn_offset = 0
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()
        self._counter = 0
        self.calls: list[CallRecord] = []
        self.model_calls: list[dict[str, Any]] = []
        self.messages: list[Any] | None = None
        self.system: Any = None
        self.tools_schema: list[Any] | None = None

    # ------------------------------------------------------------------ recording

    def _now(self) -> float:
        return time.perf_counter() - self._t0

    def _begin(self, name: str, kwargs: dict[str, Any]) -> CallRecord:
        call = current_call()
        with self._lock:
            self._counter += 1
            self._in_flight += 1
            call_id = call.id if call is not None else f"call_{self._counter}"
            record = CallRecord(call_id, call.name if call else name, dict(kwargs), self._now())
            self.calls.append(record)
        return record

    def _finish(self, record: CallRecord, value: Any = None, error: BaseException | None = None) -> None:
        record.end = self._now()
        if error is not None:
            record.is_error = True
            text = str(error)
            record.result = f"{type(error).__name__}: {text}" if text else type(error).__name__
        else:
            record.result = serialize_result(value)[:_PREVIEW_CHARS]
        with self._lock:
            self._in_flight -= 1
            idle = self._in_flight == 0
        # Own loop: turns inferred from timing, checked when the last call in flight ends (a batch of
        # 2,000 calls is checked once, not 2,000 times). run_agent checks after each turn itself.
        if self.warn and idle and self.messages is None:
            try:
                self.check_turns()
            except Exception:  # noqa: BLE001 - a diagnostic must never break the tool call it watches
                logger.debug("turn check failed", exc_info=True)

    def tool(self, fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
        """Decorator recording every call of ``fn``; keeps it async if it was async.

        Keeping the kind matters: the executor awaits async tools on the loop and sends sync
        ones to threads, and a wrapper must not change which path a tool takes.
        """
        if fn is None:
            return functools.partial(self.tool, name=name)
        tool_name = name or getattr(fn, "__name__", "tool")

        if _is_async_callable(fn):

            @functools.wraps(fn)
            async def async_wrapper(**kwargs: Any) -> Any:
                record = self._begin(tool_name, kwargs)
                try:
                    value = await fn(**kwargs)
                except asyncio.CancelledError as exc:
                    self._finish(record, error=exc)
                    record.result = "cancelled (timeout or shutdown)"
                    raise
                except BaseException as exc:
                    self._finish(record, error=exc)
                    raise
                self._finish(record, value)
                return value

            return async_wrapper

        @functools.wraps(fn)
        def sync_wrapper(**kwargs: Any) -> Any:
            record = self._begin(tool_name, kwargs)
            try:
                value = fn(**kwargs)
            except BaseException as exc:
                self._finish(record, error=exc)
                raise
            self._finish(record, value)
            return value

        return sync_wrapper

    def wrap(self, tools: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
        """Return a copy of a ``name -> callable`` mapping with every tool recorded."""
        return {tool_name: self.tool(fn, name=tool_name) for tool_name, fn in tools.items()}

    def record_model_call(self, turn: int, started: float, finished: float, stop_reason: Any) -> None:
        """Record one model request (``perf_counter`` readings), used to price saved turns."""
        with self._lock:
            self.model_calls.append(
                {
                    "turn": turn,
                    "start": round(started - self._t0, 6),
                    "end": round(finished - self._t0, 6),
                    "duration_s": round(finished - started, 6),
                    "stop_reason": stop_reason,
                }
            )

    # ------------------------------------------------------------------ run-time warning

    def check_turns(self, messages: Sequence[Any] | None = None) -> Any:
        """Warn once when the latest turn completed a run of independent calls made one per turn.

        Uses ``messages`` (or the history :func:`run_agent` attached), else turns inferred from the
        recorded timings. Returns the :class:`synapse_ai.skill.nudge.SplitRun` it warned about, or None.
        """
        from ..nudge import MIN_SAVING_S, describe_call, latest_run
        from ..transcript import parse_transcript

        history = messages if messages is not None else self.messages
        self._turn_offset = 0
        trace = self.to_transcript(history) if history is not None else self._inferred_transcript()
        minimum = MIN_SAVING_S if self.warn_min_saving_s is None else self.warn_min_saving_s
        run = latest_run(parse_transcript(trace), min_saving_s=minimum)
        with self._lock:
            if run is None or run.calls[0].id in self._warned:
                return None
            self._warned.add(run.calls[0].id)
        turns = [t + self._turn_offset for t in run.turns]
        consecutive = turns == list(range(turns[0], turns[-1] + 1))
        span = f"{turns[0]}-{turns[-1]}" if consecutive else ", ".join(map(str, turns))
        logger.warning(
            "turns %s each issued one tool call (%s) although none needed another's result: %.2f s one after "
            "another, about %.2f s issued in one turn (%.2f s and %d model round trips lost). Ask the model to issue "
            "independent calls together and run them with execute_tool_calls (entry sequential-tool-calls).",
            span,
            "; ".join(describe_call(c) for c in run.calls),
            run.sequential_s,
            run.together_s,
            run.saved_s,
            run.turns_saved,
        )
        return run

    def _inferred_transcript(self) -> dict[str, Any]:
        """A trace for calls recorded without a history: a new turn starts when a call begins more than
        ``turn_gap_s`` after every earlier call has ended (the model was being asked in between)."""
        from ..nudge import MAX_LOOKBACK

        with self._lock:
            records = sorted(self.calls, key=lambda c: c.start)
        messages: list[dict[str, Any]] = []
        busy_until: float | None = None
        starts: list[int] = []  # index in records where each inferred turn begins
        for n, record in enumerate(records):
            if busy_until is None or record.start > busy_until + self.turn_gap_s:
                starts.append(n)
            end = record.end if record.end is not None else record.start
            busy_until = end if busy_until is None else max(busy_until, end)
        # The warning only looks back MAX_LOOKBACK turns: older turns are left out of the trace.
        kept = starts[-(MAX_LOOKBACK + 1) :]
        self._turn_offset = len(starts) - len(kept)  # turns left out, so warnings keep the real numbers
        records = records[kept[0] :] if kept else records
        busy_until = None
        for record in records:
            if busy_until is None or record.start > busy_until + self.turn_gap_s:
                messages += [{"role": "assistant", "content": []}, {"role": "user", "content": []}]
            messages[-2]["content"].append(
                {"type": "tool_use", "id": record.id, "name": record.name, "input": record.input}
            )
            messages[-1]["content"].append(
                {
                    "type": "tool_result",
                    "tool_use_id": record.id,
                    "content": record.result or "",
                    "is_error": record.is_error,
                }
            )
            end = record.end if record.end is not None else record.start
            busy_until = end if busy_until is None else max(busy_until, end)
        return {"messages": messages, "calls": [c.to_dict() for c in records]}

    # ------------------------------------------------------------------ output

    def timings(self) -> dict[str, float]:
        """``tool_use id -> seconds`` for every finished call (the map ``diagnose`` reads)."""
        with self._lock:
            return {c.id: round(c.duration, 6) for c in self.calls if c.duration is not None}

    def to_transcript(self, messages: Sequence[Any] | None = None) -> dict[str, Any]:
        """The trace as a dict: ``messages`` + ``timings`` (+ ``calls``, ``model_calls`` ...)."""
        history = list(messages if messages is not None else (self.messages or []))
        with self._lock:
            calls = [c.to_dict() for c in self.calls]
            model_calls = list(self.model_calls)
        transcript: dict[str, Any] = {"format": TRANSCRIPT_FORMAT}
        if self.system is not None:
            transcript["system"] = self.system
        if self.tools_schema is not None:
            transcript["tools"] = self.tools_schema
        transcript["messages"] = history
        transcript["timings"] = self.timings()
        transcript["calls"] = calls
        if model_calls:
            transcript["model_calls"] = model_calls
        return json.loads(json.dumps(transcript, default=_to_jsonable))

    def save(self, path: str | os.PathLike[str], messages: Sequence[Any] | None = None) -> Path:
        """Write the transcript JSON atomically (temp file + rename) and return its path."""
        target = Path(path)
        data = json.dumps(self.to_transcript(messages), indent=2, ensure_ascii=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def _to_jsonable(value: Any) -> Any:
    """JSON fallback for SDK objects that slipped into the history (content blocks, messages)."""
    for attr in ("to_dict", "model_dump"):
        method = getattr(value, attr, None)
        if callable(method):
            return method()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)
