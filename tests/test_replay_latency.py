"""``with_latency``: sync tools stay sync and run in worker threads, as users' sync tools do;
async tools stay async; ``sync_tools="loop"`` (for fake clocks) moves sync bodies onto the loop.

Behaviour only (which thread ran the body, which delays were asked for), never durations."""

from __future__ import annotations

import threading

import pytest

import asyncfc as a
from asyncfc.replay import Latency, with_latency

pytestmark = pytest.mark.anyio


def _toolset(seen: dict[str, int]) -> a.Toolset:
    def blocking(x: int) -> int:
        """A sync tool."""
        seen["blocking"] = threading.get_ident()
        return x + 1

    async def awaiting(x: int) -> int:
        """An async tool."""
        seen["awaiting"] = threading.get_ident()
        return x * 2

    return a.Toolset([a.tool(blocking, reads=(), writes=()), a.tool(awaiting, reads=(), writes=())])


def _calls() -> list[a.ToolCall]:
    return [
        a.ToolCall(id="1", name="blocking", arguments='{"x": 1}'),
        a.ToolCall(id="2", name="awaiting", arguments='{"x": 3}'),
    ]


async def test_sync_tools_stay_sync_and_run_in_a_worker_thread() -> None:
    seen: dict[str, int] = {}
    asked: list[str] = []

    def delay(name: str) -> float:
        asked.append(name)
        return 0.0

    delayed = with_latency(_toolset(seen), delay)
    assert not delayed["blocking"].is_async
    assert delayed["awaiting"].is_async
    assert delayed["blocking"].access == _toolset({})["blocking"].access  # labels kept
    batch = await a.ToolExecutor(toolset=delayed, mode="concurrent").run(_calls())
    assert [r.content for r in batch.results] == ["2", "6"]
    loop_thread = threading.get_ident()
    assert seen["blocking"] != loop_thread
    assert seen["awaiting"] == loop_thread
    assert sorted(asked) == ["awaiting", "blocking"]


async def test_loop_mode_runs_sync_bodies_on_the_event_loop() -> None:
    seen: dict[str, int] = {}
    delayed = with_latency(_toolset(seen), lambda _name: 0.0, sync_tools="loop")
    assert delayed["blocking"].is_async
    batch = await a.ToolExecutor(toolset=delayed, mode="concurrent").run(_calls())
    assert [r.content for r in batch.results] == ["2", "6"]
    assert seen["blocking"] == seen["awaiting"] == threading.get_ident()


def test_unknown_sync_tools_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="sync_tools"):
        with_latency(a.Toolset(), lambda _name: 0.0, sync_tools="process")  # type: ignore[arg-type]


def test_latency_samples_are_scaled_and_seeded() -> None:
    assert Latency(seconds=5.0).sampler(0.1)("any") == pytest.approx(0.5)
    draws = [Latency(kind="exponential", seed=3).sampler(1.0) for _ in range(2)]
    assert [draws[0]("t") for _ in range(5)] == [draws[1]("t") for _ in range(5)]
    uniform = Latency(kind="uniform", seconds=2.0).sampler(1.0)
    assert all(1.0 <= uniform("t") <= 3.0 for _ in range(50))
