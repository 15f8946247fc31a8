"""asyncfc.live: the table of futures, read back as text from a recording console, on a clock
the test sets by hand (no timing).  (Named test_live_view: tests/bench/test_live.py exists.)"""

from __future__ import annotations

import io

import anyio
import pytest
from runtime_support import run_mock, timed_tool

import asyncfc as a

pytest.importorskip("rich")

from rich.console import Console

from asyncfc.live import LiveFutures


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def console() -> Console:
    return Console(record=True, file=io.StringIO(), width=100, color_system=None)


def text_of(view: LiveFutures) -> str:
    out = console()
    out.print(view.render())
    return out.export_text()


def row(text: str, future_id: str) -> list[str]:
    """The cells of the row of ``future_id``."""
    line = next(x for x in text.splitlines() if f" {future_id} " in x)
    return [c.strip() for c in line.strip().strip("│┃|").split("│") if c.strip()]


@pytest.mark.anyio
async def test_states_and_ages_as_the_run_goes() -> None:
    clock = Clock()
    view = LiveFutures(console=console(), clock=clock, auto_refresh=False)
    gate, started = anyio.Event(), anyio.Event()

    async def slow(x: int) -> int:
        started.set()
        await gate.wait()
        return x

    async def boom() -> None:
        raise RuntimeError("no")

    toolset = a.Toolset(
        [
            a.tool(slow, reads=(), writes=()),
            a.tool(boom, reads=(), writes=()),
            timed_tool("use", 0, reads=(), writes=()),
        ]
    )
    with view:
        async with a.Scheduler(toolset, observers=[view]) as s:
            s.submit(a.ToolCall(id="c1", name="slow", arguments={"x": 1}))
            clock.now = 1.0
            s.submit(a.ToolCall(id="c2", name="use", arguments={"x": "future_1"}))
            s.submit(a.ToolCall(id="c3", name="boom", arguments={}))
            await started.wait()
            await s.wait([s.get(3)])
            clock.now = 5.0
            text = text_of(view)
            assert "pending 1  running 1  done 0  failed 1" in text
            # submitted at 0; its task first ran after the clock was set to 1
            assert row(text, "future_1") == ["future_1", "slow", "running", "5.0s", "4.0s"]
            assert row(text, "future_2") == ["future_2", "use", "pending", "4.0s", "-"]
            assert row(text, "future_3") == ["future_3", "boom", "failed", "0.0s", "0.0s"]
            clock.now = 7.0
            gate.set()
            await s.drain()
        assert view.counts() == {"pending": 0, "running": 0, "done": 2, "failed": 1}
        text = text_of(view)
        assert row(text, "future_1") == ["future_1", "slow", "done", "7.0s", "6.0s"]
        assert row(text, "future_2") == ["future_2", "use", "done", "6.0s", "0.0s"]
    assert not view.is_open


def test_one_line_on_an_agent_draws_the_final_table() -> None:
    out = console()
    view = LiveFutures(console=out, auto_refresh=False, clock=Clock())
    agent = a.Agent(
        model=a.ScriptedModel(
            script=[
                a.Reply(calls=[("ok", {"x": 1}), ("bad", {"x": 2})]),
                a.Reply(text="done"),
                a.Reply(text="done"),
            ]
        ),
        toolset=a.Toolset(
            [
                timed_tool("ok", 1.0, reads=(), writes=()),
                timed_tool("bad", 2.0, reads=(), writes=(), fail=True),
            ]
        ),
        observers=[view],
    )

    async def main() -> a.AgentRun:
        assert not view.is_open
        return await agent.run("go")

    run_mock(main)
    assert not view.is_open
    text = out.export_text()
    assert "pending 0  running 0  done 1  failed 1" in text
    assert row(text, "future_1")[:3] == ["future_1", "ok", "done"]
    assert row(text, "future_2")[:3] == ["future_2", "bad", "failed"]


def test_rows_beyond_the_limit_are_counted_not_shown() -> None:
    view = LiveFutures(console=console(), auto_refresh=False, clock=Clock(), max_rows=3)
    toolset = a.Toolset([timed_tool("t", 1.0, reads=(), writes=())])

    async def main() -> None:
        async with a.Scheduler(toolset, observers=[view]) as s:
            for i in range(5):
                s.submit(a.ToolCall(id=f"c{i}", name="t", arguments={"x": i}))
            await s.drain()

    run_mock(main)
    text = text_of(view)
    assert "2 more not shown" in text
    assert "done 5" in text
    assert sum(" future_" in line for line in text.splitlines()) == 3


def test_the_view_closes_when_the_run_raises() -> None:
    class Broken(a.ScriptedModel):
        async def request(self, *args: object, **kwargs: object) -> a.ModelResponse:
            raise a.ModelAPIError("down", provider="test")

    view = LiveFutures(console=console(), auto_refresh=False)
    agent = a.Agent(model=Broken(script=[]), toolset=a.Toolset([]), observers=[view])

    async def main() -> None:
        await agent.run("go")

    with pytest.raises(a.ModelAPIError):
        run_mock(main)
    assert not view.is_open
