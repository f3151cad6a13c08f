"""Dependency-graph execution: each tool call starts the moment its own dependencies finish.

Why not "waves" (run every ready node, wait for the whole wave, repeat): one slow node in a wave
delays every node of the next wave even when they do not depend on it. Here every node is its
own task awaiting only its own dependencies, so the critical path is the only thing you wait for.

Two more failure modes of the commonly copied graph runner are handled before/while running:

* a missing dependency and a cycle are different mistakes and are reported as different
  exceptions (:class:`MissingDependencyError`, :class:`CyclicDependencyError`) *before anything
  runs*, instead of a generic "circular dependency" after half the side effects happened;
* when a node fails, its dependents do not run and do not wait forever: they get an error
  result ``skipped: dependency 'X' failed`` so the model sees exactly what happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._core import ToolCall, _check_bound, _check_timeout, _error_message, run_one, thread_bound, tool_result

__all__ = [
    "CyclicDependencyError",
    "DuplicateNodeError",
    "GraphError",
    "MissingDependencyError",
    "NodeResult",
    "ToolGraph",
]

InputSpec = Mapping[str, Any] | Callable[[dict[str, Any]], Any] | None


class GraphError(ValueError):
    """Base class for graph definition errors (raised before any tool runs)."""


class DuplicateNodeError(GraphError):
    """Two nodes were added with the same id."""

    def __init__(self, node: str) -> None:
        super().__init__(f"duplicate node id '{node}'")
        self.node = node


class MissingDependencyError(GraphError):
    """A node depends on an id that was never added (usually a typo or a forgotten ``add``)."""

    def __init__(self, node: str, missing: list[str]) -> None:
        names = ", ".join(f"'{m}'" for m in missing)
        super().__init__(f"node '{node}' depends on unknown node(s) {names}")
        self.node = node
        self.missing = missing


class CyclicDependencyError(GraphError):
    """The dependencies form a cycle, so no node on it could ever start."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


@dataclasses.dataclass
class NodeResult:
    """Outcome of one node: the raw ``value`` on success, a readable ``error`` otherwise.

    ``skipped`` is true when the node never ran because a dependency failed. ``started`` and
    ``finished`` are ``time.perf_counter()`` readings (``None`` when the node did not run).
    """

    id: str
    name: str
    ok: bool
    value: Any = None
    error: str | None = None
    skipped: bool = False
    started: float | None = None
    finished: float | None = None

    def as_tool_result(self) -> dict[str, Any]:
        """The node as a ``tool_result`` block (node ids double as ``tool_use`` ids)."""
        if self.ok:
            return tool_result(self.id, self.value)
        return tool_result(self.id, self.error or "failed", is_error=True)


@dataclasses.dataclass
class _Node:
    id: str
    name: str
    input: InputSpec
    deps: tuple[str, ...]


