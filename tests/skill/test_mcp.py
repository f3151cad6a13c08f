"""``synapse mcp`` driven by the official mcp client over stdio, as Claude Code would drive it."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from synapse_ai.skill.mcp_server import explain_unreadable, scan_request_id
from synapse_ai.skill.tools import FEEDBACK_TOOL_DEFINITIONS, OUTPUT_SCHEMAS, TOOL_DEFINITIONS, SynapseTools

from .index_helper import build_default_index


def _server_params(home: Path) -> StdioServerParameters:
    exe = shutil.which("synapse") or str(Path(sys.executable).with_name("synapse"))
    return StdioServerParameters(
        command=exe,
        args=["mcp"],
        env={"SYNAPSE_HOME": str(home), "SYNAPSE_MODEL": "hash", "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def served_home(_isolated_home) -> Path:
    build_default_index()
    return _isolated_home


def _text(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


TRACE = {
    "messages": [
        {"role": "user", "content": "read a and b"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {"p": "a"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "A"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "read", "input": {"p": "b"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": "B"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    ],
    "timings": {"t1": 2.0, "t2": 2.0},
}


BAD_ARGUMENTS = [
    ("search_solutions", {"query": "x", "limit": "five"}),
    ("search_solutions", {"query": "x", "limit": 5.9}),
    ("search_solutions", {"query": 123}),
    ("search_solutions", {}),
    ("get_solution", {}),
    ("get_solution", {"slug": "rate-limit-429", "section": 5}),
    ("diagnose_trace", {"transcript": [], "default_latency": -1}),
    ("diagnose_trace", {"path": "/x.json", "default_latency": "slow"}),
]


async def test_list_search_get_diagnose_over_stdio(served_home, tmp_path):
    """One server process for the whole conversation: importing the mcp SDK alone takes ~1.5 s."""
    trace_path = tmp_path / "trace.json"
    trace_path.write_text(json.dumps(TRACE))
    errlog = (tmp_path / "server-stderr.txt").open("w+")
    async with stdio_client(_server_params(served_home), errlog=errlog) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=30) as session:
            init = await session.initialize()
            assert init.server_info.name == "synapse-ai"
            assert "reference data" in (init.instructions or "")

            listed = await session.list_tools()
            tools = {t.name: t for t in listed.tools}
            assert set(tools) == {d["name"] for d in TOOL_DEFINITIONS}
            for definition in TOOL_DEFINITIONS:
                tool = tools[definition["name"]]
                assert tool.description == definition["description"]
                assert set(tool.input_schema.get("required", [])) == set(definition["input_schema"].get("required", []))
                assert set(tool.input_schema["properties"]) == set(definition["input_schema"]["properties"])
                assert tool.annotations.read_only_hint is (definition not in FEEDBACK_TOOL_DEFINITIONS)

            for name, tool in tools.items():
                assert tool.output_schema == OUTPUT_SCHEMAS[name]
                assert tool.input_schema == next(d["input_schema"] for d in TOOL_DEFINITIONS if d["name"] == name)

            found = await session.call_tool(
                "search_solutions", {"query": "anthropic.RateLimitError: Error code: 429 rate_limit_error"}
            )
            assert not found.is_error
            data = json.loads(_text(found))
            # the same data as structured content (the client checked it against outputSchema)
            assert found.structured_content == data
            assert data["matched"] is True
            assert data["results"][0]["slug"] == "rate-limit-429"
            assert "fix_digest" in data["results"][0]
            assert data["results"][0]["quick_fix"]  # next to the summary

            entry = await session.call_tool("get_solution", {"slug": "rate-limit-429", "section": "Fix"})
            assert not entry.is_error
            body = json.loads(_text(entry))
            assert body["slug"] == "rate-limit-429"
            # the quick fix first, then the options; the Fix text is not repeated in 'sections'
            assert list(body) == ["slug", "title", "quick_fix", "verified", "fix", "note"]
            assert body["quick_fix"] and body["verified"]["date"] and body["fix"]["options"]

            missing = await session.call_tool("get_solution", {"slug": "rate-limit-42"})
            assert missing.is_error
            assert "rate-limit-429" in _text(missing)  # the error names the close slug

            inline = await session.call_tool("diagnose_trace", {"transcript": TRACE})
            by_path = await session.call_tool("diagnose_trace", {"path": str(trace_path)})
            neither = await session.call_tool("diagnose_trace", {})
            assert not inline.is_error and not by_path.is_error
            assert json.loads(_text(inline)) == json.loads(_text(by_path))
            assert json.loads(_text(inline))["findings"]
            assert inline.structured_content == json.loads(_text(inline))
            assert neither.is_error and "exactly one" in _text(neither)
            assert entry.structured_content["slug"] == "rate-limit-429"

            # the feedback loop, on the local store
            confirmed = await session.call_tool("confirm_solution", {"slug": "rate-limit-429"})
            assert not confirmed.is_error
            assert confirmed.structured_content == {"slug": "rate-limit-429", "confirmations": 1}
            flag = {"slug": "rate-limit-429", "reason": "stale", "note": "v3"}
            flagged = await session.call_tool("flag_solution", flag)
            assert not flagged.is_error and flagged.structured_content["open_flags"] == 1
            unasked = await session.call_tool("propose_solution", {"title": "x"})
            assert unasked.is_error and "user_approved=true" in _text(unasked)

            # Bad arguments: the same one-line message SynapseTools gives, no validation boilerplate.
            direct = SynapseTools()
            for name, arguments in BAD_ARGUMENTS:
                result = await session.call_tool(name, arguments)
                assert result.is_error, (name, arguments)
                text = _text(result)
                assert "\n" not in text and "pydantic" not in text and "errors.pydantic.dev" not in text
                with pytest.raises(ValueError) as raised:
                    getattr(direct, name)(**arguments)
                assert text.endswith(str(raised.value)), (text, str(raised.value))
            # limits are clamped the same way on both paths
            wide = await session.call_tool("search_solutions", {"query": "tool_use ids", "limit": 999})
            assert not wide.is_error and len(wide.structured_content["results"]) <= 20
    errlog.seek(0)
    assert "Traceback" not in errlog.read()


# --------------------------------------------------------------------------- raw JSON-RPC over stdio

DEEP = 50_000


def _bad_lines() -> list[tuple[str, object, int | None]]:
    """(line, id the answer must carry, JSON-RPC error code); code None = must not be answered."""
    call = '{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{name}","arguments":{args}}}}}'
    return [
        (call.format(id=14, name="search_solutions", args='{"query":"\\ud800 rate limit"}'), 14, -32602),
        (call.format(id=15, name="get_solution", args='{"slug":"rate\\udfff"}'), 15, -32602),
        (call.format(id=19, name="diagnose_trace", args='{"transcript":' + "[" * DEEP + "]" * DEEP + "}"), 19, -32600),
        (call.format(id=22, name="diagnose_trace", args='{"transcript":' + "[" * 300 + "]" * 300 + "}"), 22, -32600),
        ('{"id":7,"method":"ping"}', 7, -32600),
        ('{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":', 21, -32700),
        ('{"jsonrpc":"2.0","id":"s-1","method":"ping","params":', "s-1", -32700),
        ("not json at all", None, -32700),
        ("42", None, -32600),
        ('[{"jsonrpc":"2.0","id":30,"method":"ping"}]', None, -32600),
        ('{"method":"notifications/whatever"}', None, None),
    ]


def _reader(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def test_every_request_is_answered_even_when_it_cannot_be_read(served_home, tmp_path):
    """A real ``synapse mcp`` subprocess over stdio: bad lines get a JSON-RPC error with their id
    (or null), are logged on stderr, and the server keeps answering valid requests."""
    params = _server_params(served_home)
    env = {**os.environ, **params.env}
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [params.command, *params.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            text=True,
            encoding="utf-8",
        )
    answers: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, answers), daemon=True).start()

    def send(line: str) -> None:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()

    def next_answer(timeout: float = 60) -> dict:
        line = answers.get(timeout=timeout)
        assert line is not None, "the server closed stdout"
        return json.loads(line)

    try:
        send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "t", "version": "0"},
                    },
                }
            )
        )
        assert next_answer()["id"] == 1
        send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        for line, request_id, code in _bad_lines():
            send(line)
            probe = json.dumps({"jsonrpc": "2.0", "id": 1000, "method": "ping"})
            send(probe)
            got = next_answer()
            if code is None:
                assert got == {"jsonrpc": "2.0", "id": 1000, "result": {}}, line[:80]
                continue
            assert got["id"] == request_id and got["error"]["code"] == code, (line[:80], got)
            assert "\n" not in got["error"]["message"]
            assert next_answer()["id"] == 1000  # still serving
        send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {
                        "name": "search_solutions",
                        "arguments": {"query": "anthropic.RateLimitError: 429 rate_limit_error"},
                    },
                }
            )
        )
        result = next_answer()["result"]
        assert result["structuredContent"]["results"][0]["slug"] == "rate-limit-429"
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    log = stderr_path.read_text()
    assert "Traceback" not in log
    assert log.count("unreadable message from the client") == len(_bad_lines())
    assert "lone UTF-16 surrogate" in log and "not answered" in log


def test_request_id_is_found_in_lines_that_do_not_parse():
    assert scan_request_id('{"jsonrpc":"2.0","id":21,"method":"x","params":{"a":') == 21
    assert scan_request_id('{"params":' + "[" * 5000 + "]" * 5000 + ',"id":"late"}') == "late"
    assert scan_request_id('{"params":{"id":3},"id":4') == 4  # the nested id is not the request's
    assert scan_request_id('{"id":true}') is None and scan_request_id("[1]") is None
    assert scan_request_id('{"a":"x\\"y","id":9,') == 9


def test_explanations_for_unreadable_lines():
    import mcp_types
    from pydantic import ValidationError

    def explain(line):
        try:
            mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        except ValidationError as exc:
            return explain_unreadable(exc)
        raise AssertionError("the SDK accepted " + line)

    assert explain('{"id":7,"method":"ping"}') == (
        True,
        7,
        -32600,
        'Invalid Request: the "jsonrpc" member must be "2.0"',
    )
    reply, request_id, code, message = explain('{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}')
    assert (reply, request_id, code) == (True, 1, -32600) and "params" in message
    assert explain('{"jsonrpc":"2.0","id":"r1","error":"boom"}')[:2] == (False, "r1")  # a response: no answer
    assert explain("42")[:3] == (True, None, -32600)
