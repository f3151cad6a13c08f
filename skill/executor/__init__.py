"""Concurrent tool execution for agents (the ``sequential-tool-calls`` knowledge-base entry, as code).

Claude may return several ``tool_use`` blocks in one turn; they are independent by contract, so
running them one after another wastes the sum of their latencies. This package runs them
concurrently and gets the details right:

* :func:`execute_tool_calls` - async batch: sync tools go to threads, errors and timeouts become
  ``is_error`` results, optional concurrency bound, results in ``tool_use`` order;
* :func:`execute_tool_calls_sync` - the same for code without an event loop (thread pool);
* :class:`ToolGraph` - calls with dependencies; each starts as soon as its own dependencies end;
* :func:`run_agent` - an ``AsyncAnthropic`` loop returning each turn's results in one message;
* :class:`Recorder` - times every call and saves a trace for ``synapse diagnose``.

The agent loop imports ``anthropic`` lazily; everything else needs only the standard library.
"""

from ._core import (
    DEFAULT_MAX_THREADS,
    DuplicateToolUseIdError,
    ToolCall,
    current_call,
    execute_tool_calls,
    execute_tool_calls_sync,
    serialize_result,
    tool_result,
)
from .agent import AgentResult, run_agent
from .graph import (
    CyclicDependencyError,
    DuplicateNodeError,
    GraphError,
    MissingDependencyError,
    NodeResult,
    ToolGraph,
)
from .recorder import TRANSCRIPT_FORMAT, CallRecord, Recorder

__all__ = [
    "AgentResult",
    "CallRecord",
    "CyclicDependencyError",
    "DEFAULT_MAX_THREADS",
    "DuplicateNodeError",
    "DuplicateToolUseIdError",
    "GraphError",
    "MissingDependencyError",
    "NodeResult",
    "Recorder",
    "TRANSCRIPT_FORMAT",
    "ToolCall",
    "ToolGraph",
    "current_call",
    "execute_tool_calls",
    "execute_tool_calls_sync",
    "run_agent",
    "serialize_result",
    "tool_result",
]
