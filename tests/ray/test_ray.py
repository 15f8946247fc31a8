"""asyncfc.ray on a real local Ray instance: one small cluster for the whole module.

The fixture starts Ray once (2 CPUs, no dashboard, a small object store) and shuts it down
at the end; it checks that no process it started outlives the module.  The last test shuts
Ray down under a running call, so it must stay last.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

ray = pytest.importorskip("ray")

from processes import no_process_left  # noqa: E402

import asyncfc as a  # noqa: E402
from asyncfc.ray import RayActor, RayBackend, RayClusterError  # noqa: E402
from asyncfc.ray._backend import SELECTED, _select_fields  # noqa: E402

pytestmark = pytest.mark.anyio

SRC = str(Path(a.__file__).resolve().parent.parent)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Ray's ObjectRefs are awaited natively on asyncio (trio waits in threads)."""
    return "asyncio"


@pytest.fixture(scope="module", autouse=True)
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A local Ray instance for this module; no process of it is left behind."""
    with no_process_left(grace=30, what="processes of Ray"):
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        a_ray_init = pytest.importorskip("asyncfc.ray").init
        a_ray_init(
            num_cpus=2,
            object_store_memory=120 * 2**20,
            runtime_env={"env_vars": {"PYTHONPATH": SRC}},
        )
        try:
            yield
        finally:
            ray.shutdown()
            ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def call(i: int, name: str, **arguments: Any) -> a.ToolCall:
    return a.ToolCall(id=f"c{i}", name=name, arguments=arguments)


async def run(toolset: a.Toolset, *calls: a.ToolCall, **options: Any) -> list[a.ToolResult]:
    """Submit ``calls`` in order to one scheduler; each call's one result, in order."""
    async with a.Scheduler(toolset, **options) as s:
        outcomes = [s.submit(c) for c in calls]
        await s.drain()
    results = [o.result if isinstance(o, a.Future) else o for o in outcomes]
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


# -- tools --------------------------------------------------------------------------------


def whoami() -> int:
    """The process id of whoever runs the call."""
    return os.getpid()


def double(x: int) -> int:
    return 2 * x


class Counter:
    """A stateful toolset: a running total."""

    def __init__(self, start: int = 0) -> None:
        self.total = start

    def add(self, n: int) -> int:
        """Add ``n`` to the total; return the total."""
        self.total += n
        return self.total

    def crash(self) -> None:
        """Kill the actor's process."""
        os._exit(1)


class Tracked:
    """A payload that records, in a file, every process that unpickles it."""

    def __init__(self, size: int, log: str) -> None:
        self.blob = b"x" * size
        self.log = log

    def __reduce__(self) -> Any:
        return (_rebuild, (self.blob, self.log))


def _rebuild(blob: bytes, log: str) -> Tracked:
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    t = object.__new__(Tracked)
    t.blob, t.log = blob, log
    return t


def make(log: str) -> dict[str, Any]:
    return {"items": [{"id": "item-7"}], "payload": Tracked(2_000_000, log)}


def make_payload(log: str) -> Tracked:
    return Tracked(2_000_000, log)


def inspect_payload(payload: Any) -> str:
    return f"{type(payload).__name__}:{len(payload.blob)}:{os.getpid()}"


def echo(text: str) -> str:
    return text


def nap(marker: str, seconds: float = 30.0) -> str:
    """Sleep; write 'started' to ``marker``, then 'interrupted' when cancelled."""
    Path(marker).write_text("started")
    try:  # short sleeps: ray.cancel interrupts Python code, not a long blocking C call
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
    except KeyboardInterrupt:
        Path(marker).write_text("interrupted")
        raise
    return "slept"


def die() -> None:
    os._exit(1)


