"""``synapse_ai.kb.freshness``: model ids checked against the installed SDK, canonical tags, stale entries."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner

from synapse_ai.kb.cli import main
from synapse_ai.kb.freshness import current_claude_models, is_stale, tag_problem
from synapse_ai.kb.parse import parse_entry
from tests.kb.test_parse import GOOD


def _entry_with_code(code: str):
    text = GOOD.replace("## Root Cause", f"```python\n{code}\n```\n\n## Root Cause", 1)
    return text


def test_current_models_come_from_the_installed_sdk():
    import typing

    from anthropic._data.deprecated_models import DEPRECATED_MODELS
    from anthropic.types.model_param import ModelParam

    literals = {a for arg in typing.get_args(ModelParam) for a in typing.get_args(arg) if isinstance(a, str)}
    current = current_claude_models()
    assert current and current == literals - set(DEPRECATED_MODELS)


def test_lint_fails_on_a_model_the_sdk_does_not_list_and_accepts_retired_marker(tmp_path):
    model = sorted(current_claude_models())[0]
    good = tmp_path / "good" / "sample-error.md"
    good.parent.mkdir()
    good.write_text(_entry_with_code(f'MODEL = os.environ.get("ANTHROPIC_MODEL", "{model}")'), encoding="utf-8")
    assert CliRunner().invoke(main, ["lint", str(good)]).exit_code == 0

    bad = tmp_path / "bad" / "sample-error.md"
    bad.parent.mkdir()
    bad.write_text(
        _entry_with_code('client.messages.create(model="claude-sonnet-4-5", max_tokens=10)'), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["lint", str(bad)])
    assert (
        result.exit_code == 1 and "claude-sonnet-4-5" in result.output and "does not list as current" in result.output
    )

    marked = tmp_path / "marked" / "sample-error.md"
    marked.parent.mkdir()
    marked.write_text(
        _entry_with_code('client.messages.create(model="claude-sonnet-4-5")  # retired'), encoding="utf-8"
    )
    assert CliRunner().invoke(main, ["lint", str(marked)]).exit_code == 0


def test_stale_days_lists_entries_not_reverified(tmp_path):
    folder = tmp_path / "entries"
    folder.mkdir()
    old = GOOD.replace(
        "updated: 2026-11-02", "updated: 2026-11-02\nverified:\n  date: 2026-01-05\n  against: [anthropic 2.0.0]"
    )
    (folder / "sample-error.md").write_text(old, encoding="utf-8")
    fresh = CliRunner().invoke(main, ["lint", str(folder)])
    assert fresh.exit_code == 0
    stale = CliRunner().invoke(main, ["lint", "--stale-days", "30", str(folder)])
    assert stale.exit_code == 1 and "stale: last verified 2026-01-05" in stale.output
    entry = parse_entry(old, "sample-error.md")
    assert is_stale(entry, 30, today=date(2026, 12, 2)) and not is_stale(entry, 400, today=date(2026, 12, 2))
    assert is_stale(parse_entry(GOOD, "sample-error.md"), 10_000)  # never verified


def test_tags_are_canonical():
    assert tag_problem("http-429") is None and tag_problem("anthropic") is None
    assert "http-429" in tag_problem("429")
    assert "jsonrpc-32000" in tag_problem("-32000")
    assert "retries" in tag_problem("retry")
    assert "lowercase" in tag_problem("RateLimitError")


def test_specific_patterns_must_not_match_everyday_failures(tmp_path):
    path = tmp_path / "sample-error.md"
    path.write_text(
        GOOD.replace("  - 'sample_error: thing \\d+ failed'", "  - 'Too many open files'"), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["lint", str(path)])
    assert result.exit_code == 1 and "matches an everyday failure" in result.output
    path.write_text(GOOD.replace("patterns:\n", "error_types: [TimeoutError]\npatterns:\n"), encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", str(path)])
    assert result.exit_code == 1 and "builtin exception" in result.output
