"""An agent loop on ``anthropic.AsyncAnthropic`` that runs each turn's tool calls concurrently.

Why it looks the way it does:

* It must use the *async* client. Calling the sync ``anthropic.Anthropic`` inside ``async def``
  blocks the event loop for the whole model request, so nothing else (other agents, streaming,
  tools of another session) makes progress. A sync client is rejected with a ``TypeError``.
* All tool results of one assistant turn go back in ONE user message, ``tool_result`` blocks
  first and in the order of the ``tool_use`` blocks. Anthropic requires one result per call in
  the next user message; splitting results over several messages also teaches the model to
  stop issuing parallel calls.
* Tool failures are returned as ``is_error`` results (the model can react), not raised.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._core import execute_tool_calls, parse_calls, tool_result

if TYPE_CHECKING:  # pragma: no cover
    from .recorder import Recorder

__all__ = ["AgentResult", "run_agent"]

# Stop reasons after which the loop should call the model again without adding tool results.
_CONTINUE_REASONS = {"pause_turn"}


@dataclasses.dataclass
class AgentResult:
    """What :func:`run_agent` ends with.

    ``messages`` is the full history (your input messages are copied, never mutated) and can be
    saved as a transcript for ``synapse diagnose``. ``stop_reason`` is the model's last stop
    reason, or ``"max_turns"`` when the cap was hit. In that case the last assistant turn's tool
    calls are *not* executed (the cap exists to stop spending), and the history ends with a user
    message answering each of them with an ``is_error`` result that says the turn limit was
    reached: every ``tool_use`` has its ``tool_result``, so the history can be sent again (to
    resume with a higher limit, or with a closing instruction) without the API's 400 for a
    ``tool_use`` without a result. ``turns`` counts model requests.
    """

    messages: list[dict[str, Any]]
    response: Any
    stop_reason: str | None
    turns: int

    @property
    def text(self) -> str:
        """Concatenated text blocks of the last model response."""
        if self.response is None:
            return ""
        parts = [getattr(b, "text", "") for b in self.response.content if getattr(b, "type", "") == "text"]
        return "".join(parts)


def _block_to_param(block: Any) -> Any:
    """Turn an SDK content block into a plain dict for the next request.

    ``to_dict()`` keeps only the fields the API actually returned (thinking signatures, ids,
    citations), so the assistant turn is replayed exactly as received.
    """
    if isinstance(block, Mapping):
        return dict(block)
    to_dict = getattr(block, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    dump = getattr(block, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    return block


def _turn_limit_results(calls: Sequence[Any], max_turns: int) -> list[dict[str, Any]]:
    """``is_error`` results for calls left unexecuted because ``max_turns`` was reached."""
    message = (
        f"Not run: the agent loop reached its limit of {max_turns} model turns (max_turns) before executing this call."
    )
    return [tool_result(call.id, message, is_error=True) for call in parse_calls(calls)]


def _check_async_client(client: Any) -> None:
    try:
        import anthropic
    except ImportError:  # pragma: no cover - duck-typed clients still work
        return
    if isinstance(client, anthropic.Anthropic):
        raise TypeError(
            "run_agent needs anthropic.AsyncAnthropic: the sync client would block the event "
            "loop for every model request"
        )


async def run_agent(
    client: Any,
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools_schema: Sequence[Mapping[str, Any]],
    tools: Mapping[str, Callable[..., Any]],
    max_turns: int = 20,
    max_tokens: int = 4096,
    tool_timeout: float | None = None,
    max_concurrency: int | None = None,
    recorder: Recorder | None = None,
    **kwargs: Any,
) -> AgentResult:
    """Call the model until it stops asking for tools, running each turn's calls concurrently.

    ``tools_schema`` is the ``tools=`` list sent to the API; ``tools`` maps each tool name to
    its implementation (``fn(**input)``, sync or async). ``tool_timeout`` and
    ``max_concurrency`` are passed to :func:`synapse_ai.skill.executor.execute_tool_calls`. Extra keyword
    arguments (``system``, ``temperature``, ``tool_choice`` ...) go to ``messages.create``.
    With a :class:`synapse_ai.skill.executor.Recorder`, tool calls and model requests are timed and the
    history is attached to it, ready for ``recorder.save(path)``; the recorder also logs a warning
    (``synapse_ai.skill.executor`` logger) when independent calls arrive one per turn.
    """
    if max_turns < 1:
        raise ValueError("max_turns must be at least 1")
    _check_async_client(client)
    history: list[dict[str, Any]] = [dict(m) for m in messages]
    if recorder is not None:
        tools = recorder.wrap(tools)
        recorder.messages = history
        if "system" in kwargs:
            recorder.system = kwargs["system"]
        recorder.tools_schema = list(tools_schema)
    response: Any = None
    for turn in range(1, max_turns + 1):
        started = time.perf_counter()
        request = dict(kwargs)
        if tools_schema:
            request["tools"] = list(tools_schema)
        pending = client.messages.create(model=model, max_tokens=max_tokens, messages=history, **request)
        if not inspect.isawaitable(pending):
            raise TypeError("client.messages.create did not return an awaitable: use AsyncAnthropic")
        response = await pending
        if recorder is not None:
            recorder.record_model_call(turn, started, time.perf_counter(), response.stop_reason)
        history.append({"role": "assistant", "content": [_block_to_param(b) for b in response.content]})

        if response.stop_reason in _CONTINUE_REASONS:
            continue
        if response.stop_reason != "tool_use":
            return AgentResult(history, response, response.stop_reason, turn)
        calls = [b for b in response.content if getattr(b, "type", None) == "tool_use"]
        if not calls:  # defensive: tool_use stop reason without blocks
            return AgentResult(history, response, response.stop_reason, turn)
        if turn == max_turns:
            history.append({"role": "user", "content": _turn_limit_results(calls, max_turns)})
            break
        results = await execute_tool_calls(calls, tools, timeout=tool_timeout, max_concurrency=max_concurrency)
        # One user message, tool_result blocks only, in tool_use order.
        history.append({"role": "user", "content": results})
        if recorder is not None and recorder.warn:
            recorder.check_turns(history)  # logs once when calls that could have been one turn came one per turn
    return AgentResult(history, response, "max_turns", max_turns)
