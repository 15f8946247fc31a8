"""``Scheduler.call``: submit and wait, a call with nothing to wait for run in the caller's task.

Every test checks the one-outcome rule: each call's future is settled exactly once, and calls
that conflict with a call running in its caller's task still wait for it.
"""

from __future__ import annotations

import asyncio

import anyio
import anyio.lowlevel
import pytest

import asyncfc as a

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """``asyncio.current_task`` tells whose task a call ran in."""
    return "asyncio"


async def test_a_call_with_nothing_to_wait_for_runs_in_the_callers_task() -> None:
    ran_in: list[object] = []

    async def pure(x: int) -> int:
        ran_in.append(asyncio.current_task())
        return x + 1

    async with a.Scheduler(a.Toolset([a.tool(pure, reads=(), writes=())])) as s:
        outcome = await s.call(a.ToolCall(id="c1", name="pure", arguments={"x": 1}))
        assert isinstance(outcome, a.Future)
        assert outcome.state == "done"
        assert outcome.value == 2
        assert outcome.result is not None
        assert outcome.result.call_id == "c1"
        assert ran_in == [asyncio.current_task()]
        assert s.settled == 1
        bad = await s.call(a.ToolCall(id="c2", name="nope", arguments={}))
        assert isinstance(bad, a.ToolResult)
        assert bad.error_kind == "unknown_tool"


async def test_conflicting_calls_wait_for_a_call_running_in_its_callers_task() -> None:
    log: list[str] = []
    release = anyio.Event()

    async def put(key: str) -> str:
        log.append(f"start {key}")
        if key == "first":
            await release.wait()
        log.append(f"end {key}")
        return key

    toolset = a.Toolset([a.tool(put, writes=["kv:/k"])])
    outcomes: dict[str, a.Future | a.ToolResult] = {}

    async def call(key: str) -> None:
        outcomes[key] = await s.call(a.ToolCall(id=key, name="put", arguments={"key": key}))

    async with a.Scheduler(toolset) as s, anyio.create_task_group() as tg:
        tg.start_soon(call, "first")
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(call, "second")  # conflicts: runs in a task of the scheduler, later
        await anyio.wait_all_tasks_blocked()
        assert log == ["start first"]
        release.set()
    assert log == ["start first", "end first", "start second", "end second"]
    assert [o.value for o in outcomes.values() if isinstance(o, a.Future)] == ["first", "second"]


async def test_a_cancelled_caller_settles_its_call_as_cancelled_and_waiters_proceed() -> None:
    started = anyio.Event()
    log: list[str] = []

    async def put(key: str) -> str:
        log.append(key)
        if key == "hangs":
            started.set()
            await anyio.sleep_forever()
        return key

    toolset = a.Toolset([a.tool(put, writes=["kv:/k"])])
    async with a.Scheduler(toolset) as s:
        async with anyio.create_task_group() as tg:
            tg.start_soon(s.call, a.ToolCall(id="c1", name="put", arguments={"key": "hangs"}))
            await started.wait()
            waiter = s.submit(a.ToolCall(id="c2", name="put", arguments={"key": "next"}))
            tg.cancel_scope.cancel()
        assert isinstance(waiter, a.Future)
        with anyio.fail_after(5):
            await waiter.wait()
        first = s.get(1)
        assert first.result is not None
        assert first.result.error_kind == "cancelled"
        assert waiter.value == "next"
        assert log == ["hangs", "next"]
        assert s.settled == 2


async def test_closing_the_scheduler_under_a_running_call_keeps_one_outcome() -> None:
    started, release = anyio.Event(), anyio.Event()
    finished: list[str] = []

    async def slow() -> str:
        started.set()
        await release.wait()
        finished.append("slow")
        return "late"

    outcomes: list[a.Future | a.ToolResult] = []

    async def caller(s: a.Scheduler) -> None:
        outcomes.append(await s.call(a.ToolCall(id="c1", name="slow", arguments={})))

    async with anyio.create_task_group() as tg:
        async with a.Scheduler(a.Toolset([a.tool(slow, reads=(), writes=())])) as s:
            tg.start_soon(caller, s)
            await started.wait()
        future = s.get(1)
        assert future.result is not None
        assert future.result.error_kind == "cancelled"
        release.set()
    assert finished == ["slow"]  # the caller's task ran it to the end ...
    assert outcomes == [future]  # ... but the call kept the one result it had
    assert future.result.error_kind == "cancelled"
    with pytest.raises(RuntimeError, match="outside"):
        await s.call(a.ToolCall(id="c2", name="slow", arguments={}))
    await anyio.lowlevel.checkpoint()
