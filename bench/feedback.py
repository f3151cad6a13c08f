"""What the feedback loop adds to a search and to an authenticated request, in-process.

    .venv/bin/python -m bench.feedback [--keys 1000] [--confirmations 20] [--flags 500] [--rounds 3]
    # → bench/results/feedback.json

On a scratch copy of the shipped entries (hashing embedder: the model's cost is the same with and
without feedback, so it is left out to show the difference), with a site store holding ``--keys``
API keys, each of which confirmed ``--confirmations`` random entries, and ``--flags`` open flags:

1. ``KnowledgeBase.search`` over the labelled query set, without and with ``feedback=site.feedback_for``
   (interleaved, ``--rounds`` passes), and ``feedback_for`` alone on each query's first 30 results
   (what asking for every candidate would cost; the search asks only those in reach of the top 5);
2. ``SiteStore.api_key_by_hash``, the lookup behind every request that sends a key, and the whole key
   check (that lookup plus the per-key rate-limit claim counted in the database, ``StoredRateLimiter.hit``);
3. the wall time of ``python -c "import numpy"``, so the figures travel to other machines.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import random
import subprocess
import sys
import time

from bench.common import QUERIES, at_start, log, scratch_dir, snapshot_entries, summary, use_scratch_home, write_result


def import_numpy_ms(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return round(sorted(times)[len(times) // 2], 1)


def fill_site(site, slugs: list[str], keys: int, confirmations: int, flags: int, rng: random.Random) -> list[str]:
    """Keys and flags through the store; confirmations in one bulk transaction (one commit per row,
    as ``SiteStore.confirm`` does, would take minutes here and measures nothing this benchmark is about)."""
    import sqlite3

    from synapse_ai.web.keys import hash_key, key_prefix, new_key

    made, rows = [], []
    for i in range(keys):
        key = new_key()
        stored = site.add_api_key(f"bench-{i}", ("read", "vote"), hash_key(key), key_prefix(key))
        made.append(key)
        chosen = rng.sample(slugs, min(confirmations, len(slugs)))
        rows += [(slug, stored.voter, "2026-01-01T00:00:00+00:00") for slug in chosen]
    conn = sqlite3.connect(str(site.path), timeout=30)
    with conn:
        conn.executemany("insert into confirmations (slug, voter, created_at) values (?, ?, ?)", rows)
    conn.close()
    for i in range(flags):
        site.add_entry_flag(rng.choice(slugs), f"key:flagger-{i % 50}", rng.choice(["stale", "incorrect"]), "bench")
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000, help="API keys in the site store")
    parser.add_argument("--confirmations", type=int, default=20, help="entries each key confirmed")
    parser.add_argument("--flags", type=int, default=500, help="open flags")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the query set")
    args = parser.parse_args(argv)
    start = at_start()
    home = scratch_dir("feedback")
    use_scratch_home(home)
    entries = home / "entries"
    slugs = snapshot_entries(entries)

    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.kb.evaluation import load_query_set
    from synapse_ai.kb.service import KnowledgeBase
    from synapse_ai.web.keys import hash_key
    from synapse_ai.web.sitestore import open_site_store

    kb = KnowledgeBase.open(home / "kb.db", [entries], embedder=HashingEmbedder())
    site = open_site_store(kb.store.url)
    rng = random.Random(7)
    log(f"filling the site store: {args.keys} keys x {args.confirmations} confirmations, {args.flags} flags")
    keys = fill_site(site, slugs, args.keys, args.confirmations, args.flags, rng)
    queries = [q.text for q in load_query_set(QUERIES)]
    for q in queries[:20]:  # warm the caches (signal index, query vectors) for both variants
        kb.search(q, 5)
        kb.search(q, 5, feedback=site.feedback_for)

    plain, with_feedback, lookup = [], [], []
    for _ in range(args.rounds):
        for q in queries:
            t = time.perf_counter()
            kb.search(q, 5)
            plain.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            kb.search(q, 5, feedback=site.feedback_for)
            with_feedback.append((time.perf_counter() - t) * 1000)
    candidates = [[r.slug for r in kb.search(q, 30).results] for q in queries]
    for _ in range(args.rounds):
        for slugs_of_query in candidates:
            t = time.perf_counter()
            site.feedback_for(slugs_of_query)
            lookup.append((time.perf_counter() - t) * 1000)
    key_lookups = []
    for key in rng.sample(keys, min(500, len(keys))):
        t = time.perf_counter()
        site.api_key_by_hash(hash_key(key))
        key_lookups.append((time.perf_counter() - t) * 1000)
    from synapse_ai.web.security import StoredRateLimiter

    limiter = StoredRateLimiter(site, "key_request", 10**9, 60)
    key_checks = []
    for key in rng.sample(keys, min(500, len(keys))):
        t = time.perf_counter()
        found = site.api_key_by_hash(hash_key(key))
        limiter.hit(found.id)
        key_checks.append((time.perf_counter() - t) * 1000)
    site.close()
    kb.close()

    numpy_ms = import_numpy_ms()
    result = {
        "at_start": start,
        "setup": {
            "entries": len(slugs),
            "queries": len(queries),
            "rounds": args.rounds,
            "keys": args.keys,
            "confirmation_rows": args.keys * min(args.confirmations, len(slugs)),
            "open_flags": args.flags,
            "embedder": "hash (the model's cost is the same with and without feedback)",
        },
        "search_ms": summary(plain),
        "search_with_feedback_ms": summary(with_feedback),
        "feedback_for_ms": summary(lookup),
        "api_key_by_hash_ms": summary(key_lookups),
        "key_check_with_stored_limit_ms": summary(key_checks),
        "import_numpy_ms": numpy_ms,
        "feedback_for_median_vs_import_numpy": round(summary(lookup)["median"] / numpy_ms, 5),
    }
    path = write_result("feedback", result)
    medians = {
        name: result[name]["median"]
        for name in (
            "search_ms",
            "search_with_feedback_ms",
            "feedback_for_ms",
            "api_key_by_hash_ms",
            "key_check_with_stored_limit_ms",
        )
    }
    log(f"medians {medians}; import numpy {numpy_ms} ms -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
