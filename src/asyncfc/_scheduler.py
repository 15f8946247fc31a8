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

Why plain asyncio tasks: on asyncio, the calls' tasks are started with ``loop.create_task``,
which costs several times less than an anyio task group's ``start_soon``; the engine keeps
the task group's contract itself (every task ends before the block does, cancellation
reaches them all).  On other backends (trio) it uses an anyio task group.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import anyio.abc

from ._calls import ToolCall, ToolResult
from ._futures import format_future_id
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
from ._tools import ToolContext, Toolset
from ._trace import Interval, Trace

__all__ = ("Future", "FutureState", "Ordering", "Scheduler")

FutureState = Literal["pending", "running", "done", "failed"]
"""``pending`` (waiting to run), ``running``, ``done`` (a value) or ``failed`` (an error)."""

Ordering = Literal["labels", "program", "none"]
"""How submitted calls are ordered besides their data dependencies (see the module
docstring)."""


class Future:
    """The handle of one submitted call: its id, what it waits for and, once settled, its
    one :class:`~asyncfc.ToolResult`."""

    __slots__ = (
        "_event",
        "awaited",
        "call",
        "conflict_deps",
        "data_deps",
        "id",
        "number",
        "request",
        "result",
        "state",
        "submitted",
        "user_turn",
    )

    def __init__(
        self,
        *,
        number: int,
        call: ToolCall,
        request: int = 0,
        user_turn: int = 0,
        awaited: tuple[str, ...] = (),
        submitted: float = 0.0,
    ) -> None:
        self.id = format_future_id(number)
        """``future_<number>``, the id the model sees."""
        self.number = number
        self.call = call
        self.request = request
        """Index of the model request that emitted the call."""
        self.user_turn = user_turn
        """Index of the user turn the call belongs to."""
        self.awaited = awaited
        """Call ids whose outcome the model had read through ``await_future`` when it wrote
        this call (see :attr:`~asyncfc.Interval.awaited`)."""
        self.submitted = submitted
        self.data_deps: tuple[int, ...] = ()
        """Numbers of the futures the arguments reference."""
        self.conflict_deps: tuple[int, ...] = ()
        """Numbers of the earlier futures it waits for because of the ordering."""
        self.state: FutureState = "pending"
        self.result: ToolResult | None = None
        self._event: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"Future({self.id}, {self.call.name}, {self.state})"

    @property
    def ok(self) -> bool:
        """True when the call ran and returned a value."""
        return self.state == "done"

    @property
    def value(self) -> Any:
        """The value the tool returned (``None`` until then, and for errors)."""
        return self.result.value if self.result is not None else None

    @property
    def done(self) -> anyio.Event:
        """An event set once the call has its result (created on first use)."""
        if self._event is None:
            self._event = anyio.Event()
            if self.result is not None:
                self._event.set()
        return self._event

    async def wait(self) -> None:
        """Return once the call has its result."""
        if self.result is None:
            await self.done.wait()

    def _settle(self, result: ToolResult) -> None:
        self.result = result
        self.state = "failed" if result.is_error else "done"
        if self._event is not None:
            self._event.set()


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
    ) -> None:
        """``futures=False`` treats no argument as a future reference (the batch executor's
        calls are plain calls); ``timeout`` applies to tools that set none;
        ``max_concurrency`` bounds the calls running at once, and may be a limiter shared
        with other schedulers."""
        if ordering not in ("labels", "program", "none"):
            raise ValueError(f"ordering must be 'labels', 'program' or 'none', got {ordering!r}")
        self.toolset = toolset
        self.ordering: Ordering = ordering
        self.uses_futures = futures
        self.timeout = timeout
        self.trace = trace
        self.max_result_chars = max_result_chars
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
        self._fatal: BaseException | None = None
        self._scope: anyio.CancelScope | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tg: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        self._scope = anyio.CancelScope()
        self._scope.__enter__()
        if _in_trio():
            self._tg = anyio.create_task_group()
            await self._tg.__aenter__()
        else:
            self._loop = asyncio.get_running_loop()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._scope is not None
        self._open = False
        stop_error: BaseException | None = None
        try:
            await self._stop_tasks()
        except BaseException as error:  # a cancellation that reached us while stopping
            stop_error = error
        for f in self.futures:
            if f.result is None:
                f._settle(
                    error_result(
                        f.call, "cancelled", "the run was cancelled before this call finished"
                    )
                )
                self._unsettled -= 1
        self._wake_idle()
        if exc is None and stop_error is not None:
            exc_type, exc, tb = type(stop_error), stop_error, stop_error.__traceback__
        swallowed = self._scope.__exit__(exc_type, exc, tb)
        if self._fatal is not None:
            raise self._fatal
        if stop_error is not None and exc is stop_error and not swallowed:
            raise stop_error
        return swallowed

    async def _stop_tasks(self) -> None:
        """Cancel every unfinished call and wait until its task has ended."""
        if self._tg is not None:  # entered after the scope, so it is exited first
            tg, self._tg = self._tg, None
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)  # the calls' tasks never raise
            return
        pending = [t for t in self._tasks if not t.done()]
        self._tasks = []
        for t in pending:
            t.cancel()
        if pending:
            with anyio.CancelScope(shield=True):
                await asyncio.wait(pending)

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
        if not self._open:
            raise RuntimeError("Scheduler.submit() outside 'async with Scheduler(...)'")
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
        self._start(self._run(future, prepared), future.id)
        return future

    def _conflicts(self, prepared: PreparedCall, future: Future) -> tuple[int, ...]:
        if self.ordering == "none":
            return ()
        if self.ordering == "program":
            previous = self.futures[-1].number if self.futures else None
            if previous is None or previous in prepared.references:
                return ()
            return (previous,)
        waits = self._tree.claim(prepared.tool.access, future)
        deps = set(prepared.references)
        return tuple(sorted({f.number for f in waits if f.number not in deps}))

    def _start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self._loop is not None:
            self._tasks.append(self._loop.create_task(coro))
        else:
            assert self._tg is not None
            self._tg.start_soon(lambda: coro, name=f"asyncfc {name}")

    # -- execution ----------------------------------------------------------------------

    def get(self, number: int) -> Future:
        """``future_<number>``; raises :class:`KeyError` if it was never issued."""
        if not 1 <= number <= len(self.futures):
            raise KeyError(number)
        return self.futures[number - 1]

    async def _run(self, future: Future, prepared: PreparedCall) -> None:
        try:
            for n in (*future.data_deps, *future.conflict_deps):
                await self.futures[n - 1].wait()
            result = await self._outcome(future, prepared)
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:  # KeyboardInterrupt, SystemExit, or a bug: stop it all
            self._stop(exc)
            result = error_result(
                future.call, "cancelled", f"the run was stopped by {type(exc).__name__}"
            )
        future._settle(result)
        self._unsettled -= 1
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
        try:
            kwargs = resolve(prepared, self._value_of(future), self._render)
        except ArgumentsError as exc:
            return error_result(future.call, exc.kind, str(exc))
        if self._limiter is None:
            return await self._execute(future, prepared, kwargs)
        async with self._limiter:
            return await self._execute(future, prepared, kwargs)

    def _value_of(self, future: Future) -> Any:
        allowed = future.data_deps

        def value_of(n: int) -> Any:
            if n not in allowed:
                raise KeyError(n)
            return self.futures[n - 1].value

        return value_of

    def _render(self, value: Any) -> str:
        return render_value(value, self.max_result_chars)

    async def _execute(
        self, future: Future, prepared: PreparedCall, kwargs: dict[str, Any]
    ) -> ToolResult:
        future.state = "running"
        start = anyio.current_time() if self.trace is not None else 0.0
        result = await complete(
            prepared,
            kwargs,
            context=self._context,
            default_timeout=self.timeout,
            max_result_chars=self.max_result_chars,
            thread_limiter=self._thread_limiter,
        )
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

    def _stop(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        if self._scope is not None:
            self._scope.cancel()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        for t in self._tasks:
            if t is not asyncio.current_task():
                t.cancel()

    # -- waiting ------------------------------------------------------------------------

    def _wake_idle(self) -> None:
        if self._idle is not None:
            self._idle.set()
            self._idle = None

    async def wait(self, futures: Iterable[Future]) -> None:
        """Return once every future in ``futures`` has its result."""
        for f in futures:
            await f.wait()

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


def _in_trio() -> bool:
    """anyio runs on asyncio or trio; trio is only running when it has been imported."""
    trio = sys.modules.get("trio")
    return trio is not None and bool(trio.lowlevel.in_trio_run())
