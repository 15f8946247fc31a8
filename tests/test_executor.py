"""The batch executor: order, collect-all, concurrency, threads, cancellation and limits."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import trio.testing

from asyncfc import (
    BatchResult,
    DuplicateCallIdError,
    ToolCall,
    ToolContext,
    ToolExecutor,
    Toolset,
    Trace,
    tool,
)

pytestmark = pytest.mark.anyio

CALLER_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("CALLER_VAR", default="unset")


def call(id: str, name: str, arguments: Any = "{}") -> ToolCall:
    return ToolCall(id=id, name=name, arguments=arguments)


def contents(batch: BatchResult) -> list[tuple[str, bool, str]]:
    return [(r.call_id, r.is_error, r.content) for r in batch.results]


def running_tasks() -> int:
    """How many tasks exist on the current event loop (either backend)."""
    if not trio.lowlevel.in_trio_task():
        return len(asyncio.all_tasks())
    count = 0
    pending = [trio.lowlevel.current_root_task()]
    while pending:
        task = pending.pop()
        if task is None:
            continue
        count += 1
        for nursery in task.child_nurseries:
            pending.extend(nursery.child_tasks)
    return count


async def wait_all(events: list[anyio.Event]) -> None:
    for e in events:
        await e.wait()


# --- settings --------------------------------------------------------------------------------


def test_default_mode_is_sequential() -> None:
    assert ToolExecutor(toolset=Toolset()).mode == "sequential"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "parallel"},
        {"max_concurrency": 0},
        {"timeout": 0},
        {"timeout": -1.0},
        {"batch_timeout": 0},
        {"max_result_chars": 0},
    ],
)
def test_invalid_settings_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ToolExecutor(toolset=Toolset(), **kwargs)


# --- order and overlap -----------------------------------------------------------------------


async def test_concurrent_results_keep_call_order_when_completion_is_reversed() -> None:
    finished: list[str] = []
    gates = {k: anyio.Event() for k in "abc"}
    started = {k: anyio.Event() for k in "abc"}

    async def step(key: str) -> str:
        started[key].set()
        await gates[key].wait()
        finished.append(key)
        return key.upper()

    async def release_in_reverse() -> None:
        await wait_all(list(started.values()))
        for key in "cba":
            gates[key].set()
            await anyio.lowlevel.checkpoint()
            while key not in finished:
                await anyio.lowlevel.checkpoint()

    executor = ToolExecutor(toolset=Toolset([step]), mode="concurrent")
    calls = [call(f"id-{k}", "step", {"key": k}) for k in "abc"]
    async with anyio.create_task_group() as tg:
        tg.start_soon(release_in_reverse)
        batch = await executor.run(calls)
    assert finished == ["c", "b", "a"]
    assert contents(batch) == [("id-a", False, "A"), ("id-b", False, "B"), ("id-c", False, "C")]


async def test_concurrent_calls_overlap() -> None:
    """Each tool waits until the other one has started: only overlapping calls can finish."""
    started = {"left": anyio.Event(), "right": anyio.Event()}

    async def meet(me: str, other: str) -> str:
        started[me].set()
        await started[other].wait()
        return f"{me} met {other}"

    executor = ToolExecutor(toolset=Toolset([meet]), mode="concurrent")
    batch = await executor.run(
        [
            call("1", "meet", {"me": "left", "other": "right"}),
            call("2", "meet", {"me": "right", "other": "left"}),
        ]
    )
    assert [r.content for r in batch.results] == ["left met right", "right met left"]


async def test_sync_tools_overlap_in_worker_threads() -> None:
    barrier = threading.Barrier(2, timeout=10)
    main_thread = threading.get_ident()

    def rendezvous(n: int) -> int:
        assert threading.get_ident() != main_thread
        barrier.wait()  # raises BrokenBarrierError unless both calls run at the same moment
        return n

    executor = ToolExecutor(toolset=Toolset([rendezvous]), mode="concurrent")
    batch = await executor.run(
        [call("1", "rendezvous", {"n": 1}), call("2", "rendezvous", {"n": 2})]
    )
    assert contents(batch) == [("1", False, "1"), ("2", False, "2")]


async def test_sequential_mode_runs_one_call_at_a_time_in_order() -> None:
    log: list[str] = []

    async def async_step(n: int) -> int:
        log.append(f"start {n}")
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        log.append(f"end {n}")
        return n

    def sync_step(n: int) -> int:
        log.append(f"start {n}")
        log.append(f"end {n}")
        return n

    executor = ToolExecutor(toolset=Toolset([async_step, sync_step]))
    batch = await executor.run(
        [
            call("a", "async_step", {"n": 1}),
            call("b", "sync_step", {"n": 2}),
            call("c", "async_step", {"n": 3}),
        ]
    )
    assert log == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]
    assert [r.value for r in batch.results] == [1, 2, 3]


# --- where calls run -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
async def test_sync_tools_run_in_threads_with_contextvars_copied(mode: str) -> None:
    main_thread = threading.get_ident()

    def where() -> dict[str, Any]:
        return {"other_thread": threading.get_ident() != main_thread, "var": CALLER_VAR.get()}

    executor = ToolExecutor(toolset=Toolset([where]), mode=mode)  # type: ignore[arg-type]
    token = CALLER_VAR.set("from the caller")
    try:
        batch = await executor.run([call("1", "where"), call("2", "where")])
    finally:
        CALLER_VAR.reset(token)
    for r in batch.results:
        assert r.value == {"other_thread": True, "var": "from the caller"}


async def test_async_tools_run_on_the_event_loop_thread() -> None:
    main_thread = threading.get_ident()

    async def where() -> bool:
        return threading.get_ident() == main_thread

    executor = ToolExecutor(toolset=Toolset([where]), mode="concurrent")
    batch = await executor.run([call("1", "where"), call("2", "where")])
    assert [r.value for r in batch.results] == [True, True]


@pytest.mark.parametrize("with_cancel_event", [False, True])
async def test_a_batch_of_one_runs_inline_in_the_callers_task(with_cancel_event: bool) -> None:
    """Inline means the tool runs in the very task that awaited ``run``: no task group."""

    async def task_id() -> int:
        return anyio.get_current_task().id

    executor = ToolExecutor(toolset=Toolset([task_id]), mode="concurrent")
    cancel = anyio.Event() if with_cancel_event else None
    caller = anyio.get_current_task().id
    one = await executor.run([call("1", "task_id")], cancel=cancel)
    assert one.results[0].value == caller
    two = await executor.run([call("1", "task_id"), call("2", "task_id")], cancel=cancel)
    assert caller not in [r.value for r in two.results]
    assert two.results[0].value != two.results[1].value


# --- collect-all -----------------------------------------------------------------------------


def add(a: int, b: int) -> int:
    return a + b


async def async_add(a: int, b: int) -> int:
    await anyio.lowlevel.checkpoint()
    return a + b


def explode(text: str) -> None:
    raise RuntimeError(text)


async def async_explode() -> None:
    await anyio.lowlevel.checkpoint()
    raise LookupError("no such row")


async def hang() -> None:
    await anyio.sleep_forever()


# Only ``hang`` has a (tiny) timeout, so a slow worker thread cannot turn ``add`` into a timeout.
COLLECT_TOOLS = Toolset([add, async_add, explode, async_explode, tool(timeout=0.01)(hang)])

BAD_CALLS: list[tuple[ToolCall, str, str]] = [
    (call("unknown", "subtract", '{"a": 1}'), "unknown_tool", "unknown tool 'subtract'"),
    (call("json", "add", '{"a": 1,'), "invalid_json", "not valid JSON"),
    (call("nonobj", "add", "[1, 2]"), "invalid_json", "must be a JSON object, got list"),
    (call("missing", "add", '{"a": 1}'), "invalid_arguments", "argument 'b' is required"),
    (call("extra", "add", '{"a": 1, "b": 2, "c": 3}'), "invalid_arguments", "'c' is not a"),
    (call("wrong", "add", '{"a": 1, "b": "two"}'), "invalid_arguments", "argument 'b': "),
    (call("raise", "explode", '{"text": "bang"}'), "exception", "raised RuntimeError: bang"),
    (call("araise", "async_explode"), "exception", "raised LookupError: no such row"),
    (call("timeout", "hang"), "timeout", "tool 'hang' timed out after 0.01 s"),
]


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
@pytest.mark.parametrize(
    ("bad", "kind", "fragment"), BAD_CALLS, ids=[c.id for c, _, _ in BAD_CALLS]
)
async def test_each_bad_call_is_an_error_result_and_siblings_are_kept(
    mode: str, bad: ToolCall, kind: str, fragment: str
) -> None:
    executor = ToolExecutor(toolset=COLLECT_TOOLS, mode=mode)  # type: ignore[arg-type]
    batch = await executor.run(
        [
            call("before", "add", '{"a": 1, "b": 2}'),
            bad,
            call("after", "async_add", {"a": 3, "b": 4}),
        ]
    )
    before, failed, after = batch.results
    assert (before.call_id, before.is_error, before.value) == ("before", False, 3)
    assert (after.call_id, after.is_error, after.value) == ("after", False, 7)
    assert failed.call_id == bad.id
    assert failed.is_error
    assert failed.error_kind == kind
    assert fragment in failed.content
    assert failed.content.startswith("Error: ")


async def test_all_bad_calls_in_one_concurrent_batch() -> None:
    executor = ToolExecutor(toolset=COLLECT_TOOLS, mode="concurrent")
    calls = [c for c, _, _ in BAD_CALLS] + [call("ok", "add", {"a": 2, "b": 2})]
    batch = await executor.run(calls)
    assert [r.call_id for r in batch.results] == [c.id for c in calls]
    assert [r.error_kind for r in batch.results] == [k for _, k, _ in BAD_CALLS] + [None]
    assert batch.results[-1].content == "4"


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
async def test_duplicate_call_ids_are_rejected_before_anything_runs(mode: str) -> None:
    ran: list[int] = []

    def record(n: int) -> None:
        ran.append(n)

    executor = ToolExecutor(toolset=Toolset([record]), mode=mode)  # type: ignore[arg-type]
    calls = [
        call("x", "record", {"n": 1}),
        call("y", "record", {"n": 2}),
        call("x", "record", {"n": 3}),
    ]
    with pytest.raises(DuplicateCallIdError, match="duplicate tool call id 'x'"):
        await executor.run(calls)
    assert ran == []
    assert issubclass(DuplicateCallIdError, ValueError)


async def test_empty_batch() -> None:
    batch = await ToolExecutor(toolset=COLLECT_TOOLS, mode="concurrent").run([])
    assert batch == BatchResult(results=(), return_direct=False)


# --- results ---------------------------------------------------------------------------------


class Unserialisable:
    def __str__(self) -> str:
        return "an opaque handle"


async def test_unserialisable_result_falls_back_to_str_with_a_note() -> None:
    handle = Unserialisable()
    executor = ToolExecutor(toolset=Toolset([tool(name="opaque")(lambda: handle)]))
    (result,) = (await executor.run([call("1", "opaque")])).results
    assert not result.is_error
    assert result.value is handle
    assert result.content == (
        "an opaque handle [note: result was not JSON-serialisable; shown with str()]"
    )


async def test_oversized_result_is_truncated_with_a_marker() -> None:
    executor = ToolExecutor(
        toolset=Toolset([tool(name="big")(lambda: "z" * 100)]), max_result_chars=40
    )
    (result,) = (await executor.run([call("1", "big")])).results
    assert result.content == "z" * 40 + "… [truncated: 40 of 100 characters shown]"
    unlimited = ToolExecutor(toolset=executor.toolset, max_result_chars=None)
    assert (await unlimited.run([call("1", "big")])).results[0].content == "z" * 100


async def test_context_is_passed_read_only_and_shared() -> None:
    seen: list[ToolContext] = []

    async def whoami(ctx: ToolContext) -> str:
        seen.append(ctx)
        return str(ctx["user"])

    def whoami_sync(ctx: ToolContext) -> str:
        seen.append(ctx)
        return str(ctx["user"])

    source = {"user": "alice"}
    executor = ToolExecutor(
        toolset=Toolset([whoami, whoami_sync]), mode="concurrent", context=source
    )
    source["user"] = "mallory"
    batch = await executor.run([call("1", "whoami"), call("2", "whoami_sync")])
    assert [r.content for r in batch.results] == ["alice", "alice"]
    assert seen[0] is seen[1]
    assert isinstance(seen[0], ToolContext)
    with pytest.raises(TypeError):
        seen[0]["user"] = "eve"  # type: ignore[index]


# --- return_direct ---------------------------------------------------------------------------


def _rd_tools() -> Toolset:
    def finish(text: str) -> str:
        return text

    def fail_finish() -> str:
        raise ValueError("cannot finish")

    def lookup() -> str:
        return "data"

    return Toolset(
        [
            tool(return_direct=True)(finish),
            tool(return_direct=True)(fail_finish),
            tool(lookup),
        ]
    )


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["finish"], True),
        (["finish", "finish"], True),
        (["finish", "lookup"], False),
        (["lookup"], False),
        (["finish", "fail_finish"], False),
        (["fail_finish"], False),
        (["finish", "missing_tool"], False),
    ],
)
async def test_return_direct_is_the_and_over_successful_calls(
    mode: str, names: list[str], expected: bool
) -> None:
    executor = ToolExecutor(toolset=_rd_tools(), mode=mode)  # type: ignore[arg-type]
    args = {"finish": {"text": "bye"}}
    batch = await executor.run([call(str(i), n, args.get(n, {})) for i, n in enumerate(names)])
    assert batch.return_direct is expected
    for name, result in zip(names, batch.results, strict=True):
        assert result.return_direct is (name == "finish")


# --- timeouts --------------------------------------------------------------------------------


async def test_tool_timeout_overrides_the_default() -> None:
    """``patient`` outlives the default timeout (it waits until ``hang`` timed out under it)
    and still succeeds because its own timeout is longer; ``quick`` has its own short one."""
    hang_ended = anyio.Event()

    async def hang() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            hang_ended.set()

    async def patient() -> str:
        await hang_ended.wait()
        return "made it"

    async def quick() -> None:
        await anyio.sleep_forever()

    toolset = Toolset([hang, tool(timeout=3600)(patient), tool(timeout=0.001)(quick)])
    executor = ToolExecutor(toolset=toolset, mode="concurrent", timeout=0.02)
    batch = await executor.run([call("1", "hang"), call("2", "patient"), call("3", "quick")])
    assert contents(batch) == [
        ("1", True, "Error: tool 'hang' timed out after 0.02 s"),
        ("2", False, "made it"),
        ("3", True, "Error: tool 'quick' timed out after 0.001 s"),
    ]


async def test_timed_out_sync_tool_is_abandoned_and_its_result_dropped() -> None:
    release = threading.Event()
    finished = threading.Event()

    def stuck() -> str:
        release.wait(10)
        finished.set()
        return "late"

    executor = ToolExecutor(toolset=Toolset([tool(timeout=0.01)(stuck)]))
    batch = await executor.run([call("1", "stuck"), call("2", "stuck")])
    assert [r.error_kind for r in batch.results] == ["timeout", "timeout"]
    assert not finished.is_set()
    release.set()
    await anyio.to_thread.run_sync(finished.wait, 10)
    assert finished.is_set()


# --- cancellation and deadline ---------------------------------------------------------------


class CancelProbe:
    """Async tools that record how they ended; ``wait`` blocks until cancelled."""

    def __init__(self) -> None:
        self.started: dict[int, anyio.Event] = {}
        self.cancelled: list[int] = []
        self.thread_release = threading.Event()
        self.thread_done = threading.Event()

    def toolset(self) -> Toolset:
        async def wait(n: int) -> None:
            self.started.setdefault(n, anyio.Event()).set()
            try:
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                self.cancelled.append(n)
                raise

        async def quick(n: int) -> int:
            return n

        def blocking_sync() -> str:
            self.thread_release.wait(10)
            self.thread_done.set()
            return "too late"

        return Toolset([wait, quick, blocking_sync])

    def started_event(self, n: int) -> anyio.Event:
        return self.started.setdefault(n, anyio.Event())


async def _cancel_after(events: list[anyio.Event], cancel: anyio.Event) -> None:
    await wait_all(events)
    cancel.set()


async def _run_with(
    coro_fn: Callable[[], Awaitable[BatchResult]], helper: Callable[[], Awaitable[None]]
) -> BatchResult:
    out: list[BatchResult] = []

    async def main() -> None:
        out.append(await coro_fn())

    with anyio.fail_after(30):  # a safety net against a hang, not a timing assertion
        async with anyio.create_task_group() as tg:
            tg.start_soon(helper)
            tg.start_soon(main)
    return out[0]


async def test_cancel_event_in_concurrent_mode() -> None:
    probe = CancelProbe()
    executor = ToolExecutor(toolset=probe.toolset(), mode="concurrent")
    cancel = anyio.Event()
    calls = [
        call("w1", "wait", {"n": 1}),
        call("q", "quick", {"n": 7}),
        call("w2", "wait", {"n": 2}),
    ]
    tasks_before = running_tasks()
    batch = await _run_with(
        lambda: executor.run(calls, cancel=cancel),
        lambda: _cancel_after([probe.started_event(1), probe.started_event(2)], cancel),
    )
    assert sorted(probe.cancelled) == [1, 2]
    assert contents(batch) == [
        ("w1", True, "Error: the batch was cancelled before this call finished"),
        ("q", False, "7"),
        ("w2", True, "Error: the batch was cancelled before this call finished"),
    ]
    assert [r.error_kind for r in batch.results] == ["cancelled", None, "cancelled"]
    assert not batch.return_direct
    assert running_tasks() == tasks_before


async def test_cancel_event_in_sequential_mode_skips_the_rest() -> None:
    probe = CancelProbe()
    executor = ToolExecutor(toolset=probe.toolset())
    cancel = anyio.Event()
    calls = [
        call("q", "quick", {"n": 1}),
        call("w", "wait", {"n": 2}),
        call("never", "quick", {"n": 3}),
    ]
    batch = await _run_with(
        lambda: executor.run(calls, cancel=cancel),
        lambda: _cancel_after([probe.started_event(2)], cancel),
    )
    assert probe.cancelled == [2]
    assert [r.error_kind for r in batch.results] == [None, "cancelled", "cancelled"]


async def test_cancel_event_set_before_the_batch_runs_nothing() -> None:
    ran: list[int] = []

    async def record(n: int) -> None:
        ran.append(n)

    cancel = anyio.Event()
    cancel.set()
    for mode in ("sequential", "concurrent"):
        executor = ToolExecutor(toolset=Toolset([record]), mode=mode)  # type: ignore[arg-type]
        batch = await executor.run(
            [call("1", "record", {"n": 1}), call("2", "record", {"n": 2})], cancel=cancel
        )
        assert [r.error_kind for r in batch.results] == ["cancelled", "cancelled"]
        assert "cancelled before this call started" in batch.results[0].content
    assert ran == []


async def test_unset_cancel_event_changes_nothing() -> None:
    probe = CancelProbe()
    executor = ToolExecutor(toolset=probe.toolset(), mode="concurrent")
    tasks_before = running_tasks()
    batch = await executor.run(
        [call("1", "quick", {"n": 1}), call("2", "quick", {"n": 2})], cancel=anyio.Event()
    )
    assert [r.value for r in batch.results] == [1, 2]
    assert running_tasks() == tasks_before


async def test_cancelled_sync_tool_thread_is_abandoned() -> None:
    probe = CancelProbe()
    executor = ToolExecutor(toolset=probe.toolset(), mode="concurrent")
    cancel = anyio.Event()

    async def cancel_when_thread_runs() -> None:
        await probe.started_event(1).wait()
        await anyio.to_thread.run_sync(lambda: None)  # the sync call has had time to start
        cancel.set()

    batch = await _run_with(
        lambda: executor.run(
            [call("s", "blocking_sync"), call("w", "wait", {"n": 1})], cancel=cancel
        ),
        cancel_when_thread_runs,
    )
    assert [r.error_kind for r in batch.results] == ["cancelled", "cancelled"]
    assert not probe.thread_done.is_set()  # the thread is still blocked, its result dropped
    probe.thread_release.set()
    await anyio.to_thread.run_sync(probe.thread_done.wait, 10)
    assert probe.thread_done.is_set()


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
async def test_batch_timeout(mode: str) -> None:
    probe = CancelProbe()
    executor = ToolExecutor(
        toolset=probe.toolset(),
        mode=mode,  # type: ignore[arg-type]
        batch_timeout=0.02,
    )
    tasks_before = running_tasks()
    batch = await executor.run(
        [call("q", "quick", {"n": 5}), call("w", "wait", {"n": 1}), call("z", "wait", {"n": 2})],
        cancel=anyio.Event(),  # given but never set: the deadline is the reason
    )
    expected_cancelled = [1] if mode == "sequential" else [1, 2]
    assert sorted(probe.cancelled) == expected_cancelled
    assert contents(batch) == [
        ("q", False, "5"),
        ("w", True, "Error: the batch deadline of 0.02 s passed before this call finished"),
        ("z", True, "Error: the batch deadline of 0.02 s passed before this call finished"),
    ]
    assert running_tasks() == tasks_before


async def test_caller_cancellation_propagates() -> None:
    probe = CancelProbe()
    executor = ToolExecutor(toolset=probe.toolset(), mode="concurrent")
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def stop() -> None:
                await wait_all([probe.started_event(1), probe.started_event(2)])
                scope.cancel()

            tg.start_soon(stop)
            await executor.run([call("1", "wait", {"n": 1}), call("2", "wait", {"n": 2})])
            pytest.fail("run returned although its caller was cancelled")  # pragma: no cover
    assert sorted(probe.cancelled) == [1, 2]


# --- max_concurrency -------------------------------------------------------------------------


@pytest.mark.parametrize("bound", [1, 2, 3])
async def test_max_concurrency_bounds_async_calls(bound: int) -> None:
    running = 0
    peak = 0

    async def busy() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(5):  # let every other ready call start if the bound allowed it
            await anyio.lowlevel.checkpoint()
        running -= 1

    executor = ToolExecutor(toolset=Toolset([busy]), mode="concurrent", max_concurrency=bound)
    batch = await executor.run([call(str(i), "busy") for i in range(7)])
    assert not any(r.is_error for r in batch.results)
    assert peak == bound


async def test_unbounded_concurrency_starts_every_call() -> None:
    started = [anyio.Event() for _ in range(20)]

    async def wait_for_all(i: int) -> int:
        started[i].set()
        await wait_all(started)  # would never finish if any call had to wait for another
        return i

    executor = ToolExecutor(toolset=Toolset([wait_for_all]), mode="concurrent")
    batch = await executor.run([call(str(i), "wait_for_all", {"i": i}) for i in range(20)])
    assert [r.value for r in batch.results] == list(range(20))


async def test_max_concurrency_bounds_sync_calls() -> None:
    lock = threading.Lock()
    running = 0
    peak = 0
    barrier = threading.Barrier(2, timeout=10)

    def busy() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        barrier.wait()  # two calls must be running together
        with lock:
            running -= 1

    executor = ToolExecutor(toolset=Toolset([busy]), mode="concurrent", max_concurrency=2)
    batch = await executor.run([call(str(i), "busy") for i in range(6)])
    assert not any(r.is_error for r in batch.results), batch
    assert peak == 2


# --- trace -----------------------------------------------------------------------------------


async def test_trace_records_executed_calls_only() -> None:
    trace = Trace()
    executor = ToolExecutor(toolset=COLLECT_TOOLS, mode="concurrent")
    await executor.run(
        [
            call("ok", "add", {"a": 1, "b": 1}),
            call("bad", "add", {"a": 1}),
            call("unknown", "nope"),
            call("json", "add", "{"),
            call("boom", "explode", {"text": "x"}),
        ],
        trace=trace,
        request=4,
    )
    tools = trace.of_kind("tool")
    assert sorted((i.call_id, i.name, i.ok, i.request) for i in tools) == [
        ("boom", "explode", False, 4),
        ("ok", "add", True, 4),
    ]
    assert all(i.end >= i.start for i in tools)


MOCK_TRIO = pytest.param(
    ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock"
)


@pytest.mark.parametrize("anyio_backend", [MOCK_TRIO])
@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
async def test_trace_intervals_on_a_fake_clock(mode: str) -> None:
    """The seed's example (2.5 s, 3.0 s, 2.5 s) in virtual time: exact intervals."""

    async def work(seconds: float) -> float:
        await anyio.sleep(seconds)
        return seconds

    trace = Trace()
    executor = ToolExecutor(toolset=Toolset([work]), mode=mode)  # type: ignore[arg-type]
    t0 = anyio.current_time()
    await executor.run(
        [call(str(i), "work", {"seconds": s}) for i, s in enumerate([2.5, 3.0, 2.5])],
        trace=trace,
    )
    ordered = sorted(trace.intervals, key=lambda i: i.call_id or "")
    assert [i.call_id for i in ordered] == ["0", "1", "2"]
    spans = [x for i in ordered for x in (i.start - t0, i.end - t0)]
    metrics = trace.metrics()
    assert metrics.t_tool == pytest.approx(8.0)
    if mode == "sequential":
        assert spans == pytest.approx([0, 2.5, 2.5, 5.5, 5.5, 8.0])
        assert metrics.wall == pytest.approx(8.0)
        assert metrics.parallel_saving == pytest.approx(0.0)
    else:
        assert spans == pytest.approx([0, 2.5, 0, 3.0, 0, 2.5])
        assert metrics.wall == pytest.approx(3.0)
        assert metrics.parallel_saving == pytest.approx(5.0)


