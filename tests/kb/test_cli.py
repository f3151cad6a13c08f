"""The synapse CLI contract: output shapes, exit codes and clean user errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from synapse_ai.kb.cli import main
from tests.kb.helpers import write_entry

QUICK_FIX = "Raise max_retries on the client and cap concurrent requests."
VERIFIED = "Verified 2026-11-20 against anthropic 2.15.0, Claude API errors docs"
SLOW_QUICK_FIX = "Run independent tool calls with asyncio.gather."


def set_quick_fix(path, quick_fix: str, verified: bool) -> None:
    """Set a ``write_entry`` file's ``quick_fix`` (replacing one the template has) and, when asked,
    add a ``verified`` mapping."""
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if not line.startswith("quick_fix:")]
    at = next(i for i, line in enumerate(lines) if line.startswith("category:"))
    extra = [f"quick_fix: {quick_fix}"]
    if verified:
        extra += ["verified:", "  date: 2026-11-20", "  against: [anthropic 2.15.0, Claude API errors docs]"]
    path.write_text("\n".join(lines[:at] + extra + lines[at:]), encoding="utf-8")


@pytest.fixture
def env(tmp_path, monkeypatch):
    folder = tmp_path / "entries"
    set_quick_fix(
        write_entry(
            folder,
            "rate-limited",
            title="429 rate_limit_error from the API",
            patterns=r"'rate_limit_error'",
            symptom="Requests fail with 429.",
            fix="Back off.\n\n```python\nimport time\ntime.sleep(1)\n```",
        ),
        QUICK_FIX,
        verified=True,
    )
    set_quick_fix(
        write_entry(folder, "slow-tools", title="Tool calls run one after another", symptom="The agent is slow."),
        SLOW_QUICK_FIX,
        verified=False,
    )
    db = tmp_path / "cli.db"
    runner = CliRunner()
    result = runner.invoke(main, ["index", "--db", str(db), "--entries", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("indexed 2 entries (2 added")
    return runner, db, folder


def run(env, *args, input=None):
    runner, db, _ = env
    return runner.invoke(main, [*args, "--db", str(db)], input=input)


def test_search_json_shape(env):
    result = run(env, "search", "--json", "rate_limit_error 429")
    data = json.loads(result.output)
    assert result.exit_code == 0
    assert set(data) == {"query", "matched", "results"} and data["query"] == "rate_limit_error 429"
    assert data["results"][0]["slug"] == "rate-limited" and data["matched"] is True


def test_search_human_output(env):
    result = run(env, "search", "rate_limit_error")
    assert result.exit_code == 0 and "rate-limited" in result.output and "synapse show rate-limited" in result.output


def test_batch_jsonl_in_input_order(env):
    result = run(env, "search", "--json", "--batch", "-", input="tool calls one after another\n\nrate_limit_error\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [d["query"] for d in lines] == ["tool calls one after another", "", "rate_limit_error"]
    assert lines[1]["error"] == "empty query" and lines[2]["results"][0]["slug"] == "rate-limited"


def test_match_reads_stdin(env):
    result = run(env, "match", "--json", input="Error: {'type': 'rate_limit_error'} (req_01ABCDEF)")
    assert json.loads(result.output)["results"][0]["slug"] == "rate-limited"


@pytest.mark.parametrize(
    "args, input, message",
    [
        (("search", ""), None, "empty query"),
        (("search",), None, "empty query"),
        (("match",), "  \n", "nothing on stdin"),
        (("search", "--batch", "/no/such/file"), None, "No such file or directory"),
        (("show", "rate-limitd"), None, "no entry 'rate-limitd'; did you mean: rate-limited"),
        (("show", "rate-limited", "--section", "Nope"), None, "has no section 'Nope'"),
    ],
)
def test_user_errors_are_one_clean_line(env, args, input, message):
    result = run(env, *args, input=input)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (KeyError, TypeError, AttributeError))


def test_show_json_and_section(env):
    data = json.loads(run(env, "show", "rate-limited", "--json").output)
    assert [s["name"] for s in data["sections"]] == ["Symptom", "Root Cause", "Fix"]
    assert data["fix"]["options"][0]["code"][0] == {
        "language": "python",
        "runnable": False,
        "code": "import time\ntime.sleep(1)\n",
    }
    human = run(env, "show", "rate-limited", "--section", "fix")
    assert human.exit_code == 0 and "Option 1" in human.output and "Symptom" not in human.output


def _entry(env, slug):
    from synapse_ai.kb.service import KnowledgeBase

    kb = KnowledgeBase.open(env[1], refresh=False)
    try:
        return kb.get(slug)
    finally:
        kb.close()


def test_show_piped_is_plain_markdown_led_by_verified_and_quick_fix(env):
    result = run(env, "show", "rate-limited")  # CliRunner's stdout is not a terminal, like a pipe
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("# 429 rate_limit_error from the API\n")
    assert (
        out.index(VERIFIED) < out.index("## Quick fix\n\n" + QUICK_FIX) < out.index("## Symptom") < out.index("## Fix")
    )
    assert "## Sources\n\n- https://docs.anthropic.com/en/api/errors" in out
    assert not [line for line in out.splitlines() if line != line.rstrip()]  # no padding
    assert "\x1b[" not in out  # no colour codes


def test_show_section_fix_leads_with_the_quick_fix(env):
    out = run(env, "show", "rate-limited", "--section", "Fix").output
    assert out.startswith(f"## Quick fix\n\n{QUICK_FIX}\n\n## Fix\n\n### Option 1: Fix it\n")
    assert "Symptom" not in out and "Verified" not in out and out.count("time.sleep(1)") == 1
    other = run(env, "show", "rate-limited", "--section", "root cause").output
    assert other == "## Root Cause\n\nA reason.\n"  # the quick fix leads the Fix only


def test_show_unverified_entry_says_so(env):
    out = run(env, "show", "slow-tools").output
    assert "Not verified yet" in out and out.index("Not verified yet") < out.index(SLOW_QUICK_FIX) < out.index(
        "## Symptom"
    )


def test_entry_from_before_the_quick_fix_shows_without_it(env):
    import dataclasses
    import io

    from rich.console import Console

    from synapse_ai.kb.terminal import print_entry
    from synapse_ai.kb.views import entry_markdown

    old = dataclasses.replace(_entry(env, "rate-limited"), quick_fix="", verified=None)
    assert "Quick fix" not in entry_markdown(old) and "Not verified yet" in entry_markdown(old)
    assert entry_markdown(old, "Fix").startswith("## Fix\n")
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    print_entry(old, console=console)
    assert "Quick fix" not in console.file.getvalue() and "Not verified yet" in console.file.getvalue()


def test_show_json_leads_with_quick_fix_and_verified(env):
    data = json.loads(run(env, "show", "rate-limited", "--json").output)
    assert list(data)[:4] == ["slug", "title", "quick_fix", "verified"]
    assert data["quick_fix"] == QUICK_FIX
    assert data["verified"] == {"date": "2026-11-20", "against": ["anthropic 2.15.0", "Claude API errors docs"]}
    bare = json.loads(run(env, "show", "slow-tools", "--json").output)
    assert bare["quick_fix"] == SLOW_QUICK_FIX and bare["verified"] is None


def test_show_on_a_terminal_leads_with_quick_fix(env):
    import io

    from rich.console import Console

    from synapse_ai.kb.terminal import print_entry

    entry = _entry(env, "rate-limited")
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    print_entry(entry, console=console)
    out = console.file.getvalue()
    assert (
        out.index(VERIFIED)
        < out.index("Quick fix")
        < out.index(QUICK_FIX)
        < out.index("Symptom")
        < out.index("Option 1")
    )
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    print_entry(entry, "fix", console=console)
    out = console.file.getvalue()
    assert out.index("Quick fix") < out.index(QUICK_FIX) < out.index("Option 1") and "Symptom" not in out


def test_search_results_carry_the_quick_fix(env):
    data = json.loads(run(env, "search", "--json", "rate_limit_error 429").output)
    top = data["results"][0]
    assert list(top)[:4] == ["slug", "title", "summary", "quick_fix"] and top["quick_fix"] == QUICK_FIX
    assert {r["slug"]: r["quick_fix"] for r in data["results"]}.get("slow-tools", SLOW_QUICK_FIX) == SLOW_QUICK_FIX
    human = run(env, "search", "rate_limit_error").output
    assert f"Quick fix: {QUICK_FIX}" in human
    assert not [line for line in human.splitlines() if line != line.rstrip()]  # piped: not wrapped or padded


def test_lint_reports_file_and_line_and_exits_1(tmp_path):
    folder = tmp_path / "e"
    write_entry(folder, "fine-entry")
    bad = write_entry(folder, "bad-entry", patterns="'(oops'")
    runner = CliRunner()
    result = runner.invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), start=1) if text.startswith("patterns:"))
    assert f"{bad}:{line}: invalid regex in patterns" in result.output
    ok = runner.invoke(main, ["lint", str(folder / "fine-entry.md")])
    assert ok.exit_code == 0 and "1 entry OK" in ok.output


def test_index_unknown_folder_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(main, ["index", "--db", str(tmp_path / "x.db"), "--entries", str(tmp_path / "missing")])
    assert result.exit_code != 0 and "entries folder not found" in result.output


def test_first_search_indexes_automatically(tmp_path, monkeypatch):
    folder = tmp_path / "e"
    write_entry(folder, "only-entry", title="The only entry", symptom="zeppelin overheats")
    monkeypatch.setenv("SYNAPSE_ENTRIES_DIR", str(folder))
    result = CliRunner().invoke(main, ["search", "--json", "zeppelin overheats", "--db", str(tmp_path / "fresh.db")])
    assert result.exit_code == 0
    assert "only-entry" in [r["slug"] for r in json.loads(result.output.splitlines()[-1])["results"]]


def test_unwritable_database_is_a_clean_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(main, ["search", "x", "--db", str(blocker / "sub" / "kb.db")])
    assert result.exit_code != 0 and result.output.startswith("synapse: cannot open the database")


def test_unknown_model_is_a_clean_error(tmp_path, monkeypatch):
    folder = tmp_path / "e"
    write_entry(folder, "only-entry")
    monkeypatch.setenv("SYNAPSE_MODEL", str(tmp_path / "no-such-model"))
    result = CliRunner().invoke(main, ["index", "--db", str(tmp_path / "x.db"), "--entries", str(folder)])
    assert result.exit_code == 1 and result.stdout == ""
    # Progress lines may come first while the model loads; the error is one line, no traceback.
    assert result.stderr.splitlines()[-1].startswith("synapse: cannot load the embedding model")
    assert all(line.startswith("synapse: ") for line in result.stderr.splitlines())
