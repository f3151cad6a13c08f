"""Search quality on SQLite and on PostgreSQL, side by side, on the labelled query set.

    .venv/bin/python -m bench.quality_backends                  # starts a throw-away PostgreSQL (pgserver)
    .venv/bin/python -m bench.quality_backends --database-url postgresql://...   # or uses yours (an empty database)

One index per backend over the same snapshot of the shipped entries, both built with the real model.
For each store it reports keyword-only ranking (``lexical_search`` on ``query_terms(query)``, as
``bench/quality.py``'s ``bm25`` mode) and the shipped hybrid search (``KnowledgeBase.search``).
PostgreSQL is measured with each keyword ranking in ``kb/stores/postgres.py``'s ``LEXICAL_RANKINGS``
(BM25 from term postings, the default; ``ts_rank_cd`` with field weights and length normalisation;
stock ``ts_rank``), so the choice rests on numbers.  Writes bench/results/quality_backends.json.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import QUERIES, at_start, log, scratch_dir, snapshot_entries, use_scratch_home, write_result


def start_postgres() -> str:
    """A throw-away PostgreSQL 16 + pgvector from the pgserver package; returns a database URL."""
    import pgserver
    import psycopg

    server = pgserver.get_server(Path(tempfile.mkdtemp(prefix="synapse-bench-pg-")) / "data", cleanup_mode="delete")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("create database quality")
    return server.get_uri("quality")


def measure(kb, queries, limit: int) -> dict:
    from synapse_ai.kb.evaluation import evaluate
    from synapse_ai.kb.search import CANDIDATES, query_terms

    def lexical(text: str):
        return [h.slug for h in kb.store.lexical_search(query_terms(text), CANDIDATES)], False

    def hybrid(text: str):
        response = kb.search(text, limit)
        return [r.slug for r in response.results], response.matched

    out = {}
    for mode, search in (("keywords", lexical), ("hybrid", hybrid)):
        started = time.perf_counter()
        metrics = evaluate(queries, search)
        out[mode] = metrics.as_dict() | {"seconds": round(time.perf_counter() - started, 2)}
        if mode == "keywords":
            for key in ("matched_rate", "matched_correct", "matched_wrong", "abstention"):
                out[mode][key] = "n/a"
    return out


def run(database_url: str | None, limit: int) -> dict:
    from synapse_ai.kb.evaluation import load_query_set
    from synapse_ai.kb.service import KnowledgeBase
    from synapse_ai.kb.stores.postgres import LEXICAL_RANKINGS, PostgresStore

    home = scratch_dir("quality-backends")
    use_scratch_home(home)
    entries = home / "entries"
    slugs = set(snapshot_entries(entries))
    queries = [q for q in load_query_set(QUERIES) if q.slug is None or q.slug in slugs]
    log(f"quality_backends: {len(slugs)} entries, {len(queries)} queries; home {home}")

    results: dict[str, dict] = {}
    started = time.perf_counter()
    sqlite_kb = KnowledgeBase.open(home / "synapse.db", [entries])
    log(f"sqlite index built in {time.perf_counter() - started:.1f}s")
    results["sqlite (FTS5 bm25)"] = measure(sqlite_kb, queries, limit)
    sqlite_kb.close()

    url = database_url or start_postgres()
    started = time.perf_counter()
    pg_kb = KnowledgeBase.open(url, [entries])
    log(f"postgres index built in {time.perf_counter() - started:.1f}s")
    pg_kb.close()
    for ranking in LEXICAL_RANKINGS:
        kb = KnowledgeBase(PostgresStore(url, lexical=ranking), [entries])
        results[f"postgres ({ranking})"] = measure(kb, queries, limit)
        kb.close()
    for name, modes in results.items():
        log(f"{name}: keywords hit@1 {modes['keywords']['hit_at_1']}, hybrid hit@1 {modes['hybrid']['hit_at_1']}")
    return {"entries": len(slugs), "queries": len(queries), "limit": limit, "stores": results}


def table(data: dict) -> str:
    rows = [
        "| store | keywords hit@1 | keywords MRR | hybrid hit@1 | hybrid hit@3 | hybrid MRR | matched & correct "
        "| abstention |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, modes in data["stores"].items():
        k, h = modes["keywords"], modes["hybrid"]
        rows.append(
            f"| {name} | {k['hit_at_1']:.3f} | {k['mrr']:.3f} | {h['hit_at_1']:.3f} | {h['hit_at_3']:.3f} | "
            f"{h['mrr']:.3f} | {h['matched_correct']:.3f} | {h['abstention']:.3f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: start one with pgserver)")
    parser.add_argument("--limit", type=int, default=5, help="results per search")
    args = parser.parse_args(argv)
    load_before = at_start()
    data = run(args.database_url, args.limit)
    data["at_start"] = load_before
    data["table_markdown"] = table(data)
    path = write_result("quality_backends", data)
    print(data["table_markdown"])
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
