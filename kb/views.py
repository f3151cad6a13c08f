"""Plain-data views of entries, shared by ``synapse show``, the web API and agent tools.

Every reader leads with the same two things: the quick fix (what to change, in one breath) and
when the entry's facts were last verified.  They are built here once so the CLI, the site, the
MCP server and the agent tools say them the same way.
"""

from __future__ import annotations

from datetime import date

from synapse_ai.kb.model import Entry, Section, Verified, fix_preamble

NOT_VERIFIED = "Not verified yet"
QUICK_FIX_HEADING = "Quick fix"


def verified_text(entry: Entry) -> str:
    """``Verified 2026-12-02 against anthropic 2.15.0, openai 2.8.1``, or ``Not verified yet``."""
    if entry.verified is None:
        return NOT_VERIFIED
    against = ", ".join(entry.verified.against)
    return f"Verified {entry.verified.on.isoformat()}" + (f" against {against}" if against else "")


def fix_to_dict(entry: Entry) -> dict:
    """The Fix section as its preamble and numbered options, each with its code blocks."""
    fix = entry.section("Fix")
    return {
        "preamble": fix_preamble(fix.body) if fix else "",
        "options": [
            {
                "number": o.number,
                "title": o.title,
                "body": o.body,
                "code": [{"language": b.language, "runnable": b.runnable, "code": b.code} for b in o.code_blocks],
            }
            for o in entry.fix_options
        ],
    }


def entry_to_dict(entry: Entry) -> dict:
    """The entry as JSON-ready data, quick fix and verification first, the Fix split into options."""
    content = entry.content()
    data = {key: content.pop(key) for key in ("slug", "title", "quick_fix", "verified", "summary")}
    data.update(content)
    data["fix"] = fix_to_dict(entry)
    return data


def entry_from_dict(data: dict) -> Entry:
    """The inverse of ``entry_to_dict``: ``entry_to_dict(entry_from_dict(d)) == d`` for any ``d`` it
    produced.  Keys it does not know (``stars``, ``confirmations`` from a server) are ignored; ``fix``
    is derived from the Fix section, so it is not read back."""
    verified = data.get("verified")
    return Entry(
        slug=data["slug"],
        title=data["title"],
        summary=data["summary"],
        category=data["category"],
        tags=list(data.get("tags") or []),
        patterns=list(data.get("patterns") or []),
        environment=list(data.get("environment") or []),
        savings=data.get("savings") or "",
        sources=list(data.get("sources") or []),
        created=date.fromisoformat(data["created"]),
        updated=date.fromisoformat(data["updated"]),
        quick_fix=data.get("quick_fix") or "",
        verified=Verified(date.fromisoformat(verified["date"]), tuple(verified["against"])) if verified else None,
        http_statuses=list(data.get("http_statuses") or []),
        error_types=list(data.get("error_types") or []),
        generic_patterns=list(data.get("generic_patterns") or []),
        sections=[Section(s["name"], s["body"]) for s in data.get("sections") or []],
    )


def entry_markdown(entry: Entry, section: str | None = None) -> str:
    """The entry as plain markdown for a pipe or a file: no colours, no padding, no wrapping.

    The whole entry opens with its title, summary, facts and verification line, then the quick
    fix, then the sections.  ``section`` gives that section only; for ``Fix`` the quick fix comes
    first, then the options.  The caller has checked that the section exists.
    """
    quick = [f"## {QUICK_FIX_HEADING}", "", entry.quick_fix, ""] if entry.quick_fix else []
    if section is not None:
        chosen = entry.section(section)
        lead = quick if chosen.name == "Fix" else []
        return "\n".join([*lead, f"## {chosen.name}", "", chosen.body.strip()]) + "\n"
    parts = [
        f"# {entry.title}",
        "",
        entry.summary,
        "",
        f"slug: {entry.slug} | category: {entry.category} | tags: {', '.join(entry.tags)}",
        verified_text(entry),
        "",
        *quick,
    ]
    for s in entry.sections:
        parts += [f"## {s.name}", "", s.body.strip(), ""]
    parts += ["## Savings", "", entry.savings, "", "## Sources", "", *(f"- {u}" for u in entry.sources)]
    return "\n".join(parts) + "\n"


def fix_digest(entry: Entry, limit: int = 600) -> str:
    """A short, factual summary of the fixes: option titles and the first sentence of each."""
    lines = []
    for option in entry.fix_options:
        prose = " ".join(line for line in option.body.split("```")[0].splitlines() if line.strip())
        first = prose.split(". ")[0].strip().rstrip(".")
        lines.append(f"Option {option.number}: {option.title}" + (f" ({first[:160]})" if first else ""))
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"
