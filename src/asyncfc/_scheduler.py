"""The scheduling engine: runs submitted calls as soon as their data dependencies and the
chosen ordering allow, and exposes each call as a :class:`Future`.

The agent loop (every mode) and the batch executor both run calls through this one engine,
and each call through the one pipeline of :mod:`asyncfc._invoke`.

Ordering rules:

* *Data dependencies* are the futures referenced in a call's arguments (only when
  ``futures=True``).  A call runs only after all of them succeeded; if one failed, the call
  fails with ``dependency future_k failed: …`` and never runs.
* ``ordering="labels"``: resource conflicts come from labels (:mod:`asyncfc._labels`,
  :class:`~asyncfc._labels.StateTree`).  Unlabelled tools write the root, so they keep
  program order with everything.  ``ordering="program"``: every call waits for the previous
  one (the paper's "no annotation" ablation, and the sequential executor).
  ``ordering="none"``: no ordering at all; the caller asserts the calls are independent (the
  concurrent executor's default, as the concurrent-execution request asks).  A call that only
  *conflicts* with a failed call still runs, after it.
* Independent calls run concurrently within ``max_concurrency``; timeouts are per call.
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

from collections.abc import Coroutine, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import anyio.abc

from ._backends import Input
from ._calls import ToolCall, ToolResult
from ._errors import BackendUnavailableError
from ._future import Future, FutureState
from ._invoke import (
    DEFAULT_MAX_RESULT_CHARS,
    ArgumentsError,
    PreparedCall,
    complete,
    error_result,
    prepare,
    render_value,
    resolve,
)
from ._labels import StateTree
from ._observe import RunObserver
from ._tasks import CallTasks
from ._tools import ToolContext
from ._toolset import Toolset
from ._trace import Interval, Trace

__all__ = ("Future", "FutureState", "Ordering", "Scheduler")  # Future re-exported

Ordering = Literal["labels", "program", "none"]
"""How submitted calls are ordered besides their data dependencies (see the module
docstring)."""


class Scheduler:
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
        if ordering not in ("labels", "program", "none"):
            raise ValueError(f"ordering must be 'labels', 'program' or 'none', got {ordering!r}")
        self.toolset = toolset
        self.ordering: Ordering = ordering
        self.uses_futures = futures
        self.timeout = timeout
        self.trace = trace
        self.max_result_chars = max_result_chars
        self.observers: tuple[RunObserver, ...] = tuple(observers)
        self.futures: list[Future] = []
        """Every future issued, in issue order (``futures[n - 1]`` is ``future_n``)."""
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
        self._tree: StateTree[Future] = StateTree()
        self._open = False
        self._unsettled = 0
        self._idle: anyio.Event | None = None
        self._progress: anyio.Event | None = None
        self.settled = 0
        """How many submitted calls have their result (for :meth:`wait_progress`)."""
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

    def _settle_cancelled(self, future: Future) -> None:
        future._settle(
            error_result(
                future.call, "cancelled", "the run was cancelled before this call finished"
            )
        )
        self._unsettled -= 1
        for o in self.observers:
            o.call_finished(future)

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
            if future.result is None:
                self._settle(
                    future,
                    error_result(call, "cancelled", "the call was cancelled before it finished"),
                )
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
        future = Future(
            number=len(self.futures) + 1,
            call=call,
            request=request,
            user_turn=user_turn,
            awaited=tuple(awaited),
            submitted=anyio.current_time() if self.trace is not None else 0.0,
        )
        future.data_deps = prepared.references
        future.conflict_deps = self._conflicts(prepared, future)
        self.futures.append(future)
        self._unsettled += 1
        if self.observers:
            for o in self.observers:
                o.call_submitted(future)
        return future, prepared

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

    def _conflicts(self, prepared: PreparedCall, future: Future) -> tuple[int, ...]:
        if self.ordering == "none":
            return ()
        if self.ordering == "program":
            previous = self.futures[-1].number if self.futures else None
            if previous is None or previous in prepared.references:
                return ()
            return (previous,)
        waits = self._tree.claim(prepared.tool.access, future)
        if not waits:
            return ()
        deps = set(prepared.references)
        return tuple(sorted({f.number for f in waits if f.number not in deps}))

    # -- execution ----------------------------------------------------------------------

    def get(self, number: int) -> Future:
        """``future_<number>``; raises :class:`KeyError` if it was never issued."""
        if not 1 <= number <= len(self.futures):
            raise KeyError(number)
        return self.futures[number - 1]

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

    def _settle(self, future: Future, result: ToolResult) -> None:
        """Give ``future`` its one result and wake whoever waits for progress or idleness."""
        future._settle(result)
        self._unsettled -= 1
        if self.observers:
            for o in self.observers:
                o.call_finished(future)
        self.settled += 1
        if self._progress is not None:
            self._progress.set()
            self._progress = None
        if self._unsettled == 0:
            self._wake_idle()

    async def _outcome(self, future: Future, prepared: PreparedCall) -> ToolResult:
        for n in future.data_deps:
            dep = self.futures[n - 1]
            if not dep.ok:
                reason = dep.result.content if dep.result is not None else "unknown error"
                return error_result(
                    future.call,
                    "dependency_failed",
                    f"dependency {dep.id} failed: {reason.removeprefix('Error: ')}",
                )
        kwargs = prepared.kwargs
        inputs = self._inputs(future) if future.data_deps else None
        if kwargs is None and prepared.tool.backend is None:  # resolve here, with values
            assert inputs is not None
            try:
                values = {n: await _fetch(i) for n, i in inputs.items()}
            except BackendUnavailableError:
                raise
            except Exception as exc:  # a value its backend could not hand over
                return error_result(
                    future.call,
                    "dependency_failed",
                    f"the value of a dependency could not be fetched: {type(exc).__name__}: {exc}",
                )
            try:
                kwargs = resolve(prepared, _value_of(values), self._render)
            except ArgumentsError as exc:
                return error_result(future.call, exc.kind, str(exc))
        if self._limiter is None:
            return await self._execute(future, prepared, kwargs, inputs)
        async with self._limiter:
            return await self._execute(future, prepared, kwargs, inputs)

    def _inputs(self, future: Future) -> dict[int, Input]:
        """The referenced futures' values, each with the backend that made it."""
        inputs = {}
        for n in future.data_deps:
            dep = self.futures[n - 1]
            tool = self.toolset.get(dep.call.name)
            inputs[n] = Input(dep.value, tool.backend if tool is not None else None)
        return inputs

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

    def _record(self, future: Future, start: float, *, ok: bool) -> None:
        assert self.trace is not None
        deps = sorted((*future.data_deps, *future.conflict_deps))
        self.trace.add(
            Interval(
                kind="tool",
                start=start,
                end=anyio.current_time(),
                name=future.call.name,
                call_id=future.call.id,
                future_id=future.id if self.uses_futures else None,
                depends_on=tuple(self.futures[n - 1].call.id for n in deps),
                request=future.request,
                ok=ok,
                user_turn=future.user_turn,
                awaited=future.awaited,
                submitted=future.submitted,
            )
        )

    # -- waiting ------------------------------------------------------------------------

    def _wake_idle(self) -> None:
        if self._idle is not None:
            self._idle.set()
            self._idle = None

    async def wait(self, futures: Iterable[Future]) -> None:
        """Return once every future in ``futures`` has its result."""
        for f in futures:
            await f.wait()

    async def wait_progress(self) -> None:
        """Return once one more call has its result (at once when none is pending)."""
        if not self._unsettled:
            return
        if self._progress is None:
            self._progress = anyio.Event()
        await self._progress.wait()

    async def drain(self) -> None:
        """Return once every submitted call has finished."""
        while self._unsettled:
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    @property
    def pending(self) -> list[Future]:
        """The futures without a result yet, in issue order."""
        return [f for f in self.futures if f.result is None]


async def _fetch(item: Input) -> Any:
    """An input's value in this process (a backend's handle is fetched from it)."""
    return item.value if item.backend is None else await item.backend.fetch(item.value)


def _value_of(values: Mapping[int, Any]) -> Any:
    def value_of(n: int) -> Any:
        return values[n]  # KeyError for a future the arguments do not reference

    return value_of
