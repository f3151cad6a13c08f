"""``synapse mcp`` driven by the official mcp client over stdio, as Claude Code would drive it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from skill.tools import TOOL_DEFINITIONS

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
                assert tool.annotations.read_only_hint is True

            found = await session.call_tool(
                "search_solutions", {"query": "anthropic.RateLimitError: Error code: 429 rate_limit_error"}
            )
            assert not found.is_error
            data = json.loads(_text(found))
            assert data["matched"] is True
            assert data["results"][0]["slug"] == "rate-limit-429"
            assert "fix_digest" in data["results"][0]

            entry = await session.call_tool("get_solution", {"slug": "rate-limit-429", "section": "Fix"})
            assert not entry.is_error
            body = json.loads(_text(entry))
            assert body["slug"] == "rate-limit-429"
            assert [s["name"] for s in body["sections"]] == ["Fix"]
            assert body["fix"]["options"]

            missing = await session.call_tool("get_solution", {"slug": "rate-limit-42"})
            assert missing.is_error
            assert "rate-limit-429" in _text(missing)  # the error names the close slug

            inline = await session.call_tool("diagnose_trace", {"transcript": TRACE})
            by_path = await session.call_tool("diagnose_trace", {"path": str(trace_path)})
            neither = await session.call_tool("diagnose_trace", {})
            assert not inline.is_error and not by_path.is_error
            assert json.loads(_text(inline)) == json.loads(_text(by_path))
            assert json.loads(_text(inline))["findings"]
            assert neither.is_error and "exactly one" in _text(neither)
    errlog.seek(0)
    assert "Traceback" not in errlog.read()
