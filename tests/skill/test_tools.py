"""Tool definitions and the dispatcher, exercised with the real ``anthropic`` SDK against a local fake."""

from __future__ import annotations

import json

import anthropic
import jsonschema
import pytest

from synapse_ai.skill.executor import run_agent
from synapse_ai.skill.tools import OUTPUT_SCHEMAS, REFERENCE_NOTE, TOOL_DEFINITIONS, SynapseTools

from .fake_messages_api import FakeMessagesAPI, text_response, tool_use_response

RATE_LIMIT_ERROR = (
    "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error'}}"
)


@pytest.fixture
def tools(shared_kb):
    return SynapseTools(shared_kb)


def _client(api: FakeMessagesAPI) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=api.base_url, api_key="test", max_retries=0)


def test_definitions_are_well_formed():
    names = [d["name"] for d in TOOL_DEFINITIONS]
    assert names == [
        "search_solutions",
        "get_solution",
        "diagnose_trace",
        "confirm_solution",
        "flag_solution",
        "propose_solution",
    ]
    for definition in TOOL_DEFINITIONS:
        assert set(definition) == {"name", "description", "input_schema"}
        schema = definition["input_schema"]
        assert schema["type"] == "object"
        assert set(schema.get("required", [])) <= set(schema["properties"])
        assert all(p.get("description") for p in schema["properties"].values())
        assert 200 < len(definition["description"]) < 1500
    # the words an agent has in mind when something breaks
    for word in ("error", "traceback", "429", "tool call failed", "slow"):
        assert word in TOOL_DEFINITIONS[0]["description"]


async def test_loop_sends_search_result_back_as_tool_result(tools):
    script = [
        tool_use_response(
            ("toolu_1", "search_solutions", {"query": RATE_LIMIT_ERROR}),
            ("toolu_2", "get_solution", {"slug": "rate-limit-429", "section": "Root Cause"}),
            text="Let me look that up.",
        ),
        text_response("Raise max_retries and cap concurrency."),
    ]
    with FakeMessagesAPI(script) as api:
        client = _client(api)
        messages = [{"role": "user", "content": f"My agent crashed with: {RATE_LIMIT_ERROR}"}]
        response = await client.messages.create(
            model="claude-test", max_tokens=512, tools=TOOL_DEFINITIONS, messages=messages
        )
        assert response.stop_reason == "tool_use"
        results = await tools.dispatch(response.content)
        messages += [
            {"role": "assistant", "content": [b.to_dict() for b in response.content]},
            {"role": "user", "content": results},
        ]
        final = await client.messages.create(
            model="claude-test", max_tokens=512, tools=TOOL_DEFINITIONS, messages=messages
        )
        await client.close()

    assert final.content[0].text.startswith("Raise")
    assert [t["name"] for t in api.requests[0]["tools"]] == [d["name"] for d in TOOL_DEFINITIONS]
    sent = api.requests[1]["messages"][-1]
    assert sent["role"] == "user"
    assert [b["type"] for b in sent["content"]] == ["tool_result", "tool_result"]
    assert [b["tool_use_id"] for b in sent["content"]] == ["toolu_1", "toolu_2"]
    assert not any(b.get("is_error") for b in sent["content"])

    search = json.loads(sent["content"][0]["content"])
    assert search["matched"] is True
    assert search["results"][0]["slug"] == "rate-limit-429"
    assert search["results"][0]["why"]["pattern"]
    assert "Option 1" in search["results"][0]["fix_digest"]
    assert REFERENCE_NOTE in search["note"]

    entry = json.loads(sent["content"][1]["content"])
    assert [s["name"] for s in entry["sections"]] == ["Root Cause"]
    assert "fix" not in entry


async def test_run_agent_with_synapse_tools(tools):
    script = [
        tool_use_response(("toolu_a", "get_solution", {"slug": "rate-limit-43"})),
        text_response("ok"),
    ]
    with FakeMessagesAPI(script) as api:
        client = _client(api)
        result = await run_agent(
            client,
            model="claude-test",
            messages=[{"role": "user", "content": "show me the 429 fix"}],
            tools_schema=TOOL_DEFINITIONS,
            tools=tools.handlers(),
        )
        await client.close()
    assert result.stop_reason == "end_turn"
    block = api.requests[1]["messages"][-1]["content"][0]
    assert block["tool_use_id"] == "toolu_a"
    assert block["is_error"] is True
    assert "rate-limit-429" in block["content"]  # the error suggests the close slug


async def test_dispatch_skips_other_blocks_and_accepts_extra_tools(tools):
    content = [
        {"type": "text", "text": "thinking out loud"},
        {"type": "tool_use", "id": "a", "name": "search_solutions", "input": {"query": "", "limit": 3}},
        {"type": "tool_use", "id": "b", "name": "echo", "input": {"x": 1}},
        {"type": "tool_use", "id": "c", "name": "nope", "input": {}},
    ]
    results = await tools.dispatch(content, extra_tools={"echo": lambda x: {"x": x}})
    assert [r["tool_use_id"] for r in results] == ["a", "b", "c"]
    assert results[0]["is_error"] and "non-empty" in results[0]["content"]
    assert json.loads(results[1]["content"]) == {"x": 1}
    assert results[2]["is_error"] and "Unknown tool" in results[2]["content"]


