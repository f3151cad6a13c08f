"""Notice, while an agent runs, that it just made independent tool calls one per turn.

``synapse diagnose`` explains a finished transcript. This module answers a narrower question on
a transcript that is still growing: *did the turn that just ended complete a run of at least
``MIN_TURNS`` turns, each issuing one call, none needing another's result?* It is shared by the
Claude Code ``PostToolUse`` nudge (:mod:`synapse_ai.skill.nudge_hook`) and by the run-time warning
of :class:`synapse_ai.skill.executor.Recorder`, so both say the same thing for the same calls.

The dependency rules are those of :mod:`synapse_ai.skill.parallelism` (data: an input uses a value
first seen in an earlier result; effects: a write and a read of the same thing, a command whose
effects cannot be checked, a test run after a write; repetition: the same call again is a poll).
On top of them, tools that are bookkeeping, questions to the user, subagents or polls of a
background job (``TodoWrite``, ``AskUserQuestion``, ``Task``, ``BashOutput`` ...) never join a run:
batching them would not save a model round trip worth mentioning, or would be wrong.

The run that ends at turn ``t`` is built backwards: the turn before joins while it issued exactly
one call and that call is independent of every call already in the run. Because independence is
checked pairwise, the answer depends only on the transcript, never on what was said before; that
is what makes "at most once per run" possible without state: the run ending now is reported only
when none of its shorter prefixes already qualified (each of those was the run ending at an
earlier turn, when the nudge or the warning was evaluated on a shorter transcript).

Standard library only (plus :mod:`.parallelism` and :mod:`.transcript`): the Claude Code hook
imports this on every tool call.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .parallelism import Effects, _data_dependencies, call_key, conflict, effects
from .transcript import Call, Transcript

__all__ = ["MIN_SAVING_S", "MIN_TURNS", "SplitRun", "describe_call", "latest_run"]

MIN_TURNS = 3  # one-call turns in a row before anything is said
MIN_SAVING_S = 2.0  # below this the saving is not worth a sentence in the model's context
MAX_LOOKBACK = 12  # turns looked at behind the current one
# Tools that never belong in a batch: bookkeeping, questions, plan mode, subagents, background polls.
NEVER_BATCHED = frozenset(
    """TodoWrite TodoRead AskUserQuestion ExitPlanMode EnterPlanMode Task Agent Skill SlashCommand
    BashOutput KillShell KillBash TaskOutput""".split()
)


@dataclasses.dataclass
class SplitRun:
    """Calls made one per turn that could have gone out in one turn, and what that cost."""

    calls: list[Call]
    turns: list[int]
    sequential_s: float  # first call issued -> last call done, as it happened
    together_s: float  # the slowest call: all issued at once
    measured: bool  # False when some seconds were assumed (no timestamps)

    @property
    def saved_s(self) -> float:
        return max(0.0, self.sequential_s - self.together_s)

    @property
    def turns_saved(self) -> int:
        return len(self.turns) - 1


def latest_run(
    transcript: Transcript,
    *,
    last_call: str | None = None,
    min_turns: int = MIN_TURNS,
    min_saving_s: float = MIN_SAVING_S,
    default_latency: float = 1.0,
) -> SplitRun | None:
    """The run of one-call turns ending at the latest tool turn, when it should be reported now.

    ``last_call`` picks the turn by one of its call ids (the call a hook fires for); by default
    the last tool turn of the transcript. Returns None when the run is shorter than
    ``min_turns``, saves less than ``min_saving_s``, or was already reportable at an earlier turn.
    """
    turns = _tool_turns(transcript, last_call)
    if len(turns) < min_turns or len(turns[-1]) != 1:
        return None
    data_deps = _data_deps(transcript)
    effects_of: dict[str, Effects] = {}

    def eff(call: Call) -> Effects:
        if call.id not in effects_of:
            effects_of[call.id] = effects(call)
        return effects_of[call.id]

    def run_ending(index: int) -> list[Call]:
        run = [turns[index][0]]
        if not _batchable(run[0]):
            return []
        for turn in reversed(turns[max(0, index - MAX_LOOKBACK) : index]):
            if len(turn) != 1 or not _batchable(turn[0]):
                break
            earlier = turn[0]
            if any(_depends(earlier, later, data_deps, eff) for later in run):
                break
            run.insert(0, earlier)
        return run

    def qualifying(run: list[Call]) -> SplitRun | None:
        if len(run) < min_turns:
            return None
        split = _price(run, transcript, default_latency)
        return split if split.saved_s >= min_saving_s else None

    last = len(turns) - 1
    run = run_ending(last)
    found = qualifying(run)
    if found is None:
        return None
    # Said already? Each shorter prefix of this run was the run ending at an earlier turn.
    for k in range(min_turns, len(run)):
        if qualifying(run_ending(last - (len(run) - k))) is not None:
            return None
    return found


def describe_call(call: Call, limit: int = 60) -> str:
    """``Read src/app.py``, ``Bash git status``, ``Grep "TODO"``: the tool and its main argument."""
    value: Any = None
    if isinstance(call.input, dict):
        for key in ("file_path", "path", "notebook_path", "url", "command", "pattern", "query", "prompt"):
            if isinstance(call.input.get(key), str) and call.input[key].strip():
                value = call.input[key].strip()
                break
        scalars = [v for v in call.input.values() if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        if value is None and len(call.input) == 1 and scalars:
            value = scalars[0]
        if value is None and call.input:
            value = json.dumps(call.input, ensure_ascii=False, default=str)
    elif call.input:
        value = str(call.input)
    text = f"{call.name} {' '.join(str(value).split())}" if value else call.name
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- internals


def _tool_turns(transcript: Transcript, last_call: str | None) -> list[list[Call]]:
    """Tool turns since the last break, up to and including the chosen turn (same thread only)."""
    target = transcript.calls.get(last_call) if last_call else None
    turns: list[list[Call]] = []
    for kind, payload in transcript.events:
        if kind == "break":
            turns = []
            continue
        if kind != "turn" or not payload:
            continue
        if target is not None and payload[0].thread != target.thread:
            continue
        turns.append(payload)
        if target is not None and any(c.id == target.id for c in payload):
            return turns
    return [] if target is not None else turns


def _data_deps(transcript: Transcript) -> dict[str, dict[str, str]]:
    _runs, deps = _data_dependencies(transcript)
    return deps


def _batchable(call: Call) -> bool:
    return call.name not in NEVER_BATCHED


def _depends(earlier: Call, later: Call, data_deps: dict[str, dict[str, str]], eff) -> bool:
    if earlier.id in data_deps.get(later.id, {}):
        return True
    if call_key(earlier) == call_key(later):
        return True  # the same call again: a poll or a re-check, never independent work
    return conflict(earlier, eff(earlier), later, eff(later)) is not None


def _price(run: list[Call], transcript: Transcript, default_latency: float) -> SplitRun:
    """Seconds as it happened (first issued -> last done) versus all issued at once (the slowest call)."""
    seconds = [c.seconds for c in run]
    measured = all(s is not None for s in seconds)
    durations = [s if s is not None else default_latency for s in seconds]
    together = max(durations)
    first, last = run[0], run[-1]
    if first.start is not None and last.end is not None and last.end >= first.start:
        sequential = last.end - first.start
    else:
        rtts = transcript.model_latencies
        rtt = sum(rtts) / len(rtts) if rtts else default_latency
        sequential = sum(durations) + rtt * (len(run) - 1)
        measured = measured and bool(rtts)
    return SplitRun(run, [c.turn for c in run], sequential, together, measured)
