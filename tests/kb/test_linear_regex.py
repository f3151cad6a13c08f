"""kb.linear_regex: entry patterns match under RE2, in linear time; patterns RE2 refuses are lint problems."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from synapse_ai.kb.cli import main
from synapse_ai.kb.linear_regex import compile_linear, linear_problem, linear_rule_message
from synapse_ai.kb.parse import read_entry
from synapse_ai.kb.signals import SignalIndex
from synapse_ai.kb.signature import PatternIndex
from tests.conftest import ENTRIES
from tests.kb.helpers import write_entry


def test_a_backtracking_pattern_runs_in_linear_time():
    # Under Python's re, (a+)+$ took 2.8 s on 24 characters and doubled with each one more.
    index = PatternIndex({"evil": ["(a+)+$"], "good": [r"rate_limit_error"]})
    started = time.monotonic()
    assert index.match("a" * 5_000 + "!") == []
    assert [h.slug for h in index.match("a" * 30 + " rate_limit_error")] == ["good"]
    assert time.monotonic() - started < 5  # hang guard only (backtracking: longer than the universe)
    assert [h.slug for h in index.match("aaaa")] == ["evil"]


def test_matching_is_case_insensitive_and_survives_text_that_is_not_unicode():
    compiled = compile_linear(r"overloaded_error: \d+")
    assert compiled.search("OVERLOADED_ERROR: 529").group(0) == "OVERLOADED_ERROR: 529"
    assert compiled.search("x \udcff overloaded_error: 1 \ud800").group(0) == "overloaded_error: 1"


def test_what_re2_refuses_and_why():
    assert linear_problem(r"rate_limit_error: \d+") is None
    assert linear_problem("(a+)+$") is None  # legal and harmless under RE2
    for pattern, why in (
        (r"details(?!\. For more)", "(?!"),
        (r"(\w+) \1", "\\1"),
        (r"x{0,3000}", "{0,3000}"),
        (r"end\Z", "\\Z"),
    ):
        assert why in linear_problem(pattern), pattern
        assert linear_rule_message(pattern).startswith("not accepted by the linear-time matcher (RE2)")
        assert compile_linear(pattern) is None


def test_every_shipped_pattern_compiles_under_re2():
    refused = []
    for path in sorted(ENTRIES.glob("*.md")):
        if path.name == "README.md":
            continue
        entry = read_entry(path)
        refused += [(path.name, p) for p in entry.patterns + entry.generic_patterns if linear_problem(p)]
    assert refused == []


def test_rewritten_shipped_patterns_keep_their_meaning():
    """The five shipped patterns rewritten for RE2 (a look-ahead, counts over 1000) still tell the
    same texts apart."""
    signals = {}
    slugs = (
        "openai-insufficient-quota",
        "prompt-cache-miss",
        "mcp-closed-file-on-shutdown",
        "mcp-stdio-windows-notimplemented",
    )
    for slug in slugs:
        entry = read_entry(ENTRIES / f"{slug}.md")
        signals[slug] = {"patterns": entry.patterns, "generic_patterns": entry.generic_patterns}
    index = SignalIndex(signals)

    def specific(text: str) -> list[str]:
        return index.evidence(text).specific_rank()

    quota = "You exceeded your current quota, please check your plan and billing details"
    openai = f"openai.RateLimitError: {quota}. For more information on this error, read the docs"
    assert specific(openai) == ["openai-insufficient-quota"]
    assert specific(f"Error: {quota}.") == ["openai-insufficient-quota"]
    assert specific(f"Error: {quota}") == ["openai-insufficient-quota"]
    # Gemini's message with the same sentence: not the OpenAI entry (in the raw text; the normalized
    # text, where the URL is "<url>", matched before the rewrite too).
    gemini = f"429 {quota}. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/x"
    assert compile_linear(read_entry(ENTRIES / "openai-insufficient-quota.md").patterns[0]).search(gemini) is None
    assert specific("usage: cache_read_input_tokens=0 input_tokens=9000") == ["prompt-cache-miss"]
    assert specific("usage: cache_read_input_tokens=0") == ["prompt-cache-miss"]
    assert specific("usage: cache_read_input_tokens=0.5") == [] and specific("cache_read_input_tokens: 05") == []
    near = '  File "/x/mcp/server/stdio.py", line 3\n' + "x" * 2900 + "\nValueError: I/O operation on closed file"
    assert specific(near) == ["mcp-closed-file-on-shutdown"]
    far = '  File "/x/mcp/server/stdio.py", line 3\n' + "x" * 3100 + "\nValueError: I/O operation on closed file"
    assert "mcp-closed-file-on-shutdown" not in specific(far)


def test_lint_refuses_a_pattern_re2_cannot_run(tmp_path: Path):
    folder = tmp_path / "entries"
    write_entry(folder, "look-around", patterns=r"'quota exceeded(?! for metric)'")
    write_entry(folder, "fine-entry", patterns=r"'quota exceeded for \w+'")
    result = CliRunner().invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    assert "look-around.md" in result.output and "RE2" in result.output and "(?!" in result.output
    assert "fine-entry.md" not in result.output
