"""The batch executor: run all tool calls of one model response, sequentially or concurrently.

This is the drop-in half of asyncfc (the Spring AI request, in Python).  Rules:

* ``mode="sequential"`` is the default, so an existing agent loop sees no change; calls run one
  after another in the model's order.  ``mode="concurrent"`` is opt-in.  The word is
  "concurrent", never "parallel", so it cannot be confused with the providers'
  ``parallel_tool_calls`` flag, which only lets a model *emit* several calls.
* Results come back in the order of the calls, whatever order they finish in.
* Collect-all: one failing call becomes an error result for that id; its siblings still run.
  Nothing is raised for bad model output or failing tools; only programmer errors raise
  (duplicate call ids, invalid settings).
* ``return_direct`` of a batch is the AND over its calls: true only when every call succeeded
  on a ``return_direct`` tool.  A failing ``return_direct`` tool therefore makes the batch not
  return-direct, so the model gets to read the error and recover.
* A batch of one call runs inline, with no task group and no pool.
* ``batch_timeout`` and the ``cancel`` event stop the batch: running async tools are
  cancelled, unfinished calls get "cancelled" error results, and no task is left behind.  A
  sync tool already running in a worker thread cannot be interrupted; its thread is abandoned
  and finishes in the background, and its result is dropped.  Cancellation of the *caller*
  propagates as usual (anyio semantics): the batch's tasks are cancelled and nothing returns.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from ._calls import ToolCall, ToolResult
from ._invoke import DEFAULT_MAX_RESULT_CHARS, error_result, run_call
from ._tools import ToolContext, Toolset
from ._trace import Interval, Trace

__all__ = ("BatchResult", "DuplicateCallIdError", "ExecutionMode", "ToolExecutor")

ExecutionMode = Literal["sequential", "concurrent"]


class DuplicateCallIdError(ValueError):
    """Two calls in one batch share an id, so their results could not be told apart."""


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    results: tuple[ToolResult, ...]
    """One result per call, in the order of the calls."""
    return_direct: bool
    """AND over the calls: every call succeeded on a ``return_direct`` tool."""


@dataclass(kw_only=True)
class ToolExecutor:
    """Executes batches of tool calls against a :class:`Toolset`."""

    toolset: Toolset
    mode: ExecutionMode = "sequential"
    max_concurrency: int | None = None
    """Upper bound on calls running at once in concurrent mode (``None``: unbounded)."""
    timeout: float | None = None
    """Per-call timeout for tools that set none themselves."""
    batch_timeout: float | None = None
    """Deadline for a whole batch; unfinished calls become "cancelled" results."""
    max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS
    context: Mapping[str, Any] = field(default_factory=dict)
    """Read-only data handed to tools that declare a :class:`ToolContext` parameter."""

    def __post_init__(self) -> None:
        if self.mode not in ("sequential", "concurrent"):
            raise ValueError(f"mode must be 'sequential' or 'concurrent', got {self.mode!r}")
        for name in ("max_concurrency", "timeout", "batch_timeout", "max_result_chars"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 or None, got {value!r}")
        self._context = ToolContext(self.context)
        self._limiter = (
            anyio.CapacityLimiter(self.max_concurrency) if self.max_concurrency else None
        )
        self._thread_limiter = (
            anyio.CapacityLimiter(self.max_concurrency) if self.max_concurrency else None
        )

    async def run(
        self,
        calls: Sequence[ToolCall],
        *,
        cancel: anyio.Event | None = None,
        trace: Trace | None = None,
        turn: int = 0,
    ) -> BatchResult:
        """Execute ``calls`` and return one result per call, in order."""
        seen: set[str] = set()
        for c in calls:
            if c.id in seen:
                raise DuplicateCallIdError(f"duplicate tool call id {c.id!r} in one batch")
            seen.add(c.id)
        slots: list[ToolResult | None] = [None] * len(calls)
        if cancel is not None and cancel.is_set():  # stopped before it started: run nothing
            reason = "the batch was cancelled before this call started"
        elif self.batch_timeout is None and cancel is None:
            await self._run_all(calls, slots, trace, turn)
            reason = ""
        else:
            reason = await self._run_cancellable(calls, slots, cancel, trace, turn)
        results = tuple(
            r if r is not None else error_result(c, "cancelled", reason)
            for c, r in zip(calls, slots, strict=True)
        )
        return BatchResult(
            results=results,
            return_direct=bool(results) and all(r.return_direct for r in results),
        )

    async def _run_cancellable(
        self,
        calls: Sequence[ToolCall],
        slots: list[ToolResult | None],
        cancel: anyio.Event | None,
        trace: Trace | None,
        turn: int,
    ) -> str:
        reason = "the batch was cancelled before this call finished"
        with anyio.CancelScope() as scope:
            if self.batch_timeout is not None:
                scope.deadline = anyio.current_time() + self.batch_timeout
            async with anyio.create_task_group() as tg:
                if cancel is not None:
                    tg.start_soon(_cancel_when_set, cancel, scope)
                await self._run_all(calls, slots, trace, turn)
                tg.cancel_scope.cancel()  # stop the watcher
        if scope.cancelled_caught and not (cancel is not None and cancel.is_set()):
            reason = (
                f"the batch deadline of {self.batch_timeout:g} s passed before this call finished"
            )
        return reason

    async def _run_all(
        self,
        calls: Sequence[ToolCall],
        slots: list[ToolResult | None],
        trace: Trace | None,
        turn: int,
    ) -> None:
        if self.mode == "sequential" or len(calls) == 1:
            for i, call in enumerate(calls):
                slots[i] = await self._run_one(call, trace, turn)
            return
        if not _in_trio():
            await self._run_asyncio_tasks(calls, slots, trace, turn)
            return
        async with anyio.create_task_group() as tg:
            for i, call in enumerate(calls):
                tg.start_soon(self._run_into, slots, i, call, trace, turn)

    async def _run_asyncio_tasks(
        self,
        calls: Sequence[ToolCall],
        slots: list[ToolResult | None],
        trace: Trace | None,
        turn: int,
    ) -> None:
        """What the task group above does, with plain asyncio tasks, which cost several times
        less to start than anyio's.  Same contract: every task ends before this returns; when
        the caller is cancelled, the calls are cancelled and awaited; an unexpected error in
        one call cancels the others and is raised in an exception group."""
        if not calls:
            return
        loop = asyncio.get_running_loop()
        all_done = loop.create_future()
        remaining = len(calls)
        errors: list[BaseException] = []
        limiter = self._limiter

        async def run_into(index: int, call: ToolCall) -> None:
            nonlocal remaining
            try:
                if limiter is None:
                    slots[index] = await self._run_one(call, trace, turn)
                else:
                    async with limiter:
                        slots[index] = await self._run_one(call, trace, turn)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # a bug, not a tool failure: stop the batch
                errors.append(exc)
                if not all_done.done():
                    all_done.set_result(None)
            finally:
                remaining -= 1
                if remaining == 0 and not all_done.done():
                    all_done.set_result(None)

        # A counter instead of done-callbacks: one scheduled step per call, as with gather.
        tasks = [loop.create_task(run_into(i, call)) for i, call in enumerate(calls)]
        try:
            await all_done
        finally:
            pending = [t for t in tasks if not t.done()]
            if pending:
                for t in pending:
                    t.cancel()
                with anyio.CancelScope(shield=True):
                    await asyncio.wait(pending)
        if errors:
            raise BaseExceptionGroup("unhandled errors in tool calls", errors)

    async def _run_into(
        self,
        slots: list[ToolResult | None],
        index: int,
        call: ToolCall,
        trace: Trace | None,
        turn: int,
    ) -> None:
        if self._limiter is None:
            slots[index] = await self._run_one(call, trace, turn)
        else:
            async with self._limiter:
                slots[index] = await self._run_one(call, trace, turn)

    async def _run_one(self, call: ToolCall, trace: Trace | None, turn: int) -> ToolResult:
        start = anyio.current_time() if trace is not None else 0.0
        result = await run_call(
            call,
            self.toolset,
            context=self._context,
            default_timeout=self.timeout,
            max_result_chars=self.max_result_chars,
            thread_limiter=self._thread_limiter,
        )
        if trace is not None and result.error_kind not in _NOT_EXECUTED:
            trace.add(
                Interval(
                    kind="tool",
                    start=start,
                    end=anyio.current_time(),
                    name=call.name,
                    call_id=call.id,
                    turn=turn,
                    ok=not result.is_error,
                )
            )
        return result


_NOT_EXECUTED = frozenset({"unknown_tool", "invalid_json", "invalid_arguments"})


def _in_trio() -> bool:
    """anyio runs on asyncio or trio; trio is only running when it has been imported."""
    trio = sys.modules.get("trio")
    return trio is not None and bool(trio.lowlevel.in_trio_run())


async def _cancel_when_set(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
