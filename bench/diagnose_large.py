"""How ``synapse diagnose`` scales: a 4,000-turn transcript and a ~50 MB one.

Run it as one command::

    python -m bench.diagnose_large            # add --keep DIR to keep the generated transcripts

Two generated transcripts (written to a scratch folder, deleted afterwards):

* ``turns-4000``: 4,000 assistant turns, each writing a different file. All of them are
  independent, so the whole run is one group: the worst case for a grouping that compares each
  turn with every earlier one (it took 26 s before the index).
* ``size-50mb``: a few turns, one of which returns ~50 MB of log text full of distinct tokens
  (ids, paths, URLs), the worst case for indexing result values.

Each is analysed by ``synapse diagnose --json`` in a fresh process, three times; the median wall
time is printed with the process's peak memory, next to the median time of
``python -c "import numpy"`` on the same machine, and the ratio of the two, which travels to other
machines better than seconds do.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import cpu_model, load_average

RUNS = 3


def turns_transcript(turns: int = 4000) -> dict:
    """``turns`` single-call turns writing different files, with results naming each file."""
    messages: list[dict] = [{"role": "user", "content": "Write the generated modules."}]
    for i in range(turns):
        path = f"gen/module_{i:05d}.py"
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": f"toolu_{i:05d}",
                        "name": "write_file",
                        "input": {"path": path, "content": f"VALUE_{i} = {i}\n"},
                    }
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{i:05d}",
                        "content": f"wrote {path} ({12 + len(str(i))} bytes)",
                    }
                ],
            }
        )
    messages.append({"role": "assistant", "content": "All modules written."})
    return {"messages": messages}


def big_result_transcript(megabytes: int = 50) -> dict:
    """A read returning ~``megabytes`` MB of log lines, then calls that use values from it."""
    line = (
        "2026-12-02T09:{m:02d}:{s:02d} req-{n:08x} GET https://api.internal/v2/items/{n} path=/srv/app/mod_{k}.py "
        "status=200\n"
    )
    lines, size, n = [], 0, 0
    while size < megabytes * 1_000_000:
        text = line.format(m=n // 60 % 60, s=n % 60, n=n, k=n % 997)
        lines.append(text)
        size += len(text)
        n += 1
    log = "".join(lines)
    calls = [
        ("toolu_a", "read_file", {"path": "logs/api.log"}, log),
        ("toolu_b", "http_get", {"url": "https://api.internal/v2/items/4242"}, "item 4242"),
        ("toolu_c", "read_file", {"path": "/srv/app/mod_17.py"}, "def handler(): ..."),
        ("toolu_d", "read_file", {"path": "README.md"}, "# readme"),
    ]
    messages: list[dict] = [{"role": "user", "content": "Find out why requests are slow."}]
    for call_id, name, tool_input, result in calls:
        messages.append(
            {"role": "assistant", "content": [{"type": "tool_use", "id": call_id, "name": name, "input": tool_input}]}
        )
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": result}]}
        )
    messages.append({"role": "assistant", "content": "done"})
    return {"messages": messages}


def _child() -> None:
    """Run ``synapse diagnose --json`` in this process and report its own peak memory on stderr."""
    from synapse_ai.skill.diagnose import diagnose_command

    path = sys.argv[2]
    try:
        diagnose_command.main([path, "--json"], standalone_mode=False)
    finally:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"max_rss_mb": round(peak_kb / 1024, 1)}), file=sys.stderr)


def _timed(argv: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    elapsed = time.perf_counter() - started
    extra = {}
    for line in done.stderr.splitlines()[::-1]:
        if line.startswith("{"):
            extra = json.loads(line)
            break
    return elapsed, extra


def measure(path: Path) -> tuple[float, float]:
    """Median seconds and the largest peak memory of ``RUNS`` fresh-process analyses."""
    times, peaks = [], []
    for _ in range(RUNS):
        seconds, extra = _timed([sys.executable, "-m", "bench.diagnose_large", "--child", str(path)])
        times.append(seconds)
        peaks.append(extra.get("max_rss_mb", 0.0))
    return statistics.median(times), max(peaks)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child()
        return
    parser = argparse.ArgumentParser(description="Time synapse diagnose on a 4,000-turn and a ~50 MB transcript.")
    parser.add_argument("--keep", metavar="DIR", help="write the transcripts to DIR and keep them")
    parser.add_argument("--megabytes", type=int, default=50, help="size of the large transcript in MB (default 50)")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="synapse-diagnose-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    cases = {
        "turns-4000": turns_transcript(4000),
        f"size-{args.megabytes}mb": big_result_transcript(args.megabytes),
    }
    numpy_times = [_timed([sys.executable, "-c", "import numpy"])[0] for _ in range(RUNS)]
    numpy_s = statistics.median(numpy_times)
    print(f"machine: {cpu_model()}; load average {load_average()}; python {sys.version.split()[0]}")
    print(f"reference: python -c 'import numpy' = {numpy_s:.2f} s (median of {RUNS})")
    try:
        for name, transcript in cases.items():
            path = folder / f"{name}.json"
            path.write_text(json.dumps(transcript), encoding="utf-8")
            size_mb = path.stat().st_size / 1e6
            seconds, peak = measure(path)
            print(
                f"{name:>12}: {size_mb:6.1f} MB  {seconds:6.2f} s  ({seconds / numpy_s:5.1f}x import numpy)  "
                f"peak memory {peak:.0f} MB"
            )
    finally:
        if not args.keep:
            for path in folder.glob("*.json"):
                path.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
