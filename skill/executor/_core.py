"""Run one batch of tool calls concurrently and turn the outcomes into ``tool_result`` blocks.

Why this module exists: when Claude answers with several ``tool_use`` blocks in one turn, the
calls are unordered and independent by contract (Claude issues dependent calls in later turns),
so running them one after another wastes the sum of their latencies instead of the maximum.
The usual copy-pasted fix (``asyncio.gather`` over the calls) has four gaps this module closes:

* sync tools (``open().read()``, ``requests.get``) called inside a coroutine block the event loop,
  so "parallel" calls still run in series: they are moved to threads here;
* one exception must not lose the other results: every failure becomes an ``is_error`` result;
* a hung tool must not hang the agent: each call may get its own timeout;
* a burst of calls must not overload a rate-limited backend: ``max_concurrency`` bounds them;
* a burst of sync calls must not start thousands of OS threads: without ``max_concurrency`` at
  most :data:`DEFAULT_MAX_THREADS` sync tools run at once (the rest wait for a slot).

Results always come back in the order of the input ``tool_use`` blocks, because the API pairs
results with calls by ``tool_use_id`` and expects one result per call in the next user message.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import json
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    "DEFAULT_MAX_THREADS",
    "DuplicateToolUseIdError",
    "ToolCall",
    "current_call",
    "execute_tool_calls",
    "execute_tool_calls_sync",
    "serialize_result",
    "tool_result",
]

# Same default as concurrent.futures.ThreadPoolExecutor: enough threads for I/O-bound tools,
# few enough that 2,000 calls in one batch do not become 2,000 OS threads.
DEFAULT_MAX_THREADS = min(32, (os.cpu_count() or 1) + 4)


class DuplicateToolUseIdError(ValueError):
    """Two ``tool_use`` blocks of one batch share an id; their results could not be told apart."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        shown = ", ".join(repr(i) for i in ids)
        super().__init__(
            f"duplicate tool_use id{'s' if len(ids) > 1 else ''} in one batch: {shown}; "
            "each tool_use block needs its own id (nothing was run)"
        )


_CURRENT_CALL: contextvars.ContextVar[ToolCall | None] = contextvars.ContextVar(
    "synapse_current_tool_call", default=None
)