class Bug(BaseException):
    """Not an ``Exception``: escapes collect-all, as a programmer error would."""


async def test_an_escaping_base_exception_cancels_the_siblings_and_is_raised_as_itself() -> None:
    probe = CancelProbe()

    async def buggy() -> None:
        await probe.started_event(1).wait()
        raise Bug("broken")

    toolset = probe.toolset()
    toolset.add(buggy)
    executor = ToolExecutor(toolset=toolset, mode="concurrent")
    tasks_before = running_tasks()
    with pytest.raises(Bug, match="broken"):
        await executor.run([call("1", "wait", {"n": 1}), call("2", "buggy")])
    assert probe.cancelled == [1]
    assert running_tasks() == tasks_before


# --- respect_labels ---------------------------------------------------------------------------


def test_concurrent_mode_can_honour_labels() -> None:
    """Conflicting labelled calls keep the model's order, unlabelled tools serialize against
    everything, the rest start at once (exact times on trio's MockClock)."""
    from runtime_support import intervals_by_call, run_mock, timed_tool

    tools = Toolset(
        [
            timed_tool("put", 1, reads=(), writes=["kv:/a"]),
            timed_tool("get_b", 1, reads=["kv:/b"], writes=()),
            timed_tool("raw", 1),
        ]
    )
    calls = [
        call("p1", "put", {"x": 1}),
        call("g", "get_b", {"x": 2}),
        call("p2", "put", {"x": 3}),
        call("u", "raw", {"x": 4}),
    ]

    def spans(**options: Any) -> dict[str, tuple[float, float]]:
        trace = Trace()

        async def main() -> None:
            batch = await ToolExecutor(toolset=tools, mode="concurrent", **options).run(
                calls, trace=trace
            )
            assert [r.value for r in batch.results] == [1, 2, 3, 4]

        run_mock(main)
        return {k: (v.start, v.end) for k, v in intervals_by_call(trace).items()}

    assert spans() == {"p1": (0, 1), "g": (0, 1), "p2": (0, 1), "u": (0, 1)}
    assert spans(respect_labels=True) == {"p1": (0, 1), "g": (0, 1), "p2": (1, 2), "u": (2, 3)}


def test_respect_labels_needs_concurrent_mode() -> None:
    with pytest.raises(ValueError, match="respect_labels applies to mode='concurrent'"):
        ToolExecutor(toolset=Toolset(), respect_labels=True)
