"""Where a tool's function runs when it does not run on the event loop: daemon worker threads
(every sync tool) and killable worker processes (tools built with ``isolation="process"``).

Why not ``anyio.to_thread``: anyio's worker threads on asyncio are not daemon threads, so a
sync tool abandoned at its timeout keeps the interpreter from exiting until it returns (a tool
that never returns hangs exit).  The pool here runs the same way (the caller's ``contextvars``
are copied into the thread, the result is handed back to the event loop without blocking the
thread) but its threads are daemon threads: an abandoned call never delays exit.  The price is
that a tool running here is not an anyio worker thread, so ``anyio.from_thread`` does not
find its event loop by itself.

Invariants:

* **What a timeout measures.**  The clock starts when the call holds a thread (or process)
  slot, not when it asks for one: time queued behind ``max_concurrency`` or behind anyio's
  default thread limiter (40 threads unless changed with
  ``anyio.to_thread.current_default_thread_limiter()``) or process limiter (one per CPU) is
  not counted.  A thread is ready the moment a slot is held (an idle one is reused, else one
  is started), so the timeout measures the function's own run plus a thread hand-off of
  microseconds.  For processes it includes starting a worker interpreter when none is idle
  (see ``docs/executor.md`` for the measured cost).
* **Threads are abandoned, processes are killed.**  A thread cannot be interrupted: at a
  timeout or cancellation its slot is released, the call's result is dropped when it comes,
  and the thread finishes in the background (it never blocks interpreter exit).  A worker
  process is killed (SIGKILL, via ``anyio.to_process.run_sync(cancellable=True)``), so a
  process-isolated tool's timeout is hard even for code that blocks or ignores cancellation.
* Exactly one of value, exception or :class:`WorkerTimeout` comes back per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import math
import pickle
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import anyio.to_process
import anyio.to_thread

__all__ = ("WorkerTimeout", "run_in_process", "run_in_thread")

_IDLE_SECONDS = 10.0
"""An idle worker thread exits after this long without work."""


class WorkerTimeout(Exception):
    """The call ran past its timeout (raised by the runners here, never by a tool)."""


class _Job:
    __slots__ = ("context", "error", "function", "notify", "value")

    def __init__(self, function: Callable[[], Any], notify: Callable[[], None]) -> None:
        self.context = contextvars.copy_context()
        self.function = function
        self.notify = notify
        self.value: Any = None
        self.error: BaseException | None = None


class _ThreadPool:
    """Daemon threads taking jobs from one queue; a thread is started whenever no idle one is
    waiting, and exits after :data:`_IDLE_SECONDS` idle.  ``_idle`` counts threads that will
    take a queued job without a new one being started; a thread only exits by consuming one
    of those credits, so a queued job always has a thread."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, job: _Job) -> None:
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name="asyncfc tool", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody counts on this thread: leave
                        self._idle -= 1
                        return
                continue  # a job was handed to this thread's credit just now: take it
            try:
                job.value = job.context.run(job.function)
            except BaseException as exc:  # handed to the caller, who decides
                job.error = exc
            with self._lock:
                self._idle += 1
            job.notify()
            del job


_POOL = _ThreadPool()


def _notifier(event: anyio.Event) -> Callable[[], None]:
    """A thread-safe, non-blocking way to set ``event`` on the current event loop; it does
    nothing once that loop has closed (the caller is gone by then)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:

        def notify_asyncio() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the call was abandoned
                loop.call_soon_threadsafe(event.set)

        return notify_asyncio
    import trio

    token = trio.lowlevel.current_trio_token()

    def notify_trio() -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(event.set)

    return notify_trio


async def run_in_thread(
    function: Callable[[], Any],
    *,
    timeout: float | None,  # noqa: ASYNC109 - measured from the moment a thread is held
    limiter: anyio.CapacityLimiter | None = None,
) -> Any:
    """Run ``function()`` in a daemon worker thread; raise :class:`WorkerTimeout` when it runs
    past ``timeout`` seconds (counted from the moment a thread is held).

    A function returning an awaitable (a sync wrapper around an async function) has it
    awaited on the event loop, within what is left of the same timeout.
    """
    limit = math.inf if timeout is None else timeout
    async with limiter or anyio.to_thread.current_default_thread_limiter():
        started = anyio.current_time()
        done = anyio.Event()
        job = _Job(function, _notifier(done))
        _POOL.submit(job)
        with anyio.move_on_after(limit):
            await done.wait()
        if not done.is_set():
            raise WorkerTimeout
    if job.error is not None:
        error, job.error = job.error, None
        raise error
    value = job.value
    if inspect.isawaitable(value):
        with anyio.move_on_after(started + limit - anyio.current_time()) as scope:
            return await value
        if scope.cancelled_caught:
            raise WorkerTimeout
    return value


def _run_in_worker(
    function: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Any:
    """What a worker process runs: the function, and an awaitable it returns to completion."""
    value = function(*args, **kwargs)
    if inspect.isawaitable(value):

        async def wait() -> Any:
            return await value

        return asyncio.run(wait())
    return value


class PicklingError(Exception):
    """The function or its arguments cannot be sent to a worker process."""


async def run_in_process(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    timeout: float | None,  # noqa: ASYNC109 - enforced by killing the worker process
    limiter: anyio.CapacityLimiter | None = None,
) -> Any:
    """Run ``function(*args, **kwargs)`` in an anyio worker process, killed on timeout or
    cancellation.  Raises :class:`PicklingError` before anything runs when the function or
    the arguments cannot be pickled, and :class:`WorkerTimeout` at the timeout (counted from
    the moment a process slot is held, so it includes starting a worker when none is idle).
    """
    try:
        pickle.dumps((function, tuple(args), dict(kwargs)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise PicklingError(f"{type(exc).__name__}: {exc}") from None
    limit = math.inf if timeout is None else timeout
    async with limiter or anyio.to_process.current_default_process_limiter():
        with anyio.move_on_after(limit):
            return await anyio.to_process.run_sync(
                _run_in_worker,
                function,
                tuple(args),
                dict(kwargs),
                cancellable=True,
                limiter=anyio.CapacityLimiter(math.inf),  # the slot is already held
            )
        raise WorkerTimeout
