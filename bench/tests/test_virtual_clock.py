"""The virtual-time asyncio loop: timers fire in order at their virtual times, time moves only
when the loop is idle, tracked thread work freezes the clock, untracked thread callbacks wake
the loop but fail the run, and asyncfc's own replay gives the figures trio's MockClock gives."""

from __future__ import annotations

import asyncio
import threading
import time

import anyio
import pytest
from asyncfc_bench import load_multi_turn
from asyncfc_bench._bfcl_bench import run_bfcl_task
from asyncfc_bench._virtual_clock import VirtualClockError, VirtualClockLoop, run_virtual
from trio.testing import MockClock

from asyncfc.replay import Behaviour, DecodeModel, Latency


def test_timers_fire_in_order_at_their_virtual_times() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        fired: list[tuple[str, float]] = []

        async def after(seconds: float, tag: str) -> None:
            await asyncio.sleep(seconds)
            fired.append((tag, loop.time()))

        loop.call_later(4.0, lambda: fired.append(("call_later", loop.time())))
        await asyncio.gather(after(30.0, "c"), after(1.5, "a"), after(10**6, "d"), after(7, "b"))
        return fired

    assert run_virtual(main()) == [
        ("a", 1.5),
        ("call_later", 4.0),
        ("b", 7.0),
        ("c", 30.0),
        ("d", 10**6),
    ]


def test_time_moves_only_when_the_loop_is_idle() -> None:
    async def main() -> tuple[list[float], float]:
        loop = asyncio.get_running_loop()
        seen: list[float] = []

        async def busy() -> None:
            for _ in range(500):  # always a ready callback: the clock may not jump
                seen.append(loop.time())
                await asyncio.sleep(0)

        timer = asyncio.ensure_future(asyncio.sleep(5.0))
        await busy()
        await timer
        return seen, loop.time()

    seen, end = run_virtual(main())
    assert set(seen) == {0.0}
    assert end == 5.0


def test_anyio_runs_on_the_virtual_clock() -> None:
    async def main() -> tuple[float, float, bool]:
        start = anyio.current_time()
        await anyio.sleep(12.5)
        timed_out = True
        with anyio.move_on_after(3.0):
            await anyio.sleep(60.0)
            timed_out = False
        return start, anyio.current_time(), timed_out

    assert run_virtual(main()) == (0.0, 15.5, True)


def test_tracked_thread_work_freezes_the_clock() -> None:
    """A ``run_in_executor`` job runs while a timer is pending: the clock waits for the
    thread (its work counts as zero time) instead of jumping to the timer."""

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        done_at: list[float] = []

        async def in_thread() -> None:
            await loop.run_in_executor(None, time.sleep, 0.05)
            done_at.append(loop.time())

        await asyncio.gather(in_thread(), asyncio.sleep(10.0))
        return done_at[0], loop.time()

    assert run_virtual(main()) == (0.0, 10.0)


def test_to_thread_is_tracked() -> None:
    async def main() -> tuple[int, float]:
        value = await asyncio.to_thread(lambda: 7)
        return value, asyncio.get_running_loop().time()

    assert run_virtual(main()) == (7, 0.0)


def test_an_untracked_thread_wakes_the_loop_but_fails_the_run() -> None:
    woke: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        thread = threading.Thread(target=lambda: loop.call_soon_threadsafe(future.set_result, 3))
        thread.start()
        assert await future == 3  # nothing else pending: the loop blocks until the thread
        woke.append(loop.time())
        thread.join()

    with pytest.raises(VirtualClockError, match="1 callback"):
        run_virtual(main())
    assert woke == [0.0]


def test_the_loop_is_a_selector_loop_with_a_virtual_time() -> None:
    loop = VirtualClockLoop()
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
        assert loop.time() == 0.0
        assert loop.run_until_complete(asyncio.sleep(2.0, result="x")) == "x"
        assert loop.time() == 2.0
    finally:
        loop.close()


def test_asyncfc_replay_gives_mockclock_figures() -> None:
    """asyncfc's own modes on two BFCL tasks: the same wall time and requests per mode on
    this loop (asyncio) as on trio's MockClock."""
    entries = load_multi_turn("multi_turn_base", limit=2)

    async def figures() -> list[dict[str, tuple[float, int]]]:
        out = []
        for entry in entries:
            outcomes, _ = await run_bfcl_task(
                entry,
                modes=["sequential", "parallel", "async_parallel"],
                decode=DecodeModel(),
                latency=Latency(),
                time_scale=1.0,
                sync_tools="loop",
                behaviour=Behaviour(),
            )
            out.append({m: (o.wall, o.run.model_requests) for m, o in outcomes.items()})
        return out

    virtual = run_virtual(figures())
    mock = anyio.run(
        figures, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)}
    )
    assert virtual == mock
    assert virtual[0]["sequential"][0] > virtual[0]["async_parallel"][0] > 0
