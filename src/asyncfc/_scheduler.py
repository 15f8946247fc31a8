"""The scheduling engine: runs submitted calls as soon as their data dependencies and the
chosen ordering allow, and exposes each call as a :class:`Future`.

The agent loop (every mode) and the batch executor both run calls through this one engine,
and each call through the one pipeline of :mod:`asyncfc._invoke`.  The engine keeps its
books (numbering, ordering, settling, waiting) in :class:`~asyncfc._ledger.FutureLedger`,
whose docstring has the ordering rules (``ordering=`` ``"labels"``, ``"program"``,
``"none"``).

* *Data dependencies* are the futures referenced in a call's arguments (only when
  ``futures=True``).  A call runs only after all of them succeeded; if one failed, the call
  fails with ``dependency future_k failed: …`` and never runs (:mod:`asyncfc._dependencies`).
* Independent calls run concurrently within ``max_concurrency``; timeouts are per call.
* A call runs in a task of the scheduler (:meth:`Scheduler.submit`), in the caller's task
  when it has nothing to wait for (:meth:`Scheduler.call`), or as the host's own coroutine
  (:meth:`Scheduler.call_hosted`, :mod:`asyncfc._hosted`).
* Closing the scheduler cancels everything not finished; such calls get "cancelled" results.
  No task outlives the scheduler's ``async with`` block.  An exception raised inside the
  block propagates as itself, not wrapped in an exception group.
* A ``BaseException`` that is not cancellation (``KeyboardInterrupt``, ``SystemExit``, a bug
  in a tool that raises a ``BaseException`` subclass) stops the engine: every other call is
  cancelled, the block is interrupted, and the original exception propagates as itself when
  the block exits.  Every call still gets its one result first.

Every submitted call ends with exactly one :class:`~asyncfc.ToolResult`.  Calls that cannot
run at all (unknown tool, bad JSON, invalid arguments, unknown future) are settled at
submission, without a future, so the model hears about them at once.

The calls' tasks are :class:`~asyncfc._tasks.CallTasks`: plain asyncio tasks on asyncio
(cheap to start), a task group elsewhere, with one contract.

``observers`` (:class:`~asyncfc.RunObserver`) hear of every future: submitted, started,
finished.  Without them the engine takes exactly the paths it takes without the hook; with
them, batches go through :meth:`Scheduler.submit` so every call has a future to report.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc

from ._backends import Input
from ._calls import ToolCall, ToolResult
from ._dependencies import dependency_inputs, resolved_arguments
from ._future import Future, FutureState
from ._hosted import HostedException, HostedRun, complete_hosted, complete_hosted_in_turn
from ._invoke import PreparedCall, complete, prepare, unknown_tool
from ._ledger import FutureLedger, Ordering
from ._observe import RunObserver
from ._results import DEFAULT_MAX_RESULT_CHARS, ArgumentsError, error_result, render_value
from ._tasks import CallTasks
from ._tools import ToolContext
from ._toolset import Toolset
from ._trace import Interval, Trace

__all__ = ("Future", "FutureState", "Ordering", "Scheduler")  # re-exported


class Scheduler(FutureLedger):
    """Use as ``async with Scheduler(toolset) as s: f = s.submit(call)``."""

    def __init__(
        self,
        toolset: Toolset,
        *,
        ordering: Ordering = "labels",
        futures: bool = True,
        max_concurrency: int | anyio.CapacityLimiter | None = None,
        timeout: float | None = None,
        context: Mapping[str, Any] | ToolContext | None = None,
        trace: Trace | None = None,
        max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
        observers: Sequence[RunObserver] = (),
    ) -> None:
        """``futures=False`` treats no argument as a future reference (the batch executor's
        calls are plain calls); ``timeout`` applies to tools that set none;
        ``max_concurrency`` bounds the calls running at once, and may be a limiter shared
        with other schedulers; ``observers`` hear of every future (see
        :mod:`asyncfc._observe`)."""
        super().__init__(ordering=ordering, uses_futures=futures, trace=trace, observers=observers)
        self.toolset = toolset
        self.timeout = timeout
        self.max_result_chars = max_result_chars
        self._context = context if isinstance(context, ToolContext) else ToolContext(context)
        self._limiter = (
            max_concurrency
            if isinstance(max_concurrency, anyio.CapacityLimiter)
            else anyio.CapacityLimiter(max_concurrency)
            if max_concurrency
            else None
        )
        # Sync tools hold a call slot while they wait for a worker thread, so threads get a
        # limiter of their own, as large as the call bound (anyio's default holds 40).
        self._thread_limiter = (
            anyio.CapacityLimiter(self._limiter.total_tokens) if self._limiter else None
        )
        self._open = False
        self._tasks = CallTasks()

    async def __aenter__(self) -> Self:
        await self._tasks.open()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._open = False
        try:
            return await self._tasks.close(exc_type, exc, tb)
        finally:
            for f in self.futures:
                if f.result is None:
                    self._settle_cancelled(f)
            self._wake_idle()

    # -- submission ---------------------------------------------------------------------

    def submit(
        self,
        call: ToolCall,
        *,
        request: int = 0,
        user_turn: int = 0,
        awaited: Sequence[str] = (),
    ) -> Future | ToolResult:
        """Schedule ``call``; return its future, or its error result when it cannot run.

        ``request``, ``user_turn`` and ``awaited`` describe where the call came from; they go
        into its trace interval (see :class:`~asyncfc.Interval`).
        """
        admitted = self._admit(call, request, user_turn, awaited, "submit")
        if isinstance(admitted, ToolResult):
            return admitted
        future, prepared = admitted
        self._tasks.start(self._run(future, prepared), future.id)
        return future

    async def call(self, call: ToolCall, *, request: int = 0) -> Future | ToolResult:
        """:meth:`submit` ``call`` and wait for its result; return its settled future, or its
        error result when it cannot run.

        A call with nothing to wait for (no data dependency, no conflict) and nothing to
        record (no ``max_concurrency``, trace or observers) runs in the caller's task: the
        same pipeline and the same one result, without a task and an event of its own.  Its
        future is settled before this returns, with no checkpoint between the two.  If the
        caller is cancelled while such a call runs, the call is cancelled with it and settled
        as ``cancelled``; calls waiting on it then proceed.  A call that must wait runs in a
        task of the scheduler, as with :meth:`submit`, and keeps running if the caller is
        cancelled while waiting for it.
        """
        admitted = self._admit(call, request, 0, (), "call")
        if isinstance(admitted, ToolResult):
            return admitted
        future, prepared = admitted
        if not self._plain(future, prepared):
            self._tasks.start(self._run(future, prepared), future.id)
            await future.wait()
            return future
        future.state = "running"
        try:
            result = await self._complete(prepared, prepared.kwargs)
        except BaseException:  # the caller's cancellation (or a BaseException of the tool)
            self._settle_caller_cancelled(future)
            raise
        if future.result is None:  # else the scheduler closed meanwhile and settled it
            self._settle(future, result)
        return future

    def _admit(
        self,
        call: ToolCall,
        request: int,
        user_turn: int,
        awaited: Sequence[str],
        method: str,
    ) -> tuple[Future, PreparedCall] | ToolResult:
        """Prepare ``call`` and issue its future (ordered after the calls it conflicts with);
        its error result when it cannot run."""
        if not self._open:
            raise RuntimeError(f"Scheduler.{method}() outside 'async with Scheduler(...)'")
        try:
            prepared = prepare(
                call, self.toolset, issued=len(self.futures) if self.uses_futures else None
            )
        except ArgumentsError as exc:
            return error_result(call, exc.kind, str(exc))
        future = self._issue(
            call, prepared.tool.access, prepared.references, request, user_turn, awaited
        )
        return future, prepared

    async def call_hosted(
        self,
        call: ToolCall,
        run: HostedRun,
        *,
        passthrough: tuple[type[BaseException], ...] = (),
        request: int = 0,
    ) -> Future | ToolResult:
        """Order ``call`` by its tool's labels, then run it by awaiting ``run()`` in the
        caller's task; return its settled future, or its error result when it cannot run
        (an unknown tool).

        For a host that validated the call's arguments and runs and renders the call itself
        (see :mod:`asyncfc._hosted`): asyncfc does not decode, validate or bind them, and the
        tool's function is not called.  Only without futures (a call with references would
        need asyncfc to resolve them).  The call waits for the calls it conflicts with, and
        for ``max_concurrency``, in the caller's task; the caller's cancellation, while it
        waits or runs, settles it as ``cancelled``.  An exception of a ``passthrough`` type
        from ``run()`` settles the call with its error result and is then raised here.
        """
        if not self._open:
            raise RuntimeError("Scheduler.call_hosted() outside 'async with Scheduler(...)'")
        if self.uses_futures:
            raise RuntimeError("Scheduler.call_hosted() needs a scheduler without futures")
        tool = self.toolset.get(call.name)
        if tool is None:
            return unknown_tool(call, self.toolset)
        future = self._issue(call, tool.access, (), request, 0, ())
        timeout = tool.timeout if tool.timeout is not None else self.timeout
        try:
            if (
                future.conflict_deps
                or self._limiter
                or self.trace
                or self.observers
                or timeout is not None
            ):
                result = await complete_hosted_in_turn(
                    self,
                    future,
                    tool,
                    run,
                    self._limiter,
                    self.max_result_chars,
                    timeout,
                    passthrough,
                )
            else:  # the common case, on the shortest path
                future.state = "running"
                result = await complete_hosted(
                    call, tool, run, self.max_result_chars, None, passthrough
                )
        except HostedException as exc:
            if future.result is None:
                self._settle(future, exc.result)
            passed = exc.error
        except BaseException:  # the caller's cancellation (or a BaseException of the call)
            self._settle_caller_cancelled(future)
            raise
        else:
            if future.result is None:  # else the scheduler closed meanwhile and settled it
                self._settle(future, result)
            return future
        raise passed  # outside the handler: the host's exception keeps its own cause and context

    async def run_batch(
        self,
        calls: Sequence[ToolCall],
        results: list[ToolResult | None],
        *,
        request: int = 0,
    ) -> None:
        """Run ``calls`` as one batch and wait for them; ``results[i]`` gets call ``i``'s result.

        A slot stays ``None`` only for a call the block's cancellation stopped; the caller
        says why.  Without futures and without ordering no call can wait for another, so no
        :class:`Future` is made: each call goes straight through the pipeline in its own task
        (the batch executor's hot path).  Otherwise this is :meth:`submit` for each call and
        :meth:`drain`.
        """
        if not self._open:
            raise RuntimeError("Scheduler.run_batch() outside 'async with Scheduler(...)'")
        if self.uses_futures or self.ordering != "none" or self.observers:
            outcomes: list[Future | ToolResult] = []
            try:
                outcomes.extend(self.submit(c, request=request) for c in calls)
                await self.drain()
            finally:
                for i, outcome in enumerate(outcomes):
                    results[i] = outcome.result if isinstance(outcome, Future) else outcome
            return
        toolset, run_into, start, started = self.toolset, self._run_into, self._tasks.start, 0
        for index, call in enumerate(calls):
            try:
                prepared = prepare(call, toolset)
            except ArgumentsError as exc:
                results[index] = error_result(call, exc.kind, str(exc))
                continue
            started += 1
            self._unsettled += 1
            start(run_into(results, index, prepared, request), call.id)
        if started:
            await self.drain()

    async def _run_into(
        self, slots: list[ToolResult | None], index: int, prepared: PreparedCall, request: int
    ) -> None:
        assert prepared.kwargs is not None  # no futures: nothing to resolve
        try:
            start = anyio.current_time() if self.trace is not None else 0.0
            if self._limiter is None:
                result = await complete(
                    prepared,
                    prepared.kwargs,
                    context=self._context,
                    default_timeout=self.timeout,
                    max_result_chars=self.max_result_chars,
                    thread_limiter=self._thread_limiter,
                )
            else:
                async with self._limiter:
                    result = await self._complete(prepared, prepared.kwargs)
            if self.trace is not None and result.error_kind != "cancelled":
                self.trace.add(
                    Interval(
                        kind="tool",
                        start=start,
                        end=anyio.current_time(),
                        name=prepared.call.name,
                        call_id=prepared.call.id,
                        request=request,
                        ok=not result.is_error,
                        submitted=start,
                    )
                )
            slots[index] = result
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:  # KeyboardInterrupt, SystemExit, or a bug: stop it all
            self._tasks.fail(exc)
        self._unsettled -= 1
        if self._unsettled == 0:
            self._wake_idle()

    def _complete(
        self,
        prepared: PreparedCall,
        kwargs: dict[str, Any] | None,
        inputs: Mapping[int, Input] | None = None,
    ) -> Coroutine[Any, Any, ToolResult]:
        return complete(
            prepared,
            kwargs,
            context=self._context,
            default_timeout=self.timeout,
            max_result_chars=self.max_result_chars,
            thread_limiter=self._thread_limiter,
            inputs=inputs,
        )

    # -- execution ----------------------------------------------------------------------

    def _plain(self, future: Future, prepared: PreparedCall) -> bool:
        """The common case, taken on a short path: arguments that need no resolving, no
        conflict to wait for, no concurrency limit, no trace and no observer."""
        return not (
            prepared.kwargs is None
            or future.conflict_deps
            or self._limiter
            or self.trace
            or self.observers
        )

    async def _run(self, future: Future, prepared: PreparedCall) -> None:
        try:
            if not self._plain(future, prepared):
                for n in (*future.data_deps, *future.conflict_deps):
                    await self.futures[n - 1].wait()
                result = await self._outcome(future, prepared)
            else:  # the common case: nothing to wait for, resolve or record
                future.state = "running"
                result = await self._complete(prepared, prepared.kwargs)
        except anyio.get_cancelled_exc_class():
            if self.observers and future.result is None:
                self._settle_cancelled(future)  # in this task, where the call ran
            raise
        except BaseException as exc:  # KeyboardInterrupt, SystemExit, or a bug: stop it all
            self._tasks.fail(exc)
            result = error_result(
                future.call, "cancelled", f"the run was stopped by {type(exc).__name__}"
            )
        self._settle(future, result)

    async def _outcome(self, future: Future, prepared: PreparedCall) -> ToolResult:
        inputs = dependency_inputs(future, self.futures, self.toolset)
        if isinstance(inputs, ToolResult):
            return inputs
        kwargs = prepared.kwargs
        if kwargs is None and prepared.tool.backend is None:  # resolve here, with values
            assert inputs is not None
            resolved = await resolved_arguments(future, prepared, inputs, self._render)
            if isinstance(resolved, ToolResult):
                return resolved
            kwargs = resolved
        if self._limiter is None:
            return await self._execute(future, prepared, kwargs, inputs)
        async with self._limiter:
            return await self._execute(future, prepared, kwargs, inputs)

    def _render(self, value: Any) -> str:
        return render_value(value, self.max_result_chars)

    async def _execute(
        self,
        future: Future,
        prepared: PreparedCall,
        kwargs: dict[str, Any] | None,
        inputs: Mapping[int, Input] | None,
    ) -> ToolResult:
        future.state = "running"
        for o in self.observers:
            o.call_started(future)
        start = anyio.current_time() if self.trace is not None else 0.0
        result = await self._complete(prepared, kwargs, inputs)
        if self.trace is not None:
            self._record(future, start, ok=not result.is_error)
        return result
