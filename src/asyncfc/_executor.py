"""The batch executor: run all tool calls of one model response, sequentially or concurrently.

This is the drop-in half of asyncfc (the Spring AI request, in Python), a thin layer over the
same scheduling engine and call pipeline the agent uses (:mod:`asyncfc._scheduler`,
:mod:`asyncfc._invoke`).  Rules:

* ``mode="sequential"`` is the default, so an existing agent loop sees no change; calls run one
  after another in the model's order.  ``mode="concurrent"`` is opt-in: the caller asserts the
  calls are safe to run together, and they all start at once.  The word is "concurrent",
  never "parallel", so it cannot be confused with the providers' ``parallel_tool_calls``
  flag, which only lets a model *emit* several calls.
* ``respect_labels=True`` (concurrent mode only) lets resource labels decide instead: calls
  whose labels conflict keep the model's order, unlabelled tools serialize against
  everything, and the rest run together (see :mod:`asyncfc._labels`).
* Results come back in the order of the calls, whatever order they finish in.
* Collect-all: one failing call becomes an error result for that id; its siblings still run.
  Nothing is raised for bad model output or failing tools; only programmer errors raise
  (duplicate call ids, invalid settings), and a ``BaseException`` from a tool
  (``KeyboardInterrupt``, ``SystemExit``) cancels the siblings and propagates as itself.
* ``return_direct`` of a batch is the AND over its calls: true only when every call succeeded
  on a ``return_direct`` tool.  A failing ``return_direct`` tool therefore makes the batch not
  return-direct, so the model gets to read the error and recover.
* A batch of one call runs inline, in the caller's task, with no engine and no pool.
* ``batch_timeout`` and the ``cancel`` event stop the batch: running async tools are
  cancelled, unfinished calls get "cancelled" error results, and no task is left behind.  A
  sync tool already running in a worker thread cannot be interrupted; its thread is abandoned
  and finishes in the background, and its result is dropped.  Cancellation of the *caller*
  propagates as usual (anyio semantics): the batch's tasks are cancelled and nothing returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from ._calls import ToolCall, ToolResult
from ._invoke import run_call
from ._results import DEFAULT_MAX_RESULT_CHARS, error_result
from ._scheduler import Ordering, Scheduler
from ._tools import ToolContext
from ._toolset import Toolset
from ._trace import Interval, Trace

__all__ = ("BatchResult", "DuplicateCallIdError", "ExecutionMode", "ToolExecutor")

ExecutionMode = Literal["sequential", "concurrent"]
"""``sequential`` (the default: one call after another) or ``concurrent`` (opt-in)."""


class DuplicateCallIdError(ValueError):
    """Two calls in one batch share an id, so their results could not be told apart."""


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    """The outcome of one batch: a result per call, and whether the loop may stop."""

    results: tuple[ToolResult, ...]
    """One result per call, in the order of the calls."""
    return_direct: bool
    """AND over the calls: every call succeeded on a ``return_direct`` tool."""


@dataclass(kw_only=True)
class ToolExecutor:
    """Executes batches of tool calls against a :class:`Toolset` (see the module docstring)."""

    toolset: Toolset
    mode: ExecutionMode = "sequential"
    respect_labels: bool = False
    """Concurrent mode only: order conflicting calls by their resource labels instead of
    starting every call at once."""
    max_concurrency: int | None = None
    """Upper bound on calls running at once in concurrent mode (``None``: unbounded), shared
    by every batch of this executor."""
    timeout: float | None = None
    """Per-call timeout for tools that set none themselves."""
    batch_timeout: float | None = None
    """Deadline for a whole batch; unfinished calls become "cancelled" results."""
    max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS
    """Longer result texts are cut, with a marker saying so (``None``: never)."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """Read-only data handed to tools that declare a :class:`ToolContext` parameter."""

    def __post_init__(self) -> None:
        if self.mode not in ("sequential", "concurrent"):
            raise ValueError(f"mode must be 'sequential' or 'concurrent', got {self.mode!r}")
        if self.respect_labels and self.mode != "concurrent":
            raise ValueError("respect_labels applies to mode='concurrent' only")
        for name in ("max_concurrency", "timeout", "batch_timeout", "max_result_chars"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 or None, got {value!r}")
        self._context = ToolContext(self.context)
        self._limiter = (
            anyio.CapacityLimiter(self.max_concurrency) if self.max_concurrency else None
        )
        self._ordering: Ordering = (
            "program" if self.mode == "sequential" else "labels" if self.respect_labels else "none"
        )

    async def run(
        self,
        calls: Sequence[ToolCall],
        *,
        cancel: anyio.Event | None = None,
        trace: Trace | None = None,
        request: int = 0,
    ) -> BatchResult:
        """Execute ``calls`` and return one result per call, in order.

        ``cancel`` stops the batch when set; ``trace`` records an interval per executed call,
        tagged with ``request`` (the index of the model request that emitted the calls).
        """
        seen: set[str] = set()
        for c in calls:
            if c.id in seen:
                raise DuplicateCallIdError(f"duplicate tool call id {c.id!r} in one batch")
            seen.add(c.id)
        slots: list[ToolResult | None] = [None] * len(calls)
        reason = ""
        if cancel is not None and cancel.is_set():  # stopped before it started: run nothing
            reason = "the batch was cancelled before this call started"
        elif self.batch_timeout is None and cancel is None:
            await self._run_all(calls, slots, trace, request)
        else:
            reason = await self._run_cancellable(calls, slots, cancel, trace, request)
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
        request: int,
    ) -> str:
        reason = "the batch was cancelled before this call finished"
        with anyio.CancelScope() as scope:
            if self.batch_timeout is not None:
                scope.deadline = anyio.current_time() + self.batch_timeout
            async with anyio.create_task_group() as tg:
                if cancel is not None:
                    tg.start_soon(_cancel_when_set, cancel, scope)
                await self._run_all(calls, slots, trace, request)
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
        request: int,
    ) -> None:
        if len(calls) == 1:
            slots[0] = await self._run_inline(calls[0], trace, request)
            return
        async with Scheduler(
            self.toolset,
            ordering=self._ordering,
            futures=False,
            max_concurrency=self._limiter,
            timeout=self.timeout,
            context=self._context,
            trace=trace,
            max_result_chars=self.max_result_chars,
        ) as engine:
            await engine.run_batch(calls, slots, request=request)

    async def _run_inline(self, call: ToolCall, trace: Trace | None, request: int) -> ToolResult:
        start = anyio.current_time() if trace is not None else 0.0
        result = await run_call(
            call,
            self.toolset,
            context=self._context,
            default_timeout=self.timeout,
            max_result_chars=self.max_result_chars,
        )
        if trace is not None and result.error_kind not in _NOT_EXECUTED:
            trace.add(
                Interval(
                    kind="tool",
                    start=start,
                    end=anyio.current_time(),
                    name=call.name,
                    call_id=call.id,
                    request=request,
                    ok=not result.is_error,
                    submitted=start,
                )
            )
        return result


_NOT_EXECUTED = frozenset({"unknown_tool", "invalid_json", "invalid_arguments"})


async def _cancel_when_set(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
