"""Whole-process wall time of ``synapse search``/``match`` and the hook, local index vs a team server.

    .venv/bin/python -m bench.remote_cli [--runs 7]      # → bench/results/remote_cli.json

An agent pays a fresh process per failure.  With ``SYNAPSE_URL`` set the process sends the query to
a server instead of loading numpy, SQLite and the query model; this measures what that saves.  The
index is built with the real model in a scratch SYNAPSE_HOME; one ``synapse serve`` on localhost
(the same index) answers the remote cases, so the network cost here is loopback only: add the
round trips to a real server (a search is 2 requests on one connection: health, then the query; the hook 3).

Cases (interleaved, one warm-up each, as in ``bench.cold_cli``):

* ``local_search`` / ``remote_search``   ``synapse search --json "<a 429 error>"``
* ``local_match`` / ``remote_match``     ``synapse match --json`` with a ~12 kB log on stdin
* ``local_hook`` / ``remote_hook``       ``synapse hook`` with a ~1 kB failure event
* ``remote_hook_no_answer``              the hook against a server that accepts and never answers:
                                         its time budget (1.5 s) plus start-up, and silence
* ``python_floor``, ``numpy_import``     the floor and the ratio that travels between machines
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import json
import socket
import subprocess
import sys
import time

from bench.cold_cli import ERROR_QUERY, HOOK_1KB, HOOK_12KB, measure_interleaved
from bench.common import SYNAPSE, at_start, bench_env, free_port, log, scratch_dir, snapshot_entries, write_result
from bench.team_load import wait_ready


def run(runs: int) -> dict:
    home = scratch_dir("remote-cli")
    env = bench_env(home)
    entries = home / "snapshot-entries"
    slugs = snapshot_entries(entries)
    start = at_start()
    log(f"remote_cli: {len(slugs)} entries; building the index with the real model in {home}")
    subprocess.run([SYNAPSE, "index", "--entries", str(entries)], env=env, capture_output=True, text=True, check=True)
    port = free_port()
    server_log = open(home / "serve.log", "w")
    serve = [SYNAPSE, "serve", "--entries", str(entries), "--port", str(port), "--log-level", "warning"]
    server_env = bench_env(home, SYNAPSE_ENTRIES_DIR=str(entries))
    server = subprocess.Popen(serve, env=server_env, stdout=server_log, stderr=subprocess.STDOUT)
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(server, url)
        remote = bench_env(home, SYNAPSE_URL=url)
        no_answer = bench_env(home, SYNAPSE_URL=f"http://127.0.0.1:{silent.getsockname()[1]}")
        log_12kb = HOOK_12KB["error"]
        plan = {
            "local_search": ([SYNAPSE, "search", "--json", ERROR_QUERY], env, None, True),
            "remote_search": ([SYNAPSE, "search", "--json", ERROR_QUERY], remote, None, True),
            "local_match": ([SYNAPSE, "match", "--json"], env, log_12kb, True),
            "remote_match": ([SYNAPSE, "match", "--json"], remote, log_12kb, True),
            "local_hook": ([SYNAPSE, "hook"], env, json.dumps(HOOK_1KB), False),
            "remote_hook": ([SYNAPSE, "hook"], remote, json.dumps(HOOK_1KB), False),
            "remote_hook_no_answer": ([SYNAPSE, "hook"], no_answer, json.dumps(HOOK_1KB), False),
            "python_floor": ([sys.executable, "-c", "pass"], env, None, False),
            "numpy_import": ([sys.executable, "-c", "import numpy"], env, None, False),
        }
        same = {}
        for kind in ("search", "match", "hook"):
            outputs = []
            for where in ("local", "remote"):
                cmd, case_env, stdin, _check = plan[f"{where}_{kind}"]
                outputs.append(subprocess.run(cmd, env=case_env, input=stdin, capture_output=True, text=True).stdout)
            same[kind] = outputs[0] == outputs[1] and bool(outputs[0])
        silent_out = subprocess.run(
            plan["remote_hook_no_answer"][0], env=no_answer, input=json.dumps(HOOK_1KB), capture_output=True, text=True
        )
        cases = measure_interleaved(plan, runs)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        silent.close()
    numpy_s = cases["numpy_import"]["median"]
    ratios = {}
    for kind in ("search", "match", "hook"):
        local, remote_s = cases[f"local_{kind}"]["median"], cases[f"remote_{kind}"]["median"]
        ratios[kind] = {
            "local_over_remote": round(local / remote_s, 2),
            "local_in_numpy_imports": round(local / numpy_s, 2),
            "remote_in_numpy_imports": round(remote_s / numpy_s, 2),
        }
    ratios["hook_no_answer_in_numpy_imports"] = round(cases["remote_hook_no_answer"]["median"] / numpy_s, 2)
    result = {
        # Said only when other work was running as the benchmark began (1-minute load above 1).
        **(
            {"provisional": "the machine was loaded when this run began; re-measure on an idle one"}
            if (start.get("load_average_1_5_15") or [0])[0] > 1.0
            else {}
        ),
        "entries": len(slugs),
        "runs": runs,
        "same_output_local_and_remote": same,
        "hook_no_answer_output": {
            "stdout": silent_out.stdout,
            "stderr": silent_out.stderr,
            "exit": silent_out.returncode,
        },
        "ratios": ratios,
        "cases": cases,
        "at_start": start,
    }
    for kind, r in ratios.items():
        log(f"{kind}: {r}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="Timed runs of each case (after one warm-up).")
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args.runs)
    log(f"wrote {write_result('remote_cli', result)} ({time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
