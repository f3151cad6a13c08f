"""Plain-data views of entries, shared by ``synapse show --json``, the web API and agent tools."""

from __future__ import annotations

from kb.model import Entry, fix_preamble


def entry_to_dict(entry: Entry) -> dict:
    """The entry as JSON-ready data, with the Fix section split into its options."""
    data = entry.content()
    fix = entry.section("Fix")
    data["fix"] = {
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
    return data


def fix_digest(entry: Entry, limit: int = 600) -> str:
    """A short, factual summary of the fixes: option titles and the first sentence of each."""
    lines = []
    for option in entry.fix_options:
        prose = " ".join(line for line in option.body.split("```")[0].splitlines() if line.strip())
        first = prose.split(". ")[0].strip().rstrip(".")
        lines.append(f"Option {option.number}: {option.title}" + (f" ({first[:160]})" if first else ""))
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"