@dataclasses.dataclass(frozen=True)
class ToolCall:
    """One ``tool_use`` request: the id the result must answer, the tool name and its input."""

    id: str
    name: str
    input: dict[str, Any]

    @classmethod
    def from_block(cls, block: Any) -> ToolCall:
        """Accept an SDK ``ToolUseBlock``, a plain ``{"type": "tool_use", ...}`` dict or a ToolCall.

        Reading attributes *or* keys lets callers pass ``response.content`` items straight from
        the ``anthropic`` SDK as well as dicts loaded from a saved transcript.
        """
        if isinstance(block, ToolCall):
            return block
        if isinstance(block, Mapping):
            get = block.get
        else:

            def get(key: str, default: Any = None) -> Any:
                return getattr(block, key, default)

        kind = get("type", "tool_use")
        if kind != "tool_use":
            raise ValueError(f"expected a tool_use block, got type {kind!r}")
        call_id, name, tool_input = get("id"), get("name"), get("input", None)
        if not isinstance(call_id, str) or not call_id:
            raise ValueError(f"tool_use block has no string 'id': {block!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"tool_use block {call_id!r} has no string 'name'")
        if tool_input is None:
            tool_input = {}
        if not isinstance(tool_input, Mapping):
            raise ValueError(f"tool_use block {call_id!r} has a non-object 'input'")
        return cls(call_id, name, dict(tool_input))


def current_call() -> ToolCall | None:
    """The tool call being executed in this context (None outside the executor).

    Set by the executor before a tool runs and copied into worker threads, so wrappers such as
    :class:`synapse_ai.skill.executor.Recorder` can learn the ``tool_use`` id without changing tool signatures.
    """
    return _CURRENT_CALL.get()


def serialize_result(value: Any) -> str:
    """Turn a tool's return value into ``tool_result`` content text.

    Strings pass through untouched (they are usually already what the model should read);
    dicts, lists and dataclasses become JSON so the model sees structure rather than a Python
    repr; ``None`` becomes an empty string; anything else falls back to ``str()``.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif hasattr(value, "model_dump") and callable(value.model_dump):
        try:
            value = value.model_dump(mode="json")
        except Exception:  # noqa: BLE001 - fall through to the generic encoders below
            pass
    if isinstance(value, (dict, list, tuple, int, float, bool)):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            pass
    return str(value)


def tool_result(call_id: str, content: Any, *, is_error: bool = False) -> dict[str, Any]:
    """Build one ``tool_result`` block; ``is_error`` is only written when true (API default)."""
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": call_id,
        "content": serialize_result(content),
    }
    if is_error:
        block["is_error"] = True
    return block


def _unknown_tool_message(name: str, tools: Mapping[str, Any]) -> str:
    known = ", ".join(sorted(tools)) or "(none)"
    return f"Unknown tool '{name}'. Known tools: {known}"


def _error_message(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _timeout_message(name: str, timeout: float) -> str:
    return f"Tool '{name}' timed out after {timeout:g} s"


def _is_async_callable(fn: Any) -> bool:
    """True for ``async def`` functions, partials of them and objects with ``async __call__``."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = type(fn).__call__ if callable(fn) else None
    return call is not None and inspect.iscoroutinefunction(call)


def _run_in_daemon_thread(fn: Callable[..., Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
    """Run ``fn(**kwargs)`` in a fresh daemon thread; return a future settled on the loop.

    Why not ``asyncio.to_thread``: it uses the loop's default executor, and ``asyncio.run`` waits
    for that executor at shutdown, so a hung sync tool we already reported as timed out would
    still hang the program on exit. A daemon thread is abandoned cleanly instead. The current
    contextvars are copied, as ``to_thread`` does, so :func:`current_call` works in the tool.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    ctx = contextvars.copy_context()

    def settle(ok: bool, payload: Any) -> None:
        if future.done():  # cancelled by a timeout: nobody is waiting any more
            return
        if ok:
            future.set_result(payload)
        else:
            future.set_exception(payload)

    def worker() -> None:
        try:
            outcome = (True, ctx.run(fn, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            outcome = (False, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # loop already closed: the result is no longer wanted
            pass

    threading.Thread(target=worker, name=f"tool-{getattr(fn, '__name__', 'call')}", daemon=True).start()
    return future


async def _invoke(fn: Callable[..., Any], call: ToolCall) -> Any:
    """Call one tool without blocking the loop: await async tools, thread sync ones."""
    token = _CURRENT_CALL.set(call)
    try:
        if _is_async_callable(fn):
            value = await fn(**call.input)
        else:
            value = await _run_in_daemon_thread(fn, call.input)
            if inspect.isawaitable(value):  # a sync wrapper that returned a coroutine
                value = await value
        return value
    finally:
        _CURRENT_CALL.reset(token)


async def run_one(
    call: ToolCall,
    tools: Mapping[str, Callable[..., Any]],
    *,
    timeout: float | None,
    semaphore: asyncio.Semaphore | None,
    thread_slots: asyncio.Semaphore | None = None,
) -> tuple[bool, Any]:
    """Run one call under the bound and timeout; return ``(ok, value_or_error_message)``.

    The timeout clock starts when the call actually starts (after it gets a concurrency slot),
    so calls queued behind ``max_concurrency`` are not punished for waiting. On timeout the
    call's task is cancelled but not awaited, so a tool that swallows cancellation cannot hang
    the batch either. ``thread_slots`` bounds only sync tools (they each take an OS thread);
    a timed-out call gives its slot back although its abandoned thread may still be running.
    """
    fn = tools.get(call.name)
    if fn is None:
        return False, _unknown_tool_message(call.name, tools)
    if thread_slots is not None and not _is_async_callable(fn):
        semaphore = thread_slots
    if semaphore is not None:
        await semaphore.acquire()
    try:
        task = asyncio.ensure_future(_invoke(fn, call))
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            task.cancel()
            task.add_done_callback(_consume_exception)
            return False, _timeout_message(call.name, timeout or 0.0)
        exc = task.exception()
        if exc is not None:
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: not ours to hide
                raise exc
            return False, _error_message(exc)
        return True, task.result()
    finally:
        if semaphore is not None:
            semaphore.release()


def _consume_exception(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned task's outcome so asyncio does not log 'never retrieved'."""
    if not task.cancelled():
        task.exception()


def _check_bound(max_concurrency: int | None) -> None:
    if max_concurrency is not None and (not isinstance(max_concurrency, int) or max_concurrency < 1):
        raise ValueError(f"max_concurrency must be a positive int or None, got {max_concurrency!r}")


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")


def parse_calls(tool_calls: Iterable[Any]) -> list[ToolCall]:
    """Blocks -> :class:`ToolCall` list; refuses a batch with a repeated id before anything runs.

    The API pairs each ``tool_result`` with its call by id, so two calls with one id would give
    two answers nobody can tell apart (and the API rejects the next request).
    """
    calls = [ToolCall.from_block(block) for block in tool_calls]
    seen: set[str] = set()
    repeated: list[str] = []
    for call in calls:
        if call.id in seen and call.id not in repeated:
            repeated.append(call.id)
        seen.add(call.id)
    if repeated:
        raise DuplicateToolUseIdError(repeated)
    return calls


def thread_bound(max_concurrency: int | None) -> asyncio.Semaphore | None:
    """The default cap on concurrently running sync tools, when the caller set no bound."""
    return asyncio.Semaphore(DEFAULT_MAX_THREADS) if max_concurrency is None else None


async def execute_tool_calls(
    tool_calls: Iterable[Any],
    tools: Mapping[str, Callable[..., Any]],
    *,
    timeout: float | None = None,
    max_concurrency: int | None = None,
) -> list[dict[str, Any]]:
    """Run a batch of ``tool_use`` calls concurrently; return ``tool_result`` blocks in input order.

    ``tools`` maps a tool name to a callable invoked as ``fn(**tool_input)``. Async callables are
    awaited concurrently; sync callables run in worker threads, so neither kind blocks the event
    loop. Exceptions, timeouts (``timeout`` seconds per call, counted from the call's start) and
    unknown tool names become ``{"is_error": True}`` results with a readable message, and every
    other result is kept: Claude can retry a failed call, but it cannot recover a lost one.
    ``max_concurrency`` caps how many calls run at once (the rest wait their turn); without it,
    async calls are not bounded and at most :data:`DEFAULT_MAX_THREADS` sync calls run at once.
    A batch in which two blocks share an id raises :class:`DuplicateToolUseIdError` (a
    ``ValueError``) before any call runs.

    Send the returned list, unchanged and first, as the content of the next user message.
    """
    _check_bound(max_concurrency)
    _check_timeout(timeout)
    calls = parse_calls(tool_calls)
    semaphore = asyncio.Semaphore(max_concurrency) if max_concurrency else None
    thread_slots = thread_bound(max_concurrency)
    outcomes = await asyncio.gather(
        *(run_one(call, tools, timeout=timeout, semaphore=semaphore, thread_slots=thread_slots) for call in calls)
    )
    return [tool_result(call.id, value, is_error=not ok) for call, (ok, value) in zip(calls, outcomes)]


# --------------------------------------------------------------------------- synchronous API


def _call_in_thread(fn: Callable[..., Any], call: ToolCall) -> Any:
    """Run a tool from a pool worker: sync directly, async on a private event loop."""
    token = _CURRENT_CALL.set(call)
    try:
        value = fn(**call.input)
        if inspect.isawaitable(value):
            value = asyncio.run(_await(value))
        return value
    finally:
        _CURRENT_CALL.reset(token)


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _run_one_sync(call: ToolCall, tools: Mapping[str, Callable[..., Any]], timeout: float | None) -> dict[str, Any]:
    """Pool worker body: run one call, enforcing the timeout from the call's own start.

    With a timeout the tool runs in its own daemon thread and the worker only waits for it;
    when time runs out the worker returns an error and frees its pool slot, and the abandoned
    daemon thread cannot keep the interpreter from exiting.
    """
    fn = tools.get(call.name)
    if fn is None:
        return tool_result(call.id, _unknown_tool_message(call.name, tools), is_error=True)
    if timeout is None:
        try:
            return tool_result(call.id, _call_in_thread(fn, call))
        except Exception as exc:  # noqa: BLE001 - becomes an is_error result
            return tool_result(call.id, _error_message(exc), is_error=True)

    box: dict[str, Any] = {}
    finished = threading.Event()
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = ctx.run(_call_in_thread, fn, call)
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=target, name=f"tool-{call.name}", daemon=True).start()
    if not finished.wait(timeout):
        return tool_result(call.id, _timeout_message(call.name, timeout), is_error=True)
    if "error" in box:
        exc = box["error"]
        if not isinstance(exc, Exception):
            raise exc
        return tool_result(call.id, _error_message(exc), is_error=True)
    return tool_result(call.id, box["value"])


def execute_tool_calls_sync(
    tool_calls: Iterable[Any],
    tools: Mapping[str, Callable[..., Any]],
    *,
    timeout: float | None = None,
    max_concurrency: int | None = None,
) -> list[dict[str, Any]]:
    """Blocking twin of :func:`execute_tool_calls` for code that has no event loop.

    Same contract: results in input order, failures and timeouts as ``is_error`` results, at
    most ``max_concurrency`` calls running at once (the thread pool size; default: one thread
    per call, capped at :data:`DEFAULT_MAX_THREADS`), duplicate ids refused before anything
    runs. Async tools are accepted too and run on a private loop in their
    worker thread. Safe to call from inside a running event loop's thread only if you accept
    blocking it; from async code use :func:`execute_tool_calls` instead.
    """
    _check_bound(max_concurrency)
    _check_timeout(timeout)
    calls = parse_calls(tool_calls)
    if not calls:
        return []
    workers = max_concurrency or min(len(calls), DEFAULT_MAX_THREADS)
    # A fresh context per call keeps current_call() isolated between pool threads.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tool-pool") as pool:
        futures = [pool.submit(contextvars.copy_context().run, _run_one_sync, call, tools, timeout) for call in calls]
        return [future.result() for future in futures]
