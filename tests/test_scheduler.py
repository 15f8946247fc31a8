"""The State-Tree scheduler (asyncfc._scheduler): one scripted scenario per ordering rule.

Times are exact: every test runs under trio's MockClock, so a 1 s tool takes exactly 1 s of
clock time and start/end times can be compared with ``==``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from runtime_support import call, intervals_by_call, run_mock, timed_tool

import asyncfc as a

Labels = tuple[Sequence[str] | None, Sequence[str] | None]


def run_calls(
    tools: Sequence[a.Tool],
    calls: Sequence[a.ToolCall],
    **options: Any,
) -> tuple[a.Trace, list[a.Future | a.ToolResult]]:
    """Submit ``calls`` at time 0, drain, return the trace and each submission's outcome."""
    trace = a.Trace()

    async def main() -> list[a.Future | a.ToolResult]:
        async with a.Scheduler(a.Toolset(tools), trace=trace, **options) as s:
            out = [s.submit(c) for c in calls]
            await s.drain()
        return out

    return trace, run_mock(main)


def spans(trace: a.Trace) -> dict[str, tuple[float, float]]:
    return {k: (v.start, v.end) for k, v in intervals_by_call(trace).items()}


def test_independent_calls_run_together() -> None:
    tools = [timed_tool("p", 1.0, reads=(), writes=())]
    trace, _ = run_calls(tools, [call(f"c{i}", "p", x=i) for i in range(3)])
    assert spans(trace) == {"c0": (0, 1), "c1": (0, 1), "c2": (0, 1)}


def test_data_dependency_waits_for_the_referenced_future() -> None:
    tools = [timed_tool("p", 1.0, reads=(), writes=())]
    trace, outs = run_calls(
        tools, [call("c1", "p", x=5), call("c2", "p", x="future_1"), call("c3", "p", x=6)]
    )
    assert spans(trace) == {"c1": (0, 1), "c2": (1, 2), "c3": (0, 1)}
    f2 = outs[1]
    assert isinstance(f2, a.Future)
    assert f2.value == 5
    assert intervals_by_call(trace)["c2"].depends_on == ("c1",)


CONFLICT_CASES: list[tuple[str, Labels, Labels, bool]] = [
    ("same node write/write", ((), ["fs:/a"]), ((), ["fs:/a"]), True),
    ("earlier writer of ancestor, later reader", ((), ["fs:/"]), (["fs:/a/b"], ()), True),
    ("earlier writer of descendant, later reader", ((), ["fs:/a/b"]), (["fs:/a"], ()), True),
    ("earlier reader, later writer (waits for readers)", (["fs:/a"], ()), ((), ["fs:/a"]), True),
    ("earlier reader of descendant, later writer", (["fs:/a/b"], ()), ((), ["fs"]), True),
    ("read/read never conflicts", (["fs:/a"], ()), (["fs:/a"], ()), False),
    ("siblings do not conflict", ((), ["fs:/a"]), (["fs:/b"], ["fs:/b"]), False),
    ("different namespaces", ((), ["fs"]), ((), ["db"]), False),
    ("unlabelled vs labelled reader", (None, None), (["fs:/a"], ()), True),
    ("labelled reader vs unlabelled", (["fs:/a"], ()), (None, None), True),
    ("unlabelled vs unlabelled", (None, None), (None, None), True),
    ("unlabelled vs pure", (None, None), ((), ()), False),
]


@pytest.mark.parametrize(
    ("first", "second", "serialize"),
    [pytest.param(f, s, ser, id=name) for name, f, s, ser in CONFLICT_CASES],
)
def test_label_conflicts(first: Labels, second: Labels, serialize: bool) -> None:
    tools = [
        timed_tool("one", 1.0, reads=first[0], writes=first[1]),
        timed_tool("two", 1.0, reads=second[0], writes=second[1]),
    ]
    trace, outs = run_calls(tools, [call("c1", "one"), call("c2", "two")])
    if serialize:
        assert spans(trace) == {"c1": (0, 1), "c2": (1, 2)}
        f2 = outs[1]
        assert isinstance(f2, a.Future)
        assert f2.conflict_deps == (1,)
    else:
        assert spans(trace) == {"c1": (0, 1), "c2": (0, 1)}


def test_readers_share_and_a_writer_waits_for_all_of_them() -> None:
    tools = [
        timed_tool("get", 1.0, reads=["kv:/k"], writes=()),
        timed_tool("slow_get", 3.0, reads=["kv:/k"], writes=()),
        timed_tool("put", 1.0, reads=(), writes=["kv:/k"]),
    ]
    trace, _ = run_calls(
        tools,
        [call("r1", "get"), call("r2", "slow_get"), call("w", "put"), call("r3", "get")],
    )
    assert spans(trace) == {"r1": (0, 1), "r2": (0, 3), "w": (3, 4), "r3": (4, 5)}


