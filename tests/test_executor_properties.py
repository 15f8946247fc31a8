"""Property-based tests of the batch executor: random latencies, failures and completion orders.

Latencies are scheduler checkpoints, release orders chosen by hypothesis, or sleeps on trio's
mock clock, so every example is fast and no property depends on real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncfc import BatchResult, ToolCall, ToolExecutor, Toolset, tool

pytestmark = pytest.mark.anyio

SETTINGS = settings(
    deadline=None,
    max_examples=75,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

KINDS = ("ok_async", "ok_sync", "raise_async", "raise_sync", "unknown", "bad_json", "bad_args")
SUCCESS = ("ok_async", "ok_sync")
ERROR_KIND = {
    "raise_async": "exception",
    "raise_sync": "exception",
    "unknown": "unknown_tool",
    "bad_json": "invalid_json",
    "bad_args": "invalid_arguments",
}


@dataclass(frozen=True)
class Spec:
    kind: str
    value: int
    delay: int  # scheduler checkpoints an async tool passes before it finishes


specs_strategy = st.lists(
    st.builds(Spec, st.sampled_from(KINDS), st.integers(-5, 5), st.integers(0, 6)),
    min_size=1,
    max_size=8,
)


async def _pause(delay: int) -> None:
    for _ in range(delay):
        await anyio.lowlevel.checkpoint()


async def ok_async(value: int, delay: int) -> dict[str, int]:
    await _pause(delay)
    return {"double": value * 2}


def ok_sync(value: int) -> int:
    return value * 3


async def raise_async(value: int, delay: int) -> None:
    await _pause(delay)
    raise ValueError(f"async failure {value}")


def raise_sync(value: int) -> None:
    raise KeyError(f"sync failure {value}")


TOOLS = Toolset([ok_async, ok_sync, raise_async, tool(return_direct=True)(raise_sync)])


def to_call(index: int, spec: Spec) -> ToolCall:
    args: dict[str, Any] = {"value": spec.value, "delay": spec.delay}
    if spec.kind in ("ok_sync", "raise_sync"):
        del args["delay"]
    if spec.kind == "unknown":
        return ToolCall(id=f"call_{index}", name="no_such_tool", arguments=args)
    if spec.kind == "bad_json":
        return ToolCall(id=f"call_{index}", name="ok_async", arguments='{"value": ')
    if spec.kind == "bad_args":
        return ToolCall(id=f"call_{index}", name="ok_async", arguments={"value": "x", "delay": 0})
    return ToolCall(id=f"call_{index}", name=spec.kind, arguments=args)


def expected_content(spec: Spec) -> str:
    return {"ok_async": f'{{"double":{spec.value * 2}}}', "ok_sync": str(spec.value * 3)}[spec.kind]


def check_batch(specs: list[Spec], calls: list[ToolCall], batch: BatchResult) -> None:
    # Order is preserved and there is exactly one result per id.
    assert [r.call_id for r in batch.results] == [c.id for c in calls]
    assert len({r.call_id for r in batch.results}) == len(calls)
    for spec, c, r in zip(specs, calls, batch.results, strict=True):
        assert r.name == c.name
        if spec.kind in SUCCESS:  # collect-all never loses a success
            assert not r.is_error, r
            assert r.content == expected_content(spec)
        else:
            assert r.is_error
            assert r.error_kind == ERROR_KIND[spec.kind]
            assert r.content.startswith("Error: ")
    assert not batch.return_direct  # raise_sync is return_direct but always fails


def comparable(batch: BatchResult) -> list[tuple[Any, ...]]:
    return [
        (r.call_id, r.name, r.content, r.is_error, r.error_kind, r.value, r.return_direct)
        for r in batch.results
    ]


@SETTINGS
@given(specs=specs_strategy, bound=st.sampled_from([None, 1, 2, 3]))
async def test_sequential_and_concurrent_give_identical_results(
    specs: list[Spec], bound: int | None
) -> None:
    calls = [to_call(i, s) for i, s in enumerate(specs)]
    sequential = await ToolExecutor(toolset=TOOLS).run(calls)
    concurrent = await ToolExecutor(toolset=TOOLS, mode="concurrent", max_concurrency=bound).run(
        calls
    )
    check_batch(specs, calls, sequential)
    check_batch(specs, calls, concurrent)
    assert comparable(sequential) == comparable(concurrent)


@SETTINGS
@given(data=st.data(), specs=specs_strategy)
async def test_any_completion_order_keeps_call_order(
    data: st.DataObject, specs: list[Spec]
) -> None:
    """Every async tool waits at its own gate; hypothesis picks the order the gates open."""
    gates: dict[int, anyio.Event] = {}
    finished: list[int] = []

    async def gated(index: int, value: int, fail: bool) -> int:
        await gates[index].wait()
        finished.append(index)
        if fail:
            raise RuntimeError(f"gated failure {value}")
        return value

    toolset = Toolset([gated, ok_async, ok_sync, raise_sync])
    calls: list[ToolCall] = []
    for i, spec in enumerate(specs):
        if spec.kind in ("ok_async", "raise_async"):
            gates[i] = anyio.Event()
            args = {"index": i, "value": spec.value, "fail": spec.kind == "raise_async"}
            calls.append(ToolCall(id=f"call_{i}", name="gated", arguments=args))
        else:
            calls.append(to_call(i, spec))
    order = data.draw(st.permutations(sorted(gates)), label="completion order")

    async def release() -> None:
        for index in order:
            gates[index].set()
            while index not in finished:
                await anyio.lowlevel.checkpoint()

    executor = ToolExecutor(toolset=toolset, mode="concurrent")
    with anyio.fail_after(30):  # a safety net against a hang, not a timing assertion
        async with anyio.create_task_group() as tg:
            tg.start_soon(release)
            batch = await executor.run(calls)
    assert finished == list(order)
    assert [r.call_id for r in batch.results] == [c.id for c in calls]
    for spec, r in zip(specs, batch.results, strict=True):
        if spec.kind == "ok_async":
            assert (r.is_error, r.value) == (False, spec.value)
        elif spec.kind == "raise_async":
            assert r.error_kind == "exception"
            assert f"raised RuntimeError: gated failure {spec.value}" in r.content
        elif spec.kind in SUCCESS:
            assert r.content == expected_content(spec)
        else:
            assert r.error_kind == ERROR_KIND[spec.kind]


MOCK_TRIO = pytest.param(
    ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock"
)


@pytest.mark.parametrize("anyio_backend", [MOCK_TRIO])
@SETTINGS
@given(
    latencies=st.lists(
        st.sampled_from([0.0, 0.1, 0.4, 0.7, 1.3, 2.0, 5.0]), min_size=1, max_size=8
    ),
    bound=st.sampled_from([None, 1, 2, 4]),
)
async def test_random_latencies_and_timeouts_on_a_fake_clock(
    latencies: list[float], bound: int | None
) -> None:
    """Virtual sleeps, some past the tool's 1 s timeout: both modes agree, call by call."""

    async def sleepy(seconds: float) -> float:
        await anyio.sleep(seconds)
        return seconds

    toolset = Toolset([tool(timeout=1.0)(sleepy)])
    calls = [
        ToolCall(id=f"c{i}", name="sleepy", arguments={"seconds": s})
        for i, s in enumerate(latencies)
    ]
    sequential = await ToolExecutor(toolset=toolset).run(calls)
    concurrent = await ToolExecutor(toolset=toolset, mode="concurrent", max_concurrency=bound).run(
        calls
    )
    assert comparable(sequential) == comparable(concurrent)
    for seconds, r in zip(latencies, concurrent.results, strict=True):
        if seconds < 1.0:
            assert (r.is_error, r.value) == (False, seconds)
        else:
            assert r.error_kind == "timeout"
