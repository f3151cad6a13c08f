"""Indexing throughput: full index (real model) and no-change re-index, at 50 / 1,000 / 10,000 entries.

    .venv/bin/python -m bench.indexing [--sizes 50,1000,10000] [--reindex-runs 3]   # → bench/results/indexing.json

    .venv/bin/python -m bench.indexing --sizes 10000 --reindex-only   # re-measure the re-index only (minutes → seconds)

Per corpus size (real entries + bench/synthetic.py variants, see bench/common.prepare_corpus):

* full index — a fresh data dir, then exactly what ``synapse index --entries DIR`` does
  (``KnowledgeBase.open(refresh=False, remember_dirs=True).index()``) in a fresh process: parse
  every file, take the shipped vectors of unchanged shipped entries, embed every other text (the
  numpy port; sentence-transformers from ``kb.service.LARGE_BATCH`` texts on, torch import and
  model load included), export the numpy query model.  A progress line is printed while it runs (10k takes minutes).
* no-change re-index — the same again with nothing changed: it must embed nothing (asserts the
  report's ``embedded == 0``).  Measured in-process (the indexer's own clock) and as the wall time
  of a whole ``synapse index`` process; one run under cProfile for the breakdown.

The index built at each size stays in the corpus directory for ``bench.warm_api`` to reuse.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import (
    RESULTS,
    ROOT,
    SIZES,
    SYNAPSE,
    at_start,
    bench_env,
    cpu_probe,
    latest_indexed_corpus,
    log,
    mark_indexed,
    prepare_corpus,
    summary,
    write_result,
)

REINDEX_TARGET_S = 5.0  # no-change re-index of 10,000 entries


# --------------------------------------------------------------------------- child process


class _Progress:
    """A progress line on stderr at most every ``every`` seconds; keeps timestamps for rates."""

    def __init__(self, label: str, every: float = 10.0):
        self.label, self.every = label, every
        self.started = time.perf_counter()
        self.last_print = 0.0
        self.embedding: list[tuple[float, int]] = []  # (t, texts done)

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage == "embedding":
            self.embedding.append((now, done))
        if now - self.last_print < self.every and done < total:
            return
        if stage == "reading entries" and done < total and now - self.started < 2:
            return
        self.last_print = now
        elapsed = now - self.started
        eta = ""
        if stage == "embedding" and len(self.embedding) > 1 and done < total:
            (t0, n0), (t1, n1) = self.embedding[0], self.embedding[-1]
            if n1 > n0:
                eta = f", ~{(total - done) * (t1 - t0) / (n1 - n0):.0f}s left"
        print(
            f"[{time.strftime('%H:%M:%S')}] {self.label}: {stage} {done}/{total} ({elapsed:.0f}s{eta})",
            file=sys.stderr,
            flush=True,
        )


def child(entries_dir: str, db: str, label: str) -> None:
    """What ``synapse index --entries DIR --db DB`` does, with timings and the report as JSON."""
    t_import = time.perf_counter()
    from synapse_ai.kb.service import KnowledgeBase

    t0 = time.perf_counter()
    progress = _Progress(label)
    kb = KnowledgeBase.open(Path(db), [Path(entries_dir)], refresh=False, remember_dirs=True)
    t1 = time.perf_counter()
    report = kb.index(progress)
    t2 = time.perf_counter()
    kb.close()
    emb = progress.embedding
    rate = None
    if len(emb) > 2 and emb[-1][0] > emb[0][0]:
        rate = (emb[-1][1] - emb[0][1]) / (emb[-1][0] - emb[0][0])
    print(
        json.dumps(
            {
                "import_s": round(t0 - t_import, 4),
                "open_s": round(t1 - t0, 4),
                "index_s": round(t2 - t1, 4),
                "embedding_texts_per_s": round(rate, 2) if rate else None,
                "report": {
                    "added": report.added,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "removed": report.removed,
                    "embedded": report.embedded,
                    "problems": len(report.problems),
                    "problem_samples": [str(p) for p in report.problems[:5]],
                    "seconds": round(report.seconds, 4),
                },
            }
        )
    )


# --------------------------------------------------------------------------- parent


def run_index(entries_dir: Path, home: Path, db: Path, label: str, profile: Path | None = None) -> dict:
    """Index ``entries_dir`` into ``db`` in a fresh process (progress on stderr); return timings + report."""
    cmd = [sys.executable]
    if profile:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-m", "bench.indexing", "--child", str(entries_dir), str(db), label]
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, env=bench_env(home, SYNAPSE_ENTRIES_DIR=str(entries_dir)), stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"indexing {entries_dir} failed with exit code {proc.returncode}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    data = json.loads(lines[-1])
    data["process_wall_s"] = round(wall, 4)
    return data


def index_is_current(entries_dir: Path, db: Path) -> bool:
    """True when ``db`` already indexes exactly ``entries_dir`` with the configured model."""
    if not db.exists():
        return False
    from synapse_ai.kb import embed
    from synapse_ai.kb.indexer import describe_dirs, fingerprint
    from synapse_ai.kb.store import Store

    store = Store(db)
    try:
        return (
            store.get_meta("fingerprint") == fingerprint([entries_dir], embed.configured_model())
            and store.get_meta("dirs") == describe_dirs([entries_dir])
            and store.count() > 0
        )
    finally:
        store.close()


def ensure_index(size: int, reuse_latest: bool = True) -> tuple[Path, Path, Path, dict | None]:
    """A corpus of ``size`` entries with a current real-model index (built here if needed).

    ``reuse_latest``: if the shipped entries changed since the last indexed corpus of this size,
    reuse that corpus anyway instead of spending most of an hour re-embedding 10k entries.
    """
    if reuse_latest:
        latest = latest_indexed_corpus(size)
        if latest and index_is_current(latest[0], latest[2]):
            return (*latest, None)
    entries_dir, home, db = prepare_corpus(size)
    built = None
    if not index_is_current(entries_dir, db):
        log(f"building the real-model index for {size:,} entries in {home} (10k takes most of an hour on 2 cores)")
        built = run_index(entries_dir, home, db, f"index {size:,}")
        assert built["report"]["problems"] == 0, built["report"]
    mark_indexed(entries_dir)
    return entries_dir, home, db, built


def _profile_rows(path: Path, top: int = 14) -> list[dict]:
    import pstats

    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        if "/kb/" in filename or "sqlite_utils" in filename or func in ("execute", "stat", "read_text"):
            rows.append(
                {
                    "function": f"{Path(filename).parent.name}/{Path(filename).name}:{line}:{func}",
                    "calls": nc,
                    "tottime_s": round(tt, 4),
                    "cumulative_s": round(ct, 4),
                }
            )
    rows.sort(key=lambda r: -r["cumulative_s"])
    return rows[:top]


def bench_size(size: int, reindex_runs: int, previous: dict | None = None) -> dict:
    """Full index + no-change re-index.  With ``previous`` (``--reindex-only``), only the re-index is
    measured, on the last indexed corpus of this size, and the previous full-index numbers are kept."""
    if previous is not None:
        found = latest_indexed_corpus(size)
        if not found:
            raise SystemExit(f"--reindex-only: no indexed corpus of {size} entries; run without it first")
        entries_dir, home, db = found
        n_files = len(list(entries_dir.glob("*.md")))
    else:
        entries_dir, home, db = prepare_corpus(size)
        n_files = len(list(entries_dir.glob("*.md")))
        # Full index from scratch: a fresh data dir (database and numpy model export).
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        log(f"indexing: full index of {n_files:,} entries (real model)")
        full = run_index(entries_dir, home, db, f"full index {n_files:,}")
        rep = full["report"]
        assert rep["added"] == n_files and rep["problems"] == 0, rep
        assert rep["embedded"] == 2 * n_files, rep
        mark_indexed(entries_dir)
        log(f"full index: {full['process_wall_s']:.1f}s wall, {n_files / full['process_wall_s']:.1f} entries/s")

    runs = []
    for _ in range(reindex_runs):
        r = run_index(entries_dir, home, db, f"re-index {n_files:,}")
        rr = r["report"]
        assert rr["embedded"] == 0, f"a no-change re-index embedded {rr['embedded']} texts"
        assert rr["added"] == rr["updated"] == rr["removed"] == 0 and rr["unchanged"] == n_files, rr
        runs.append(r)
    in_process = [r["index_s"] for r in runs]
    walls = [r["process_wall_s"] for r in runs]

    cli_walls = []
    for _ in range(reindex_runs):
        started = time.perf_counter()
        proc = subprocess.run(
            [SYNAPSE, "index", "--entries", str(entries_dir), "--db", str(db)],
            env=bench_env(home, SYNAPSE_ENTRIES_DIR=str(entries_dir)),
            capture_output=True,
            text=True,
        )
        cli_walls.append(time.perf_counter() - started)
        if proc.returncode != 0 or not re.search(r"embedded 0 texts", proc.stdout):
            raise RuntimeError(
                f"synapse index (no change) did not report 'embedded 0 texts': {proc.stdout} {proc.stderr[-800:]}"
            )
    prof = home / "reindex.prof"
    run_index(entries_dir, home, db, f"re-index {n_files:,} (profiled)", profile=prof)
    result = {
        "entries": n_files,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_1min_after": round(__import__("os").getloadavg()[0], 2),
        "cpu_probe_after": cpu_probe(),
        "full": previous["full"]
        if previous is not None
        else {
            "process_wall_s": full["process_wall_s"],
            "in_process_index_s": full["index_s"],
            "entries_per_s": round(n_files / full["process_wall_s"], 2),
            "texts_embedded": rep["embedded"],
            "embedding_texts_per_s": full["embedding_texts_per_s"],
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "reindex_no_change": {
            "embedded": 0,
            "in_process_index_s": summary(in_process, 4),
            "bench_process_wall_s": summary(walls, 4),
            "synapse_index_cli_wall_s": summary(cli_walls, 4),
            "entries_per_s_cli": round(n_files / summary(cli_walls, 4)["median"], 1),
            "profile_top_cumulative": _profile_rows(prof),
        },
    }
    log(
        f"no-change re-index of {n_files:,}: in-process median "
        f"{result['reindex_no_change']['in_process_index_s']['median']:.2f}s, "
        f"synapse index median {result['reindex_no_change']['synapse_index_cli_wall_s']['median']:.2f}s"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--reindex-runs", type=int, default=3)
    parser.add_argument(
        "--merge", action="store_true", help="keep the other sizes already in bench/results/indexing.json"
    )
    parser.add_argument(
        "--reindex-only",
        action="store_true",
        help="measure only the no-change re-index on the last indexed corpora; keep the full-index numbers (implies "
        "--merge)",
    )
    args = parser.parse_args(argv)
    load_before = at_start()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    previous = RESULTS / "indexing.json"
    old = {r["entries"]: r for r in json.loads(previous.read_text())["sizes"]} if previous.exists() else {}
    if args.reindex_only:
        args.merge = True
        results = []
        for size in sizes:
            before = min(old.values(), key=lambda r: abs(r["entries"] - size)) if old else None
            if before is None or abs(before["entries"] - size) > size * 0.1:
                raise SystemExit(f"--reindex-only: no previous full-index result near {size} entries")
            results.append(bench_size(size, args.reindex_runs, previous=before))
    else:
        results = [bench_size(size, args.reindex_runs) for size in sizes]
    if args.merge and old:
        kept = [r for r in old.values() if r["entries"] not in {x["entries"] for x in results}]
        results = sorted(kept + results, key=lambda r: r["entries"])
    big = [r for r in results if r["entries"] >= 10_000]
    target = None
    if big:
        target = big[-1]["reindex_no_change"]["synapse_index_cli_wall_s"]["median"] <= REINDEX_TARGET_S
    data = {
        "at_start": load_before,
        "sizes": results,
        "reindex_target_s": REINDEX_TARGET_S,
        "reindex_target_met_10k": target,
    }
    path = write_result("indexing", data)
    print(
        "\n| entries | full index s | entries/s (full) | embed texts/s | no-change re-index s (in-process) | `synapse "
        "index` s (no change) |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        f, n = r["full"], r["reindex_no_change"]
        print(
            f"| {r['entries']:,} | {f['process_wall_s']:.1f} | {f['entries_per_s']:.1f} | "
            f"{f['embedding_texts_per_s']} | "
            f"{n['in_process_index_s']['median']:.3f} | {n['synapse_index_cli_wall_s']['median']:.3f} |"
        )
    if target is not None:
        print(f"\nno-change re-index of 10,000 entries ≤ {REINDEX_TARGET_S}s: {'met' if target else 'MISSED'}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
