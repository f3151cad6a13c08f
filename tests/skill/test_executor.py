"""Behaviour of skill.executor, proven with ratios, counters and event orderings (not wall-clock)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
import time

import anthropic
import pytest
from anthropic.types import ToolUseBlock

from synapse_ai.skill.executor import (
    DEFAULT_MAX_THREADS,
    CyclicDependencyError,
    DuplicateNodeError,
    DuplicateToolUseIdError,
    MissingDependencyError,
    Recorder,
    ToolGraph,
    current_call,
    execute_tool_calls,
    execute_tool_calls_sync,
    run_agent,
)

try:
    from tests.skill.fake_messages_api import FakeMessagesAPI, text_response, tool_use_response
except ImportError:  # rootdir-relative import when tests/ is not importable as a package
    from fake_messages_api import FakeMessagesAPI, text_response, tool_use_response

DELAY = 0.2


def call(i, name, **tool_input):
    return {"type": "tool_use", "id": f"toolu_{i:02d}", "name": name, "input": tool_input}


class InFlight:
    """Thread-safe counter of calls running right now and the maximum ever seen."""

    def __init__(self):
        self._lock = threading.Lock()
        self.now = 0
        self.max = 0
        self.started = 0

    def enter(self):
        with self._lock:
            self.now += 1
            self.started += 1
            self.max = max(self.max, self.now)

    def leave(self):
        with self._lock:
            self.now -= 1


def make_tools(counter: InFlight, delay: float = DELAY):
    async def async_sleep(tag="", seconds=delay):
        counter.enter()
        try:
            await asyncio.sleep(seconds)
            return f"async:{tag}"
        finally:
            counter.leave()

    def sync_sleep(tag="", seconds=delay):
        counter.enter()
        try:
            time.sleep(seconds)
            return f"sync:{tag}"
        finally:
            counter.leave()

    def boom(tag=""):
        raise RuntimeError(f"disk on fire ({tag})")

    async def hang(tag=""):
        await asyncio.sleep(60)

    def sync_hang(tag=""):
        time.sleep(60)

    return {
        "async_sleep": async_sleep,
        "sync_sleep": sync_sleep,
        "boom": boom,
        "hang": hang,
        "sync_hang": sync_hang,
    }


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


# --------------------------------------------------------------------------- async batch


@pytest.mark.parametrize("tool", ["async_sleep", "sync_sleep"])
def test_five_tools_take_far_less_than_five_times_one(tool):
    counter = InFlight()
    tools = make_tools(counter)
    _, one = timed(asyncio.run, execute_tool_calls([call(0, tool, tag="a")], tools))
    results, five = timed(asyncio.run, execute_tool_calls([call(i, tool, tag=str(i)) for i in range(5)], tools))
    assert five < 2.5 * one, f"5 calls took {five / one:.2f}x one call"
    assert counter.max == 5
    assert [r["content"] for r in results] == [f"{tool.split('_')[0]}:{i}" for i in range(5)]


def test_sync_tools_do_not_block_the_event_loop():
    tools = make_tools(InFlight())
    ticks = 0

    async def main():
        nonlocal ticks
        stop = asyncio.Event()

        async def heartbeat():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        await execute_tool_calls([call(i, "sync_sleep", tag=str(i)) for i in range(3)], tools)
        stop.set()
        await beat

    asyncio.run(main())
    # A blocked loop would tick once or twice; a free one ticks about DELAY / 0.01 = 20 times.
    assert ticks >= 8


def test_failure_is_an_error_result_and_others_are_kept():
    tools = make_tools(InFlight())
    batch = [call(0, "async_sleep", tag="x"), call(1, "boom", tag="y"), call(2, "sync_sleep", tag="z")]
    results = asyncio.run(execute_tool_calls(batch, tools))
    assert [r["tool_use_id"] for r in results] == ["toolu_00", "toolu_01", "toolu_02"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "toolu_00", "content": "async:x"}
    assert results[1]["is_error"] is True
    assert results[1]["content"] == "RuntimeError: disk on fire (y)"
    assert results[2]["content"] == "sync:z" and "is_error" not in results[2]


@pytest.mark.parametrize("tool", ["hang", "sync_hang"])
def test_hung_tool_times_out_without_losing_the_rest(tool):
    tools = make_tools(InFlight())
    batch = [call(0, tool), call(1, "async_sleep", tag="ok")]
    results, elapsed = timed(asyncio.run, execute_tool_calls(batch, tools, timeout=0.4))
    assert results[0]["is_error"] is True
    assert results[0]["content"] == f"Tool '{tool}' timed out after 0.4 s"
    assert results[1]["content"] == "async:ok"
    assert elapsed < 60 * 0.1  # nowhere near the 60 s the tool would hang


def test_concurrency_bound_is_never_exceeded():
    counter = InFlight()
    tools = make_tools(counter, delay=0.05)
    batch = [call(i, "async_sleep" if i % 2 else "sync_sleep", tag=str(i)) for i in range(12)]
    results = asyncio.run(execute_tool_calls(batch, tools, max_concurrency=3))
    assert counter.max == 3
    assert counter.started == 12
    assert [r["tool_use_id"] for r in results] == [f"toolu_{i:02d}" for i in range(12)]


def test_timeout_clock_starts_when_the_call_starts_not_while_queued():
    tools = make_tools(InFlight(), delay=0.15)
    batch = [call(i, "async_sleep", tag=str(i)) for i in range(3)]
    # Run one at a time: the last call waits 0.3 s in the queue, longer than the timeout.
    results = asyncio.run(execute_tool_calls(batch, tools, timeout=0.25, max_concurrency=1))
    assert not any(r.get("is_error") for r in results)


def test_order_is_preserved_when_later_calls_finish_first():
    finished = []

    async def sleeper(n):
        await asyncio.sleep(0.02 * (5 - n))
        finished.append(n)
        return n

    results = asyncio.run(execute_tool_calls([call(i, "s", n=i) for i in range(5)], {"s": sleeper}))
    assert finished == [4, 3, 2, 1, 0]
    assert [r["tool_use_id"] for r in results] == [f"toolu_{i:02d}" for i in range(5)]
    assert [r["content"] for r in results] == ["0", "1", "2", "3", "4"]


def test_unknown_tool_lists_known_tools_and_bad_arguments_are_errors():
    def read_file(path):
        return path

    results = asyncio.run(
        execute_tool_calls([call(0, "read_fil", path="a"), call(1, "read_file", pth="a")], {"read_file": read_file})
    )
    assert results[0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_00",
        "content": "Unknown tool 'read_fil'. Known tools: read_file",
        "is_error": True,
    }
    assert results[1]["is_error"] is True and results[1]["content"].startswith("TypeError:")


def test_accepts_sdk_tool_use_blocks_and_serializes_results():
    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    tools = {
        "text": lambda: "plain text",
        "obj": lambda: {"a": [1, 2], "b": "é"},
        "seq": lambda: [1, "two"],
        "none": lambda: None,
        "dc": lambda: Point(1, 2),
        "num": lambda: 3.5,
    }
    blocks = [ToolUseBlock(id=f"toolu_{n}", name=n, input={}, type="tool_use") for n in tools]
    results = asyncio.run(execute_tool_calls(blocks, tools))
    assert [r["content"] for r in results] == [
        "plain text",
        '{"a": [1, 2], "b": "é"}',
        '[1, "two"]',
        "",
        '{"x": 1, "y": 2}',
        "3.5",
    ]
    assert [r["tool_use_id"] for r in results] == [f"toolu_{n}" for n in tools]


def test_current_call_is_visible_inside_sync_and_async_tools():
    seen = {}

    async def a():
        seen["a"] = current_call()
        return "a"

    def s(k):
        seen["s"] = current_call()
        return "s"

    asyncio.run(execute_tool_calls([call(1, "a"), call(2, "s", k=1)], {"a": a, "s": s}))
    assert seen["a"].id == "toolu_01" and seen["s"].id == "toolu_02" and seen["s"].input == {"k": 1}
    assert current_call() is None


def test_invalid_arguments_are_rejected_up_front():
    with pytest.raises(ValueError, match="max_concurrency"):
        asyncio.run(execute_tool_calls([], {}, max_concurrency=0))
    with pytest.raises(ValueError, match="timeout"):
        execute_tool_calls_sync([], {}, timeout=0)
    with pytest.raises(ValueError, match="tool_use"):
        asyncio.run(execute_tool_calls([{"type": "text", "text": "hi"}], {}))
    assert asyncio.run(execute_tool_calls([], {})) == []


def test_sync_tools_are_capped_by_default_and_max_concurrency_overrides_the_cap():
    n = 3 * DEFAULT_MAX_THREADS
    assert DEFAULT_MAX_THREADS == min(32, (os.cpu_count() or 1) + 4)
    counter = InFlight()
    results = asyncio.run(
        execute_tool_calls([call(i, "sync_sleep", tag=str(i), seconds=0.05) for i in range(n)], make_tools(counter))
    )
    assert counter.max == DEFAULT_MAX_THREADS and counter.started == n
    assert [r["content"] for r in results] == [f"sync:{i}" for i in range(n)]

    async_counter = InFlight()  # async tools take no thread: not capped
    asyncio.run(
        execute_tool_calls(
            [call(i, "async_sleep", tag=str(i), seconds=0.05) for i in range(n)], make_tools(async_counter)
        )
    )
    assert async_counter.max == n

    wider = InFlight()
    asyncio.run(
        execute_tool_calls(
            [call(i, "sync_sleep", tag=str(i), seconds=0.05) for i in range(n)],
            make_tools(wider),
            max_concurrency=DEFAULT_MAX_THREADS + 3,
        )
    )
    assert wider.max == DEFAULT_MAX_THREADS + 3

    sync_counter = InFlight()
    execute_tool_calls_sync(
        [call(i, "sync_sleep", tag=str(i), seconds=0.05) for i in range(n)], make_tools(sync_counter)
    )
    assert sync_counter.max == DEFAULT_MAX_THREADS


def test_graph_caps_sync_nodes_by_default():
    counter = InFlight()
    graph = ToolGraph(make_tools(counter))
    for i in range(2 * DEFAULT_MAX_THREADS):
        graph.add(f"n{i}", "sync_sleep", {"tag": str(i), "seconds": 0.05})
    results = graph.run_sync()
    assert all(r.ok for r in results.values())
    assert counter.max == DEFAULT_MAX_THREADS


def test_duplicate_tool_use_ids_are_refused_before_anything_runs():
    counter = InFlight()
    tools = make_tools(counter, delay=0.0)
    batch = [call(1, "sync_sleep", tag="a"), call(2, "async_sleep", tag="b"), call(1, "sync_sleep", tag="c")]
    with pytest.raises(DuplicateToolUseIdError, match="duplicate tool_use id in one batch: 'toolu_01'"):
        asyncio.run(execute_tool_calls(batch, tools))
    with pytest.raises(ValueError, match="nothing was run"):
        execute_tool_calls_sync(batch, tools)
    assert counter.started == 0


# --------------------------------------------------------------------------- sync entry point


def test_sync_entry_point_has_the_same_semantics():
    counter = InFlight()
    tools = make_tools(counter)
    _, one = timed(execute_tool_calls_sync, [call(0, "sync_sleep", tag="a")], tools)
    batch = [call(i, "sync_sleep" if i % 2 else "async_sleep", tag=str(i)) for i in range(5)]
    batch += [call(5, "boom", tag="b"), call(6, "sync_hang"), call(7, "nope")]
    results, elapsed = timed(execute_tool_calls_sync, batch, tools, timeout=0.5)
    assert elapsed < 60 * 0.1
    ok = results[:5]
    assert [r["content"] for r in ok] == ["async:0", "sync:1", "async:2", "sync:3", "async:4"]
    assert results[5] == {
        "type": "tool_result",
        "tool_use_id": "toolu_05",
        "content": "RuntimeError: disk on fire (b)",
        "is_error": True,
    }
    assert results[6]["content"] == "Tool 'sync_hang' timed out after 0.5 s"
    assert results[7]["content"].startswith("Unknown tool 'nope'")
    assert counter.max == 5

    counter2 = InFlight()
    tools2 = make_tools(counter2, delay=0.05)
    five, five_t = timed(execute_tool_calls_sync, [call(i, "sync_sleep", tag=str(i)) for i in range(5)], tools)
    assert five_t < 2.5 * one
    bounded = execute_tool_calls_sync([call(i, "sync_sleep", tag=str(i)) for i in range(8)], tools2, max_concurrency=2)
    assert counter2.max == 2 and len(bounded) == 8


# --------------------------------------------------------------------------- dependency graph


def test_graph_starts_a_node_as_soon_as_its_own_dependencies_finish():
    events = []

    async def work(tag, seconds):
        events.append(f"start {tag}")
        await asyncio.sleep(seconds)
        events.append(f"end {tag}")
        return tag

    graph = ToolGraph({"work": work})
    graph.add("fast", "work", {"tag": "fast", "seconds": 0.02})
    graph.add("slow", "work", {"tag": "slow", "seconds": 0.3})
    graph.add("after_fast", "work", {"tag": "after_fast", "seconds": 0.02}, depends_on=["fast"])
    graph.add("after_both", "work", {"tag": "after_both", "seconds": 0.0}, depends_on=["after_fast", "slow"])
    results = asyncio.run(graph.run())

    # Lock-step waves would start after_fast only after slow ended.
    assert events.index("start after_fast") < events.index("end slow")
    assert events.index("start after_both") > events.index("end slow")
    assert events.index("start slow") < events.index("end fast")  # independent roots overlap
    assert list(results) == ["fast", "slow", "after_fast", "after_both"]
    assert all(r.ok for r in results.values())


def test_graph_nodes_receive_their_dependencies_results():
    async def fetch(what):
        return {"what": what, "n": len(what)}

    def combine(user, config):
        return f"{user['what']}+{config['what']}={user['n'] + config['n']}"

    graph = ToolGraph({"fetch": fetch, "combine": combine})
    graph.add("user", "fetch", {"what": "user"})
    graph.add("config", "fetch", {"what": "config"})
    graph.add(
        "report",
        "combine",
        lambda deps: {"user": deps["user"], "config": deps["config"]},
        depends_on=["user", "config"],
    )
    results = graph.run_sync()
    assert results["report"].value == "user+config=10"
    assert results["report"].as_tool_result() == {
        "type": "tool_result",
        "tool_use_id": "report",
        "content": "user+config=10",
    }


def test_failed_node_skips_its_dependents_instead_of_hanging():
    ran = []

    def ok(tag):
        ran.append(tag)
        return tag

    def fail(tag):
        ran.append(tag)
        raise ConnectionError("backend down")

    graph = ToolGraph({"ok": ok, "fail": fail})
    graph.add("a", "fail", {"tag": "a"})
    graph.add("b", "ok", {"tag": "b"}, depends_on=["a"])
    graph.add("c", "ok", {"tag": "c"}, depends_on=["b"])
    graph.add("d", "ok", {"tag": "d"})
    results = asyncio.run(asyncio.wait_for(graph.run(), timeout=5))
    assert sorted(ran) == ["a", "d"]
    assert results["a"].error == "ConnectionError: backend down" and not results["a"].skipped
    assert results["b"].error == "skipped: dependency 'a' failed" and results["b"].skipped
    assert results["c"].error == "skipped: dependency 'b' was skipped"
    assert results["d"].ok
    assert results["b"].as_tool_result()["is_error"] is True


def test_cycle_and_missing_dependency_are_distinct_errors_raised_before_running():
    ran = []
    tools = {"t": lambda: ran.append(1)}

    cyclic = (
        ToolGraph(tools).add("a", "t", depends_on=["c"]).add("b", "t", depends_on=["a"]).add("c", "t", depends_on=["b"])
    )
    cyclic.add("free", "t")
    with pytest.raises(CyclicDependencyError) as info:
        asyncio.run(cyclic.run())
    assert info.value.cycle in (["a", "c", "b", "a"], ["c", "b", "a", "c"], ["b", "a", "c", "b"])
    assert "dependency cycle: " in str(info.value)

    missing = ToolGraph(tools).add("a", "t").add("b", "t", depends_on=["a", "ghost"])
    with pytest.raises(MissingDependencyError) as info2:
        asyncio.run(missing.run())
    assert info2.value.node == "b" and info2.value.missing == ["ghost"]
    assert "'ghost'" in str(info2.value)
    assert not isinstance(info2.value, CyclicDependencyError)

    with pytest.raises(CyclicDependencyError, match="self -> self"):
        ToolGraph(tools).add("self", "t", depends_on=["self"]).validate()
    with pytest.raises(DuplicateNodeError):
        ToolGraph(tools).add("a", "t").add("a", "t")
    assert ran == []  # nothing ran in any of the broken graphs


def test_graph_respects_the_bound_without_deadlock_and_times_out_nodes():
    counter = InFlight()
    tools = make_tools(counter, delay=0.05)
    graph = ToolGraph(tools, max_concurrency=2, timeout=0.3)
    for i in range(6):
        graph.add(f"n{i}", "async_sleep", {"tag": str(i)})
    graph.add("join", "async_sleep", {"tag": "join"}, depends_on=[f"n{i}" for i in range(6)])
    graph.add("stuck", "hang")
    graph.add("after_stuck", "async_sleep", depends_on=["stuck"])
    results = asyncio.run(asyncio.wait_for(graph.run(), timeout=10))
    assert counter.max == 2
    assert results["join"].ok
    assert results["stuck"].error == "Tool 'hang' timed out after 0.3 s"
    assert results["after_stuck"].error == "skipped: dependency 'stuck' failed"


# --------------------------------------------------------------------------- agent loop


def agent(api, **kwargs):
    """Run run_agent with a real AsyncAnthropic pointed at the fake server, closed afterwards."""

    async def main():
        async with anthropic.AsyncAnthropic(api_key="test", base_url=api.base_url, max_retries=0) as client:
            return await run_agent(client, **kwargs)

    return asyncio.run(main())


def test_agent_loop_runs_a_turn_concurrently_and_returns_one_ordered_message():
    counter = InFlight()
    tools = make_tools(counter)
    script = [
        tool_use_response(
            ("toolu_a", "async_sleep", {"tag": "a"}),
            ("toolu_b", "sync_sleep", {"tag": "b"}),
            ("toolu_c", "boom", {"tag": "c"}),
            text="Reading three things at once.",
        ),
        text_response("All done."),
    ]
    user_messages = [{"role": "user", "content": "go"}]
    schema = [{"name": n, "input_schema": {"type": "object"}} for n in tools]
    with FakeMessagesAPI(script) as api:
        result = agent(
            api, model="claude-test", messages=user_messages, tools_schema=schema, tools=tools, system="be quick"
        )
    assert len(api.requests) == 2 and api.paths == ["/v1/messages", "/v1/messages"]
    assert result.stop_reason == "end_turn" and result.text == "All done." and result.turns == 2
    assert counter.max == 2  # both sleepers overlapped

    second = api.requests[1]
    assert second["system"] == "be quick" and [t["name"] for t in second["tools"]] == list(tools)
    assistant, last = second["messages"][-2], second["messages"][-1]
    assert assistant["role"] == "assistant"
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use", "tool_use", "tool_use"]
    assert last["role"] == "user"
    assert [b["type"] for b in last["content"]] == ["tool_result"] * 3
    assert [b["tool_use_id"] for b in last["content"]] == ["toolu_a", "toolu_b", "toolu_c"]
    assert last["content"][0]["content"] == "async:a" and "is_error" not in last["content"][0]
    assert last["content"][2]["is_error"] is True
    assert user_messages == [{"role": "user", "content": "go"}]  # caller's list untouched
    assert result.messages[-1]["role"] == "assistant"


def test_agent_loop_stops_at_max_turns():
    tools = make_tools(InFlight(), delay=0.0)
    counter = iter(range(100))

    def always_tools(body):
        n = next(counter)
        return tool_use_response((f"toolu_{n}", "async_sleep", {"tag": str(n)}))

    with FakeMessagesAPI([always_tools] * 10) as api:
        result = agent(
            api, model="m", messages=[{"role": "user", "content": "loop"}], tools_schema=[], tools=tools, max_turns=3
        )
    assert len(api.requests) == 3
    assert result.stop_reason == "max_turns" and result.turns == 3
    # Every request carried the previous turn's results; the cap leaves the last call unexecuted.
    assert [len(r["messages"]) for r in api.requests] == [1, 3, 5]
    # The last assistant turn's call is not run; it is answered with an is_error result instead,
    # so the history stays valid for the API (every tool_use has its tool_result).
    assert result.messages[-2]["role"] == "assistant"
    assert result.messages[-1]["role"] == "user"
    (answer,) = result.messages[-1]["content"]
    assert answer["tool_use_id"] == "toolu_2" and answer["is_error"] is True
    assert "limit of 3 model turns" in answer["content"]


def unanswered_tool_uses(messages):
    """tool_use ids of assistant messages that the next user message does not answer (API 400)."""
    missing = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant" or not isinstance(message["content"], list):
            continue
        asked = [b["id"] for b in message["content"] if b.get("type") == "tool_use"]
        following = messages[i + 1]["content"] if i + 1 < len(messages) else []
        answered = {b.get("tool_use_id") for b in following if isinstance(b, dict) and b.get("type") == "tool_result"}
        missing += [a for a in asked if a not in answered]
    return missing


def test_history_after_max_turns_can_be_sent_again():
    """Resuming a capped run: the API rejects a tool_use without a tool_result; the history has none."""
    tools = make_tools(InFlight(), delay=0.0)
    script = [tool_use_response(("toolu_a", "async_sleep", {"tag": "a"}), ("toolu_b", "sync_sleep", {"tag": "b"}))]
    with FakeMessagesAPI(script) as api:
        capped = agent(
            api, model="m", messages=[{"role": "user", "content": "go"}], tools_schema=[], tools=tools, max_turns=1
        )
    assert capped.stop_reason == "max_turns"
    assert unanswered_tool_uses(capped.messages) == []
    assert [b["tool_use_id"] for b in capped.messages[-1]["content"]] == ["toolu_a", "toolu_b"]

    def like_the_api(body):
        missing = unanswered_tool_uses(body["messages"])
        if missing:
            return 400, {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": f"unanswered {missing}"},
            }
        return text_response("resumed")

    with FakeMessagesAPI([like_the_api]) as api:
        resumed = agent(api, model="m", messages=capped.messages, tools_schema=[], tools=tools)
    assert resumed.stop_reason == "end_turn" and resumed.text == "resumed"


def test_agent_loop_rejects_the_sync_client():
    client = anthropic.Anthropic(api_key="test", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(TypeError, match="AsyncAnthropic"):
        asyncio.run(run_agent(client, model="m", messages=[], tools_schema=[], tools={}))


# --------------------------------------------------------------------------- recorder


def test_recorder_writes_a_timed_transcript(tmp_path):
    counter = InFlight()
    tools = make_tools(counter, delay=0.1)
    rec = Recorder()
    script = [
        tool_use_response(("toolu_1", "async_sleep", {"tag": "1"}), ("toolu_2", "boom", {"tag": "2"})),
        tool_use_response(("toolu_3", "sync_sleep", {"tag": "3"})),
        text_response("fin"),
    ]
    with FakeMessagesAPI(script) as api:
        agent(api, model="m", messages=[{"role": "user", "content": "x"}], tools_schema=[], tools=tools, recorder=rec)
    path = rec.save(tmp_path / "trace" / "run.json")
    data = json.loads(path.read_text())
    assert set(data["timings"]) == {"toolu_1", "toolu_2", "toolu_3"}
    assert data["timings"]["toolu_1"] > 10 * data["timings"]["toolu_2"]  # a sleep vs an instant raise
    calls = {c["id"]: c for c in data["calls"]}
    assert calls["toolu_2"]["is_error"] is True and "disk on fire" in calls["toolu_2"]["result"]
    assert calls["toolu_3"] | {"start": 0, "end": 0, "duration_s": 0} == {
        "id": "toolu_3",
        "name": "sync_sleep",
        "input": {"tag": "3"},
        "start": 0,
        "end": 0,
        "duration_s": 0,
        "is_error": False,
        "result": "sync:3",
    }
    assert calls["toolu_3"]["start"] >= calls["toolu_1"]["end"]
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert [m["turn"] for m in data["model_calls"]] == [1, 2, 3]


def test_recorder_wraps_tools_outside_the_agent_loop_and_keeps_their_kind():
    rec = Recorder()

    @rec.tool
    async def a(x):
        return x * 2

    @rec.tool(name="sync_b")
    def b(x):
        return x + 1

    assert asyncio.iscoroutinefunction(a) and not asyncio.iscoroutinefunction(b)
    results = execute_tool_calls_sync([call(1, "a", x=2), call(2, "sync_b", x=2)], {"a": a, "sync_b": b})
    assert [r["content"] for r in results] == ["4", "3"]
    assert b(x=5) == 6  # called directly: gets a generated id
    assert [c.id for c in rec.calls][-1].startswith("call_")
    assert set(rec.timings()) >= {"toolu_01", "toolu_02"}
