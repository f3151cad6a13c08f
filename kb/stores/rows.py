"""How an ``Entry`` is laid out as a row, shared by both backends so they store and read it alike.

List fields are JSON text in both (one layout, one reader); the full-text columns (``body``,
``patterns_text``) are what each backend's keyword index is built from.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from synapse_ai.kb.model import Entry, Section, Verified
from synapse_ai.kb.signature import required_literal

SIGNAL_COLUMNS = (
    "slug, patterns, pattern_literals, generic_patterns, generic_literals, http_statuses, error_types, title"
)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _verified(text: str | None) -> Verified | None:
    if not text:
        return None
    data = json.loads(text)
    return Verified(date.fromisoformat(data["date"]), tuple(data["against"]))


def entry_row(entry: Entry, markdown: str, content_hash: str, mtime_ns: int = 0, size: int = 0) -> dict:
    """The ``entries`` row of ``entry`` (column -> value)."""
    return {
        "slug": entry.slug,
        "title": entry.title,
        "summary": entry.summary,
        "category": entry.category,
        "tags": _json(entry.tags),
        "patterns": _json(entry.patterns),
        "environment": _json(entry.environment),
        "savings": entry.savings,
        "sources": _json(entry.sources),
        "created": entry.created.isoformat(),
        "updated": entry.updated.isoformat(),
        "body": "\n\n".join([entry.quick_fix] + [f"## {s.name}\n\n{s.body}" for s in entry.sections]),
        "patterns_text": "\n".join(entry.patterns),
        "pattern_literals": _json([required_literal(p) for p in entry.patterns]),
        "quick_fix": entry.quick_fix,
        "verified": _json(entry.verified.to_dict()) if entry.verified else None,
        "http_statuses": _json(entry.http_statuses),
        "error_types": _json(entry.error_types),
        "generic_patterns": _json(entry.generic_patterns),
        "generic_literals": _json([required_literal(p) for p in entry.generic_patterns]),
        "markdown": markdown,
        "path": str(entry.path) if entry.path else "",
        "file_mtime_ns": mtime_ns,
        "file_size": size,
        "content_hash": content_hash,
    }


def row_to_entry(row: dict, sections: list[Section]) -> Entry:
    """The ``Entry`` an ``entries`` row (column -> value) and its sections hold."""
    return Entry(
        slug=row["slug"],
        title=row["title"],
        summary=row["summary"],
        category=row["category"],
        tags=json.loads(row["tags"]),
        patterns=json.loads(row["patterns"]),
        environment=json.loads(row["environment"]),
        savings=row["savings"],
        sources=json.loads(row["sources"]),
        created=date.fromisoformat(row["created"]),
        updated=date.fromisoformat(row["updated"]),
        quick_fix=row.get("quick_fix") or "",
        verified=_verified(row.get("verified")),
        http_statuses=json.loads(row.get("http_statuses") or "[]"),
        error_types=json.loads(row.get("error_types") or "[]"),
        generic_patterns=json.loads(row.get("generic_patterns") or "[]"),
        sections=sections,
        path=Path(row["path"]) if row["path"] else None,
    )


def signals_of(patterns, literals, generic, generic_literals, statuses, types, title) -> dict:
    """An entry's matching signals (``synapse_ai.kb.signals.SignalIndex``) from the columns named in
    ``SIGNAL_COLUMNS`` after the slug: specific and generic patterns as (pattern, required literal)
    pairs, HTTP statuses and error types."""
    patterns, generic = json.loads(patterns), json.loads(generic or "[]")
    literals = json.loads(literals) if literals else [required_literal(p) for p in patterns]
    generic_literals = json.loads(generic_literals) if generic_literals else [required_literal(p) for p in generic]
    return {
        "patterns": list(zip(patterns, literals)),
        "generic_patterns": list(zip(generic, generic_literals)),
        "http_statuses": json.loads(statuses or "[]"),
        "error_types": json.loads(types or "[]"),
        "title": title or "",
    }
