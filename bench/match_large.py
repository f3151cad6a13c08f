"""Wall time of ``synapse match --json`` on large logs (1 MB and 10 MB), against ``import numpy``.

    .venv/bin/python -m bench.match_large [--runs 3] [--sizes 1,10]   # → bench/results/match_large.json

Agents pipe whole logs into ``synapse match``; this measures what a big one costs, as a whole
process.  The logs are generated: ordinary INFO/DEBUG lines (timestamps, request ids, JSON
payloads) up to the size, ending in a real Anthropic 429 traceback, which is where the error of a
failing run sits.  The index is built first (real model) over a snapshot of the shipped entries in
a scratch SYNAPSE_HOME.  Each size gets one warm-up run, then ``--runs`` timed runs (median, min,
max); ``python -c "import numpy"`` is timed the same way, interleaved, and every median is also
printed as a multiple of it, a ratio that carries over to other machines better than seconds.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.common import (
    SYNAPSE,
    at_start,
    bench_env,
    cpu_model,
    log,
    scratch_dir,
    snapshot_entries,
    summary,
    write_result,
)

ERROR_TAIL = (
    """Traceback (most recent call last):
  File "/srv/agent/loop.py", line 88, in run_turn
    response = client.messages.create(**request)
  File "/srv/venv/lib/python3.11/site-packages/anthropic/_base_client.py", line 1047, in request
    raise self._make_status_error_from_response(err.response) from None
"""
    "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', "
    "'message': 'This request would exceed your organization's rate limit of 50,000 input tokens per minute.'}}\n"
)


def make_log(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write a log of about ``megabytes`` MB ending in the 429 traceback; return its size in bytes."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000 - len(ERROR_TAIL)
    levels = ("INFO", "DEBUG", "INFO", "WARNING")
    tools = ("read_file", "search_docs", "run_tests", "write_file", "list_dir")
    with path.open("w", encoding="utf-8") as f:
        written = 0
        while written < target:
            line = (
                f"2026-11-26T10:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z "
                f"{rng.choice(levels)} agent.loop turn={rng.randrange(10_000)} req_{rng.getrandbits(48):012x} "
                f"tool={rng.choice(tools)} "
                f"payload={json.dumps({'path': f'src/m{rng.randrange(500)}.py', 'bytes': rng.randrange(10**6)})}\n"
            )
            f.write(line)
            written += len(line)
        f.write(ERROR_TAIL)
    return path.stat().st_size


def timed(argv: list[str], env: dict, stdin_path: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    with open(stdin_path, "rb") if stdin_path else open("/dev/null", "rb") as stdin:
        started = time.perf_counter()
        done = subprocess.run(argv, stdin=stdin, capture_output=True, env=env, timeout=900)
        return time.perf_counter() - started, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="Timed runs per case (after one warm-up).")
    parser.add_argument("--sizes", default="1,10", help="Log sizes in MB, comma-separated.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    started = at_start()
    home = scratch_dir("match-large")
    env = bench_env(home)
    entries = home / "entries"
    slugs = snapshot_entries(entries)
    log(f"indexing {len(slugs)} entries (real model) in {home}")
    built = subprocess.run(
        [SYNAPSE, "index", "--entries", str(entries)], env=env, capture_output=True, text=True, timeout=1800
    )
    if built.returncode != 0:
        print(built.stderr, file=sys.stderr)
        return 1

    logs = {}
    for mb in sizes:
        logs[mb] = home / f"log-{mb}mb.txt"
        log(f"writing {logs[mb].name}: {make_log(logs[mb], mb):,} bytes")

    numpy_case = [sys.executable, "-c", "import numpy"]
    times: dict[str, list[float]] = {"import_numpy": []}
    outcome: dict[str, dict] = {}
    for mb in sizes:
        times[f"match_{mb}mb"] = []
    for round_no in range(args.runs + 1):  # round 0 is the warm-up
        elapsed, _ = timed(numpy_case, env)
        if round_no:
            times["import_numpy"].append(elapsed)
        for mb in sizes:
            elapsed, done = timed([SYNAPSE, "match", "--json"], env, logs[mb])
            if done.returncode != 0:
                print(done.stderr.decode("utf-8", "replace"), file=sys.stderr)
                return 1
            data = json.loads(done.stdout)
            outcome[f"match_{mb}mb"] = {
                "top": data["results"][0]["slug"] if data["results"] else None,
                "matched": data["matched"],
                "stdout_bytes": len(done.stdout),
            }
            if round_no:
                times[f"match_{mb}mb"].append(elapsed)
            log(f"round {round_no}: {mb} MB in {elapsed:.2f}s")

    numpy_median = summary(times["import_numpy"])["median"]
    cases = {}
    print(f"machine: {cpu_model()}")
    print(f"python -c 'import numpy': {numpy_median:.3f} s (median of {args.runs})")
    for name, values in times.items():
        stats = summary(values)
        stats["ratio_to_import_numpy"] = round(stats["median"] / numpy_median, 1)
        cases[name] = {**stats, **outcome.get(name, {})}
        if name != "import_numpy":
            print(
                f"synapse match --json, {name[6:]}: {stats['median']:.2f} s median "
                f"({stats['min']:.2f}-{stats['max']:.2f}), "
                f"{stats['ratio_to_import_numpy']}x import numpy; top result {outcome[name]['top']}"
            )
    path = write_result(
        "match_large",
        {
            "at_start": started,
            "runs": args.runs,
            "log_bytes": {f"{mb}mb": logs[mb].stat().st_size for mb in sizes},
            "cases": cases,
        },
    )
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
