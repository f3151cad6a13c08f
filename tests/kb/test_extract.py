"""``synapse_ai.kb.extract``: the error blocks of long, noisy output, on the shapes real failures have."""

from __future__ import annotations

import json

from synapse_ai.kb.extract import (
    HEAD_CHARS,
    TAIL_CHARS,
    agent_context,
    bounded_window,
    extract_errors,
    focus_text,
    http_statuses,
    is_error_text,
)

NOISE = "".join(
    f"2026-12-01 10:00:{i % 60:02d},123 INFO agent.loop: step {i} read_file path=src/m{i}.py\n" for i in range(500)
)
RATE_LIMIT_TB = (
    "Traceback (most recent call last):\n"
    '  File "/home/dev/agent.py", line 88, in step\n'
    "    resp = client.messages.create(**params)\n"
    '  File "/home/dev/.venv/lib/python3.12/site-packages/anthropic/_base_client.py", line 1350, in _request\n'
    "    raise self._make_status_error_from_response(response) from None\n"
    "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', "
    "'message': \"This request would exceed your organization's rate limit\"}}\n"
)


def test_traceback_at_the_end_of_a_long_log_comes_first():
    text = "Exit code 1\n" + NOISE + RATE_LIMIT_TB
    blocks = extract_errors(text)
    assert blocks[0].kind == "python_traceback"
    assert blocks[0].error_type == "anthropic.RateLimitError"
    assert blocks[0].message.startswith("Error code: 429")
    assert "site-packages/anthropic/_base_client.py" in blocks[0].text  # frame file names are context
    assert "raise self._make_status_error" not in blocks[0].text  # code lines are not
    assert "rate_limit_error" in focus_text(text) and "INFO agent.loop" not in focus_text(text)


def test_chained_exceptions_give_one_block_each_last_first():
    text = (
        "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nKeyError: 'content'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "a.py", line 3, in g\nValueError: tool input had no content\n'
    )
    blocks = extract_errors(text)
    assert [b.error_type for b in blocks[:2]] == ["ValueError", "KeyError"]


def test_exception_groups_are_read_through_their_drawing():
    text = (
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "/x/agent.py", line 9, in main\n'
        "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | Traceback (most recent call last):\n"
        '    |   File "/x/tools.py", line 3, in get\n'
        "    | ValueError: stocks: upstream returned 500\n"
        "    +------------------------------------\n"
    )
    types = {b.error_type for b in extract_errors(text)}
    assert {"ExceptionGroup", "ValueError"} <= types


def test_js_stack():
    text = (
        "Error: Claude Code process exited with code 1\n    at ProcessTransport.getProcessExitError "
        "(file:///x/sdk.mjs:7:1)\n    at ChildProcess.<anonymous> (file:///x/sdk.mjs:9:2)\n"
    )
    block = extract_errors(text)[0]
    assert block.kind == "js_stack" and block.error_type == "Error" and "exited with code 1" in block.message


def test_json_error_bodies_json_and_repr():
    body = json.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_011CX"}
    )
    block = extract_errors("some log\n" + body + "\n")[0]
    assert block.kind == "json_error" and block.error_type == "overloaded_error" and block.message == "Overloaded"
    openai_body = (
        "{'error': {'message': 'You exceeded your current quota', 'type': 'insufficient_quota', 'code': "
        "'insufficient_quota'}}"
    )
    assert extract_errors(openai_body)[0].error_type == "insufficient_quota"


def test_status_lines_but_not_successful_requests():
    text = 'INFO httpx: HTTP Request: POST https://api.anthropic.com/v1/messages "HTTP/1.1 200 OK"\n' * 20
    assert extract_errors(text) == []
    text += 'INFO httpx: HTTP Request: POST https://api.anthropic.com/v1/messages "HTTP/1.1 529 "\n'
    assert [b.kind for b in extract_errors(text)] == ["http_status"]


def test_warnings_and_lead_in_log_lines():
    text = (
        "/srv/app/agent.py:52: DeprecationWarning: The model 'claude-x' is deprecated and will reach end-of-life "
        "on November 30th, 2026.\n"
    )
    block = extract_errors(text)[0]
    assert block.error_type == "DeprecationWarning" and "end-of-life" in block.message
    text = (
        'WARNING agent.loop: stop_reason="max_tokens" while writing tool call write_file\nTraceback (most recent '
        "call last):\n  File \"t.py\", line 3, in w\nKeyError: 'content'\n"
    )
    assert "max_tokens" in extract_errors(text)[0].text


def test_truncation_markers_are_removed():
    text = (
        'Traceback (most recent call last):\n  File "a.py", line 1\n... [28417 characters truncated] '
        "...\nanthropic.APIConnectionError: Connection error.\n"
    )
    assert "truncated" not in bounded_window(text)
    assert extract_errors(text)[0].error_type == "anthropic.APIConnectionError"


def test_retry_loops_collapse():
    line = "anthropic.InternalServerError: Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error'}}\n"
    blocks = extract_errors(line * 30)
    assert len(blocks) == 1 and blocks[0].repeats == 30


def test_bounded_window_keeps_head_and_tail_of_huge_input():
    huge = "start\n" + "x" * 5_000_000 + "\n" + RATE_LIMIT_TB
    window = bounded_window(huge)
    assert len(window) <= HEAD_CHARS + TAIL_CHARS + 1
    assert window.startswith("start") and window.endswith(RATE_LIMIT_TB)
    assert extract_errors(huge)[0].error_type == "anthropic.RateLimitError"


def test_questions_are_not_error_text():
    assert not is_error_text(extract_errors("my agent keeps getting an overloaded error, what should I do"))
    assert is_error_text(extract_errors("KeyError: 'x'"))


def test_statuses_from_lines_codes_and_reason_phrases():
    assert http_statuses("429") == [429]
    assert http_statuses("HTTP 429") == [429]
    assert http_statuses("too many requests") == [429]
    assert http_statuses("Request failed with status code 404") == [404]
    assert 413 in http_statuses("Error code: 413 - request_too_large")
    assert http_statuses("took 429 ms") == []


def test_agent_context_is_specific():
    assert agent_context(RATE_LIMIT_TB)
    assert agent_context("data = json.loads(response.content[0].text)")
    assert not agent_context("npm ERR! code ELIFECYCLE\nnpm ERR! Failed at the build script")
    assert not agent_context("MCP error -32602: Invalid params: path must be absolute")  # a tool's own failure
    assert not agent_context("the model of the car; user-agent header; token bucket")
