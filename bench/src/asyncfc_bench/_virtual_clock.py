"""A virtual-time asyncio event loop, for replays through asyncio-only frameworks.

trio's ``MockClock`` makes the replay exact for code that runs on anyio, but pydantic-ai and
the OpenAI Agents SDK run on asyncio.  :class:`VirtualClockLoop` is asyncio's own selector
loop with two changes:

* :meth:`~VirtualClockLoop.time` returns a virtual clock that starts at 0 and moves only when
  the loop would otherwise wait: when no callback is ready and no I/O is ready, the selector
  jumps the clock to the next timer instead of sleeping.  Every ``asyncio.sleep``,
  ``call_later`` and timeout (and so ``anyio.sleep``) therefore lasts exactly its scripted
  time, and CPU time counts as zero, as under ``MockClock(autojump_threshold=0)``.
* Threads: a worker thread's work takes real time the virtual clock cannot see, so the clock
  must not jump while one works.  Work started by :meth:`~VirtualClockLoop.run_in_executor`
  (``asyncio.to_thread`` too) and the executor's shutdown are *tracked*: while any is in
  flight the loop blocks for real until the thread reports back, and virtual time stands
  still (a thread's work counts as zero time).  A callback that arrives from any other thread
  (``call_soon_threadsafe``, e.g. from anyio's own worker threads) still wakes the loop, but is
  counted in :attr:`~VirtualClockLoop.untracked_thread_callbacks`, and :func:`run_virtual`
  raises :class:`VirtualClockError` after the run: its times are not exact.  Replays meant for
  this loop use async tools (:func:`asyncfc.replay.with_latency` with ``sync_tools="loop"``).

With no timer pending and nothing ready the selector blocks for real (only I/O or a thread
can wake the loop then).  Real network I/O and virtual time do not mix: the clock may jump
past a timeout while a reply is on its way.
"""

from __future__ import annotations

import asyncio
import selectors
import threading
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from contextvars import Context
from typing import Any, TypeVar, TypeVarTuple

__all__ = ("VirtualClockError", "VirtualClockLoop", "run_virtual")

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class VirtualClockError(RuntimeError):
    """A run on :class:`VirtualClockLoop` used threads the virtual clock does not track."""


class _JumpSelector(selectors.BaseSelector):
    """The default selector, except that a wait for a timer jumps the virtual clock."""

    def __init__(self, loop_clock: Callable[[float], None], busy: Callable[[], bool]) -> None:
        self._inner = selectors.DefaultSelector()
        self._advance = loop_clock
        self._busy = busy

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout <= 0:  # block for real (no timer) or just poll
            return self._inner.select(timeout)
        if self._busy():  # a tracked thread works: wait for it, virtual time stands still
            return self._inner.select(None)
        ready = self._inner.select(0)
        if not ready:
            self._advance(timeout)  # idle until the next timer: jump to it
        return ready

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop on a virtual clock (see the module docstring)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._tracked = 0
        self._loop_thread: int | None = None
        self.untracked_thread_callbacks = 0
        """Callbacks that arrived from threads the clock does not track (see the module
        docstring); any makes :func:`run_virtual` fail."""
        super().__init__(_JumpSelector(self._advance, lambda: self._tracked > 0))

    def _advance(self, seconds: float) -> None:
        self._now += seconds

    def time(self) -> float:
        """The virtual time in seconds (0 when the loop was made)."""
        return self._now

    def run_forever(self) -> None:
        """Run the loop, remembering its thread (to tell thread callbacks apart)."""
        self._loop_thread = threading.get_ident()
        super().run_forever()

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[*Ts], T], *args: *Ts
    ) -> asyncio.Future[T]:
        """As asyncio's, but tracked: the clock does not jump while the job runs."""
        future = super().run_in_executor(executor, func, *args)
        self._track(future)
        return future

    async def shutdown_default_executor(self, *args: Any) -> None:
        """As asyncio's, tracked like an executor job (it joins the executor in a thread)."""
        self._tracked += 1
        try:
            await super().shutdown_default_executor(*args)
        finally:
            self._tracked -= 1

    def call_soon_threadsafe(
        self,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: Context | None = None,
    ) -> asyncio.Handle:
        """As asyncio's; a call from an untracked thread is counted (see the module docstring)."""
        if (
            self._tracked == 0
            and self._loop_thread is not None
            and threading.get_ident() != self._loop_thread
        ):
            self.untracked_thread_callbacks += 1
        return super().call_soon_threadsafe(callback, *args, context=context)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._tracked += 1

        def done(_: asyncio.Future[Any]) -> None:
            self._tracked -= 1

        future.add_done_callback(done)


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a fresh :class:`VirtualClockLoop` and return its result.

    Raises :class:`VirtualClockError` when a thread the clock does not track called back
    into the loop during the run (its times would not be exact)."""
    loop: VirtualClockLoop | None = None

    def factory() -> VirtualClockLoop:
        nonlocal loop
        loop = VirtualClockLoop()
        return loop

    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(main)
    assert loop is not None
    if loop.untracked_thread_callbacks:
        raise VirtualClockError(
            f"{loop.untracked_thread_callbacks} callback(s) came from threads the virtual "
            "clock does not track; use async tools (sync_tools='loop') or run_in_executor"
        )
    return result