def test_search_not_matched_and_limits(tools):
    out = tools.search_solutions("how do I center a div in css", limit=500)
    assert out["matched"] is False
    assert len(out["results"]) <= 20
    assert all("fix_digest" not in r for r in out["results"])
    with pytest.raises(ValueError):
        tools.search_solutions("x", limit="many")


def test_get_solution_full_and_bad_section(tools):
    full = tools.get_solution("rate-limit-429")
    names = [s["name"] for s in full["sections"]]
    assert {"Symptom", "Root Cause"} <= set(names) and "Fix" not in names  # the Fix is in 'fix', once
    assert full["fix"]["options"][0]["number"] == 1
    with pytest.raises(ValueError, match="no section"):
        tools.get_solution("rate-limit-429", section="Nope")


def test_get_solution_leads_with_quick_fix_and_verified(tools, shared_kb):
    entry = shared_kb.get("rate-limit-429")
    assert entry.quick_fix and entry.verified  # the fixture entry has both fields
    full = tools.get_solution("rate-limit-429")
    assert list(full)[:4] == ["slug", "title", "quick_fix", "verified"]
    assert full["quick_fix"] == entry.quick_fix and full["verified"] == entry.verified.to_dict()
    jsonschema.validate(full, OUTPUT_SCHEMAS["get_solution"])


def test_get_solution_fix_section_is_quick_fix_then_options_once(tools, shared_kb):
    entry = shared_kb.get("rate-limit-429")
    fix = tools.get_solution("rate-limit-429", section="fix")
    assert list(fix) == ["slug", "title", "quick_fix", "verified", "fix", "note"]
    assert fix["quick_fix"] == entry.quick_fix
    assert [o["title"] for o in fix["fix"]["options"]] == [o.title for o in entry.fix_options]
    text = json.dumps(fix, ensure_ascii=False)
    prose = entry.fix_options[0].body.split("```")[0].strip()[:60]
    assert prose and text.count(json.dumps(prose, ensure_ascii=False)[1:-1]) == 1  # the Fix text is not repeated
    assert len(text) < len(json.dumps(tools.get_solution("rate-limit-429"), ensure_ascii=False))
    jsonschema.validate(fix, OUTPUT_SCHEMAS["get_solution"])
    cause = tools.get_solution("rate-limit-429", section="Root Cause")
    assert list(cause) == ["slug", "title", "quick_fix", "verified", "sections", "note"]
    assert [s["name"] for s in cause["sections"]] == ["Root Cause"]
    jsonschema.validate(cause, OUTPUT_SCHEMAS["get_solution"])


def test_search_results_carry_the_quick_fix(tools, shared_kb):
    out = tools.search_solutions(RATE_LIMIT_ERROR, limit=3)
    for result in out["results"]:
        assert list(result)[:4] == ["slug", "title", "summary", "quick_fix"]
        assert result["quick_fix"] == shared_kb.get(result["slug"]).quick_fix
    assert out["results"][0]["quick_fix"]
    jsonschema.validate(out, OUTPUT_SCHEMAS["search_solutions"])


def test_diagnose_trace_arguments(tools, tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        tools.diagnose_trace()
    with pytest.raises(ValueError, match="not JSON"):
        tools.diagnose_trace(transcript="{oops")
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]},
    ]
    report = tools.diagnose_trace(transcript=json.dumps(messages))
    assert set(report) >= {"findings", "summary"}


def test_one_rule_for_limit_and_one_line_messages():
    from synapse_ai.skill.tools import MAX_LIMIT, check_limit

    assert [check_limit(v) for v in (0, 1, 5, 5.0, 20, 999, -3)] == [1, 1, 5, 5, 20, MAX_LIMIT, 1]
    for bad in (5.9, "5", "five", True, None, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="limit must be a whole number between 1 and 20") as raised:
            check_limit(bad)
        assert "\n" not in str(raised.value)


def test_bad_arguments_give_clean_messages(tools):
    cases = [
        (tools.search_solutions, {}, "query must be a non-empty string"),
        (tools.search_solutions, {"query": "x", "limit": 5.9}, "limit must be a whole number"),
        (tools.get_solution, {}, "slug must be a non-empty string"),
        (tools.get_solution, {"slug": "rate-limit-429", "section": 3}, "section must be a string"),
        (tools.diagnose_trace, {"transcript": [], "default_latency": float("nan")}, "finite number of seconds"),
        (tools.diagnose_trace, {"transcript": [], "default_latency": -1}, "finite number of seconds"),
        (tools.diagnose_trace, {"path": 42}, "path must be a non-empty string"),
        (tools.diagnose_trace, {"transcript": 42}, "transcript must be an object"),
    ]
    for method, kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as raised:
            method(**kwargs)
        assert "\n" not in str(raised.value) and "pydantic" not in str(raised.value)


async def test_dispatch_reports_missing_arguments_like_bad_ones(tools):
    results = await tools.dispatch([{"type": "tool_use", "id": "a", "name": "search_solutions", "input": {}}])
    assert results[0]["is_error"] and "query must be a non-empty string" in results[0]["content"]
