"""A newcomer's first commands, on an empty data directory: index build included.

    .venv/bin/python -m bench.first_run [--runs 3]   # → bench/results/first_run.json

Cases, each run in a fresh ``SYNAPSE_HOME`` (so every run builds the index and exports the model):

* ``first_search``   ``synapse search --json "<symptom>"``: reads the entries, exports the numpy
                     model from ``model.safetensors``, takes the shipped vectors, answers.
* ``first_search_without_shipped_vectors``  the same with ``SYNAPSE_MODEL=all-MiniLM-L6-v2`` (the same
                     weights under another name, so no shipped vector applies): every text is
                     embedded by the numpy batch encoder.  One run: it shows what the shipped vectors save.
* ``serve_first_answer``  what ``scripts/serve.sh`` does after set-up (``synapse index``, then
                     ``synapse serve``), timed until ``GET /`` answers 200.
* ``numpy_import``   ``python -c "import numpy"``, interleaved with the first searches: the ratio
                     that travels between machines.

Also checked on one extra run: the first search imports neither torch nor sentence-transformers
(``-X importtime``).  The 1-minute load average is recorded before every round: this machine is
shared, and the numbers are only comparable with the load beside them.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request

from bench.common import ROOT, SYNAPSE, at_start, bench_env, log, scratch_dir, summary, write_result

SYMPTOM_QUERY = "my agent's tool calls run one after another instead of in parallel"
FIRST_SEARCH_TARGET_S, FIRST_SEARCH_STRETCH_S = 15.0, 5.0
SERVE_TARGET_S = 20.0


def _fresh_env(name: str, **extra: str) -> dict:
    home = scratch_dir(name)
    env = bench_env(home, **extra)
    env.pop("SYNAPSE_ENTRIES_DIR", None)  # the shipped entries plus an empty local folder, as for a user
    env["SYNAPSE_HOME"] = str(home)
    return env


def _timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, timeout=900)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}… exited {proc.returncode}: {proc.stderr[-1500:]}")
    return seconds, proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_first_answer() -> float:
    """Seconds from ``synapse index`` on an empty home to the site's first 200 on ``/``."""
    env = _fresh_env("first-serve")
    port = _free_port()
    started = time.perf_counter()
    subprocess.run([SYNAPSE, "index"], env=env, capture_output=True, text=True, check=True, cwd=ROOT, timeout=900)
    server = subprocess.Popen(
        [SYNAPSE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = started + 300
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the site did not answer within 300 s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(runs: int) -> dict:
    times: dict[str, list[float]] = {"first_search": [], "numpy_import": [], "serve_first_answer": []}
    loads, stages = [], ""
    for _ in range(runs):
        loads.append(round(os.getloadavg()[0], 2))
        seconds, proc = _timed([SYNAPSE, "search", "--json", SYMPTOM_QUERY], _fresh_env("first-search"))
        times["first_search"].append(seconds)
        stages = proc.stderr.strip()
        times["numpy_import"].append(_timed([sys.executable, "-c", "import numpy"], bench_env(scratch_dir("numpy")))[0])
        times["serve_first_answer"].append(serve_first_answer())
        log(f"first_search {seconds:.2f}s, serve {times['serve_first_answer'][-1]:.2f}s (load {loads[-1]})")
    cases = {name: {**summary(values, 3), "runs_s": [round(v, 3) for v in values]} for name, values in times.items()}
    _s, proc = _timed(
        [sys.executable, "-X", "importtime", "-m", "synapse_ai.kb", "search", "--json", SYMPTOM_QUERY],
        _fresh_env("first-importtime"),
    )
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    modules = {line.split("|")[-1].strip().split(".")[0] for line in lines}
    heavy = sorted(modules & {"torch", "sentence_transformers", "transformers"})
    same_weights_other_name = _fresh_env("first-noship", SYNAPSE_MODEL="all-MiniLM-L6-v2")
    seconds, proc = _timed([SYNAPSE, "search", "--json", SYMPTOM_QUERY], same_weights_other_name)
    cases["first_search_without_shipped_vectors"] = {
        "n": 1,
        "median": round(seconds, 3),
        "stderr": proc.stderr.strip()[-400:],
    }
    log(f"first search without shipped vectors: {seconds:.1f}s")
    numpy_s = cases["numpy_import"]["median"]
    return {
        "query": SYMPTOM_QUERY,
        "runs": runs,
        "cases": cases,
        "load_1min_before_each_round": loads,
        "stages_on_stderr": stages,
        "heavy_modules_imported_by_first_search": heavy,
        "ratio_to_numpy_import": {name: round(c["median"] / numpy_s, 1) for name, c in cases.items()},
        "first_search_target_s": FIRST_SEARCH_TARGET_S,
        "first_search_stretch_s": FIRST_SEARCH_STRETCH_S,
        "first_search_target_met": cases["first_search"]["median"] <= FIRST_SEARCH_TARGET_S,
        "first_search_stretch_met": cases["first_search"]["median"] <= FIRST_SEARCH_STRETCH_S,
        "serve_target_s": SERVE_TARGET_S,
        "serve_target_met": cases["serve_first_answer"]["median"] <= SERVE_TARGET_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh data directories per case (median reported)")
    args = parser.parse_args(argv)
    load_before = at_start()
    data = run(max(1, args.runs))
    data["at_start"] = load_before
    path = write_result("first_run", data)
    c = data["cases"]
    print("\n| case | median s | min s | max s | × import numpy |\n|---|---|---|---|---|")
    for name, r in c.items():
        print(
            f"| {name} | {r['median']:.2f} | {r.get('min', r['median']):.2f} | {r.get('max', r['median']):.2f} | "
            f"{data['ratio_to_numpy_import'][name]} |"
        )
    heavy = data["heavy_modules_imported_by_first_search"]
    print(f"\ntorch/sentence-transformers imported by the first search: {heavy or 'no'}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
