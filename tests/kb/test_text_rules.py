"""Rules several surfaces share: the result-limit clamp, code stripped as the parser reads fences,
and reading entry files into problems (kb.limits, kb.model.prose_lines, kb.lint.load_entry)."""

from __future__ import annotations

from pathlib import Path

from synapse_ai.kb.limits import MAX_RESULTS, clamp_limit
from synapse_ai.kb.lint import duplicate_slug, lint_paths, load_entry
from synapse_ai.kb.model import prose_lines
from tests.conftest import ENTRIES


def test_clamp_limit_keeps_each_surfaces_maximum():
    assert [clamp_limit(n) for n in (-5, 0, 1, 7, MAX_RESULTS, MAX_RESULTS + 1, 10**9)] == [1, 1, 1, 7, 50, 50, 50]
    assert [clamp_limit(n, 20) for n in (0, 20, 21)] == [1, 20, 20]


def test_prose_lines_drop_fenced_code_as_the_parser_reads_it():
    text = "before\n```python\ncode()\n## not a heading\n```\nafter ```` ```inline```` ``` span\n## heading"
    assert prose_lines(text) == ["before", "after ```` ```inline```` ``` span", "## heading"]
    # A fence that never closes is no block: its lines stay prose, as the parser keeps them.
    assert prose_lines("a\n```\nb") == ["a", "```", "b"]
    assert prose_lines("") == [""]


def test_hook_prose_drops_code_blocks_and_keeps_inline_backtick_spans():
    from synapse_ai.skill.hook import _prose

    # The regex the hook used before cut everything after an inline ```` ``` ```` span.
    inline = "Falls back to a ```` ```python ```` fence, then parses the whole reply as Python."
    assert _prose(inline, 1000) == inline
    listed = "The client log says:\n\n- Claude Desktop:\n  ```text\n  spawn npx ENOENT\n  ```\n- then it gives up."
    assert _prose(listed, 1000) == "The client log says: - Claude Desktop: - then it gives up."


def test_load_entry_turns_every_failure_into_problems(tmp_path):
    good = sorted(ENTRIES.glob("*.md"))[1]
    entry, problems = load_entry(good)
    assert entry is not None and problems == []
    broken = tmp_path / "broken.md"
    broken.write_text("no front matter\n", encoding="utf-8")
    entry, problems = load_entry(broken)
    assert entry is None and problems and all(p.path == str(broken) for p in problems)
    entry, problems = load_entry(tmp_path / "missing.md")
    assert entry is None and problems[0].message.startswith("cannot read: ")


def test_duplicate_slug_is_reported_on_every_later_file(tmp_path):
    seen: dict[str, Path] = {}
    assert duplicate_slug(seen, "a", tmp_path / "1.md") is None
    problem = duplicate_slug(seen, "a", tmp_path / "2.md")
    assert problem.line == 2 and problem.path == str(tmp_path / "2.md") and str(tmp_path / "1.md") in problem.message
    source = sorted(ENTRIES.glob("*.md"))[1]
    copies = [tmp_path / folder / source.name for folder in ("x", "y")]
    for copy in copies:
        copy.parent.mkdir()
        copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    count, problems = lint_paths(copies)
    assert count == 2 and [p.path for p in problems if "duplicate slug" in p.message] == [str(copies[1])]
