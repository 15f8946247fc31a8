"""The scheduler: runs submitted calls as soon as their data dependencies and resource
conflicts allow, and exposes each call as a future.

Ordering rules (the State Tree):

* *Data dependencies* are the futures referenced in a call's arguments.  A call runs only
  after all of them succeeded; if one failed, the call fails with ``dependency future_k
  failed: …`` and never runs.
* *Resource conflicts* come from labels (:mod:`asyncfc._labels`).  For every resource node
  the tree remembers the last call that wrote it and the calls that read it since.  A new
  call waits for the last writer of every node on the path of each node it touches
  (ancestors, descendants, the node itself); a writer also waits for the readers recorded on
  those nodes.  Unlabelled tools write the root, so they keep program order with everything.
  A call that only *conflicts* with a failed call still runs, after it.
* With ``respect_labels=False`` every call is treated as unlabelled: all calls serialize in
  submission order (the paper's "no annotation" ablation).
* Independent calls run concurrently within ``max_concurrency``; timeouts are per call.
* Closing the scheduler cancels everything not finished; such calls get "cancelled" results.
  No task outlives the scheduler's ``async with`` block.  An exception raised inside the
  block propagates as itself, not wrapped in an exception group.

Every submitted call ends with exactly one :class:`~asyncfc.ToolResult`.  Calls that cannot
run at all (unknown tool, bad JSON, unknown future) are settled at submission, without a
future, so the model hears about them at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import anyio.abc

from ._calls import ToolCall, ToolResult
from ._futures import (
    FutureReferenceError,
    find_references,
    format_future_id,
    resolve_references,
)
from ._invoke import (
    DEFAULT_MAX_RESULT_CHARS,
    ArgumentsError,
    decode_arguments,
    error_result,
    execute,
    lookup,
    render_value,
    validate,
)
from ._labels import UNLABELLED, Access, ResourcePath
from ._tools import Tool, ToolContext, Toolset
from ._trace import Interval, Trace

__all__ = ("Future", "FutureState", "Scheduler")

FutureState = Literal["pending", "running", "done", "failed"]


@dataclass(eq=False, kw_only=True)
class Future:
    """The handle of one submitted call."""

    id: str
    number: int
    call: ToolCall
    turn: int
    data_deps: tuple[int, ...] = ()
    conflict_deps: tuple[int, ...] = ()
    state: FutureState = "pending"
    result: ToolResult | None = None
    done: anyio.Event = field(default_factory=anyio.Event)

    @property
    def ok(self) -> bool:
        return self.state == "done"

    @property
    def value(self) -> Any:
        return self.result.value if self.result is not None else None


@dataclass
class _Node:
    writer: Future | None = None
    readers: list[Future] = field(default_factory=list)


def _related(a: ResourcePath, b: ResourcePath) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


class Scheduler:
    """Use as ``async with Scheduler(toolset) as s: f = s.submit(call)``."""

    def __init__(
        self,
        toolset: Toolset,
        *,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        respect_labels: bool = True,
        context: Mapping[str, Any] | None = None,
        trace: Trace | None = None,
        max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
    ) -> None:
        self.toolset = toolset
        self.timeout = timeout
        self.respect_labels = respect_labels
        self.trace = trace
        self.max_result_chars = max_result_chars
        self._context = ToolContext(context)
        self._limiter = anyio.CapacityLimiter(max_concurrency) if max_concurrency else None
        self._thread_limiter = anyio.CapacityLimiter(max_concurrency) if max_concurrency else None
        self.futures: list[Future] = []
        self._nodes: dict[ResourcePath, _Node] = {}
        self._tg: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        try:
            try:
                return await self._tg.__aexit__(exc_type, exc, tb)
            except BaseExceptionGroup as group:
                # The calls' tasks never raise, so a group holding only the block's own
                # exception is the task group's wrapping: let that exception through as is.
                if exc is None or list(group.exceptions) != [exc]:
                    raise
                unwrapped = exc
            raise unwrapped
        finally:
            self._tg = None
            for f in self.futures:
                if f.result is None:
                    self._settle(
                        f,
                        error_result(
                            f.call, "cancelled", "the run was cancelled before this call finished"
                        ),
                        "failed",
                    )

    # -- submission ---------------------------------------------------------------------

    def submit(self, call: ToolCall, *, turn: int = 0) -> Future | ToolResult:
        """Schedule ``call``; return its future, or its error result when it cannot run."""
        if self._tg is None:
            raise RuntimeError("Scheduler.submit() outside 'async with Scheduler(...)'")
        try:
            tool = lookup(call, self.toolset)
            arguments = decode_arguments(call)
        except ArgumentsError as exc:
            return error_result(call, exc.kind, str(exc))
        deps, problems = find_references(arguments, len(self.futures))
        if problems:
            return error_result(call, "unknown_future", "; ".join(problems))
        if not deps:  # nothing to resolve later: reject bad arguments now, without a future
            try:
                validate(tool, arguments)
            except ArgumentsError as exc:
                return error_result(call, exc.kind, str(exc))
        number = len(self.futures) + 1
        access = tool.access if self.respect_labels else UNLABELLED
        future = Future(id=format_future_id(number), number=number, call=call, turn=turn)
        future.data_deps = tuple(sorted(deps))
        future.conflict_deps = tuple(
            sorted(f.number for f in self._claim(access, future) if f.number not in deps)
        )
        self.futures.append(future)
        self._tg.start_soon(self._run, future, arguments, name=f"asyncfc {future.id}")
        return future

    def _claim(self, access: Access, future: Future) -> set[Future]:
        """Record ``future``'s access in the State Tree; return the calls it must wait for."""
        waits: set[Future] = set()
        for node_path, node in self._nodes.items():
            for r in access.reads:
                if _related(r, node_path) and node.writer is not None:
                    waits.add(node.writer)
            for w in access.writes:
                if _related(w, node_path):
                    if node.writer is not None:
                        waits.add(node.writer)
                    waits.update(node.readers)
        for w in access.writes:
            node = self._nodes.setdefault(w, _Node())
            node.writer, node.readers = future, []
        for r in access.reads:
            self._nodes.setdefault(r, _Node()).readers.append(future)
        return waits

    # -- execution ----------------------------------------------------------------------

    def get(self, number: int) -> Future:
        if not 1 <= number <= len(self.futures):
            raise KeyError(number)
        return self.futures[number - 1]

    async def _run(self, future: Future, arguments: dict[str, Any]) -> None:
        for n in (*future.data_deps, *future.conflict_deps):
            await self.get(n).done.wait()
        failed = [self.get(n) for n in future.data_deps if not self.get(n).ok]
        if failed:
            first = failed[0]
            reason = first.result.content if first.result is not None else "unknown error"
            reason = reason.removeprefix("Error: ")
            self._settle(
                future,
                error_result(
                    future.call, "dependency_failed", f"dependency {first.id} failed: {reason}"
                ),
                "failed",
            )
            return
        allowed = set(future.data_deps)

        def value_of(n: int) -> Any:
            if n not in allowed:
                raise KeyError(n)
            return self.get(n).value

        tool = self.toolset[future.call.name]
        try:
            resolved = resolve_references(
                arguments, value_of, lambda v: render_value(v, self.max_result_chars)
            )
            kwargs = validate(tool, resolved)
        except FutureReferenceError as exc:
            self._settle(future, error_result(future.call, "unknown_future", str(exc)), "failed")
            return
        except ArgumentsError as exc:
            self._settle(future, error_result(future.call, exc.kind, str(exc)), "failed")
            return
        if self._limiter is None:
            await self._execute(future, tool, kwargs)
        else:
            async with self._limiter:
                await self._execute(future, tool, kwargs)

    async def _execute(self, future: Future, tool: Tool, kwargs: dict[str, Any]) -> None:
        timeout = tool.timeout if tool.timeout is not None else self.timeout
        future.state = "running"
        start = anyio.current_time()
        try:
            value = await execute(
                tool,
                kwargs,
                context=self._context,
                timeout=timeout,
                limiter=self._thread_limiter,
            )
        except ArgumentsError as exc:
            self._record(future, start, ok=False)
            self._settle(future, error_result(future.call, exc.kind, str(exc)), "failed")
            return
        self._record(future, start, ok=True)
        result = ToolResult(
            call_id=future.call.id,
            name=future.call.name,
            content=render_value(value, self.max_result_chars),
            value=value,
            return_direct=tool.return_direct,
        )
        self._settle(future, result, "done")

    def _record(self, future: Future, start: float, *, ok: bool) -> None:
        if self.trace is None:
            return
        deps = (*future.data_deps, *future.conflict_deps)
        self.trace.add(
            Interval(
                kind="tool",
                start=start,
                end=anyio.current_time(),
                name=future.call.name,
                call_id=future.call.id,
                future_id=future.id,
                depends_on=tuple(self.get(n).call.id for n in sorted(deps)),
                turn=future.turn,
                ok=ok,
            )
        )

    @staticmethod
    def _settle(future: Future, result: ToolResult, state: FutureState) -> None:
        future.result = result
        future.state = state
        future.done.set()

    # -- waiting ------------------------------------------------------------------------

    async def wait(self, futures: Iterable[Future]) -> None:
        for f in futures:
            await f.done.wait()

    async def drain(self) -> None:
        """Wait until every submitted call has finished."""
        await self.wait(list(self.futures))

    @property
    def pending(self) -> list[Future]:
        return [f for f in self.futures if f.result is None]
