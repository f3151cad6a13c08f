"""Hook matching on the labelled failure corpus: silent on routine failures, right on buried ones.

    .venv/bin/python bench/matching.py                 # scratch index of entries/ (built once, real model)
    .venv/bin/python bench/matching.py --db PATH       # an existing index, opened as the hook opens it
    .venv/bin/python bench/matching.py --json          # everything as one JSON object

Every payload from ``tests/failure_corpus.py`` goes through ``synapse_ai.skill.hook.respond(payload, kb)``,
the function ``synapse hook`` runs, against a ``KnowledgeBase`` opened the way the hook opens it
(``refresh=False``). Two rates come out:

* routine silent rate: the share of everyday tool failures (git, npm, pytest, docker, WebFetch
  404s, ...) for which the hook printed nothing (floor 0.97);
* buried right-entry rate: the share of agent/LLM-API failures at the end of long noisy output
  for which the hook named the expected entry (floor 0.90).

Beside the hook, the same texts go through ``kb.match`` the way ``synapse match`` sees them (the
command's output without Claude Code's ``Exit code N`` line and without truncation), because the
skill tells agents to pipe logs into it. Every miss is listed with what came back.
Nothing is written to bench/results: this is a tuning tool, its output goes to stdout.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/matching.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from bench.common import (
    ENTRIES,
    SCRATCH,
    cpu_model,
    entries_digest,
    log,
    percentile,
    snapshot_entries,
    use_scratch_home,
)

ROUTINE_FLOOR = 0.97
BURIED_FLOOR = 0.90
_ENTRY_LINE = re.compile(r"^Entry: (\S+) - ", re.M)
_EXIT_LINE = re.compile(r"\AExit code -?\d+\n?")
_SKIPPED = {"top": None, "matched": False, "pattern": None, "skipped": True}


def open_kb(db: Path | None, model: str | None, rebuild: bool):
    """The knowledge base the hook would use: ``--db`` as given, else a scratch index of entries/."""
    from synapse_ai.kb.service import KnowledgeBase

    if model:
        os.environ["SYNAPSE_MODEL"] = model
    if db is not None:
        if not db.is_file():
            raise SystemExit(f"matching: no search index at {db}; run 'synapse index --db {db}' first")
        return KnowledgeBase.open(db, refresh=False), str(db)
    home = SCRATCH / f"matching-{entries_digest(ENTRIES)}-{(model or 'default').replace('/', '_')}"
    use_scratch_home(home)
    if model:
        os.environ["SYNAPSE_MODEL"] = model
    entries = home / "entries"
    path = home / "synapse.db"
    if rebuild and path.exists():
        path.unlink()
    if not path.exists():
        snapshot_entries(entries)
        log(f"matching: building the index at {path} (first run; loads the embedding model)")
        started = time.perf_counter()
        KnowledgeBase.open(path, [entries]).close()
        log(f"matching: index built in {time.perf_counter() - started:.1f}s")
    return KnowledgeBase.open(path, refresh=False), str(path)


def hook_answer(payload: dict, kb) -> tuple[str | None, float]:
    """The slug the hook's context names (None when it stays silent), and the time it took."""
    from synapse_ai.skill.hook import respond

    started = time.perf_counter()
    answer = respond(payload, kb)
    elapsed = time.perf_counter() - started
    if not answer:
        return None, elapsed
    found = _ENTRY_LINE.search(answer["hookSpecificOutput"]["additionalContext"])
    return (found.group(1) if found else "?"), elapsed


def nearest(text: str | None, kb) -> dict:
    """What ``kb.match`` returns for ``text``: top slug, matched, and why (for reading misses)."""
    if not text:
        return {"top": None, "matched": False, "pattern": None}
    response = kb.match(text, limit=1)
    if not response.results:
        return {"top": None, "matched": bool(response.matched), "pattern": None}
    top = response.results[0]
    return {"top": top.slug, "matched": bool(response.matched), "pattern": top.why.matched_on}


def run(kb, with_match: bool = True) -> dict:
    from synapse_ai.skill.hook import build_query
    from tests.failure_corpus import build_buried_payload, buried_items, buried_output, routine_payloads

    timings: list[float] = []
    routine, buried = [], []
    for item_id, payload in routine_payloads():
        slug, elapsed = hook_answer(payload, kb)
        timings.append(elapsed)
        raw = _EXIT_LINE.sub(
            "", payload["error"] if isinstance(payload["error"], str) else json.dumps(payload["error"])
        )
        via_match = nearest(raw, kb) if with_match else _SKIPPED
        routine.append(
            {
                "id": item_id,
                "silent": slug is None,
                "hook_slug": slug,
                "query": nearest(build_query(payload), kb) if slug is not None else None,
                "match_silent": not via_match["matched"],
                "match": via_match,
            }
        )
    for item in buried_items():
        payload = build_buried_payload(item)
        slug, elapsed = hook_answer(payload, kb)
        timings.append(elapsed)
        via_match = nearest(buried_output(item), kb) if with_match else _SKIPPED
        right = slug == item["slug"]
        buried.append(
            {
                "id": item["id"],
                "expected": item["slug"],
                "right": right,
                "hook_slug": slug,
                "truncated": bool(item.get("truncate")),
                "error_chars": len(payload["error"]),
                "query": nearest(build_query(payload), kb) if not right else None,
                "match_right": via_match["matched"] and via_match["top"] == item["slug"],
                "match": via_match,
            }
        )
    n_r, n_b = len(routine), len(buried)
    if not with_match:
        for row in routine + buried:
            row["match_silent"], row["match_right"] = True, True
    return {
        "routine": {
            "payloads": n_r,
            "silent": sum(r["silent"] for r in routine),
            "silent_rate": round(sum(r["silent"] for r in routine) / n_r, 4),
            "floor": ROUTINE_FLOOR,
            "match_silent_rate": round(sum(r["match_silent"] for r in routine) / n_r, 4),
        },
        "buried": {
            "payloads": n_b,
            "right": sum(b["right"] for b in buried),
            "right_rate": round(sum(b["right"] for b in buried) / n_b, 4),
            "floor": BURIED_FLOOR,
            "truncated_right_rate": _rate([b["right"] for b in buried if b["truncated"]]),
            "match_right_rate": round(sum(b["match_right"] for b in buried) / n_b, 4),
        },
        "hook_ms_in_process": {
            "median": round(percentile(timings, 50) * 1000, 1),
            "p90": round(percentile(timings, 90) * 1000, 1),
            "max": round(max(timings) * 1000, 1),
        },
        "routine_misses": [r for r in routine if not r["silent"]],
        "buried_misses": [b for b in buried if not b["right"]],
        "match_routine_misses": [{"id": r["id"], **r["match"]} for r in routine if not r["match_silent"]],
        "match_buried_misses": [
            {"id": b["id"], "expected": b["expected"], **b["match"]} for b in buried if not b["match_right"]
        ],
    }


