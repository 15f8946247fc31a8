"""Helpers shared by the runtime tests: a fake clock runner and timed tools.

Every runtime test runs on trio with ``MockClock(autojump_threshold=0)``: sleeps take no real
time and the clock jumps exactly, so traces have exact, repeatable times starting at 0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import anyio
from trio.testing import MockClock

import asyncfc as a

T = TypeVar("T")


def run_mock(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn`` on trio under a fresh auto-jumping mock clock (time starts at 0)."""
    return anyio.run(fn, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)})


def timed_tool(
    name: str,
    seconds: float,
    *,
    reads: Iterable[str] | None = None,
    writes: Iterable[str] | None = None,
    result: Any = None,
    fail: bool = False,
    log: list[tuple[str, Any]] | None = None,
    timeout: float | None = None,
) -> a.Tool:
    """A tool that sleeps ``seconds``, records its argument in ``log`` and returns ``result``
    (or the argument itself when ``result`` is None); ``fail`` makes it raise instead."""

    async def fn(x: Any = None) -> Any:
        if log is not None:
            log.append((name, x))
        await anyio.sleep(seconds)
        if fail:
            raise RuntimeError(f"{name} broke")
        return x if result is None else result

    return a.tool(fn, name=name, reads=reads, writes=writes, timeout=timeout)


def call(call_id: str, name: str, **arguments: Any) -> a.ToolCall:
    return a.ToolCall(id=call_id, name=name, arguments=arguments)


def intervals_by_call(trace: a.Trace) -> dict[str, a.Interval]:
    return {i.call_id: i for i in trace.of_kind("tool") if i.call_id is not None}