def test_ignoring_labels_serializes_everything_in_program_order() -> None:
    tools = [timed_tool("p", 1.0, reads=(), writes=())]
    calls = [call(f"c{i}", "p", x=i) for i in range(4)]
    trace, _ = run_calls(tools, calls, ordering="program")
    assert spans(trace) == {f"c{i}": (i, i + 1) for i in range(4)}
    trace, _ = run_calls(tools, calls, ordering="labels")
    assert spans(trace) == {f"c{i}": (0, 1) for i in range(4)}


def test_max_concurrency_is_respected() -> None:
    tools = [timed_tool("p", 1.0, reads=(), writes=())]
    trace, _ = run_calls(tools, [call(f"c{i}", "p", x=i) for i in range(5)], max_concurrency=2)
    s = spans(trace)
    assert sorted(s.values()) == [(0, 1), (0, 1), (1, 2), (1, 2), (2, 3)]
    for t in (0.5, 1.5, 2.5):
        assert sum(start <= t < end for start, end in s.values()) <= 2


def test_max_concurrency_counts_sync_tools_too() -> None:
    import time

    def blocking(x: int) -> int:
        time.sleep(0.05)
        return x

    active = 0
    peak = 0

    def counted(x: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            return blocking(x)
        finally:
            active -= 1

    tools = [a.tool(counted, reads=(), writes=())]

    async def main() -> None:
        async with a.Scheduler(a.Toolset(tools), max_concurrency=2) as s:
            for i in range(6):
                s.submit(call(f"c{i}", "counted", x=i))
            await s.drain()

    anyio.run(main, backend="asyncio")
    assert peak <= 2


def test_failure_propagates_to_data_dependents_only() -> None:
    log: list[tuple[str, Any]] = []
    tools = [
        timed_tool("bad", 1.0, reads=(), writes=["kv:/k"], fail=True, log=log),
        timed_tool("use", 1.0, reads=(), writes=(), log=log),
        timed_tool("put", 1.0, reads=(), writes=["kv:/k"], log=log),
        timed_tool("get", 1.0, reads=["kv:/k"], writes=(), log=log),
    ]
    trace, outs = run_calls(
        tools,
        [
            call("c1", "bad"),
            call("c2", "use", x="future_1"),  # data dependent: fails, never runs
            call("c3", "put", x=3),  # only conflicts: still runs, after c1
            call("c4", "use", x={"v": "future_2"}),  # depends on a failed dependent
            call("c5", "get", x=5),  # conflicts with c3: runs after it
        ],
    )
    results = [o.result if isinstance(o, a.Future) else o for o in outs]
    assert all(r is not None for r in results)
    r1, r2, r3, r4, r5 = (r for r in results if r is not None)
    assert r1.error_kind == "exception"
    assert r1.content == "Error: tool 'bad' raised RuntimeError: bad broke"
    assert r2.error_kind == "dependency_failed"
    assert r2.content == (
        "Error: dependency future_1 failed: tool 'bad' raised RuntimeError: bad broke"
    )
    assert r4.error_kind == "dependency_failed"
    assert r4.content.startswith("Error: dependency future_2 failed: dependency future_1 failed:")
    assert not r3.is_error
    assert not r5.is_error
    assert [name for name, _ in log] == ["bad", "put", "get"]
    assert spans(trace) == {"c1": (0, 1), "c3": (1, 2), "c5": (2, 3)}
    assert not intervals_by_call(trace)["c1"].ok


def test_timeout_fails_dependents() -> None:
    tools = [
        timed_tool("slow", 5.0, reads=(), writes=(), timeout=0.5),
        timed_tool("use", 1.0, reads=(), writes=()),
    ]
    trace, outs = run_calls(tools, [call("c1", "slow"), call("c2", "use", x="future_1")])
    f1, f2 = outs
    assert isinstance(f1, a.Future)
    assert isinstance(f2, a.Future)
    assert f1.result is not None
    assert f1.result.error_kind == "timeout"
    assert f1.result.content == "Error: tool 'slow' timed out after 0.5 s"
    assert f2.result is not None
    assert (
        f2.result.content == "Error: dependency future_1 failed: tool 'slow' timed out after 0.5 s"
    )
    assert spans(trace) == {"c1": (0, 0.5)}


def test_scheduler_default_timeout_applies() -> None:
    tools = [timed_tool("slow", 5.0, reads=(), writes=())]
    trace, outs = run_calls(tools, [call("c1", "slow")], timeout=2.0)
    (f1,) = outs
    assert isinstance(f1, a.Future)
    assert f1.result is not None
    assert f1.result.error_kind == "timeout"
    assert spans(trace) == {"c1": (0, 2)}


def test_calls_that_cannot_run_are_settled_at_submission() -> None:
    tools = [timed_tool("p", 1.0, reads=(), writes=())]

    def strict(n: int) -> int:
        return n

    tools.append(a.tool(strict, reads=(), writes=()))
    _, outs = run_calls(
        tools,
        [
            call("c1", "nope"),
            a.ToolCall(id="c2", name="p", arguments="{not json"),
            call("c3", "strict", n="abc"),
            call("c4", "p", x="future_1"),  # no future was issued: c1..c3 made none
        ],
    )
    kinds = [o.error_kind for o in outs if isinstance(o, a.ToolResult)]
    assert kinds == ["unknown_tool", "invalid_json", "invalid_arguments", "unknown_future"]


def test_resolved_arguments_are_validated_against_the_original_schema() -> None:
    def strict(n: int) -> int:
        return n * 2

    tools = [timed_tool("src", 1.0, reads=(), writes=(), result="not a number")]
    tools.append(a.tool(strict, reads=(), writes=()))
    trace, outs = run_calls(tools, [call("c1", "src"), call("c2", "strict", n="future_1")])
    f2 = outs[1]
    assert isinstance(f2, a.Future)
    assert f2.result is not None
    assert f2.result.error_kind == "invalid_arguments"
    assert "c2" not in spans(trace)


def test_submit_outside_the_block_raises() -> None:
    s = a.Scheduler(a.Toolset([timed_tool("p", 1.0)]))
    with pytest.raises(RuntimeError, match="outside"):
        s.submit(call("c1", "p"))


# -- cancellation ------------------------------------------------------------------------


def test_leaving_the_block_cancels_pending_calls() -> None:
    finished: list[str] = []

    async def long(x: int = 0) -> int:
        await anyio.sleep(10)
        finished.append("long")
        return x

    tools = [a.tool(long, reads=(), writes=()), timed_tool("p", 1.0, reads=(), writes=())]

    async def main() -> tuple[list[a.Future | a.ToolResult], float]:
        async with a.Scheduler(a.Toolset(tools)) as s:
            outs = [
                s.submit(call("c1", "long")),
                s.submit(call("c2", "p", x="future_1")),
                s.submit(call("c3", "p", x=3)),
            ]
            await anyio.sleep(2)
        left = anyio.current_time()
        await anyio.sleep(30)  # a task left behind would now finish and log
        return outs, left

    outs, left = run_mock(main)
    assert left == 2
    assert finished == []
    f1, f2, f3 = outs
    assert isinstance(f1, a.Future)
    assert isinstance(f2, a.Future)
    assert isinstance(f3, a.Future)
    assert f3.ok
    assert f3.value == 3
    for f in (f1, f2):
        assert f.result is not None
        assert f.result.error_kind == "cancelled"
        assert f.state == "failed"
        assert f.done.is_set()


def test_cancelling_from_outside_cancels_everything() -> None:
    async def main() -> list[a.Future | a.ToolResult]:
        tools = [timed_tool("p", 10.0, reads=(), writes=())]
        outs: list[a.Future | a.ToolResult] = []
        with anyio.move_on_after(1):
            async with a.Scheduler(a.Toolset(tools)) as s:
                outs = [s.submit(call(f"c{i}", "p", x=i)) for i in range(3)]
                await s.drain()
        return outs

    outs = run_mock(main)
    assert len(outs) == 3
    for f in outs:
        assert isinstance(f, a.Future)
        assert f.result is not None
        assert f.result.error_kind == "cancelled"


def test_no_task_is_left_behind_on_asyncio() -> None:
    async def main() -> int:
        tools = [timed_tool("p", 5.0, reads=(), writes=())]
        with anyio.move_on_after(0.05):
            async with a.Scheduler(a.Toolset(tools)) as s:
                for i in range(5):
                    s.submit(call(f"c{i}", "p", x=i))
                await s.drain()
        return len(asyncio.all_tasks())

    assert anyio.run(main, backend="asyncio") == 1


def test_where_a_call_came_from_is_given_at_submission_and_reaches_its_interval() -> None:
    """No side door: the request, user turn and awaited calls go in through ``submit`` and
    come out on the call's tool interval; a call rejected at submission leaves nothing."""
    trace = a.Trace()

    async def main() -> None:
        async with a.Scheduler(
            a.Toolset([timed_tool("p", 1.0, reads=(), writes=())]), trace=trace
        ) as s:
            s.submit(call("c1", "p", x=1), request=3, user_turn=2, awaited=["c0"])
            s.submit(call("c9", "p", x=2))
            rejected = s.submit(call("bad", "nope"), request=4, user_turn=5, awaited=["c1"])
            assert isinstance(rejected, a.ToolResult)
            await s.drain()

    run_mock(main)
    by_id = intervals_by_call(trace)
    assert set(by_id) == {"c1", "c9"}
    assert (by_id["c1"].request, by_id["c1"].user_turn, by_id["c1"].awaited) == (3, 2, ("c0",))
    assert (by_id["c9"].request, by_id["c9"].user_turn, by_id["c9"].awaited) == (0, 0, ())
    assert by_id["c1"].submitted == 0.0
