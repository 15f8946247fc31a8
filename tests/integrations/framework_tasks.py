"""What a framework's run may leave behind: tasks and threads (for the cancellation tests).

A module of its own, not ``conftest``: several test directories have a ``conftest``, and
``from conftest import ...`` named whichever was imported first when they ran together.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio


def other_tasks() -> set[asyncio.Task[object]]:
    """The tasks of the running loop other than the caller's, still unfinished."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


def new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """Threads alive now that were not in ``before`` (``set(threading.enumerate())``).

    Not a count: an idle worker thread an earlier test left may end meanwhile (anyio's
    expire after 10 s), which a count would take for a thread this test ended."""
    return set(threading.enumerate()) - before


async def cancel_once_running(run: Callable[[], Awaitable[Any]], running: anyio.Event) -> None:
    """Start ``run()`` (a framework's run), cancel it once ``running`` is set and every
    task is blocked, and give the loop one turn to finish what the cancellation ended."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(5):
            await running.wait()
            await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    await asyncio.sleep(0)
