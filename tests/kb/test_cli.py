"""The synapse CLI contract: output shapes, exit codes and clean user errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kb.cli import main

from tests.kb.helpers import write_entry


@pytest.fixture
def env(tmp_path, monkeypatch):
    folder = tmp_path / "entries"
    write_entry(folder, "rate-limited", title="429 rate_limit_error from the API", patterns=r"'rate_limit_error'",
                symptom="Requests fail with 429.", fix="Back off.\n\n```python\nimport time\ntime.sleep(1)\n```")
    write_entry(folder, "slow-tools", title="Tool calls run one after another", symptom="The agent is slow.")
    db = tmp_path / "cli.db"
    runner = CliRunner()
    result = runner.invoke(main, ["index", "--db", str(db), "--entries", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("indexed 2 entries (2 added")
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


@pytest.mark.parametrize("args, input, message", [
    (("search", ""), None, "empty query"),
    (("search",), None, "empty query"),
    (("match",), "  \n", "nothing on stdin"),
    (("search", "--batch", "/no/such/file"), None, "No such file or directory"),
    (("show", "rate-limitd"), None, "no entry 'rate-limitd'; did you mean: rate-limited"),
    (("show", "rate-limited", "--section", "Nope"), None, "has no section 'Nope'"),
])
def test_user_errors_are_one_clean_line(env, args, input, message):
    result = run(env, *args, input=input)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (KeyError, TypeError, AttributeError))


def test_show_json_and_section(env):
    data = json.loads(run(env, "show", "rate-limited", "--json").output)
    assert [s["name"] for s in data["sections"]] == ["Symptom", "Root Cause", "Fix"]
    assert data["fix"]["options"][0]["code"][0] == {"language": "python", "runnable": False, "code": "import time\ntime.sleep(1)\n"}
    human = run(env, "show", "rate-limited", "--section", "fix")
    assert human.exit_code == 0 and "Option 1" in human.output and "Symptom" not in human.output


def test_lint_reports_file_and_line_and_exits_1(tmp_path):
    folder = tmp_path / "e"
    write_entry(folder, "fine-entry")
    bad = write_entry(folder, "bad-entry", patterns="'(oops'")
    runner = CliRunner()
    result = runner.invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    assert f"{bad}:7: invalid regex in patterns" in result.output
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
    assert result.exit_code == 1
    assert result.output.startswith("synapse: cannot load the embedding model") and len(result.output.splitlines()) == 1
