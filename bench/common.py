"""Shared helpers for the benchmarks: machine info, scratch data dirs, corpora, results files.

Every benchmark runs against a scratch ``SYNAPSE_HOME`` under the system temp dir, never the user's
data directory, and against a *snapshot* of the shipped entries (copied at start), so that entries
being edited while a benchmark runs cannot trigger a re-index in the middle of a measurement.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

# Mirror what the ``synapse`` CLI does at start-up (kb/cli.py) before numpy loads: one BLAS thread.
# On a loaded 2-core machine a multi-threaded OpenBLAS makes the numpy query model ~10x slower
# (threads spin-wait for each other).  Subprocesses get the user's original setting back (bench_env),
# so they measure the product's own behaviour.
_ORIGINAL_OPENBLAS = os.environ.get("OPENBLAS_NUM_THREADS")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ENTRIES = ROOT / "entries"
QUERIES = ROOT / "tests" / "queries"
SCRATCH = Path(os.environ.get("SYNAPSE_BENCH_SCRATCH") or Path(tempfile.gettempdir()) / "synapse-bench")
SYNAPSE = str(Path(sys.executable).with_name("synapse"))
SIZES = (50, 1_000, 10_000)


# --------------------------------------------------------------------------- machine / results


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_probe() -> dict:
    """A fixed CPU workload, timed (median of 3): this machine's speed varies by 2x from minute to
    minute (shared host), so every result carries it to make runs comparable."""
    import numpy as np

    loops, flops = [], []
    a = np.ones((384, 1536), dtype=np.float32)
    b = np.ones((1536, 384), dtype=np.float32)
    for _ in range(3):
        t = time.perf_counter()
        s = 0
        for i in range(1_000_000):
            s += i
        loops.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        for _ in range(20):
            a @ b
        flops.append(20 * 2 * 384 * 1536 * 384 / (time.perf_counter() - t) / 1e9)
    return {"python_loop_1m_ms": round(sorted(loops)[1], 1), "numpy_sgemm_1thread_gflops": round(sorted(flops)[1], 1)}


def at_start() -> dict:
    """Load and CPU speed when a benchmark starts (``machine`` in the results has them at the end)."""
    return {"load_average_1_5_15": load_average(), "cpu_probe": cpu_probe()}


def machine_info() -> dict:
    versions = {}
    for module in ("numpy", "torch", "sentence_transformers", "tokenizers", "fastapi", "uvicorn"):
        try:
            from importlib.metadata import version

            versions[module] = version(module.replace("_", "-"))
        except Exception:  # noqa: BLE001 - informational only
            versions[module] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "kb", "web", "skill"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1_5_15": load_average(),
        "cpu_probe_at_end": cpu_probe(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit + ("+uncommitted" if dirty else ""),
        "versions": versions,
    }


def write_result(name: str, data: dict) -> Path:
    """Write ``bench/results/<name>.json`` atomically, with machine info (load sampled at the end too)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "machine": machine_info(), **data}
    target = RESULTS / f"{name}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values: Sequence[float], digits: int = 4) -> dict:
    return {
        "n": len(values),
        "median": round(percentile(values, 50), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "p90": round(percentile(values, 90), digits),
        "p99": round(percentile(values, 99), digits),
        "mean": round(sum(values) / len(values), digits),
    }


# --------------------------------------------------------------------------- scratch data dirs


def scratch_dir(name: str) -> Path:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=SCRATCH))


