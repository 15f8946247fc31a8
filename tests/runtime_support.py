"""Helpers shared by the runtime tests: a fake clock runner, timed tools, and the contract every
agent run keeps, scripted or real (:func:`check_pairing`, also used end to end).

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


def check_pairing(run: a.AgentRun) -> None:
    """Call ids are unique and each has exactly one outcome, in call order; every assistant
    turn with calls is followed by one results message, one result per call, in order; and
    every call the run reports is one the model emitted."""
    ids = [c.id for c in run.calls]
    assert len(ids) == len(set(ids)), "call ids are unique"
    assert list(run.results) == ids
    for result in run.results.values():
        assert result.is_error == (result.error_kind is not None)
    messages = run.messages
    emitted: list[a.ToolCall] = []
    for i, message in enumerate(messages):
        if isinstance(message, a.AssistantMessage) and message.tool_calls:
            emitted.extend(message.tool_calls)
            assert i + 1 < len(messages), "tool calls without results"
            follow = messages[i + 1]
            assert isinstance(follow, a.ToolResultsMessage)
            assert [r.call_id for r in follow.results] == [c.id for c in message.tool_calls]
        if isinstance(message, a.ToolResultsMessage):
            before = messages[i - 1]
            assert isinstance(before, a.AssistantMessage)
            assert before.tool_calls
    assert emitted == run.calls
