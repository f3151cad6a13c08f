"""``Recorder`` and ``run_agent`` warn at run time when independent calls arrive one per turn."""

from __future__ import annotations

import asyncio
import logging
import time

import anthropic

from synapse_ai.skill.executor import Recorder, run_agent

from .fake_messages_api import FakeMessagesAPI, text_response, tool_use_response

LOGGER = "synapse_ai.skill.executor"


async def read_file(path):
    await asyncio.sleep(0.02)
    return f"contents of {path}"


async def find_order(customer):
    await asyncio.sleep(0.02)
    return "order ord_7731 for " + customer


async def get_order(order_id):
    await asyncio.sleep(0.02)
    return f"order {order_id}: 2 items"


def agent_run(script, recorder, prompt="read a.txt, b.txt, c.txt and d.txt"):
    async def go():
        with FakeMessagesAPI(script) as api:
            async with anthropic.AsyncAnthropic(api_key="test", base_url=api.base_url, max_retries=0) as client:
                return await run_agent(
                    client,
                    model="m",
                    messages=[{"role": "user", "content": prompt}],
                    tools_schema=[],
                    tools={"read_file": read_file, "find_order": find_order, "get_order": get_order},
                    recorder=recorder,
                )

    return asyncio.run(go())


def warnings_of(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_run_agent_warns_once_naming_the_turns_and_the_seconds(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    script = [tool_use_response((f"toolu_{n}", "read_file", {"path": f"{n}.txt"})) for n in "abcd"]
    rec = Recorder(warn_min_saving_s=0.0)
    agent_run(script + [text_response("done")], rec)
    (message,) = warnings_of(caplog)  # four turns, one run: one warning, at the third turn
    assert message.startswith("turns 1-3 each issued one tool call (read_file a.txt; read_file b.txt; read_file c.txt)")
    assert " s one after another, about " in message and "2 model round trips lost" in message


def test_no_warning_for_a_batch_a_dependent_chain_or_when_turned_off(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    batch = [tool_use_response(*[(f"toolu_{n}", "read_file", {"path": f"{n}.txt"}) for n in "abc"])]
    agent_run(batch + [text_response("done")], Recorder(warn_min_saving_s=0.0))
    chain = [
        tool_use_response(("t1", "find_order", {"customer": "cus_19"})),
        tool_use_response(("t2", "get_order", {"order_id": "ord_7731"})),  # uses the id the first result showed
        tool_use_response(("t3", "read_file", {"path": "ord_7731.txt"})),
    ]
    agent_run(chain + [text_response("done")], Recorder(warn_min_saving_s=0.0), prompt="what did cus_19 order?")
    script = [tool_use_response((f"toolu_{n}", "read_file", {"path": f"{n}.txt"})) for n in "abc"]
    agent_run(script + [text_response("done")], Recorder(warn=False))
    assert warnings_of(caplog) == []


def test_default_threshold_keeps_quick_runs_quiet(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    script = [tool_use_response((f"toolu_{n}", "read_file", {"path": f"{n}.txt"})) for n in "abc"]
    run = agent_run(script + [text_response("done")], Recorder())  # well under 2 s saved with a local fake model
    assert run.stop_reason == "end_turn" and warnings_of(caplog) == []


def test_own_loop_without_history_infers_turns_from_timing(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    rec = Recorder(warn_min_saving_s=0.0)

    def lookup(key):
        time.sleep(0.01)
        return f"value of {key}"

    tools = rec.wrap({"lookup": lookup})
    for key in ("alpha", "beta", "gamma", "delta"):
        tools["lookup"](key=key)
        time.sleep(0.12)  # the model being asked again: a new turn
    (message,) = warnings_of(caplog)
    assert message.startswith("turns 1-3 each issued one tool call (lookup alpha; lookup beta; lookup gamma)")

    caplog.clear()
    quick = Recorder(warn_min_saving_s=0.0)
    tools = quick.wrap({"lookup": lookup})
    for key in ("alpha", "beta", "gamma"):
        tools["lookup"](key=key)  # one after another with no model in between: one turn run serially
    assert warnings_of(caplog) == []


def test_own_loop_warning_keeps_real_turn_numbers_in_a_long_run(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    rec = Recorder(warn_min_saving_s=0.0, turn_gap_s=0.005)

    def write_note(path):
        return f"wrote {path}"

    def read_note(path):
        return f"contents of {path}"

    tools = rec.wrap({"write_note": write_note, "read_note": read_note})
    for n in range(14):  # 14 turns that each write then read back the same note: dependent, no warning
        tools["write_note"](path=f"notes/{n}.md")
        time.sleep(0.01)
        tools["read_note"](path=f"notes/{n}.md")
        time.sleep(0.01)
    assert warnings_of(caplog) == []
    for name in ("x", "y"):  # then two more independent reads, one per turn: turns 29 and 30
        tools["read_note"](path=f"other/{name}.md")
        time.sleep(0.01)
    (message,) = warnings_of(caplog)  # turn 28's read needed nothing from turns 29-30 either
    assert message.startswith("turns 28-30 each issued one tool call (read_note notes/13.md; read_note other/x.md;")