def _rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _came_back(hook_slug: str | None, info: dict | None) -> str:
    if hook_slug is not None:
        extra = f", pattern {info['pattern']!r}" if info and info.get("pattern") else ""
        return f"hook named {hook_slug}{extra}"
    if not info or info["top"] is None:
        return "silent (no result at all)"
    return f"silent (top {info['top']}, matched={info['matched']})"


def report(data: dict) -> str:
    r, b, t = data["routine"], data["buried"], data["hook_ms_in_process"]
    lines = [
        f"index: {data['db']} (model {data['model']}); machine: {data['cpu_model']}",
        f"routine silent rate: {r['silent']}/{r['payloads']} = {r['silent_rate']:.3f} (floor {r['floor']})"
        + ("" if r["silent_rate"] >= r["floor"] else "  BELOW FLOOR"),
        f"buried right-entry rate: {b['right']}/{b['payloads']} = {b['right_rate']:.3f} (floor {b['floor']})"
        + ("" if b["right_rate"] >= b["floor"] else "  BELOW FLOOR")
        + (f"; truncated items {b['truncated_right_rate']:.3f}" if b["truncated_right_rate"] is not None else ""),
        (
            f"synapse match on the raw output: routine silent {r['match_silent_rate']:.3f}, buried right "
            f"{b['match_right_rate']:.3f}"
            if data["with_match"]
            else "synapse match on the raw output: skipped (--hook-only)"
        ),
        f"hook respond() in process: median {t['median']} ms, p90 {t['p90']} ms, max {t['max']} ms",
    ]
    if data["routine_misses"]:
        lines.append(f"\nroutine misses ({len(data['routine_misses'])}): expected silent")
        for miss in data["routine_misses"]:
            lines.append(f"  {miss['id']}: {_came_back(miss['hook_slug'], miss['query'])}")
    if data["buried_misses"]:
        lines.append(f"\nburied misses ({len(data['buried_misses'])}):")
        for miss in data["buried_misses"]:
            lines.append(
                f"  {miss['id']}: expected {miss['expected']}; "
                f"{_came_back(miss['hook_slug'], miss['query'])}; error {miss['error_chars']} chars"
            )
    if data["match_routine_misses"]:
        lines.append(f"\nsynapse match, routine texts that matched ({len(data['match_routine_misses'])}):")
        lines += [f"  {m['id']}: top {m['top']}" for m in data["match_routine_misses"]]
    if data["match_buried_misses"]:
        lines.append(
            f"\nsynapse match, buried texts without the right confident match ({len(data['match_buried_misses'])}):"
        )
        lines += [
            f"  {m['id']}: expected {m['expected']}; top {m['top']}, matched={m['matched']}"
            for m in data["match_buried_misses"]
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        type=Path,
        help="Search index to use, opened read-only as the hook does "
        "(default: a scratch index of entries/ under $TMPDIR/synapse-bench, built on first use).",
    )
    parser.add_argument("--json", action="store_true", help="Print the rates and every miss as one JSON object.")
    parser.add_argument(
        "--model",
        help="Embedding model for the scratch index and queries (default: the configured "
        "model, all-MiniLM-L6-v2; 'hash' gives a quick run without semantics).",
    )
    parser.add_argument(
        "--hook-only",
        action="store_true",
        help="Only run the hook's respond(); skip the 'synapse match' view of the raw output (about half the time).",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="Rebuild the scratch index even if one exists "
        "(after changing how entries are indexed). Ignored with --db.",
    )
    args = parser.parse_args(argv)
    try:
        kb, db = open_kb(args.db, args.model, args.rebuild)
    except Exception as exc:  # noqa: BLE001 - a broken index is a user problem: one line, no traceback
        print(f"matching: cannot open the index: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    try:
        data = {
            "db": db,
            "model": kb.model_id,
            "cpu_model": cpu_model(),
            "with_match": not args.hook_only,
            **run(kb, with_match=not args.hook_only),
        }
    finally:
        kb.close()
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
