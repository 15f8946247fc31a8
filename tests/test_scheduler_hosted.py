"""``Scheduler.call_hosted`` and ``FuturesSession.call_hosted``: calls a host runs itself.

asyncfc orders them by their tool's labels and gives each its one outcome; the host's own
coroutine runs the call, in the caller's task, and the tool's function is never called.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import asyncfc as a
from asyncfc._calls import decoded_call

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """``asyncio.current_task`` tells whose task a call ran in."""
    return "asyncio"


def _never() -> None:
    raise AssertionError("a hosted call must not run the tool's function")


def _toolset(**labels: dict[str, Any]) -> a.Toolset:
    """A tool per name, labelled as given; their functions must not run."""
    return a.Toolset([a.tool(_never, name=name, **given) for name, given in labels.items()])


class Control(Exception):
    """Stands for a host's control-flow exception (pydantic-ai's ``ModelRetry``)."""


async def test_the_hosts_coroutine_runs_in_the_callers_task_and_gives_the_value() -> None:
    ran_in: list[object] = []
    value = {"rows": [1, 2]}

    async def run() -> Any:
        ran_in.append(asyncio.current_task())
        return value

    async with a.Scheduler(_toolset(get={"reads": []}), futures=False) as s:
        outcome = await s.call_hosted(decoded_call("c1", "get", {"x": 1}), run)
    assert isinstance(outcome, a.Future)
    assert ran_in == [asyncio.current_task()]
    assert outcome.state == "done"
    assert outcome.value is value  # the host's own object, not a copy or a parse
    assert outcome.result is not None
    assert outcome.result.content == '{"rows":[1,2]}'
    assert s.settled == 1


async def test_a_value_without_text_is_not_an_error_for_a_host_that_renders_it() -> None:
    class Opaque:
        def __str__(self) -> str:
            raise ValueError("no text")

    opaque = Opaque()

    async def run() -> Any:
        return opaque

    async with a.Scheduler(_toolset(get={"reads": []}), futures=False) as s:
        outcome = await s.call_hosted(decoded_call("c1", "get", {}), run)
    assert isinstance(outcome, a.Future)
    assert outcome.state == "done"
    assert outcome.value is opaque
    assert outcome.result is not None
    assert "cannot be shown" in outcome.result.content


async def test_an_unknown_tool_is_an_error_result_and_nothing_runs() -> None:
    ran: list[str] = []

    async def run() -> None:
        ran.append("run")

    async with a.Scheduler(_toolset(get={"reads": []}), futures=False) as s:
        outcome = await s.call_hosted(decoded_call("c1", "nope", {}), run)
    assert isinstance(outcome, a.ToolResult)
    assert outcome.error_kind == "unknown_tool"
    assert "Available tools: get" in outcome.content
    assert ran == []
    assert s.futures == []


async def test_conflicting_calls_wait_in_their_callers_tasks_and_readers_overlap() -> None:
    log: list[str] = []
    release = anyio.Event()

    def step(key: str, hold: bool = False) -> Any:
        async def run() -> str:
            log.append(f"start {key}")
            if hold:
                await release.wait()
            else:
                await anyio.lowlevel.checkpoint()
            log.append(f"end {key}")
            return key

        return run

    toolset = _toolset(read={"reads": ["db"]}, write={"writes": ["db"]})
    outcomes: dict[str, a.Future | a.ToolResult] = {}

    async def call(s: a.Scheduler, key: str, name: str, hold: bool = False) -> None:
        outcomes[key] = await s.call_hosted(decoded_call(key, name, {}), step(key, hold))

    async with a.Scheduler(toolset, futures=False) as s, anyio.create_task_group() as tg:
        tg.start_soon(call, s, "r1", "read", True)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(call, s, "r2", "read")
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(call, s, "w", "write")
        await anyio.wait_all_tasks_blocked()
        assert log == ["start r1", "start r2", "end r2"]  # the readers overlapped
        release.set()
    assert log == ["start r1", "start r2", "end r2", "end r1", "start w", "end w"]
    assert s.get(3).conflict_deps == (1, 2)
    assert [o.value for o in outcomes.values() if isinstance(o, a.Future)] == ["r2", "r1", "w"]


async def test_an_exception_is_the_calls_error_and_a_passthrough_one_is_raised_after() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    inner = KeyError("inner")

    async def control() -> None:
        raise Control("ask again") from inner

    async with a.Scheduler(_toolset(t={}), futures=False) as s:
        failed = await s.call_hosted(decoded_call("c1", "t", {}), fails, passthrough=(Control,))
        assert isinstance(failed, a.Future)
        assert failed.result is not None
        assert failed.result.error_kind == "exception"
        assert failed.result.content == "Error: tool 't' raised ValueError: boom"
        with pytest.raises(Control, match="ask again") as raised:
            await s.call_hosted(decoded_call("c2", "t", {}), control, passthrough=(Control,))
        assert raised.value.__cause__ is inner  # the host's exception, untouched
        assert raised.value.__context__ is None
        passed = s.get(2)
        assert passed.result is not None  # settled before it was handed back
        assert passed.result.content == "Error: tool 't' raised Control: ask again"
    assert s.settled == 2


@pytest.mark.parametrize("limit", [0, 0.01])
async def test_a_timeout_ends_the_call_with_a_timeout_result(limit: float) -> None:
    """Also a zero timeout, which the short path must not take for none."""
    cancelled: list[str] = []

    async def hangs() -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append("hangs")
            raise

    async with a.Scheduler(_toolset(t={"reads": []}), futures=False, timeout=limit) as s:
        with anyio.fail_after(5):
            outcome = await s.call_hosted(decoded_call("c1", "t", {}), hangs)
    assert isinstance(outcome, a.Future)
    assert outcome.result is not None
    assert outcome.result.error_kind == "timeout"
    assert outcome.result.content == f"Error: tool 't' timed out after {limit:g} s"
    assert cancelled == ["hangs"]


async def test_an_infinite_timeout_is_no_timeout() -> None:
    async def run() -> int:
        return 1

    async with a.Scheduler(_toolset(t={"reads": []}), futures=False, timeout=math.inf) as s:
        outcome = await s.call_hosted(decoded_call("c1", "t", {}), run)
    assert isinstance(outcome, a.Future)
    assert outcome.value == 1


async def test_a_cancelled_waiting_caller_settles_its_call_as_cancelled() -> None:
    release = anyio.Event()
    ran: list[str] = []

    def step(key: str) -> Any:
        async def run() -> str:
            ran.append(key)
            if key == "first":
                await release.wait()
            return key

        return run

    async with a.Scheduler(_toolset(t={}), futures=False) as s:
        async with anyio.create_task_group() as outer:
            outer.start_soon(s.call_hosted, decoded_call("c1", "t", {}), step("first"))
            await anyio.wait_all_tasks_blocked()
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(s.call_hosted, decoded_call("c2", "t", {}), step("second"))
                    await anyio.wait_all_tasks_blocked()
                    scope.cancel()  # while c2 waits for c1
            third = s.call_hosted(decoded_call("c3", "t", {}), step("third"))
            release.set()
            assert isinstance(await third, a.Future)
        second = s.get(2)
        assert second.result is not None
        assert second.result.error_kind == "cancelled"
        assert ran == ["first", "third"]  # the cancelled call never ran; the next one did
        assert s.settled == 3


async def test_max_concurrency_trace_and_observers_see_hosted_calls() -> None:
    events: list[str] = []

    class Log(a.RunObserver):
        def call_submitted(self, future: a.Future) -> None:
            events.append(f"submitted {future.call.id}")

        def call_started(self, future: a.Future) -> None:
            events.append(f"started {future.call.id}")

        def call_finished(self, future: a.Future) -> None:
            events.append(f"finished {future.call.id} {future.state}")

    running = 0
    most = 0

    async def run() -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await anyio.lowlevel.checkpoint()
        running -= 1
        return "ok"

    trace = a.Trace()
    toolset = _toolset(t={"reads": []})
    async with (
        a.Scheduler(toolset, futures=False, max_concurrency=1, trace=trace, observers=[Log()]) as s,
        anyio.create_task_group() as tg,
    ):
        for k in range(3):
            tg.start_soon(s.call_hosted, decoded_call(f"c{k}", "t", {}), run)
    assert most == 1  # readers, but one slot
    assert [i.call_id for i in trace.of_kind("tool")] == ["c0", "c1", "c2"]
    assert all(i.ok for i in trace.of_kind("tool"))
    for k in range(3):
        assert events.index(f"submitted c{k}") < events.index(f"started c{k}")
        assert events.index(f"started c{k}") < events.index(f"finished c{k} done")


async def test_misuse_is_a_clear_error() -> None:
    async def run() -> None:
        return None

    call = decoded_call("c1", "t", {})
    s = a.Scheduler(_toolset(t={}), futures=False)
    with pytest.raises(RuntimeError, match="outside"):
        await s.call_hosted(call, run)
    async with a.Scheduler(_toolset(t={})) as with_futures:
        with pytest.raises(RuntimeError, match="without futures"):
            await with_futures.call_hosted(call, run)


async def test_the_session_answers_hosted_calls_once_per_call_id() -> None:
    async def run() -> int:
        return 7

    async with a.FuturesSession(_toolset(t={"reads": []}), mode="concurrent") as session:
        first = await session.call_hosted(decoded_call("c1", "t", {}), run)
        again = await session.call_hosted(decoded_call("c1", "t", {}), run)
        assert session.take_delivery() == ""
    assert first.value == 7
    assert first.call_id == "c1"
    assert again.is_error
    assert "already used" in again.content
    async with a.FuturesSession(_toolset(t={}), mode="async") as futures:
        with pytest.raises(RuntimeError, match="concurrent"):
            await futures.call_hosted(decoded_call("c1", "t", {}), run)
