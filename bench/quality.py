"""Retrieval quality on the labelled query set, four retrieval modes side by side.

    .venv/bin/python -m bench.quality            # → bench/results/quality.json + a markdown table

Modes (one index, built with the real model over a snapshot of the shipped entries):

* ``bm25``        FTS5 only: ``store.lexical_search(query_terms(q))``.  BM25 scores are
                  not calibrated, so there is no abstention rule: matched / abstention are "n/a".
* ``dense_st``    dense only, query embedded by the full MiniLM (sentence-transformers, torch);
                  an entry's score is the max cosine over its stored vectors; matched = cosine ≥ COSINE_ALONE.
* ``dense_numpy`` the same with the fast numpy query model (what the product uses for queries).
* ``hybrid``      the shipped ``KnowledgeBase.search`` (patterns + BM25 + dense, RRF, abstention rule).

Only queries whose entry is in the snapshot are counted (the query set and entries are edited in
parallel); the number is in the results.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import os
import sys
import time

from bench.common import QUERIES, at_start, log, scratch_dir, snapshot_entries, summary, use_scratch_home, write_result

MODES = ("bm25", "dense_st", "dense_numpy", "hybrid")
LABELS = {
    "bm25": "BM25 only (FTS5)",
    "dense_st": "Dense only, full MiniLM (torch)",
    "dense_numpy": "Dense only, numpy query model",
    "hybrid": "Hybrid (shipped KnowledgeBase.search)",
}


def dense_ranker(matrix_triple, embed_one, cosine_alone: float):
    """``search(text) -> (slugs by max cosine, matched)`` over a ``(slugs, fields, matrix)`` triple."""
    import numpy as np

    slugs, _fields, matrix = matrix_triple
    slug_array = np.array(slugs)
    unique, inverse = np.unique(slug_array, return_inverse=True)

    def search(text: str):
        vector = np.asarray(embed_one(text), dtype=np.float32)
        sims = matrix @ vector
        best = np.full(len(unique), -np.inf, dtype=np.float32)
        np.maximum.at(best, inverse, sims)
        order = np.argsort(-best)
        ranked = [str(unique[i]) for i in order]
        return ranked, bool(best[order[0]] >= cosine_alone)

    return search


def run(limit: int = 5) -> dict:
    from synapse_ai.kb.evaluation import evaluate, load_query_set
    from synapse_ai.kb.search import CANDIDATES, COSINE_ALONE, query_terms

    home = scratch_dir("quality")
    use_scratch_home(home)
    entries = home / "entries"
    slugs = set(snapshot_entries(entries))
    all_queries = load_query_set(QUERIES)
    queries = [q for q in all_queries if q.slug is None or q.slug in slugs]
    skipped = len(all_queries) - len(queries)
    log(
        f"quality: {len(slugs)} entries, {len(queries)} queries ({skipped} skipped: entry not in snapshot); home {home}"
    )

    from synapse_ai.kb.service import KnowledgeBase

    started = time.perf_counter()
    kb = KnowledgeBase.open(home / "synapse.db", [entries])  # real model: builds the index, exports the numpy model
    log(
        f"index built in {time.perf_counter() - started:.1f}s "
        f"({kb.last_report.summary() if kb.last_report else 'current'})"
    )
    triple = kb.store.embedding_matrix(kb.model_id)
    reference = kb._embedder_for(10_000)  # the sentence-transformers embedder (already loaded by the index)
    fast = kb.query_embedder()
    assert type(fast).__name__ == "NumpyBertEmbedder", type(fast)

    def bm25(text: str):
        return [hit.slug for hit in kb.store.lexical_search(query_terms(text), CANDIDATES)], False

    def hybrid(text: str):
        response = kb.search(text, limit)
        return [r.slug for r in response.results], response.matched

    # torch (dense_st) runs last: its OpenMP threads keep spinning after each call and would slow
    # the numpy modes' timings if they ran after it.
    searchers = {
        "bm25": bm25,
        "dense_numpy": dense_ranker(triple, fast.embed_one, COSINE_ALONE),
        "hybrid": hybrid,
        "dense_st": dense_ranker(triple, lambda t: reference.embed([t])[0], COSINE_ALONE),
    }
    modes: dict[str, dict] = {}
    for mode, search in searchers.items():
        timings: list[float] = []

        def timed(text, search=search, timings=timings):
            t0 = time.perf_counter()
            out = search(text)
            timings.append((time.perf_counter() - t0) * 1000)
            return out

        search(queries[0].text)  # warm caches (dense index, pattern index, lazy imports)
        metrics = evaluate(queries, timed)
        result = metrics.as_dict()
        if mode == "bm25":
            result["matched_rate"] = result["matched_correct"] = result["abstention"] = "n/a"
        result["per_kind_hit_at_1"] = {}
        for kind in ("error", "symptom"):
            subset = [q for q in queries if q.kind == kind]
            if subset:
                result["per_kind_hit_at_1"][kind] = {
                    "queries": len(subset),
                    "hit_at_1": round(evaluate(subset, search).hit_at_1, 4),
                }
        result["latency_ms_in_process"] = summary(timings, 3)
        result["misses"] = [{"expected": e, "query": q, "top3": t} for e, q, t in metrics.misses]
        modes[mode] = result
        log(f"{mode}: hit@1 {result['hit_at_1']}, MRR {result['mrr']}")
    kb.close()
    return {
        "entries": len(slugs),
        "queries_on_topic": sum(1 for q in queries if q.slug),
        "queries_off_topic": sum(1 for q in queries if q.slug is None),
        "queries_skipped_entry_missing": skipped,
        "limit": limit,
        "cosine_alone": COSINE_ALONE,
        "model": kb.model_id,
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "latency_note": "in-process, one query at a time, on a shared machine; torch uses its default threads",
        "modes": modes,
    }


def fmt(value) -> str:
    return value if isinstance(value, str) else f"{value:.3f}"


def table(data: dict) -> str:
    rows = [
        "| mode | hit@1 | hit@3 | MRR | matched rate | matched & correct | off-topic abstention | hit@1 error | hit@1 "
        "symptom | ms/query (median) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        m = data["modes"][mode]
        kinds = m["per_kind_hit_at_1"]
        rows.append(
            f"| {LABELS[mode]} | {fmt(m['hit_at_1'])} | {fmt(m['hit_at_3'])} | {fmt(m['mrr'])} | "
            f"{fmt(m['matched_rate'])} | "
            f"{fmt(m['matched_correct'])} | {fmt(m['abstention'])} | "
            f"{fmt(kinds.get('error', {}).get('hit_at_1', 'n/a'))} | "
            f"{fmt(kinds.get('symptom', {}).get('hit_at_1', 'n/a'))} | {m['latency_ms_in_process']['median']:.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=5)
    args = parser.parse_args(argv)
    load_before = at_start()
    data = run(args.limit)
    data["at_start"] = load_before
    text = table(data)
    data["table_markdown"] = text
    path = write_result("quality", data)
    print(
        f"\n{data['entries']} entries, {data['queries_on_topic']} on-topic + {data['queries_off_topic']} off-topic "
        "queries "
        f"(matched: dense uses cosine ≥ {data['cosine_alone']}; BM25 has no calibrated rule)\n"
    )
    print(text)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
