"""Parsing entries: the typed model, round trips, and every problem with its line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from synapse_ai.kb.parse import EntryError, parse_entry, read_entry, render_entry
from tests.conftest import ENTRIES

GOOD = """---
slug: sample-error
title: "Sample: the thing fails"
summary: One line about it.
quick_fix: Retry the thing with a smaller input.
category: api-errors
tags: [anthropic, sample]
patterns:
  - 'sample_error: thing \\d+ failed'
environment: [anthropic Python SDK 2.x]
savings: No token savings; avoids one failed run.
sources: [https://docs.anthropic.com/en/api/errors]
created: 2026-11-01
updated: 2026-11-02
---

## Symptom

You see `sample_error: thing 3 failed`.

## Root Cause

Because.

## Fix

### Option 1: Do the right thing

Like this:

```python
print("fixed")
## not a section: inside a fence
```

### Option 2: Or this

Text.

## Notes

| a | b |
|---|---|
| 1 | 2 |
"""


def problems_of(text: str, name: str = "sample-error.md") -> list[tuple[int, str]]:
    with pytest.raises(EntryError) as info:
        parse_entry(text, Path(name))
    return [(p.line, p.message) for p in info.value.problems]


def test_parses_into_typed_model():
    entry = parse_entry(GOOD, Path("sample-error.md"))
    assert entry.slug == "sample-error"
    assert entry.created == date(2026, 11, 1) and entry.updated == date(2026, 11, 2)
    assert [s.name for s in entry.sections] == ["Symptom", "Root Cause", "Fix", "Notes"]
    assert [(o.number, o.title) for o in entry.fix_options] == [(1, "Do the right thing"), (2, "Or this")]
    block = entry.fix_options[0].code_blocks[0]
    assert (block.language, block.attrs, block.runnable) == ("python", (), False)
    assert "## not a section" in block.code


def test_round_trip_is_identity_on_content():
    entry = parse_entry(GOOD, Path("sample-error.md"))
    again = parse_entry(render_entry(entry), Path("sample-error.md"))
    assert again.content() == entry.content()
    assert render_entry(again) == render_entry(entry)


@pytest.mark.parametrize("path", sorted(p for p in ENTRIES.glob("*.md") if p.name != "README.md"), ids=lambda p: p.stem)
def test_every_shipped_entry_round_trips(path):
    entry = read_entry(path)
    assert parse_entry(render_entry(entry), path).content() == entry.content()


def test_missing_front_matter():
    assert problems_of("## Symptom\n\nx\n") == [
        (1, "missing front matter (the file must start with a '---' line and close it with another)")
    ]


def test_every_problem_reported_with_its_line():
    broken = (
        GOOD.replace("slug: sample-error", "slug: other-name")
        .replace("category: api-errors", "category: api-errors\ncolour: blue")
        .replace("'sample_error: thing \\d+ failed'", "'unbalanced (paren'")
        .replace("## Root Cause\n\nBecause.\n\n", "")
        .replace("### Option 2: Or this\n\nText.\n", "### Option 2: Or this\n\n")
    )
    found = problems_of(broken)
    messages = [m for _, m in found]
    assert any("does not match the file name" in m for m in messages)
    assert any("unknown field 'colour'" in m for m in messages)
    assert any("invalid regex in patterns" in m for m in messages)
    assert any("missing required section '## Root Cause'" in m for m in messages)
    assert any("empty fix" in m for m in messages)
    assert found == sorted(found, key=lambda p: p[0])
    # the unknown field is on line 7 (after '---', slug, title, summary, quick_fix, category)
    assert (7, next(m for m in messages if "colour" in m)) in found
    assert all(line >= 1 for line, _ in found)


@pytest.mark.parametrize(
    "change, message",
    [
        (("## Notes", "## Trivia"), "unknown section '## Trivia'"),
        (("## Symptom\n\nYou see", "Preamble.\n\n## Symptom\n\nYou see"), "text before the first '## ' section"),
        (("### Option 1: Do the right thing", "### Option 3: Do the right thing"), "fix options must be numbered"),
        (("updated: 2026-11-02", "updated: 2026-10-01"), "'updated' is earlier than 'created'"),
        (("created: 2026-11-01", "created: yesterday"), "'created' must be a date"),
        (("tags: [anthropic, sample]", "tags: []"), "'tags' must not be empty"),
        (("sources: [https://docs.anthropic.com/en/api/errors]", "sources: [docs]"), "source is not an http(s) URL"),
        (('print("fixed")', 'print("fixed"'), "python block does not parse"),
        (("category: api-errors", "category: cooking"), "unknown category 'cooking'"),
    ],
)
def test_single_problems(change, message):
    found = problems_of(GOOD.replace(*change))
    assert any(message in m for _, m in found), found


def test_fix_without_options_is_an_error():
    text = GOOD.split("### Option 1")[0] + "Just do it.\n"
    assert any("has no '### Option 1" in m for _, m in problems_of(text))


def test_invalid_yaml_is_reported_not_raised():
    found = problems_of(GOOD.replace("tags: [anthropic, sample]", "tags: [anthropic, sample"))
    assert len(found) == 1 and "not valid YAML" in found[0][1]


def test_render_has_no_yaml_anchors_for_equal_dates():
    entry = parse_entry(GOOD.replace("updated: 2026-11-02", "updated: 2026-11-01"), Path("sample-error.md"))
    entry.updated = entry.created  # the same object twice
    text = render_entry(entry)
    assert "&id" not in text and "*id" not in text
    assert parse_entry(text, Path("sample-error.md")).content() == entry.content()


def test_impossible_date_is_a_problem_not_a_crash():
    found = problems_of(GOOD.replace("created: 2026-11-01", "created: 2026-13-45"))
    assert (13, "'created' must be a date YYYY-MM-DD, got '2026-13-45'") in found


def test_limits_section_states_the_parsers_caps():
    from synapse_ai.kb import parse

    doc = (ENTRIES / "README.md").read_text(encoding="utf-8").split("## Limits", 1)[1].split("\n## ", 1)[0]
    assert f"{parse.MAX_ENTRY_CHARS:,} characters" in doc and f"{parse.MAX_FENCE_LINES} per entry" in doc
    assert f"{parse.MAX_HEADING_CHARS} characters" in doc and f"| {parse.MAX_LIST_ITEMS} |" in doc
    assert f"{parse.MAX_ITEM_CHARS:,} characters" in doc and f"{parse.MAX_NUMBER_DIGITS} digits" in doc
    f = parse.MAX_FIELD_CHARS
    assert (
        f"{f['slug']} / {f['title']} / {f['summary']} / {f['savings']} / {f['quick_fix']} / {f['category']} characters"
        in doc
    )


@pytest.mark.parametrize(
    "change, line, message",
    [
        (('title: "Sample: the thing fails"', "title: " + "t" * 301), 3, "'title' has 301 characters (at most 300)"),
        (
            ("  - 'sample_error: thing \\d+ failed'", "  - '" + "a" * 501 + "'"),
            9,
            "an item of 'patterns' has 501 characters (at most 500)",
        ),
        (("## Notes", "## Notes" + " " * 300), 40, "heading has 308 characters (at most 300)"),
    ],
)
def test_caps_are_problems_on_their_line(change, line, message):
    assert (line, message) in problems_of(GOOD.replace(*change))


def test_option_problems_point_at_their_own_heading():
    text = GOOD.replace("### Option 2: Or this", "### Option 1: Or this")
    assert problems_of(text) == [(36, "fix options must be numbered 1, 2, 3…: found Option 1 where Option 2 belongs")]
