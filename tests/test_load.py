"""Load and leak checks.  They count things (results, tasks, threads, live objects), never time
them: timing belongs in benchmarks/."""

from __future__ import annotations

import gc
import threading
from typing import Any

import anyio
import pytest
import trio
from runtime_support import check_pairing, run_mock

import asyncfc as a
from asyncfc._agent import AgentRun
from asyncfc._scheduler import Future, Scheduler


async def noop() -> None:
    return None


def noop_sync() -> None:
    return None


async def inc(x: int = 0) -> int:
    await anyio.sleep(0.01)
    return x + 1


def live(*types: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, types))


def tasks() -> int:
    """How many tasks exist on the running event loop (either backend)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        count, pending = 0, [trio.lowlevel.current_root_task()]
        while pending:
            task = pending.pop()
            if task is not None:
                count += 1
                for nursery in task.child_nurseries:
                    pending.extend(nursery.child_tasks)
        return count
    return len(asyncio.all_tasks())


@pytest.mark.anyio
async def test_ten_thousand_concurrent_no_op_calls() -> None:
    executor = a.ToolExecutor(toolset=a.Toolset([a.tool(noop)]), mode="concurrent")
    calls = [a.ToolCall(id=f"c{i}", name="noop") for i in range(10_000)]
    baseline = tasks()
    batch = await executor.run(calls)
    assert [r.call_id for r in batch.results] == [c.id for c in calls]
    assert not any(r.is_error for r in batch.results)
    assert tasks() == baseline


@pytest.mark.anyio
async def test_two_thousand_concurrent_sync_calls_use_a_bounded_pool_of_threads() -> None:
    executor = a.ToolExecutor(toolset=a.Toolset([a.tool(noop_sync)]), mode="concurrent")
    calls = [a.ToolCall(id=f"c{i}", name="noop_sync") for i in range(2_000)]
    batch = await executor.run(calls)
    assert sum(not r.is_error for r in batch.results) == 2_000
    workers = [t for t in threading.enumerate() if t.name == "asyncfc tool"]
    assert len(workers) <= 40  # anyio's default thread limiter
    assert all(t.daemon for t in workers)


def chain_script(requests: int, per_request: int) -> Any:
    def script(view: a.ScriptView) -> a.Reply:
        if view.index >= requests:
            return a.Reply(text="done")
        first = view.index * per_request + 1
        calls = [
            ("inc", {"x": f"future_{n - 1}" if n > 1 else 0})
            for n in range(first, first + per_request)
        ]
        return a.Reply(calls=calls)

    return script


def test_two_thousand_futures_in_reference_chains_across_twenty_requests() -> None:
    agent = a.Agent(
        model=a.ScriptedModel(script=chain_script(20, 100), ttft=0.1),
        toolset=a.Toolset([a.tool(inc, reads=(), writes=())]),
        mode="async_parallel",
    )

    async def main() -> a.AgentRun:
        return await agent.run("go")

    run = run_mock(main)
    check_pairing(run)
    assert len(run.futures) == 2_000
    assert [run.results[f"call_{n}"].value for n in (1, 100, 2_000)] == [1, 100, 2_000]
    assert not any(r.is_error for r in run.results.values())


def test_a_hundred_concurrent_agent_runs_share_one_toolset() -> None:
    toolset = a.Toolset([a.tool(inc, reads=(), writes=())])
    runs: list[a.AgentRun] = []

    async def one(i: int) -> None:
        agent = a.Agent(
            model=a.ScriptedModel(script=chain_script(3, 5), ttft=0.1 + i / 1000),
            toolset=toolset,
            mode="async_parallel",
        )
        runs.append(await agent.run("go"))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(100):
                tg.start_soon(one, i)

    run_mock(main)
    assert len(runs) == 100
    for run in runs:
        check_pairing(run)
        assert run.results["call_15"].value == 15


@pytest.mark.parametrize("streaming", [False, True])
def test_repeated_runs_leave_no_tasks_and_no_live_runtime_objects(streaming: bool) -> None:
    toolset = a.Toolset([a.tool(inc, reads=(), writes=())])
    before = live(Future, Scheduler, AgentRun)
    leftover: list[int] = []

    async def main() -> None:
        baseline = tasks()
        for _ in range(20):
            agent = a.Agent(
                model=a.ScriptedModel(script=chain_script(3, 4), ttft=0.1),
                toolset=toolset,
                mode="async_parallel",
                streaming=streaming,
            )
            run = await agent.run(["go", "again"])
            assert len(run.results) == 12
            del run, agent
            leftover.append(tasks() - baseline)

    run_mock(main)
    assert leftover == [0] * 20
    assert before == 0
    assert live(Future, Scheduler, AgentRun) == 0
