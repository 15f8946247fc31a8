"""Both frameworks run on asyncio only, so their tests do too."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The frameworks' loops are asyncio loops."""
    return "asyncio"


def other_tasks() -> set[asyncio.Task[object]]:
    """The tasks of the running loop other than the caller's, still unfinished."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}
