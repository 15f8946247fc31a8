"""Module-level tool functions for the process-isolation tests: a worker process imports them
by module path (``tests/`` is on the parent's ``sys.path``, which anyio hands to its workers)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

from asyncfc import ToolContext


def square(x: int) -> int:
    """Square a number."""
    return x * x


def whoami(context: ToolContext) -> dict[str, Any]:
    """The worker's pid and the context it received."""
    return {"pid": os.getpid(), "context": dict(context)}


def hang(pid_file: str) -> None:
    """Write this process's pid, then block far past any timeout, ignoring everything."""
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        try:
            time.sleep(3600)
        except BaseException:
            continue


async def async_square(x: int) -> int:
    """An async tool, run to completion inside the worker."""
    await anyio.lowlevel.checkpoint()
    return x * x


def fail(message: str) -> None:
    raise ValueError(message)


def noop() -> None:
    return None