def wait_for_file(path: Path, text: str, timeout: float = 20.0) -> str:
    """``path``'s text once it is ``text``, or whatever it is after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text() == text:
            break
        time.sleep(0.05)
    return path.read_text() if path.exists() else ""


# -- tests --------------------------------------------------------------------------------


async def test_stateless_tools_run_as_ray_tasks() -> None:
    toolset = a.Toolset([whoami, double], backend=RayBackend(num_cpus=1, poll_interval=0.2))
    pid, doubled, bad = await run(
        toolset, call(1, "whoami"), call(2, "double", x=21), call(3, "double", x="no")
    )
    assert not pid.is_error
    assert int(pid.content) != os.getpid()
    assert isinstance(pid.value, ray.ObjectRef)  # the value stayed on the cluster
    assert doubled.content == "42"
    assert bad.error_kind == "invalid_arguments"  # validated on the driver, never ran


async def test_a_stateful_toolset_keeps_its_state_in_one_actor() -> None:
    first, second = RayActor(Counter, kwargs={"start": 10}), RayActor(Counter)
    one, two = first.toolset(["add"]), second.toolset(["add"])
    assert one["add"].parameters["properties"].keys() == {"n"}  # no 'self' in the schema
    results = await run(one, call(1, "add", n=1), call(2, "add", n=2), call(3, "add", n=3))
    assert [r.content for r in results] == ["11", "13", "16"]
    (other,) = await run(two, call(4, "add", n=5))
    assert other.content == "5"  # a second toolset instance has its own actor and state
    first.kill()
    second.kill()


async def test_a_reference_passes_the_object_ref_on(tmp_path: Path) -> None:
    log = tmp_path / "unpickled"
    toolset = a.Toolset(
        [make, make_payload, inspect_payload, echo], backend=RayBackend(poll_interval=0.2)
    )
    made, _, seen, field, text = await run(
        toolset,
        call(1, "make_payload", log=str(log)),
        call(2, "make", log=str(log)),
        call(3, "inspect_payload", payload="future_1"),
        call(4, "echo", text="future_2.items[0].id"),
        call(5, "echo", text="id=future_2.items[0].id"),
    )
    assert isinstance(made.value, ray.ObjectRef)
    kind, size, pid = seen.content.split(":")
    assert (kind, size) == ("Tracked", "2000000")
    assert field.content == "item-7"
    assert text.content == "id=item-7"
    unpicklers = {int(p) for p in log.read_text().split()}
    assert os.getpid() not in unpicklers  # the driver never materialised the value
    assert int(pid) in unpicklers  # the dependent task did


def test_a_field_reference_becomes_a_remote_select_step() -> None:
    ref = ray.put({"items": [{"id": "x"}], "big": "y" * 10_000})
    inputs: dict[int, Any] = {1: ref}
    arguments = {"a": "future_1.items[0].id", "b": ["future_1"], "c": "n=future_1.items[0].id"}
    rewritten = _select_fields(arguments, inputs)
    assert rewritten == {"a": f"future_{SELECTED}", "b": ["future_1"], "c": f"n=future_{SELECTED}"}
    assert inputs[1] is ref  # a whole-value reference passes the ObjectRef on
    assert set(inputs) == {1, SELECTED}  # one step for the two uses of the same field
    assert ray.get(inputs[SELECTED]) == "x"  # (the test fetches it; the backend never does)


async def test_a_bad_field_path_is_a_precise_error() -> None:
    toolset = a.Toolset([make, echo], backend=RayBackend(poll_interval=0.2))
    _, bad = await run(
        toolset, call(1, "make", log=os.devnull), call(2, "echo", text="future_1.nope")
    )
    assert bad.error_kind == "unknown_future"
    assert "no field 'nope'" in bad.content


async def test_an_in_process_tool_gets_the_value_of_a_ray_future() -> None:
    remote = a.Toolset([double], backend=RayBackend(poll_interval=0.2))
    toolset = a.Toolset([remote["double"], a.tool(name="plus_one")(lambda x: x + 1)])
    _, after = await run(toolset, call(1, "double", x=4), call(2, "plus_one", x="future_1"))
    assert after.content == "9"
    assert after.value == 9


async def test_a_timeout_cancels_the_task_on_ray(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    toolset = a.Toolset([a.tool(timeout=3.0)(nap)], backend=RayBackend(poll_interval=0.2))
    # A warm worker with the function loaded, so the timed call starts well within 3 s
    # (the timeout counts from submission, queueing included).
    (warm,) = await run(toolset, call(0, "nap", marker=str(marker), seconds=0))
    assert warm.content == "slept"
    (result,) = await run(toolset, call(1, "nap", marker=str(marker)))
    assert result.error_kind == "timeout"
    assert "timed out after 3 s" in result.content
    assert wait_for_file(marker, "interrupted") == "interrupted"  # ray.cancel reached it


async def test_cancelling_the_run_cancels_the_task_on_ray(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    toolset = a.Toolset([nap, whoami], backend=RayBackend(poll_interval=0.2))
    with anyio.CancelScope() as scope:
        async with a.Scheduler(toolset) as s:
            slow = s.submit(call(1, "nap", marker=str(marker)))
            started = await anyio.to_thread.run_sync(wait_for_file, marker, "started")
            assert started == "started"
            scope.cancel()
            await s.drain()
    assert isinstance(slow, a.Future)
    assert slow.result is not None
    assert slow.result.error_kind == "cancelled"
    assert wait_for_file(marker, "interrupted") == "interrupted"


async def test_a_worker_killed_mid_call_is_an_error_result() -> None:
    toolset = a.Toolset([die, double], backend=RayBackend(poll_interval=0.2))
    results = await run(
        toolset,
        call(1, "double", x=1),
        call(2, "die"),
        call(3, "double", x="future_2"),
        call(4, "double", x=2),
    )
    assert [r.call_id for r in results] == ["c1", "c2", "c3", "c4"]
    assert [r.error_kind for r in results] == [None, "worker_lost", "dependency_failed", None]
    assert "died" in results[1].content


async def test_a_dead_actor_fails_every_later_call() -> None:
    actor = RayActor(Counter, poll_interval=0.2)
    toolset = actor.toolset()
    assert set(toolset.names()) == {"add", "crash"}
    results = await run(toolset, call(1, "add", n=1), call(2, "crash"), call(3, "add", n=1))
    assert [r.error_kind for r in results] == [None, "worker_lost", "worker_lost"]
    assert "state is lost" in results[2].content


async def test_labels_order_calls_on_ray(tmp_path: Path) -> None:
    def write(path: str) -> str:
        time.sleep(0.5)
        Path(path).write_text("written")
        return "ok"

    def read(path: str) -> str:
        return Path(path).read_text() if Path(path).exists() else "missing"

    backend = RayBackend(poll_interval=0.2)
    toolset = a.Toolset(
        [a.tool(writes=["file"])(write), a.tool(reads=["file"])(read)], backend=backend
    )
    target = str(tmp_path / "f")
    _, seen = await run(toolset, call(1, "write", path=target), call(2, "read", path=target))
    assert seen.content == "written"  # the read waited for the conflicting write


async def test_agents_share_the_cluster() -> None:
    def agent(start: int) -> tuple[a.Agent, RayActor]:
        actor = RayActor(Counter, kwargs={"start": start}, poll_interval=0.2)
        script = [
            a.Reply(calls=[("add", {"n": 1})]),
            a.Reply(calls=[("await_future", {"future_ids": ["future_1"]})]),
            a.Reply(text="done"),
        ]
        model = a.ScriptedModel(script=script, ttft=0.0)
        return a.Agent(model=model, toolset=actor.toolset(["add"])), actor

    agents = [agent(100 * i) for i in range(3)]
    runs: list[a.AgentRun] = []

    async def play(ag: a.Agent) -> None:
        runs.append(await ag.run("go"))

    async with anyio.create_task_group() as tg:
        for ag, _ in agents:
            tg.start_soon(play, ag)
    totals = sorted(r.content for run_ in runs for r in run_.results.values() if r.name == "add")
    assert totals == ["1", "101", "201"]
    for _, actor in agents:
        actor.kill()


def test_trio_waits_for_ray_in_a_thread() -> None:
    toolset = a.Toolset([double], backend=RayBackend(poll_interval=0.2))

    async def main() -> list[a.ToolResult]:
        return await run(toolset, call(1, "double", x=3), call(2, "double", x="future_1"))

    results = anyio.run(main, backend="trio")
    assert [r.content for r in results] == ["6", "12"]


async def test_the_cluster_going_away_is_a_typed_error(tmp_path: Path) -> None:
    """Must stay last: it shuts Ray down under a running call."""
    toolset = a.Toolset([nap, double], backend=RayBackend(poll_interval=0.2))
    futures: list[a.Future | a.ToolResult] = []

    async def shut_down_under_a_call() -> None:
        async with a.Scheduler(toolset) as s:
            futures.append(s.submit(call(1, "nap", marker=str(tmp_path / "m"))))
            futures.append(s.submit(call(2, "double", x=1)))
            await anyio.sleep(1.0)
            ray.shutdown()
            await s.drain()

    with pytest.raises(RayClusterError, match="Ray is not running"):
        await shut_down_under_a_call()
    assert all(isinstance(f, a.Future) and f.result is not None for f in futures)
    with pytest.raises(RayClusterError):
        await run(toolset, call(3, "double", x=1))
