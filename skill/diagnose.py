"""``synapse diagnose TRACE``: find tool calls an agent ran turn by turn that could have been one batch.

Why: the most common agent slowdown is invisible in logs - every call succeeds, the run is just
slow because independent calls (read three files, fetch four URLs) went out one per model turn,
each paying a full model round trip plus its own latency. Given a transcript, this command finds
those runs, prices them (tool seconds as issued vs. all at once, turns saved) and points at the
``sequential-tool-calls`` entry and :mod:`synapse_ai.skill.executor`, the code that fixes it.

Programmatic use (the MCP/tool layer)::

    from synapse_ai.skill.diagnose import diagnose
    report = diagnose(json.load(open("trace.json")), default_latency=1.0)

Import-light on purpose: only the standard library, click and rich; the knowledge-base entry is
read from its file (``synapse_ai.kb.parse``/``synapse_ai.kb.paths``), never through the search index.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import click

from .parallelism import Group, find_groups, find_loops
from .transcript import Call, Transcript, TranscriptError, load_path, parse_transcript, replace_surrogates

__all__ = [
    "ENTRY_SLUG",
    "LOOP_ENTRY_SLUG",
    "TranscriptError",
    "check_default_latency",
    "diagnose",
    "diagnose_command",
    "load_fix",
]

ENTRY_SLUG = "sequential-tool-calls"
LOOP_ENTRY_SLUG = "agent-infinite-loop"
LIBRARY = "synapse_ai.skill.executor.execute_tool_calls"
_SERIAL_TOLERANCE_S = 0.001


# --------------------------------------------------------------------------- analysis


def diagnose(transcript_obj: Any, default_latency: float = 1.0) -> dict[str, Any]:
    """Analyse a loaded transcript (list of messages or request-body dict); return the report.

    Shape: ``{"findings": [...], "summary": {...}, "fix": {...} | None}``; each finding has
    ``kind``, ``entry``, ``tool_use_ids``, ``sequential_s``, ``parallel_s``, ``turns_saved`` and
    more. Findings of kind ``sequential-tool-calls`` point at that entry (and ``fix`` is its
    code); findings of kind ``repeated-tool-call`` are loops of identical calls and point at
    ``agent-infinite-loop``: batching would not help them. Raises :class:`TranscriptError` for
    input that is not a transcript, ``ValueError`` for a bad ``default_latency``.
    """
    default_latency = check_default_latency(default_latency)
    transcript = parse_transcript(transcript_obj)
    groups, _ = find_groups(transcript)
    mean_rtt = sum(transcript.model_latencies) / len(transcript.model_latencies) if transcript.model_latencies else None
    findings = [_split_finding(g, default_latency, mean_rtt) for g in groups if len(g.turns) >= 2]
    if transcript.format != "claude-code":  # there a call's start is when its block streamed, not when it ran
        findings += _serial_findings(transcript)
    findings += [_loop_finding(loop, default_latency) for loop in find_loops(transcript)]
    findings.sort(key=lambda f: (f["turns"][0], f["pattern"]))
    sequential = any(f["kind"] == "sequential-tool-calls" for f in findings)
    return {
        "findings": findings,
        "summary": _summary(transcript, findings, default_latency),
        "fix": load_fix() if sequential else None,
    }


def check_default_latency(value: Any) -> float:
    """The one rule for ``default_latency`` (CLI, tools and MCP): a finite number of seconds >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"default_latency must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"default_latency must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def _seconds(call: Call, default_latency: float) -> tuple[float, bool]:
    return (call.seconds, True) if call.seconds is not None else (float(default_latency), False)


def _call_view(call: Call, default_latency: float) -> dict[str, Any]:
    seconds, measured = _seconds(call, default_latency)
    preview = json.dumps(call.input, ensure_ascii=False, default=str)
    return {
        "id": call.id,
        "name": call.name,
        "turn": call.turn,
        "seconds": round(seconds, 3),
        "measured": measured,
        "input": preview if len(preview) <= 120 else preview[:117] + "...",
    }


