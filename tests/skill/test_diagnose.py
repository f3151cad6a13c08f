"""synapse diagnose: labelled transcripts in tests/skill/data, heuristics, CLI behaviour."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import anthropic
import pytest
from click.testing import CliRunner

from synapse_ai.skill.diagnose import diagnose, diagnose_command, load_fix
from synapse_ai.skill.executor import Recorder, run_agent
from synapse_ai.skill.parallelism import effects, text_tokens
from synapse_ai.skill.transcript import Call, TranscriptError

try:
    from tests.skill.fake_messages_api import FakeMessagesAPI, text_response, tool_use_response
except ImportError:  # rootdir-relative import when tests/ is not importable as a package
    from fake_messages_api import FakeMessagesAPI, text_response, tool_use_response

DATA = Path(__file__).parent / "data"


def load(name):
    return json.loads((DATA / name).read_text())


def split_findings(report):
    return [f for f in report["findings"] if f["pattern"] == "split-across-turns"]


# --------------------------------------------------------------------------- labelled transcripts

# file -> list of (tool_use_ids, sequential_s, parallel_s, turns_saved) expected as findings
EXPECTED = {
    "anthropic_independent_reads.json": [(["toolu_01", "toolu_02", "toolu_03"], 1.2, 0.5, 2)],
    "anthropic_dependent_ids.json": [],
    "anthropic_dependent_path.json": [],
    "anthropic_already_parallel.json": [],
    "anthropic_mixed_runs.json": [
        (["toolu_41", "toolu_42"], 0.3, 0.2, 1),  # measured
        (["toolu_43", "toolu_44"], 1.55, 1.5, 1),  # each uses a different earlier result
        (["toolu_45", "toolu_46"], 2.0, 1.0, 1),  # after a new user message, default latency
    ],
    "anthropic_write_then_read.json": [(["toolu_52", "toolu_53"], 2.0, 1.0, 1)],  # not toolu_51
    "anthropic_bash.json": [(["toolu_61", "toolu_62"], 2.0, 1.0, 1)],  # npm install is a barrier
    "openai_independent.json": [(["call_a1", "call_a2", "call_a3"], 2.1, 0.8, 2)],
    "openai_dependent.json": [],
    # a write followed by calls that run or inspect the result (tests, ls, git status)
    "anthropic_write_then_test.json": [],
    # get_status polled 4 times: a loop finding (below), never "independent calls"
    "anthropic_polling_loop.json": [(["toolu_92", "toolu_93", "toolu_94", "toolu_95"], 0.4, 0.4, 0)],
    # search_shops uses a district that only the forecast result named
    "openai_conditional_followup.json": [],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_labelled_transcripts(name):
    report = diagnose(load(name))
    got = [(f["tool_use_ids"], f["sequential_s"], f["parallel_s"], f["turns_saved"]) for f in report["findings"]]
    assert got == EXPECTED[name]
    for finding in split_findings(report) + [f for f in report["findings"] if f["pattern"] == "serial-execution"]:
        assert finding["kind"] == "sequential-tool-calls" and finding["entry"] == "sequential-tool-calls"
        assert isinstance(finding["sequential_s"], float) and isinstance(finding["turns_saved"], int)
    assert report["summary"]["turns_saved"] == sum(e[3] for e in EXPECTED[name])
    assert report["summary"]["format"] == ("openai" if name.startswith("openai") else "anthropic")


def test_dependency_reasons_name_the_linking_value():
    report = diagnose(load("anthropic_mixed_runs.json"))
    ended = report["findings"][0]["ended_by"]
    assert ended["tool_use_id"] == "toolu_43" and ended["depends_on"] == "toolu_41"
    assert "https://svc.internal/api/v2/health" in ended["reason"]


def test_write_then_read_is_kept_sequential_and_explained():
    messages = load("anthropic_write_then_read.json")
    report = diagnose(messages[:5])  # only the write and the read-back
    assert report["findings"] == []
    report = diagnose(messages[:5] + [{"role": "assistant", "content": "done"}])
    assert report["findings"] == []


def test_default_latency_and_timing_labels():
    report = diagnose(load("anthropic_write_then_read.json"), default_latency=0.25)
    finding = report["findings"][0]
    assert (finding["sequential_s"], finding["parallel_s"], finding["timing"]) == (0.5, 0.25, "default")
    assert report["summary"]["timings"] == "default" and report["summary"]["default_latency_s"] == 0.25
    mixed = diagnose(load("anthropic_mixed_runs.json"))
    assert [f["timing"] for f in mixed["findings"]] == ["measured", "measured", "default"]
    assert mixed["summary"]["timings"] == "partial"
    with pytest.raises(ValueError):
        diagnose([], default_latency=-1)


def test_bare_list_and_request_body_give_the_same_findings():
    body = load("anthropic_independent_reads.json")
    bare = body["messages"]
    with_timings = diagnose(body)
    without = diagnose(bare, default_latency=1.0)
    assert [f["tool_use_ids"] for f in with_timings["findings"]] == [f["tool_use_ids"] for f in without["findings"]]
    assert without["findings"][0]["sequential_s"] == 3.0 and without["findings"][0]["parallel_s"] == 1.0
    assert with_timings["findings"][0]["timing"] == "measured"


def test_serial_execution_of_one_batch_is_reported_from_call_records():
    report = diagnose(load("serial_execution.json"))
    (finding,) = report["findings"]
    assert finding["pattern"] == "serial-execution"
    assert finding["tool_use_ids"] == ["toolu_71", "toolu_72", "toolu_73"]
    assert (finding["sequential_s"], finding["parallel_s"], finding["turns_saved"]) == (1.5, 0.6, 0)
    overlapping = load("serial_execution.json")
    overlapping["calls"][1]["start"] = 1.1  # the second call started before the first ended
    assert diagnose(overlapping)["findings"] == []


def test_tokens_known_before_a_result_do_not_create_dependencies():
    def transcript(prompt):
        return [
            {"role": "user", "content": prompt},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "search_docs", "input": {"q": "retry"}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "see page billing-faq-2291"}],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t2", "name": "open_page", "input": {"slug": "billing-faq-2291"}}
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": "FAQ text"}]},
        ]

    assert diagnose(transcript("How do retries work?"))["findings"] == []  # slug came from t1
    known = diagnose(transcript("How do retries work? Also open billing-faq-2291."))
    assert known["findings"][0]["tool_use_ids"] == ["t1", "t2"]  # slug was in the prompt


def test_effects_heuristics():
    def eff(name, **inp):
        return effects(Call("x", name, inp, 1))

    assert eff("write_file", path="a.txt").writes and not eff("read_file", path="a.txt").writes
    assert eff("read_file", path="./src/a.py").resources == {"src/a.py"}
    assert not eff("str_replace_based_edit_tool", command="view", path="a").writes
    assert eff("str_replace_based_edit_tool", command="str_replace", path="a").writes
    assert eff("http_request", method="POST", url="https://x.io/a").writes
    assert not eff("http_request", method="GET", url="https://x.io/a").writes
    assert not eff("bash", command="cat a.txt | grep x").barrier
    assert eff("bash", command="echo hi > out.txt").resources == {"out.txt"}
    assert eff("bash", command="echo hi > out.txt").writes
    assert eff("bash", command="pytest -q").barrier
    assert eff("bash", command="git status").resources == {"git"} and not eff("bash", command="git status").writes
    assert eff("bash", command="git commit -am x").barrier
    assert not eff("run_sql", query="SELECT * FROM users").writes
    assert eff("run_sql", query="UPDATE users SET a=1").resources == {"table:users"}
    assert not eff("search_web", query="best pizza in town").barrier
    assert not eff("call_api", api_key="secret-1", path="/v1/items").resources - {"/v1/items"}


@pytest.mark.parametrize(
    "first, second, independent",
    [
        (("read_file", {"path": "a.txt"}), ("write_file", {"path": "a.txt", "content": "x"}), False),  # WAR
        (("write_file", {"path": "a.txt", "content": "x"}), ("write_file", {"path": "b.txt", "content": "y"}), True),
        (("write_file", {"path": "out/a.txt", "content": "x"}), ("list_dir", {"path": "out"}), False),
        (("update_config", {"value": 3}), ("get_config", {}), False),
        (("send_email", {"to": "a@b.c"}), ("get_weather", {"city": "Oslo"}), True),
        (("read_file", {"path": "a.txt"}), ("read_file", {"path": "a.txt"}), True),
    ],
)
def test_resource_conflicts(first, second, independent):
    messages = [{"role": "user", "content": "go"}]
    for i, (name, inp) in enumerate((first, second)):
        messages.append(
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": name, "input": inp}]}
        )
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "ok"}]})
    assert bool(diagnose(messages)["findings"]) is independent


def test_text_tokens_match_the_regex_definition():
    """The fast tokenizer cuts text exactly like the two regular expressions that define it."""
    import random
    import re

    from synapse_ai.skill.parallelism import _trivial

    chunk_re, split_re = re.compile(r"[^\s\"'`<>()\[\]{},;|]+"), re.compile(r"[/\\?&=#:@]+")

    def by_regex(text):
        out = set()
        for raw in chunk_re.findall(text):
            chunk = raw.rstrip(".:;!?*").lstrip(":;!?*").lower()
            out |= {t for t in [chunk, *(p.strip(".") for p in split_re.split(chunk))] if not _trivial(t)}
        return out

    rng = random.Random(3)
    alphabet = "abcXYZ019 \t\n\"'`<>()[]{},;|/\\?&=#:@.!*-_\u00e9\u2028\x85\u3000"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert text_tokens(text) == by_regex(text), repr(text)


def test_text_is_tokenized_the_same_in_pieces(monkeypatch):
    import synapse_ai.skill.parallelism as parallelism

    text = " ".join(f"req-{i:04x} GET https://api.x/v2/items/{i} path=/srv/mod_{i % 7}.py" for i in range(400))
    whole = text_tokens(text)
    monkeypatch.setattr(parallelism, "_PIECE", 37)  # cut every few chunks
    assert "".join(parallelism._pieces(text)) == text
    assert text_tokens(text) == whole and len(whole) > 1000


def test_trivial_tokens_are_ignored():
    assert text_tokens("The file is OK: true, 42 items") == set()
    assert {"src/app.py", "src", "app.py", "u_4821"} <= text_tokens('{"path": "src/app.py", "id": "u_4821"}')


def test_malformed_input_raises_transcript_errors():
    for bad in (
        {"conversation": []},
        42,
        [1],
        [{"content": "no role"}],
        {"messages": "x"},
        {"messages": [], "timings": [1]},
        [{"role": "robot", "content": "hi"}],
    ):
        with pytest.raises(TranscriptError):
            diagnose(bad)
    assert diagnose([])["findings"] == [] and diagnose([])["fix"] is None


def test_fix_points_at_the_gather_option_and_the_library():
    fix = load_fix()
    assert fix["entry"] == "sequential-tool-calls"
    # the option whose heading names asyncio.gather, whatever its number in the entry today
    heading = next(
        line[4:]
        for line in Path(fix["path"]).read_text().splitlines()
        if line.startswith("### Option") and "asyncio.gather" in line
    )
    assert fix["option"] == heading and "asyncio.gather" in fix["option"]
    assert "async def execute_tool_calls" in fix["code"]
    assert fix["library"] == "synapse_ai.skill.executor.execute_tool_calls"
    assert diagnose(load("anthropic_independent_reads.json"))["fix"]["option"] == fix["option"]


# --------------------------------------------------------------------------- CLI


def run_cli(*args, input=None):
    return CliRunner().invoke(diagnose_command, list(args), input=input)


def test_cli_json_output_shape():
    result = run_cli(str(DATA / "anthropic_independent_reads.json"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"findings", "summary", "fix"}
    (finding,) = report["findings"]
    assert {"kind", "entry", "tool_use_ids", "sequential_s", "parallel_s", "turns_saved"} <= set(finding)
    assert finding["tool_use_ids"] == ["toolu_01", "toolu_02", "toolu_03"]
    assert report["summary"]["findings"] == 1


def test_cli_default_latency_option_and_help():
    result = run_cli(str(DATA / "anthropic_dependent_path.json"), "--json", "--default-latency", "0.3")
    assert json.loads(result.stdout)["summary"]["default_latency_s"] == 0.3
    help_text = run_cli("--help").output
    assert "--json" in help_text and "--default-latency" in help_text and "SECONDS" in help_text
    assert "Seconds assumed for each tool call" in help_text


def test_cli_human_report_is_actionable():
    result = run_cli(str(DATA / "anthropic_mixed_runs.json"))
    assert result.exit_code == 0
    out = " ".join(result.stdout.split())
    assert "turns 1-2 could have been one turn" in out
    assert "toolu_41" in out and "toolu_42" in out
    assert "Total: 3 model turn(s)" in out
    assert "sequential-tool-calls" in out and "from synapse_ai.skill.executor import execute_tool_calls" in out
    assert "Option 2" in out and "asyncio.gather" in out
    assert "1 s assumed per call" in out  # the untimed last run is flagged
    clean = run_cli(str(DATA / "anthropic_dependent_ids.json"))
    assert clean.exit_code == 0 and "No sequential tool calls found" in clean.stdout


@pytest.mark.parametrize(
    "name, message",
    [
        ("malformed_not_json.json", "is not valid JSON (line 2"),
        ("malformed_wrong_shape.json", "found keys: conversation, id"),
        ("malformed_bad_message.json", "message 1 is a str"),
        ("malformed_bad_timings.json", "timing for 'toolu_1'"),
        ("does_not_exist.json", "no such file"),
        ("", "is a directory"),
    ],
)
def test_cli_bad_input_is_one_line_on_stderr_with_exit_1(name, message):
    result = run_cli(str(DATA / name) if name else str(DATA), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.startswith("synapse diagnose: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_cli_reads_stdin_and_jsonl(tmp_path):
    body = (DATA / "openai_independent.json").read_text()
    result = run_cli("-", "--json", input=body)
    assert json.loads(result.stdout)["summary"]["turns_saved"] == 2
    jsonl = tmp_path / "trace.jsonl"
    jsonl.write_text("\n".join(json.dumps(m) for m in load("anthropic_dependent_path.json")) + "\n")
    result = run_cli(str(jsonl), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["summary"]["tool_calls"] == 2
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    assert "is empty" in run_cli(str(empty)).stderr


def test_registered_as_synapse_diagnose():
    cli = pytest.importorskip("synapse_ai.kb.cli")
    result = CliRunner().invoke(cli.main, ["diagnose", str(DATA / "openai_independent.json"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"][0]["tool_use_ids"] == ["call_a1", "call_a2", "call_a3"]


# --------------------------------------------------------------------------- recorder round trip


def test_recorder_trace_from_a_real_agent_run_is_diagnosed(tmp_path):
    """One read per turn (the slow pattern) is found with measured timings; a batch is not."""

    async def read_file(path):
        await asyncio.sleep(0.05)
        return f"contents of {path}"

    async def run(script, path):
        rec = Recorder()
        with FakeMessagesAPI(script) as api:
            async with anthropic.AsyncAnthropic(api_key="test", base_url=api.base_url, max_retries=0) as client:
                await run_agent(
                    client,
                    model="m",
                    messages=[{"role": "user", "content": "read a.txt, b.txt, c.txt"}],
                    tools_schema=[],
                    tools={"read_file": read_file},
                    recorder=rec,
                )
        return rec.save(path)

    one_by_one = [tool_use_response((f"toolu_{n}", "read_file", {"path": f"{n}.txt"})) for n in "abc"]
    slow = asyncio.run(run(one_by_one + [text_response("done")], tmp_path / "slow.json"))
    batched = [tool_use_response(*[(f"toolu_{n}", "read_file", {"path": f"{n}.txt"}) for n in "abc"])]
    fast = asyncio.run(run(batched + [text_response("done")], tmp_path / "fast.json"))

    result = run_cli(str(slow), "--json")
    report = json.loads(result.stdout)
    (finding,) = report["findings"]
    assert finding["tool_use_ids"] == ["toolu_a", "toolu_b", "toolu_c"] and finding["turns_saved"] == 2
    assert finding["timing"] == "measured"
    assert finding["sequential_s"] > 2 * finding["parallel_s"]
    assert "model_time_saved_s" in finding  # model request timings were recorded too
    assert json.loads(run_cli(str(fast), "--json").stdout)["findings"] == []  # batch ran concurrently


# --------------------------------------------------------------------------- side effects, loops, follow-ups


def test_write_then_run_tests_is_not_advised_to_run_together():
    report = diagnose(load("anthropic_write_then_test.json"))
    assert report["findings"] == [] and report["fix"] is None
    # the same write followed by an unrelated read still may be batched
    messages = load("anthropic_write_then_test.json")["messages"][:3] + [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t9", "name": "read_file", "input": {"path": "README.md"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": "# readme"}]},
    ]
    assert [f["tool_use_ids"] for f in diagnose(messages)["findings"]] == [["toolu_81", "t9"]]


@pytest.mark.parametrize(
    "observer",
    [
        ("run_tests", {"args": "-q"}),
        ("bash", {"command": "pytest -q"}),
        ("bash", {"command": "ls"}),
        ("bash", {"command": "git status"}),
        ("execute_python", {"code": "import calc"}),
    ],
)
def test_calls_that_observe_the_workspace_depend_on_earlier_writes(observer):
    name, inp = observer
    messages = [{"role": "user", "content": "go"}]
    for i, (tool, tool_input) in enumerate((("write_file", {"path": "src/calc.py", "content": "x"}), (name, inp))):
        messages.append(
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": tool, "input": tool_input}]}
        )
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "ok"}]})
    assert diagnose(messages)["findings"] == []
    assert effects(Call("x", name, inp, 1)).observes or effects(Call("x", name, inp, 1)).barrier


def test_polling_loop_is_reported_as_a_loop_with_the_loop_entry():
    report = diagnose(load("anthropic_polling_loop.json"))
    (loop,) = report["findings"]
    assert loop["kind"] == "repeated-tool-call" and loop["entry"] == "agent-infinite-loop"
    assert loop["repeats"] == 4 and loop["turns"] == [2, 3, 4, 5] and loop["turns_saved"] == 0
    assert "independent" not in loop["message"].replace("not independent", "")
    assert report["fix"] is None and report["summary"]["turns_saved"] == 0
    text = " ".join(run_cli(str(DATA / "anthropic_polling_loop.json")).stdout.split())
    assert "turns 2-5 repeated the same call" in text and "agent-infinite-loop" in text
    assert "could have been one turn" not in text and "Total:" not in text


def test_two_identical_reads_are_not_a_loop_but_three_are():
    def reads(n):
        messages = [{"role": "user", "content": "check"}]
        for i in range(n):
            messages.append(
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": f"t{i}", "name": "get_status", "input": {"job": "job-77"}}],
                }
            )
            messages.append(
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "running"}]}
            )
        return diagnose(messages)["findings"]

    assert [f["kind"] for f in reads(2)] == ["sequential-tool-calls"]
    assert [f["kind"] for f in reads(3)] == ["repeated-tool-call"]


def test_conditional_follow_up_using_a_value_from_the_result_is_dependent():
    report = diagnose(load("openai_conditional_followup.json"))
    assert report["findings"] == []
    # the same two calls, when the district was already in the question, are independent
    messages = load("openai_conditional_followup.json")
    messages[1] = dict(messages[1], content=messages[1]["content"] + " I am in Grunerlokka.")
    assert [f["tool_use_ids"] for f in diagnose(messages)["findings"]] == [["call_c1", "call_c2"]]


# --------------------------------------------------------------------------- bad text and options


def test_lone_surrogates_never_break_the_output():
    path = str(DATA / "anthropic_lone_surrogates.json")
    as_json = run_cli(path, "--json")
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["findings"][0]["tools"] == ["read_\ufffdfile", "read_\ufffdfile"]
    as_json.stdout.encode("utf-8")  # valid UTF-8 all the way
    as_text = run_cli(path)
    assert as_text.exit_code == 0, as_text.output
    assert "read_\ufffdfile" in as_text.stdout


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "NaN", "fast"])
def test_bad_default_latency_is_refused_with_one_line_and_exit_2(value):
    result = run_cli(str(DATA / "anthropic_independent_reads.json"), "--default-latency", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("synapse diagnose: invalid value for '--default-latency'")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.5, "1", True])
def test_diagnose_refuses_a_bad_default_latency(value):
    with pytest.raises(ValueError, match="default_latency"):
        diagnose(load("anthropic_independent_reads.json"), default_latency=value)


# --------------------------------------------------------------------------- size


def synthetic_transcript(turns, every=500):
    """``turns`` one-call turns reading different files; every ``every``-th call uses a cursor that
    only the previous result showed, so the run splits into blocks of ``every`` turns."""
    messages = [{"role": "user", "content": "Summarise all parts."}]
    for i in range(turns):
        tool_input = {"path": f"data/part-{i:05d}.txt"}
        if i and i % every == 0:
            tool_input["cursor"] = f"cur-{i - 1:05d}-zq"
        messages.append(
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": f"t{i}", "name": "read_file", "input": tool_input}],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"t{i}",
                        "content": f"part {i} text; next cursor cur-{i:05d}-zq",
                    }
                ],
            }
        )
    messages.append({"role": "assistant", "content": "done"})
    return messages


def test_a_4000_turn_transcript_is_analysed_correctly():
    report = diagnose(synthetic_transcript(4000))
    findings = split_findings(report)
    assert [len(f["tool_use_ids"]) for f in findings] == [500] * 8
    assert [f["turns"][0] for f in findings] == [1 + 500 * k for k in range(8)]
    assert all(f["turns_saved"] == 499 for f in findings)
    ends = [f["ended_by"] for f in findings[:-1]]
    assert [(e["tool_use_id"], e["depends_on"]) for e in ends] == [
        (f"t{500 * k}", f"t{500 * k - 1}") for k in range(1, 8)
    ]
    assert all(f"cur-{500 * k - 1:05d}-zq" in e["reason"] for k, e in enumerate(ends, 1))
    assert report["summary"]["turns_saved"] == 8 * 499


def _reference_groups(transcript):
    """The pairwise definition the indexed grouping must agree with: each turn against every
    call already in the group (quadratic, so only for small inputs)."""
    from synapse_ai.skill.parallelism import _data_dependencies, conflict, find_loops

    runs, data_deps = _data_dependencies(transcript)
    looping = {c.id for loop in find_loops(transcript) for c in loop}
    effects_of = {c.id: effects(c) for c in transcript.calls.values()}
    out = []
    for run in runs:
        group = [run[0]]
        for turn in run[1:]:
            earlier = [c for t in group for c in t]
            ended = None
            for call in turn:
                for prior in earlier:
                    if (
                        prior.id in data_deps.get(call.id, {})
                        or (call.id in looping)
                        or conflict(prior, effects_of[prior.id], call, effects_of[call.id])
                    ):
                        ended = (call.id, prior.id)
                        break
                if ended:
                    break
            if ended:
                out.append(([c.id for t in group for c in t], ended))
                group = [turn]
            else:
                group.append(turn)
        out.append(([c.id for t in group for c in t], None))
    return out


def test_indexed_grouping_agrees_with_the_pairwise_definition():
    import random

    from synapse_ai.skill.parallelism import find_groups
    from synapse_ai.skill.transcript import parse_transcript

    rng = random.Random(7)
    paths = ["a.txt", "src/a.py", "src", "src/b.py", "lib/src/a.py", "https://x.io/v1/items", "*", "out"]
    tools = [
        ("read_file", lambda: {"path": rng.choice(paths)}),
        ("write_file", lambda: {"path": rng.choice(paths), "content": "x"}),
        ("list_dir", lambda: {"path": rng.choice(paths)}),
        ("get_config", lambda: {}),
        ("update_config", lambda: {"value": rng.randint(1, 3)}),
        ("run_tests", lambda: {"args": "-q"}),
        ("bash", lambda: {"command": rng.choice(["ls", "cat a.txt", "pytest", "echo x > out", "git status"])}),
        ("http_request", lambda: {"method": rng.choice(["GET", "POST"]), "url": rng.choice(paths)}),
        ("get_status", lambda: {"job": "job-1"}),
        ("send_email", lambda: {"to": "a@b.c"}),
    ]
    for _ in range(150):
        messages = [{"role": "user", "content": "go"}]
        n = 0
        for _turn in range(rng.randint(2, 12)):
            batch = []
            for _call in range(rng.choice([1, 1, 1, 2, 3])):
                name, make = rng.choice(tools)
                batch.append({"type": "tool_use", "id": f"t{n}", "name": name, "input": make()})
                n += 1
            messages.append({"role": "assistant", "content": batch})
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": b["id"],
                            "content": rng.choice(["ok", "id u_9", "see src/a.py"]),
                        }
                        for b in batch
                    ],
                }
            )
            if rng.random() < 0.1:
                messages.append({"role": "user", "content": "continue"})
        transcript = parse_transcript(messages)
        groups, _ = find_groups(transcript)
        got = [
            ([c.id for c in g.calls], (g.ended_by["tool_use_id"], g.ended_by["depends_on"]) if g.ended_by else None)
            for g in groups
        ]
        assert got == _reference_groups(transcript)