def bench_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``synapse`` subprocess: scratch home, real model, nothing from the user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNAPSE_")}
    env.pop("OPENBLAS_NUM_THREADS", None)
    if _ORIGINAL_OPENBLAS is not None:
        env["OPENBLAS_NUM_THREADS"] = _ORIGINAL_OPENBLAS
    env.update(
        SYNAPSE_HOME=str(home),
        SYNAPSE_ENTRIES_DIR=str(home / "local-entries"),  # empty: only the benchmark's entries
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    # An installed package has compiled bytecode; with PYTHONDONTWRITEBYTECODE set (as in some
    # sandboxes) every edited module would be recompiled in every timed process.  The warm-up run
    # writes the .pyc files instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def use_scratch_home(home: Path) -> None:
    """Point this process at a scratch home (call before opening a KnowledgeBase)."""
    for key in [k for k in os.environ if k.startswith("SYNAPSE_")]:
        del os.environ[key]
    os.environ["SYNAPSE_HOME"] = str(home)
    os.environ["SYNAPSE_ENTRIES_DIR"] = str(home / "local-entries")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def snapshot_entries(target: Path) -> list[str]:
    """Copy every shipped entry that parses (lint-clean) into ``target``; return their slugs.

    Half-written files (another author's editor temp files, an entry mid-edit that does not parse)
    are left out, so the benchmark corpus is always valid.
    """
    from synapse_ai.kb.lint import entry_files
    from synapse_ai.kb.parse import EntryError, read_entry

    target.mkdir(parents=True, exist_ok=True)
    slugs = []
    for path in entry_files([ENTRIES]):
        try:
            entry = read_entry(path)
        except (EntryError, OSError):
            continue
        if entry.slug != path.stem:
            continue
        shutil.copy2(path, target / path.name)
        slugs.append(entry.slug)
    return slugs


def entries_digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.glob("*.md")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- corpora with a real-model index


def corpus_dir(size: int, source_digest: str) -> Path:
    """Where the corpus of ``size`` entries (and its index) lives between benchmark runs.

    Embedding 10,000 entries with the real model takes minutes, so ``indexing`` builds the index in
    place and ``warm_api`` reuses it; the directory name changes whenever the source entries or the
    generator change, so a stale corpus is never reused.
    """
    from bench.synthetic import GENERATOR_VERSION

    return SCRATCH / f"corpus-{size}-{source_digest}-g{GENERATOR_VERSION}"


def prepare_corpus(size: int) -> tuple[Path, Path, Path]:
    """(entries_dir, home, db) for a corpus of ``size`` entries: real entries + synthetic variants.

    The entries are generated if missing; the index is *not* built here (see ``ensure_index``).
    """
    from bench.synthetic import generate

    snap = SCRATCH / "snapshot-tmp"
    shutil.rmtree(snap, ignore_errors=True)
    snapshot_entries(snap)
    digest = entries_digest(snap)
    base = corpus_dir(size, digest)
    entries_dir, home = base / "entries", base / "home"
    if not (base / "entries.ok").exists():
        shutil.rmtree(base, ignore_errors=True)
        entries_dir.mkdir(parents=True)
        # More real entries than ``size``: a subset (the first ``size`` by name).
        for path in sorted(snap.glob("*.md"))[:size]:
            shutil.copy2(path, entries_dir / path.name)
        generate(entries_dir, size)
        (base / "entries.ok").write_text(str(size))
    shutil.rmtree(snap, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    return entries_dir, home, home / "synapse.db"


def mark_indexed(entries_dir: Path) -> None:
    """Record that the corpus next to ``entries_dir`` has a complete real-model index, and drop older
    corpora of the same size (10k corpora take ~0.5 GB of scratch space each)."""
    base = entries_dir.parent
    (base / "indexed.ok").write_text(datetime.now(UTC).isoformat())
    size = base.name.split("-")[1]
    for other in SCRATCH.glob(f"corpus-{size}-*"):
        if other != base:
            shutil.rmtree(other, ignore_errors=True)


def latest_indexed_corpus(size: int) -> tuple[Path, Path, Path] | None:
    """The most recently indexed corpus of ``size`` entries, even if the shipped entries changed since
    (latency does not depend on the exact text; rebuilding 10k embeddings takes most of an hour)."""
    from bench.synthetic import GENERATOR_VERSION

    found = sorted(SCRATCH.glob(f"corpus-{size}-*-g{GENERATOR_VERSION}/indexed.ok"), key=lambda p: p.stat().st_mtime)
    if not found:
        return None
    base = found[-1].parent
    return base / "entries", base / "home", base / "home" / "synapse.db"