def _timing_label(calls: list[dict[str, Any]]) -> str:
    measured = sum(1 for c in calls if c["measured"])
    return "measured" if measured == len(calls) else "default" if measured == 0 else "partial"


def _split_finding(group: Group, default_latency: float, mean_rtt: float | None) -> dict[str, Any]:
    views = [[_call_view(c, default_latency) for c in turn] for turn in group.turns]
    flat = [v for turn in views for v in turn]
    # As issued: turns ran one after another; calls inside one turn are assumed concurrent.
    sequential = sum(max(v["seconds"] for v in turn) for turn in views)
    parallel = max(v["seconds"] for v in flat)
    turns = [turn[0].turn for turn in group.turns]
    saved = len(turns) - 1
    names = _names(flat)
    finding: dict[str, Any] = {
        "kind": "sequential-tool-calls",
        "entry": ENTRY_SLUG,
        "pattern": "split-across-turns",
        "tool_use_ids": [v["id"] for v in flat],
        "tools": [v["name"] for v in flat],
        "turns": turns,
        "sequential_s": round(sequential, 3),
        "parallel_s": round(parallel, 3),
        "time_saved_s": round(sequential - parallel, 3),
        "turns_saved": saved,
        "timing": _timing_label(flat),
        "calls": flat,
        "message": (
            f"Assistant turns {_span(turns)} issued {len(flat)} independent calls ({names}) one turn at a time; "
            f"issued together they need 1 turn instead of {len(turns)} and "
            f"{parallel:.2f} s of tool time instead of {sequential:.2f} s."
        ),
    }
    if mean_rtt is not None:
        finding["model_round_trip_s"] = round(mean_rtt, 3)
        finding["model_time_saved_s"] = round(saved * mean_rtt, 3)
    if group.ended_by is not None:
        finding["ended_by"] = group.ended_by
    thread = group.turns[0][0].thread
    if thread is not None:  # a subagent's own conversation (Claude Code Task/Agent tool)
        finding["thread"] = thread
        finding["message"] = f"In subagent {thread.split(':', 1)[-1]}: " + finding["message"]
    return finding


def _loop_finding(loop: list[Call], default_latency: float) -> dict[str, Any]:
    """Identical calls turn after turn: a polling loop or a stuck agent, not work to batch."""
    views = [_call_view(c, default_latency) for c in loop]
    turns = [c.turn for c in loop]
    name = loop[0].name
    spent = sum(v["seconds"] for v in views)
    return {
        "kind": "repeated-tool-call",
        "entry": LOOP_ENTRY_SLUG,
        "pattern": "identical-calls",
        "tool_use_ids": [v["id"] for v in views],
        "tools": [v["name"] for v in views],
        "turns": turns,
        "repeats": len(loop),
        "sequential_s": round(spent, 3),
        "parallel_s": round(spent, 3),
        "time_saved_s": 0.0,
        "turns_saved": 0,
        "timing": _timing_label(views),
        "calls": views,
        "message": (
            f"Assistant turns {_span(turns)} made the same call {len(loop)} times ({name} with input "
            f"{views[0]['input']}): a polling loop or an agent repeating itself, not independent calls. "
            "Running them together would not help; cap the loop, wait or back off between polls, and answer "
            f"repeats with an is_error result (entry {LOOP_ENTRY_SLUG})."
        ),
    }


