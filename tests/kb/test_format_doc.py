"""entries/README.md documents the format; this keeps the document and the parser in agreement."""

from __future__ import annotations

import re

from synapse_ai.kb.model import CATEGORIES, OPTIONAL_SECTIONS, REQUIRED_SECTIONS
from synapse_ai.kb.parse import FIELDS, OPTIONAL_FIELDS
from tests.conftest import ENTRIES

DOC = (ENTRIES / "README.md").read_text(encoding="utf-8")


def table_after(heading: str) -> list[list[str]]:
    part = DOC.split(heading, 1)[1]
    rows = []
    for line in part.splitlines()[1:]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # drop the header row


def test_fields_table_matches_parser():
    rows = table_after("## Front matter fields")
    documented = {row[0].strip("`"): row[1] for row in rows}
    assert list(documented) == list(FIELDS)
    assert documented == {name: "no" if name in OPTIONAL_FIELDS else "yes" for name in FIELDS}


def test_sections_table_matches_parser():
    rows = table_after("## Body sections")
    documented = [(row[0].strip("`"), row[1]) for row in rows]
    expected = [(name, "yes") for name in REQUIRED_SECTIONS] + [(name, "no") for name in OPTIONAL_SECTIONS]
    assert documented == expected


def test_categories_documented():
    row = next(r for r in table_after("## Front matter fields") if r[0] == "`category`")
    assert re.findall(r"`([a-z-]+)`", row[3]) == list(CATEGORIES)


def test_documented_example_is_a_valid_entry():
    from synapse_ai.kb.parse import parse_entry

    example = DOC.split("```markdown\n", 1)[1].rsplit("\n```", 1)[0]
    entry = parse_entry(example, "example-error.md")
    assert entry.slug == "example-error" and entry.fix_options[0].title == "Do the right thing"
