"""The tasks that run calls: started cheaply, always stopped, and a ``BaseException`` from a
tool surfaced as itself.

:class:`CallTasks` is the scheduler's task group.  On asyncio it starts plain asyncio tasks
with ``loop.create_task``, which costs several times less than an anyio task group's
``start_soon``, and keeps the task group's contract itself; on other backends (trio) it uses
an anyio task group.

Invariants:

* No task outlives :meth:`CallTasks.close`: every unfinished task is cancelled and awaited
  there, shielded from the host's own cancellation.
* The tasks never raise.  A ``BaseException`` that is not cancellation (``KeyboardInterrupt``,
  ``SystemExit``, a bug) is handed to :meth:`CallTasks.fail`: the first one is kept, every
  other task is cancelled, the host block is interrupted at its next checkpoint, and
  :meth:`CallTasks.close` re-raises the original exception, not wrapped in a group.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

import anyio
import anyio.abc

__all__ = ("CallTasks",)


class CallTasks:
    """Open with :meth:`open` in the host task, :meth:`start` calls, :meth:`close` once."""

    def __init__(self) -> None:
        self.fatal: BaseException | None = None
        """The first ``BaseException`` a task handed to :meth:`fail`."""
        self._scope: anyio.CancelScope | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tg: anyio.abc.TaskGroup | None = None

    async def open(self) -> None:
        """Enter the host's cancel scope (and, on trio, the task group)."""
        self._scope = anyio.CancelScope()
        self._scope.__enter__()
        if _in_trio():
            self._tg = anyio.create_task_group()
            await self._tg.__aenter__()
        else:
            self._loop = asyncio.get_running_loop()

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` in a task of its own; it must not raise."""
        if self._loop is not None:
            self._tasks.append(self._loop.create_task(coro))
        else:
            assert self._tg is not None, "CallTasks.start() before open()"
            self._tg.start_soon(lambda: coro, name=f"asyncfc {name}")

    def fail(self, exc: BaseException) -> None:
        """A task caught ``exc``: stop everything; :meth:`close` raises the first one."""
        if self.fatal is None:
            self.fatal = exc
        if self._scope is not None:
            self._scope.cancel()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        current = asyncio.current_task() if self._loop is not None else None
        for t in self._tasks:
            if t is not current:
                t.cancel()

    async def close(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Cancel and await every unfinished task, then leave the host's scope.

        Returns what ``__aexit__`` should (true when the block's exception was this scope's
        own cancellation); raises :attr:`fatal` when a task failed.
        """
        assert self._scope is not None, "CallTasks.close() before open()"
        stop_error: BaseException | None = None
        try:
            await self._stop_all()
        except BaseException as error:  # a cancellation that reached us while stopping
            stop_error = error
        if exc is None and stop_error is not None:
            exc_type, exc, tb = type(stop_error), stop_error, stop_error.__traceback__
        swallowed = self._scope.__exit__(exc_type, exc, tb)
        if self.fatal is not None:
            raise self.fatal
        if stop_error is not None and exc is stop_error and not swallowed:
            raise stop_error
        return swallowed

    async def _stop_all(self) -> None:
        if self._tg is not None:  # entered after the scope, so it is exited first
            tg, self._tg = self._tg, None
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)  # the tasks never raise
            return
        pending = [t for t in self._tasks if not t.done()]
        self._tasks = []
        for t in pending:
            t.cancel()
        if pending:
            with anyio.CancelScope(shield=True):
                await asyncio.wait(pending)


def _in_trio() -> bool:
    """anyio runs on asyncio or trio; trio is only running when it has been imported."""
    trio = sys.modules.get("trio")
    return trio is not None and bool(trio.lowlevel.in_trio_run())