def _serial_findings(transcript: Transcript) -> list[dict[str, Any]]:
    """Turns whose calls were issued together but executed one after another (needs start/end)."""
    by_turn: dict[int, list[Call]] = {}
    for call in transcript.calls.values():
        by_turn.setdefault(call.turn, []).append(call)
    findings = []
    for turn, calls in sorted(by_turn.items()):
        if len(calls) < 2 or any(c.start is None or c.end is None for c in calls):
            continue
        ordered = sorted(calls, key=lambda c: c.start)
        if any(b.start < a.end - _SERIAL_TOLERANCE_S for a, b in zip(ordered, ordered[1:])):
            continue  # some calls overlapped: the executor is concurrent
        durations = [(c.end - c.start) if c.seconds is None else c.seconds for c in ordered]
        flat = [_call_view(c, 0.0) | {"seconds": round(d, 3), "measured": True} for c, d in zip(ordered, durations)]
        sequential, parallel = sum(durations), max(durations)
        findings.append(
            {
                "kind": "sequential-tool-calls",
                "entry": ENTRY_SLUG,
                "pattern": "serial-execution",
                "tool_use_ids": [c.id for c in ordered],
                "tools": [c.name for c in ordered],
                "turns": [turn],
                "sequential_s": round(sequential, 3),
                "parallel_s": round(parallel, 3),
                "time_saved_s": round(sequential - parallel, 3),
                "turns_saved": 0,
                "timing": "measured",
                "calls": flat,
                "message": (
                    f"Assistant turn {turn} issued {len(ordered)} calls together ({_names(flat)}) but they ran "
                    f"one after another: {sequential:.2f} s instead of {parallel:.2f} s. The executor is sequential."
                ),
            }
        )
    return findings


def _summary(transcript: Transcript, findings: list[dict[str, Any]], default_latency: float) -> dict[str, Any]:
    measured = sum(1 for c in transcript.calls.values() if c.seconds is not None)
    total = len(transcript.calls)
    summary: dict[str, Any] = {
        "format": transcript.format,
        "messages": transcript.message_count,
        "assistant_turns": transcript.assistant_turns,
        "tool_calls": total,
        "findings": len(findings),
        "turns_saved": sum(f["turns_saved"] for f in findings),
        "time_saved_s": round(sum(f["time_saved_s"] for f in findings), 3),
        "timings": "none"
        if total == 0
        else "measured"
        if measured == total
        else "default"
        if measured == 0
        else "partial",
        "default_latency_s": float(default_latency),
    }
    if transcript.model_latencies:
        summary["model_time_saved_s"] = round(sum(f.get("model_time_saved_s", 0.0) for f in findings), 3)
    if transcript.unmatched_timings:
        summary["unmatched_timings"] = transcript.unmatched_timings
    return summary


