"""The PostToolUse nudge: precision/recall on labelled sessions, per-call latency, tail-read cost.

    .venv/bin/python -m bench.nudge [--rounds 5] [--big-mb 50]      # → bench/results/nudge.json

* **quality**: every tool call of the labelled Claude Code sessions in ``tests/skill/data/claude_code``
  is replayed as Claude Code's ``PostToolUse`` event, with the transcript file holding exactly
  what had been written at that moment; precision and recall are counted over runs of calls
  (``tests/skill/claude_code_sessions.py`` explains the labels);
* **latency**: ``synapse hook`` as a fresh process per event (what Claude Code pays on every tool
  call), ``--rounds`` passes over all events, interleaved with ``python -m
  synapse_ai.skill.nudge_hook`` (the same answer without the ``synapse`` command's click start-up),
  ``python -c pass`` and ``python -c "import json"`` so every figure also comes as a ratio to
  interpreter start-up; target: median ≤ 0.15 s on the project machine;
* **tail read on a big session**: a ``--big-mb`` transcript (earlier work repeated, then a
  sequential run) is generated in a temporary folder (never committed); the hook's tail read and
  answer are timed in-process and as a process, next to reading and parsing the whole file;
* **import graph**: ``python -X importtime`` of the hook's modules; numpy, sqlite-utils, torch and
  the knowledge base must not be among them;
* **instructions** (valgrind callgrind, when installed): whole-process instruction counts of the hook
  and of ``python -c pass``, ``import json``, ``import click``: a ratio that does not depend on load.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, SYNAPSE, at_start, log, percentile, summary, write_result
from synapse_ai.skill.nudge_hook import read_tail, respond
from tests.skill.claude_code_sessions import load_labelled, post_tool_use_events, score

TARGET_S = 0.15
HEAVY = ("numpy", "sqlite_utils", "torch", "sentence_transformers", "synapse_ai.kb.service", "synapse_ai.kb.store")


def _env(workdir: Path) -> dict[str, str]:
    """A scratch SYNAPSE_HOME, and bytecode cached (in the temp folder) as on a normal machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNAPSE_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["SYNAPSE_HOME"] = str(workdir / "home")
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def _timed(cmd: list[str], stdin: bytes, env: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=60)
    return time.perf_counter() - started, done.stdout


def replay_cases(workdir: Path) -> list[tuple[Path, list[dict], bytes]]:
    """(transcript file, records at that moment, payload) for every tool call of every session."""
    cases = []
    for name, (rows, _runs) in load_labelled().items():
        for n, (index, payload, _now) in enumerate(post_tool_use_events(rows, "")):
            path = workdir / f"{name}-{n}.jsonl"
            payload["transcript_path"] = str(path)
            cases.append((path, rows[:index], json.dumps(payload).encode()))
    return cases


def latency(workdir: Path, rounds: int, env: dict[str, str]) -> dict:
    cases = replay_cases(workdir)
    for path, rows, _payload in cases:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    hook, module, floor, json_floor, spoke = [], [], [], [], 0
    for _ in range(rounds):
        for _path, _rows, payload in cases:
            seconds, out = _timed([SYNAPSE, "hook"], payload, env)
            hook.append(seconds)
            spoke += bool(out.strip())
            module.append(_timed([sys.executable, "-m", "synapse_ai.skill.nudge_hook"], payload, env)[0])
            floor.append(_timed([sys.executable, "-c", "pass"], b"", env)[0])
            json_floor.append(_timed([sys.executable, "-c", "import json"], b"", env)[0])
    median = percentile(hook, 50)
    return {
        "events_per_round": len(cases),
        "rounds": rounds,
        "nudges_per_round": spoke // rounds,
        "hook_s": summary(hook) | {"p95": round(percentile(hook, 95), 4)},
        "module_entry_s": summary(module) | {"p95": round(percentile(module, 95), 4)},
        "python_pass_s": summary(floor),
        "python_import_json_s": summary(json_floor),
        "ratio_median_to_python_pass": round(median / percentile(floor, 50), 2),
        "ratio_median_to_import_json": round(median / percentile(json_floor, 50), 2),
        "target_median_s": TARGET_S,
        "target_met": median <= TARGET_S,
    }


