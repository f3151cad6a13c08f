"""Latency and throughput of ``GET /api/search`` on a running ``synapse serve``, by corpus size.

    .venv/bin/python -m bench.warm_api [--sizes 50,1000,10000] [--clients 4] [--requests 400] [--seconds 30]
    # → bench/results/warm_api.json and bench/results/latency_vs_corpus.png

Per corpus size (real entries + bench/synthetic.py variants; the real-model index is built if
missing, or reused from ``bench.indexing``):

1. start ``synapse serve --db DB --entries DIR --port P`` (a subprocess, scratch SYNAPSE_HOME) and
   wait until it answers;
2. one first search (builds the in-memory dense and pattern indexes) — reported separately;
3. warm-up (20 requests), then a sequential pass (1 client) and the loaded pass (``--clients``
   concurrent clients, each a thread with its own keep-alive httpx client, until ``--requests``
   requests or ``--seconds`` seconds, whichever comes first).  Queries cycle through the labelled
   query set (on- and off-topic, shuffled), so no single cached query is measured;
4. stop the server, then time the phases of ``KnowledgeBase.search`` in-process on the same index
   (query embedding, patterns, BM25, the rest) to show what grows with the corpus.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import itertools
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import QUERIES, SIZES, SYNAPSE, at_start, bench_env, cpu_probe, free_port, log, summary, write_result

P50_TARGET_MS, P50_STRETCH_MS = 20.0, 10.0


def labelled_queries() -> list[str]:
    from synapse_ai.kb.evaluation import load_query_set

    texts = [q.text for q in load_query_set(QUERIES)]
    random.Random(42).shuffle(texts)
    return texts


def start_server(entries_dir: Path, home: Path, db: Path, port: int) -> subprocess.Popen:
    # SYNAPSE_ENTRIES_DIR = the corpus itself: the site always indexes its write folder too, and this
    # keeps the served folders identical to the indexed ones (no re-index at start-up).
    env = bench_env(home, SYNAPSE_ENTRIES_DIR=str(entries_dir))
    log_file = open(home / f"serve-{port}.log", "w")
    cmd = [
        SYNAPSE,
        "serve",
        "--db",
        str(db),
        "--entries",
        str(entries_dir),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def wait_ready(proc: subprocess.Popen, base: str, log_path: Path, timeout: float = 1800) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"synapse serve exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/openapi.json", timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"synapse serve did not answer within {timeout}s")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def load(base: str, queries: list[str], clients: int, max_requests: int, max_seconds: float, limit: int = 5) -> dict:
    """``clients`` threads issue requests back to back until the request or time budget is spent."""
    import httpx

    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + max_seconds
    offset = random.Random(clients).randrange(len(queries))

    def worker():
        with httpx.Client(base_url=base, timeout=120) as client:
            while time.perf_counter() < deadline:
                i = next(counter)
                if i >= max_requests:
                    return
                q = queries[(offset + i) % len(queries)]
                t0 = time.perf_counter()
                try:
                    r = client.get("/api/search", params={"q": q, "limit": limit})
                    ok = r.status_code == 200 and "results" in r.json()
                    err = None if ok else f"HTTP {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as exc:
                    err = f"{type(exc).__name__}: {exc}"
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    if err:
                        errors.append(err)
                    else:
                        latencies.append(dt)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    out = {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(latencies) / wall, 2) if wall else None,
    }
    out["latency_ms"] = summary(latencies, 2) if latencies else None
    return out


def breakdown(db: Path, entries_dir: Path, home: Path, queries: list[str], n: int = 60) -> dict:
    """Median ms of each phase of ``KnowledgeBase.search`` in this process (one thread, no HTTP)."""
    from bench.common import use_scratch_home

    use_scratch_home(home)
    os.environ["SYNAPSE_ENTRIES_DIR"] = str(entries_dir)
    from synapse_ai.kb.search import CANDIDATES, query_terms
    from synapse_ai.kb.service import KnowledgeBase

    kb = KnowledgeBase.open(db, [entries_dir], refresh=False)
    t0 = time.perf_counter()
    kb.store.embedding_matrix(kb.model_id)
    first_build = time.perf_counter() - t0
    kb.query_embedder()
    phases: dict[str, list[float]] = {
        "embed_query": [],
        "patterns": [],
        "bm25": [],
        "dense_matmul_rank": [],
        "search_total": [],
    }
    signals = kb._signal_index()
    slugs, _fields, matrix = kb.store.embedding_matrix(kb.model_id)
    import numpy as np

    for q in queries[:n]:
        t = time.perf_counter()
        v = kb.embed_query(q)
        phases["embed_query"].append(time.perf_counter() - t)
        t = time.perf_counter()
        signals.evidence(q)
        phases["patterns"].append(time.perf_counter() - t)
        t = time.perf_counter()
        kb.store.lexical_search(query_terms(q), CANDIDATES)
        phases["bm25"].append(time.perf_counter() - t)
        t = time.perf_counter()
        np.argsort(-(matrix @ v))
        phases["dense_matmul_rank"].append(time.perf_counter() - t)
        t = time.perf_counter()
        kb.search(q, 5)
        phases["search_total"].append(time.perf_counter() - t)
    kb.close()
    out = {name: summary([x * 1000 for x in values], 3)["median"] for name, values in phases.items()}
    out["other (entries, snippets, fusion)"] = round(
        out["search_total"] - out["embed_query"] - out["patterns"] - out["bm25"] - out["dense_matmul_rank"], 3
    )
    out["dense_and_pattern_index_build_s"] = round(first_build, 3)
    out["vectors"] = int(matrix.shape[0])
    out["pattern_count"] = len(signals.specific.items) + len(signals.generic.items)
    return out


def bench_size(size: int, args, queries: list[str]) -> dict:
    import httpx

    from bench.indexing import ensure_index

    entries_dir, home, db, built = ensure_index(size)
    n_entries = len(list(entries_dir.glob("*.md")))
    probe = cpu_probe()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log(f"warm_api: {n_entries:,} entries, starting synapse serve on {base}")
    proc = start_server(entries_dir, home, db, port)
    try:
        startup = wait_ready(proc, base, home / f"serve-{port}.log")
        t0 = time.perf_counter()
        r = httpx.get(base + "/api/search", params={"q": queries[0], "limit": 5}, timeout=600)
        first = time.perf_counter() - t0
        r.raise_for_status()
        with httpx.Client(base_url=base, timeout=120) as client:  # warm-up
            for q in queries[1:21]:
                client.get("/api/search", params={"q": q, "limit": 5}).raise_for_status()
        sequential = load(base, queries, 1, min(args.requests, 200), min(args.seconds, 20))
        loaded = load(base, queries, args.clients, args.requests, args.seconds)
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    phases = breakdown(db, entries_dir, home, queries)
    p50 = loaded["latency_ms"]["median"]
    log(
        f"{n_entries:,} entries: c={args.clients} p50 {p50:.1f} ms, p99 {loaded['latency_ms']['p99']:.1f} ms, "
        f"{loaded['requests_per_s']} req/s; c=1 p50 {sequential['latency_ms']['median']:.1f} ms"
    )
    return {
        "entries": n_entries,
        "corpus": str(entries_dir.parent.name),
        "index_built_now": built is not None,
        "server_startup_s": round(startup, 3),
        "first_search_s": round(first, 3),
        "server_rss_mb": rss,
        "sequential": sequential,
        "concurrent": loaded,
        "in_process_breakdown_ms": phases,
        "load_1min_after": round(os.getloadavg()[0], 2),
        "cpu_probe_before": probe,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    load_before = at_start()
    queries = labelled_queries()
    results = [bench_size(int(s), args, queries) for s in args.sizes.split(",") if s]
    biggest = max(results, key=lambda r: r["entries"])
    target = None
    if biggest["entries"] >= 10_000:
        target = {
            "p50_ms": biggest["concurrent"]["latency_ms"]["median"],
            "target_ms": P50_TARGET_MS,
            "stretch_ms": P50_STRETCH_MS,
        }
        target["target_met"] = target["p50_ms"] <= P50_TARGET_MS
        target["stretch_met"] = target["p50_ms"] <= P50_STRETCH_MS
    data = {
        "at_start": load_before,
        "clients": args.clients,
        "max_requests": args.requests,
        "max_seconds": args.seconds,
        "distinct_queries": len(queries),
        "server": "synapse serve (uvicorn, one process)",
        "sizes": results,
        "target_10k": target,
    }
    path = write_result("warm_api", data)
    print(
        f"\n| entries | p50 ms (c={args.clients}) | p99 ms (c={args.clients}) | req/s (c={args.clients}) | p50 ms "
        "(c=1) | p99 ms (c=1) | req/s (c=1) | first search s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        c, s = r["concurrent"], r["sequential"]
        print(
            f"| {r['entries']:,} | {c['latency_ms']['median']:.1f} | {c['latency_ms']['p99']:.1f} | "
            f"{c['requests_per_s']:.1f} | "
            f"{s['latency_ms']['median']:.1f} | {s['latency_ms']['p99']:.1f} | {s['requests_per_s']:.1f} | "
            f"{r['first_search_s']:.2f} |"
        )
    if target:
        print(
            f"\np50 at {biggest['entries']:,} entries: {target['p50_ms']:.1f} ms — target ≤ {P50_TARGET_MS:.0f} ms "
            f"{'met' if target['target_met'] else 'MISSED'}, stretch ≤ {P50_STRETCH_MS:.0f} ms "
            f"{'met' if target['stretch_met'] else 'missed'}"
        )
    print(f"wrote {path}")
    if not args.no_plot:
        from bench.plot import plot

        print(f"wrote {plot()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