def _names(calls: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for c in calls:
        counts[c["name"]] = counts.get(c["name"], 0) + 1
    return ", ".join(f"{n} x{k}" if k > 1 else n for n, k in counts.items())


def _span(turns: list[int]) -> str:
    if turns == list(range(turns[0], turns[0] + len(turns))):
        return f"{turns[0]}-{turns[-1]}"
    return ", ".join(map(str, turns))


# --------------------------------------------------------------------------- the fix to adopt


def load_fix(slug: str = ENTRY_SLUG) -> dict[str, Any]:
    """Where the fix lives: the entry's asyncio.gather executor option and :mod:`synapse_ai.skill.executor`.

    The only place that touches the knowledge base. It reads the entry file through
    ``synapse_ai.kb.paths``/``synapse_ai.kb.parse`` (no index, no embeddings) and falls back to reading
    ``entries/<slug>.md`` from the checkout, then to static text, so diagnose never fails
    because the knowledge base is missing or mid-migration.
    """
    fix: dict[str, Any] = {
        "entry": slug,
        "title": "Tool calls run sequentially instead of in parallel",
        "option": None,
        "path": None,
        "library": LIBRARY,
        "code": None,
    }
    try:
        from synapse_ai.kb import parse, paths  # noqa: PLC0415 - optional and deliberately lazy

        path = Path(paths.shipped_entries_dir()) / f"{slug}.md"
        entry = parse.parse_entry(path.read_text(encoding="utf-8"), path=path)
        options = list(entry.fix_options)
        chosen = next((o for o in options if "gather" in o.title.lower()), None) or (
            options[1] if len(options) > 1 else options[0]
        )
        code = next((b.code for b in chosen.code_blocks if b.language == "python"), None)
        fix.update(title=entry.title, option=f"Option {chosen.number}: {chosen.title}", path=str(path), code=code)
        batch = next((o for o in options if "batch" in o.title.lower()), None)
        if batch is not None:
            fix["batch_option"] = f"Option {batch.number}: {batch.title}"
        return fix
    except Exception:  # noqa: BLE001 - kb absent or broken: fall back to the raw file
        pass
    path = Path(__file__).resolve().parents[1] / "entries" / f"{slug}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return fix
    title = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", text, re.MULTILINE)
    options = re.findall(r"^### (Option (\d+): .+)$", text, re.MULTILINE)
    chosen = next((o for o in options if "gather" in o[0].lower()), options[1] if len(options) > 1 else None)
    if title:
        fix["title"] = title.group(1)
    fix["path"] = str(path)
    batch = next((o for o in options if "batch" in o[0].lower()), None)
    if batch:
        fix["batch_option"] = batch[0]
    if chosen:
        fix["option"] = chosen[0]
        body = text.split("### " + chosen[0], 1)[1].split("\n### ", 1)[0]
        code = re.search(r"```python[^\n]*\n(.*?)```", body, re.DOTALL)
        fix["code"] = code.group(1) if code else None
    return fix


# --------------------------------------------------------------------------- CLI


def _render(report: dict[str, Any], trace: str) -> None:
    """Human report: one panel per finding, then totals and the fix to adopt."""
    from rich.console import Console
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    console = Console(highlight=False)
    summary = report["summary"]
    console.print(
        f"[bold]synapse diagnose[/bold] {escape(trace)}: {summary['format']} transcript, "
        f"{summary['assistant_turns']} assistant turns, {summary['tool_calls']} tool calls"
    )
    if not report["findings"]:
        console.print(
            "[green]No sequential tool calls found.[/green] Each run of tool turns depends on the turn "
            "before it, or its calls were already issued together."
        )
        return
    for number, finding in enumerate(report["findings"], 1):
        table = Table(box=None, pad_edge=False, show_edge=False)
        table.add_column("turn", justify="right")
        table.add_column("tool_use id", overflow="fold")
        table.add_column("tool", overflow="fold")
        table.add_column("input", overflow="fold")
        table.add_column("seconds", justify="right")
        for call in finding["calls"]:
            seconds = f"{call['seconds']:.2f}" + ("" if call["measured"] else "*")
            table.add_row(str(call["turn"]), escape(call["id"]), escape(call["name"]), escape(call["input"]), seconds)
        if finding["pattern"] == "serial-execution":
            title = f"Finding {number}: turn {finding['turns'][0]} ran its calls one after another"
        elif finding["kind"] == "repeated-tool-call":
            title = f"Finding {number}: turns {_span(finding['turns'])} repeated the same call"
        else:
            title = f"Finding {number}: turns {_span(finding['turns'])} could have been one turn"
        console.print(Panel(table, title=f"[bold]{title}[/bold]", title_align="left"))
        console.print(escape(finding["message"]))
        if finding["kind"] == "repeated-tool-call":
            console.print()
            continue
        extra = f"Saves {finding['turns_saved']} model turn(s) and {finding['time_saved_s']:.2f} s of tool time"
        if "model_time_saved_s" in finding:
            extra += f", plus about {finding['model_time_saved_s']:.2f} s of model round trips"
        console.print(f"[bold]{extra}.[/bold]")
        if finding.get("ended_by"):
            end = finding["ended_by"]
            console.print(f"[dim]The run ends at {escape(end['tool_use_id'])}: {escape(end['reason'])}.[/dim]")
        console.print()
    if any(not c["measured"] for f in report["findings"] for c in f["calls"]):
        console.print(
            f"* not timed in the trace: {summary['default_latency_s']:g} s assumed per call "
            "(--default-latency). Record real timings with synapse_ai.skill.executor.Recorder."
        )
    if any(f["kind"] == "repeated-tool-call" for f in report["findings"]):
        console.print(
            f"[bold]Loops:[/bold] knowledge-base entry [cyan]{LOOP_ENTRY_SLUG}[/cyan] (synapse show "
            f"{LOOP_ENTRY_SLUG}): "
            "cap the number of turns and answer repeated identical calls with an is_error result."
        )
    if report["fix"] is None:
        return
    total = f"{summary['turns_saved']} model turn(s) and {summary['time_saved_s']:.2f} s of tool time"
    console.print(f"[bold]Total:[/bold] {total} could be saved.")
    fix = report["fix"] or {}
    where = fix.get("path") or f"entries/{ENTRY_SLUG}.md"
    console.print(f"[bold]Fix:[/bold] knowledge-base entry [cyan]{ENTRY_SLUG}[/cyan] ({escape(where)})")
    option = fix.get("option") or "Option 2 (the asyncio.gather executor)"
    console.print(f"  - Run each turn's calls concurrently with the entry's {escape(option)},")
    console.print(
        "    or adopt the tested library: [cyan]from synapse_ai.skill.executor import execute_tool_calls[/cyan]"
    )
    console.print("    (run_agent for a whole AsyncAnthropic loop, execute_tool_calls_sync without asyncio).")
    if any(f["pattern"] == "split-across-turns" for f in report["findings"]):
        batch = fix.get("batch_option") or "the option that asks the model to batch calls (system prompt)"
        console.print(f"  - Ask the model to batch independent calls in one turn: entry {escape(batch)},")
        console.print("    and return all tool_result blocks of a turn in one user message.")


class DiagnoseError(click.ClickException):
    """Bad input: one line on stderr, exit status 1, no traceback."""

    def show(self, file: Any = None) -> None:
        click.echo(f"synapse diagnose: {self.message}", err=True)


class DiagnoseUsageError(click.UsageError):
    """A bad option value: one line on stderr, exit status 2 (click's code for usage errors)."""

    def show(self, file: Any = None) -> None:
        click.echo(f"synapse diagnose: {self.message}", err=True)


class _Seconds(click.ParamType):
    """A finite number of seconds >= 0 (click's FloatRange lets nan and inf through)."""

    name = "seconds"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            return check_default_latency(float(value))
        except (TypeError, ValueError):
            raise DiagnoseUsageError(
                f"invalid value for '--default-latency': {value!r} is not a finite number of seconds >= 0", ctx
            ) from None


@click.command("diagnose")
@click.argument("trace", metavar="TRACE")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON (findings, summary, fix) instead of text."
)
@click.option(
    "--default-latency",
    type=_Seconds(),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds assumed for each tool call that has no timing in the trace.",
)
def diagnose_command(trace: str, as_json: bool, default_latency: float) -> None:
    """Find tool calls in TRACE that ran turn by turn but could have run together.

    TRACE is a JSON file (or - for stdin) holding an agent transcript: a list of messages or a
    request body with a "messages" list, in Anthropic Messages or OpenAI chat format, with an
    optional "timings" object mapping tool_use id to seconds (synapse_ai.skill.executor.Recorder writes one),
    or a Claude Code / Agent SDK session transcript (~/.claude/projects/.../SESSION.jsonl; recognised
    automatically, timed from its record timestamps, subagents under SESSION/subagents/ included).
    """
    try:
        report = diagnose(load_path(trace), default_latency=default_latency)
    except TranscriptError as exc:
        raise DiagnoseError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        raise DiagnoseError(f"could not analyse {trace}: {type(exc).__name__}: {exc}") from None
    # Lone surrogates (from \ud800-style escapes in the transcript) cannot be written as UTF-8:
    # they become U+FFFD, so the JSON is always valid and the text always prints.
    report = replace_surrogates(report)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _render(report, replace_surrogates(trace))


if __name__ == "__main__":  # pragma: no cover
    diagnose_command()