def big_transcript(workdir: Path, megabytes: int) -> tuple[Path, dict, float]:
    """Earlier work repeated up to ``megabytes``, then the git-inspection run; the payload of its third call."""
    sessions = load_labelled()
    filler = [json.dumps(r) for name in ("long_session", "dependent_chain", "batched_reads") for r in sessions[name][0]]
    rows, (run,) = sessions["git_inspection"]
    index, payload, now = next(e for e in post_tool_use_events(rows, "") if e[1]["tool_use_id"] == run[2])
    path = workdir / "big-session.jsonl"
    target = megabytes * 1024 * 1024
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            for line in filler:
                handle.write(line + "\n")
                written += len(line) + 1
        for row in rows[:index]:
            handle.write(json.dumps(row) + "\n")
    payload["transcript_path"] = str(path)
    return path, payload, now


def tail_cost(workdir: Path, megabytes: int, rounds: int, env: dict[str, str]) -> tuple[dict, dict]:
    big, payload, now = big_transcript(workdir, megabytes)
    small = workdir / "small-session.jsonl"
    rows, (run,) = load_labelled()["git_inspection"]
    index = next(i for i, p, _ in post_tool_use_events(rows, "") if p["tool_use_id"] == run[2])
    small.write_text("".join(json.dumps(r) + "\n" for r in rows[:index]), encoding="utf-8")
    small_payload = {**payload, "transcript_path": str(small)}
    assert respond(payload, now=now) and respond(small_payload, now=now), "the run must be found in both files"

    def per_call(fn, n=20):
        times = []
        for _ in range(n):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return round(percentile(times, 50) * 1000, 3)

    def whole_file():
        with open(big, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    process_big, process_small = [], []
    for _ in range(rounds * 3):
        process_big.append(_timed([SYNAPSE, "hook"], json.dumps(payload).encode(), env)[0])
        process_small.append(_timed([SYNAPSE, "hook"], json.dumps(small_payload).encode(), env)[0])
    return payload, {
        "transcript_mb": round(big.stat().st_size / 1e6, 1),
        "tail_records_read": len(read_tail(big)),
        "in_process_ms": {
            "read_tail_big": per_call(lambda: read_tail(big)),
            "respond_big": per_call(lambda: respond(payload, now=now)),
            "respond_small": per_call(lambda: respond(small_payload, now=now)),
            "read_and_parse_whole_big_file": per_call(whole_file, n=3),
        },
        "hook_process_big_s": summary(process_big),
        "hook_process_small_s": summary(process_small),
    }


def import_graph(env: dict[str, str]) -> dict:
    code = "import synapse_ai.kb.cli, synapse_ai.skill.hook, synapse_ai.skill.nudge_hook"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((int(match.group(2)), len(match.group(3)) // 2, match.group(4)))
    modules = {name for _, _, name in rows}
    top = sorted((r for r in rows if r[1] <= 1), reverse=True)[:8]
    return {
        "modules_imported": len(modules),
        "heavy_modules_imported": sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY),
        "top_level_cumulative_ms": [{"module": name, "ms": round(us / 1000, 1)} for us, _, name in top],
    }


def instruction_counts(workdir: Path, env: dict[str, str], big_payload: dict | None = None) -> dict | None:
    """Instructions executed (valgrind callgrind), which do not depend on the machine's load.

    Each count is for one whole process; ratios to ``python -c pass`` travel between machines.
    None when valgrind is not installed.
    """
    import shutil

    if shutil.which("valgrind") is None:
        return None
    rows, (run,) = load_labelled()["git_inspection"]
    events = post_tool_use_events(rows, "")
    index, nudging, _ = next(e for e in events if e[1]["tool_use_id"] == run[2])
    path = workdir / "callgrind-session.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:index]), encoding="utf-8")
    nudging["transcript_path"] = str(path)
    silent = {**events[0][1], "transcript_path": str(path)}
    cases = {
        "python_pass": ([sys.executable, "-c", "pass"], b""),
        "python_import_json": ([sys.executable, "-c", "import json"], b""),
        "python_import_click": ([sys.executable, "-c", "import click"], b""),
        "python_import_kb_cli": ([sys.executable, "-c", "import synapse_ai.kb.cli"], b""),
        "synapse_hook_nudging": ([SYNAPSE, "hook"], json.dumps(nudging).encode()),
        "synapse_hook_silent": ([SYNAPSE, "hook"], json.dumps(silent).encode()),
        "module_entry_nudging": ([sys.executable, "-m", "synapse_ai.skill.nudge_hook"], json.dumps(nudging).encode()),
    }
    if big_payload is not None:  # the same call at the end of a 50 MB session
        cases["synapse_hook_nudging_big_transcript"] = ([SYNAPSE, "hook"], json.dumps(big_payload).encode())
    counts = {}
    for name, (cmd, stdin) in cases.items():
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=600,
        )
        found = re.search(rb"Collected : (\d+)", done.stderr)
        counts[name] = int(found.group(1)) if found else None
    base = counts["python_pass"] or 1
    return {"instructions": counts, "ratio_to_python_pass": {k: round(v / base, 2) for k, v in counts.items() if v}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over all replayed tool calls for the latency")
    parser.add_argument("--big-mb", type=int, default=50, help="size of the generated transcript for the tail read")
    parser.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts (valgrind, ~2 min)")
    args = parser.parse_args(argv)
    start = at_start()
    with tempfile.TemporaryDirectory(prefix="synapse-nudge-") as tmp:
        workdir = Path(tmp)
        env = _env(workdir)
        warm = json.dumps({"hook_event_name": "PostToolUse", "tool_use_id": "x", "transcript_path": tmp}).encode()
        for _ in range(2):  # warm-up: the nudge's bytecode compiled into the cache, files in the page cache
            _timed([SYNAPSE, "hook"], warm, env)
            _timed([sys.executable, "-m", "synapse_ai.skill.nudge_hook"], warm, env)
        log("nudge: quality on the labelled sessions")
        quality = score(workdir, respond)
        quality_lagging = score(workdir, respond, lagging=True)
        log(
            f"nudge: precision {quality['precision']:.2f}, recall {quality['recall']:.2f} "
            f"(response not on disk yet: {quality_lagging['precision']:.2f}, {quality_lagging['recall']:.2f})"
        )
        graph = import_graph(env)
        log(f"nudge: heavy modules on the hook path: {graph['heavy_modules_imported'] or 'none'}")
        log(f"nudge: latency, {args.rounds} rounds")
        lat = latency(workdir, args.rounds, env)
        log(
            f"nudge: hook median {lat['hook_s']['median']:.3f} s, p95 {lat['hook_s']['p95']:.3f} s "
            f"({lat['ratio_median_to_python_pass']}x python -c pass)"
        )
        log(f"nudge: tail read on a {args.big_mb} MB transcript")
        big_payload, tail = tail_cost(workdir, args.big_mb, args.rounds, env)
        log(f"nudge: in-process {tail['in_process_ms']}")
        counts = None if args.no_callgrind else instruction_counts(workdir, env, big_payload)
        if counts:
            log(f"nudge: instructions, ratio to python -c pass: {counts['ratio_to_python_pass']}")
    path = write_result(
        "nudge",
        {
            "at_start": start,
            "quality": quality,
            "quality_response_not_on_disk_yet": quality_lagging,
            "import_graph": graph,
            "latency": lat,
            "instructions": counts,
            "tail_read": tail,
        },
    )
    log(f"nudge: wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
