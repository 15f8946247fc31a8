"""What a framework's run may leave behind: tasks and threads (for the cancellation tests).

A module of its own, not ``conftest``: several test directories have a ``conftest``, and
``from conftest import ...`` named whichever was imported first when they ran together.
"""

from __future__ import annotations

import asyncio
import threading


def other_tasks() -> set[asyncio.Task[object]]:
    """The tasks of the running loop other than the caller's, still unfinished."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


def new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """Threads alive now that were not in ``before`` (``set(threading.enumerate())``).

    Not a count: an idle worker thread an earlier test left may end meanwhile (anyio's
    expire after 10 s), which a count would take for a thread this test ended."""
    return set(threading.enumerate()) - before