class ToolGraph:
    """Run tool calls with dependencies, as concurrently as the dependencies allow.

    >>> graph = ToolGraph({"get_user": get_user, "get_orders": get_orders, "report": report})
    >>> graph.add("user", "get_user", {"user_id": 7})
    >>> graph.add("orders", "get_orders", {"user_id": 7})
    >>> graph.add("report", "report",
    ...           lambda deps: {"user": deps["user"], "orders": deps["orders"]},
    ...           depends_on=["user", "orders"])
    >>> results = await graph.run()          # {"user": NodeResult, "orders": ..., "report": ...}

    A node's ``input`` is either a dict, or a callable that receives ``{dep_id: value}`` for the
    node's own dependencies and returns the input dict (sync or async) - this is how a call
    uses its dependencies' results. ``timeout`` and ``max_concurrency`` mean what they mean in
    :func:`synapse_ai.skill.executor.execute_tool_calls`; a node waiting for its dependencies does not hold
    a concurrency slot, so the bound can never deadlock the graph.
    """

    def __init__(
        self,
        tools: Mapping[str, Callable[..., Any]],
        *,
        timeout: float | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        _check_bound(max_concurrency)
        _check_timeout(timeout)
        self.tools = tools
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self._nodes: dict[str, _Node] = {}

    def add(
        self,
        node_id: str,
        name: str,
        input: InputSpec = None,  # noqa: A002 - mirrors the tool_use field name
        *,
        depends_on: Iterable[str] = (),
    ) -> ToolGraph:
        """Add a node calling tool ``name``; returns the graph so calls can be chained."""
        if node_id in self._nodes:
            raise DuplicateNodeError(node_id)
        deps = tuple(dict.fromkeys(depends_on))  # de-duplicate, keep order
        self._nodes[node_id] = _Node(node_id, name, input, deps)
        return self

    def add_call(self, block: Any, *, depends_on: Iterable[str] = ()) -> ToolGraph:
        """Add a ``tool_use`` block (SDK object or dict); its ``id`` becomes the node id."""
        call = ToolCall.from_block(block)
        return self.add(call.id, call.name, call.input, depends_on=depends_on)

    def __len__(self) -> int:
        return len(self._nodes)

    def validate(self) -> list[str]:
        """Check the graph and return a topological order of node ids.

        Raises :class:`MissingDependencyError` first (it is the more specific mistake), then
        :class:`CyclicDependencyError` naming one cycle, e.g. ``a -> b -> a``.
        """
        for node in self._nodes.values():
            missing = [d for d in node.deps if d not in self._nodes]
            if missing:
                raise MissingDependencyError(node.id, missing)
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
        for root in self._nodes:
            if state.get(root) == 2:
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            path: list[str] = []
            while stack:
                nid, i = stack.pop()
                if i == 0:
                    state[nid] = 1
                    path.append(nid)
                deps = self._nodes[nid].deps
                if i < len(deps):
                    stack.append((nid, i + 1))
                    dep = deps[i]
                    if state.get(dep) == 1:
                        raise CyclicDependencyError(path[path.index(dep) :] + [dep])
                    if state.get(dep) != 2:
                        stack.append((dep, 0))
                else:
                    state[nid] = 2
                    path.pop()
                    order.append(nid)
        return order

    async def run(self) -> dict[str, NodeResult]:
        """Validate, then run every node; returns results keyed by node id, in insertion order."""
        order = self.validate()
        loop = asyncio.get_running_loop()
        semaphore = asyncio.Semaphore(self.max_concurrency) if self.max_concurrency else None
        thread_slots = thread_bound(self.max_concurrency)
        settled: dict[str, asyncio.Future[NodeResult]] = {nid: loop.create_future() for nid in order}

        async def run_node(node: _Node) -> None:
            try:
                result = await self._run_node(node, settled, semaphore, thread_slots)
            except BaseException as exc:
                # Cancellation or interpreter exit: still settle so no dependent waits forever.
                if not settled[node.id].done():
                    settled[node.id].set_result(NodeResult(node.id, node.name, ok=False, error=_error_message(exc)))
                raise
            settled[node.id].set_result(result)

        await asyncio.gather(*(run_node(self._nodes[nid]) for nid in order))
        return {nid: settled[nid].result() for nid in self._nodes}

    def run_sync(self) -> dict[str, NodeResult]:
        """Blocking convenience wrapper around :meth:`run` (creates its own event loop)."""
        return asyncio.run(self.run())

    async def _run_node(
        self,
        node: _Node,
        settled: Mapping[str, asyncio.Future[NodeResult]],
        semaphore: asyncio.Semaphore | None,
        thread_slots: asyncio.Semaphore | None,
    ) -> NodeResult:
        dep_results = [await settled[d] for d in node.deps]
        for dep in dep_results:
            if not dep.ok:
                why = "was skipped" if dep.skipped else "failed"
                return NodeResult(
                    node.id,
                    node.name,
                    ok=False,
                    skipped=True,
                    error=f"skipped: dependency '{dep.id}' {why}",
                )
        try:
            tool_input = await self._build_input(node, {d.id: d.value for d in dep_results})
        except Exception as exc:  # noqa: BLE001 - a bad builder fails only its own node
            return NodeResult(node.id, node.name, ok=False, error=f"input builder failed: {_error_message(exc)}")
        started = time.perf_counter()
        ok, value = await run_one(
            ToolCall(node.id, node.name, tool_input),
            self.tools,
            timeout=self.timeout,
            semaphore=semaphore,
            thread_slots=thread_slots,
        )
        finished = time.perf_counter()
        if ok:
            return NodeResult(node.id, node.name, ok=True, value=value, started=started, finished=finished)
        return NodeResult(node.id, node.name, ok=False, error=value, started=started, finished=finished)

    @staticmethod
    async def _build_input(node: _Node, deps: dict[str, Any]) -> dict[str, Any]:
        spec = node.input
        if spec is None:
            return {}
        if callable(spec) and not isinstance(spec, Mapping):
            spec = spec(deps)
            if inspect.isawaitable(spec):
                spec = await spec
        if not isinstance(spec, Mapping):
            raise TypeError(f"input for node '{node.id}' must be a dict, got {type(spec).__name__}")
        return dict(spec)
