"""Run every benchmark (each in its own process), then regenerate the plot.

    .venv/bin/python -m bench.run_all                       # everything: about 1 h on 2 cores (the 10k full index)
    .venv/bin/python -m bench.run_all --sizes 50,1000       # the quick version (~10 min)
    .venv/bin/python -m bench.run_all --skip indexing       # warm_api reuses the last indexed corpora

Order: quality, first_run (a newcomer's first search and site on an empty data directory), cold_cli,
indexing (builds the 50 / 1,000 / 10,000-entry indexes), warm_api (reuses them), plot.  Every
benchmark reports medians over repeated runs with the load average beside them, and ratios to
``python -c "import numpy"`` measured in the same run.  Results: bench/results/<name>.json and
bench/results/latency_vs_corpus.png.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import subprocess
import sys
import time

from bench.common import ROOT, SIZES, log

ORDER = ("quality", "first_run", "cold_cli", "indexing", "warm_api", "nudge")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=",".join(str(s) for s in SIZES), help="corpus sizes for indexing and warm_api"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=ORDER)
    args = parser.parse_args(argv)
    failed = []
    for name in ORDER:
        if name in args.skip:
            continue
        cmd = [sys.executable, "-m", f"bench.{name}"]
        if name in ("indexing", "warm_api"):
            cmd += ["--sizes", args.sizes]
        if name == "warm_api":
            cmd += ["--no-plot"]
        log(f"run_all: {' '.join(cmd[1:])}")
        started = time.perf_counter()
        code = subprocess.run(cmd, cwd=ROOT).returncode
        log(f"run_all: bench.{name} finished in {time.perf_counter() - started:.0f}s (exit {code})")
        if code:
            failed.append(name)
    if (ROOT / "bench" / "results" / "warm_api.json").exists():
        from bench.plot import plot

        log(f"run_all: wrote {plot()}")
    if failed:
        log(f"run_all: failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
