"""The execution backend boundary (``asyncfc._backends``) with a backend of the test's own:
what a backend is handed, how handles are fetched, and how a backend that is gone stops a run
with one outcome per call.  ``tests/ray/`` covers the Ray backends on a real Ray."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import asyncfc as a
from asyncfc._futures import resolve_references
from asyncfc._results import error_result, render_value, success_result

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Handle:
    """What the fake backend returns as a result's value: the value stays "remote"."""

    key: int


class Remote:
    """Runs calls in this process, keeps values in its own store, hands out handles."""

    def __init__(self) -> None:
        self.jobs: list[a.Job] = []
        self.store: dict[int, Any] = {}
        self.fetched: list[Handle] = []
        self.gone = False

    async def run(self, job: a.Job) -> a.ToolResult:
        if self.gone:
            raise a.BackendUnavailableError("the fake cluster is gone")
        self.jobs.append(job)
        kwargs = job.kwargs
        if kwargs is None:  # resolve "remotely": handles of this backend are looked up here
            values = {
                n: self.store[i.value.key] if isinstance(i.value, Handle) else i.value
                for n, i in job.inputs.items()
            }
            try:
                kwargs = job.tool.validate(
                    resolve_references(job.arguments, values.__getitem__, render_value)
                )
            except (a.FutureReferenceError, a.ToolArgumentsError) as exc:
                return error_result(job.call, "invalid_arguments", str(exc))
        value = job.tool.function(**kwargs)
        key = len(self.store)
        self.store[key] = value
        return success_result(
            job.call, render_value(value, job.max_result_chars), Handle(key), False
        )

    async def fetch(self, value: Any) -> Any:
        self.fetched.append(value)
        return self.store[value.key]  # KeyError once the value is lost


def make() -> dict[str, Any]:
    return {"items": [{"id": "x7"}]}


def echo(text: str) -> str:
    return text


async def test_a_backend_gets_unresolved_arguments_with_its_inputs() -> None:
    remote = Remote()
    toolset = a.Toolset([make, echo], backend=remote)
    assert all(t.backend is remote for t in toolset)
    async with a.Scheduler(toolset, timeout=7.0, max_result_chars=100) as s:
        f1 = s.submit(a.ToolCall(id="c1", name="make"))
        f2 = s.submit(a.ToolCall(id="c2", name="echo", arguments={"text": "future_1.items[0].id"}))
        await s.drain()
    assert isinstance(f1, a.Future)
    assert isinstance(f2, a.Future)
    assert f1.value == Handle(0)
    assert f2.result is not None
    assert f2.result.content == "x7"
    first, second = remote.jobs
    assert first.kwargs == {}
    assert (first.timeout, first.max_result_chars) == (7.0, 100)
    assert second.kwargs is None
    assert second.arguments == {"text": "future_1.items[0].id"}
    assert second.inputs == {1: a.Input(Handle(0), remote)}
    assert remote.fetched == []  # nothing came back to this process


async def test_an_in_process_tool_fetches_a_handle() -> None:
    remote = Remote()
    toolset = a.Toolset([a.tool(backend=remote)(make), echo])
    assert toolset["echo"].backend is None
    async with a.Scheduler(toolset) as s:
        s.submit(a.ToolCall(id="c1", name="make"))
        f2 = s.submit(a.ToolCall(id="c2", name="echo", arguments={"text": "future_1.items[0].id"}))
        await s.drain()
    assert isinstance(f2, a.Future)
    assert f2.value == "x7"
    assert remote.fetched == [Handle(0)]


async def test_a_value_its_backend_lost_fails_the_in_process_dependent() -> None:
    remote = Remote()
    toolset = a.Toolset([a.tool(backend=remote)(make), echo])
    async with a.Scheduler(toolset) as s:
        s.submit(a.ToolCall(id="c1", name="make"))
        await s.drain()
        remote.store.clear()
        f2 = s.submit(a.ToolCall(id="c2", name="echo", arguments={"text": "future_1"}))
        await s.drain()
    assert isinstance(f2, a.Future)
    assert f2.result is not None
    assert f2.result.error_kind == "dependency_failed"
    assert "could not be fetched: KeyError" in f2.result.content


async def test_a_backend_that_is_gone_stops_the_run_with_one_outcome_per_call() -> None:
    remote = Remote()
    remote.gone = True
    toolset = a.Toolset([make, a.tool(name="local")(lambda: 1)])
    toolset.replace("make", backend=remote)
    outcomes: list[a.Future | a.ToolResult] = []

    async def play() -> None:
        async with a.Scheduler(toolset, ordering="none") as s:
            outcomes.append(s.submit(a.ToolCall(id="c1", name="make")))
            outcomes.append(s.submit(a.ToolCall(id="c2", name="local")))
            await s.drain()

    with pytest.raises(a.BackendUnavailableError, match="gone"):
        await play()
    assert [isinstance(o, a.Future) and o.result is not None for o in outcomes] == [True, True]


def test_a_tool_without_a_backend_runs_in_process() -> None:
    assert a.tool(echo).backend is None
    assert a.Toolset([echo])["echo"].backend is None
