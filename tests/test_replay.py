"""The replay model's batching policies and the task bounds (R_task, R_turn), on hand-made plans.

Everything runs on trio's MockClock, so decode and tool times are exact and the assertions
compare structure and exact arithmetic, never wall-clock behaviour.  A fake clock needs the
sync tools on the event loop (``sync_tools="loop"``, see :func:`asyncfc.replay.with_latency`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from trio.testing import MockClock

import asyncfc as a
from asyncfc.replay import (
    STRETCH_TOLERANCE,
    Behaviour,
    Environment,
    Latency,
    ModeOutcome,
    Plan,
    PlannedCall,
    TaskBound,
    label_conflicts,
    replay_modes,
    replay_script,
    summarise,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return ("trio", {"clock": MockClock(autojump_threshold=0)})


def _tool(name: str, reads: Sequence[str], writes: Sequence[str]) -> a.Tool:
    def fn() -> str:
        return f"{name} ok"

    return a.tool(fn, name=name, reads=reads, writes=writes)


def fs_toolset() -> a.Toolset:
    return a.Toolset(
        [
            _tool("cd", (), ["fs:/cwd"]),
            _tool("mkdir", ["fs:/cwd"], ["fs:/tree"]),
            _tool("mv", ["fs:/cwd"], ["fs:/tree"]),
            _tool("stat", (), ()),
            _tool("echo", (), ()),
        ]
    )


def _call(name: str, *needs: int) -> PlannedCall:
    return PlannedCall(name=name, arguments={}, needs=needs)


# cd, mkdir, stat, mv, echo(needs stat)
FS_PLAN = Plan(
    prompts=["tidy up"],
    turns=[[_call("cd"), _call("mkdir"), _call("stat"), _call("mv"), _call("echo", 2)]],
)


def batches(run: a.AgentRun) -> list[list[str]]:
    return [
        [c.name for c in m.tool_calls]
        for m in run.messages
        if isinstance(m, a.AssistantMessage) and m.tool_calls
    ]


async def _replay(plan: Plan, toolset: Any, **options: Any) -> dict[str, ModeOutcome]:
    return await replay_modes(
        plan,
        lambda: Environment(toolset=toolset()),
        latency=Latency(seconds=5.0),
        sync_tools="loop",
        **options,
    )


async def test_independent_batching_splits_conflicting_calls() -> None:
    out = await _replay(FS_PLAN, fs_toolset, modes=["parallel"])
    # mkdir reads the cwd cd writes; mv writes the tree mkdir writes; echo needs stat's
    # result, which the model has seen by then (the sync modes show every result)
    assert batches(out["parallel"].run) == [["cd"], ["mkdir", "stat"], ["mv", "echo"]]


async def test_greedy_batching_ends_a_batch_only_at_an_information_dependency() -> None:
    out = await _replay(FS_PLAN, fs_toolset, modes=["parallel"], batching="greedy")
    assert batches(out["parallel"].run) == [["cd", "mkdir", "stat", "mv"], ["echo"]]


@pytest.mark.parametrize("batching", ["independent", "greedy"])
async def test_every_policy_runs_every_call_once_in_every_mode(batching: Any) -> None:
    out = await _replay(FS_PLAN, fs_toolset, batching=batching)
    test = label_conflicts(fs_toolset())
    named = {c.name: c for c in FS_PLAN.flat()}
    for name, o in out.items():
        executed = [c.name for c in o.run.calls if c.name != a.AWAIT_TOOL_NAME]
        assert sorted(executed) == sorted(named), name
        if batching == "independent":
            for batch in batches(o.run):
                real = [named[n] for n in batch if n != a.AWAIT_TOOL_NAME]
                assert not any(test(x, y) for i, x in enumerate(real) for y in real[i + 1 :]), (
                    name,
                    batch,
                )
    # the ablation is told the same conflicts as its labelled counterpart, so the model
    # behaves identically; only the runtime ignores the labels
    assert batches(out["async_nolabels"].run) == batches(out["async"].run)


def test_independent_batching_needs_a_conflict_test_and_policies_are_checked() -> None:
    with pytest.raises(ValueError, match="conflicts test"):
        replay_script(FS_PLAN, "parallel")
    with pytest.raises(ValueError, match="unknown batching policy"):
        replay_script(FS_PLAN, "parallel", batching="eager")  # type: ignore[arg-type]
    # modes that never batch need no test
    replay_script(FS_PLAN, "sequential")
    replay_script(FS_PLAN, "async")
    replay_script(FS_PLAN, "parallel", batching="greedy")


def test_label_conflicts_follow_the_labels_and_ignore_unknown_tools() -> None:
    test = label_conflicts(fs_toolset())
    assert test(_call("cd"), _call("mkdir"))
    assert test(_call("mkdir"), _call("mv"))
    assert not test(_call("stat"), _call("cd"))
    assert not test(_call("ghost"), _call("cd"))


# -- the task bound ------------------------------------------------------------------------


def kv_toolset() -> a.Toolset:
    return a.Toolset(
        [
            _tool("A", (), ()),
            _tool("B", (), ()),
            _tool("C", (), ["kv"]),
            _tool("D", ["kv"], ()),
        ]
    )


# turn 0: A, B (needs A), ghost (an unknown tool: never runs), C (writes kv);
# turn 1: D (reads kv)
KV_PLAN = Plan(
    prompts=["first", "second"],
    turns=[[_call("A"), _call("B", 0), _call("ghost"), _call("C")], [_call("D")]],
)


def _ideal(models: list[a.Interval], cp: float) -> float:
    d = [m.duration for m in sorted(models, key=lambda m: m.start)]
    return d[0] + max(sum(d[1:-1]), cp) + (d[-1] if len(d) > 1 else 0.0)


async def test_task_bound_by_hand() -> None:
    out = await _replay(KV_PLAN, kv_toolset)
    seq = out["sequential"]
    bound = seq.bound
    assert isinstance(bound, TaskBound)
    assert all(o.bound is bound for o in out.values())  # one bound per task, every mode
    m = seq.run.trace.metrics()
    # A -> B (needs) -> barrier -> D: 3 calls of 5 s; ghost weighs 0, C is off the path
    assert bound.t_cp == pytest.approx(15.0)
    assert (bound.t_llm, bound.t_tool) == (m.t_llm, m.t_tool)
    assert m.t_tool == pytest.approx(20.0)
    assert bound.r_task == pytest.approx((m.t_llm + m.t_tool) / max(m.t_llm, 15.0))
    models = seq.run.trace.of_kind("model")
    turn0 = [i for i in models if i.user_turn == 0]
    turn1 = [i for i in models if i.user_turn == 1]
    assert (len(turn0), len(turn1)) == (5, 2)  # one request per call, then the answer
    ideal = (_ideal(turn0, 10.0), _ideal(turn1, 5.0))  # turn 0: A -> B; turn 1: D
    assert bound.ideal_turns == pytest.approx(ideal)
    assert bound.sequential_wall == seq.wall
    assert bound.r_turn == pytest.approx(seq.wall / sum(ideal))
    assert 1.0 <= bound.r_turn <= bound.r_task

    (row_seq, *rows) = summarise([out])
    assert row_seq["mode"] == "sequential"
    assert row_seq["r_task_mean"] == pytest.approx(bound.r_task)
    assert row_seq["efficiency_task_mean"] == pytest.approx(1.0 / bound.r_task)
    assert row_seq["efficiency_turn_mean"] == pytest.approx(1.0 / bound.r_turn)
    for row in rows:
        speed = seq.wall / out[row["mode"]].wall
        assert row["efficiency_task_mean"] == pytest.approx(speed / bound.r_task)
        assert row["efficiency_turn_mean"] == pytest.approx(speed / bound.r_turn)


async def test_conflicts_are_edges_only_towards_earlier_calls() -> None:
    # C writes kv and D reads it: C -> D in one turn, whatever the durations
    plan = Plan(prompts=["go"], turns=[[_call("C"), _call("A"), _call("D")]])
    out = await _replay(plan, kv_toolset, modes=["sequential"])
    bound = out["sequential"].bound
    assert bound is not None
    assert bound.t_cp == pytest.approx(10.0)


async def test_without_a_sequential_run_there_is_no_task_bound() -> None:
    out = await _replay(KV_PLAN, kv_toolset, modes=["parallel", "async"])
    assert all(o.bound is None for o in out.values())
    for row in summarise([out]):
        assert row["r_task_mean"] != row["r_task_mean"]  # NaN


# -- stretched model intervals --------------------------------------------------------------


async def test_model_intervals_are_checked_against_their_scripted_durations() -> None:
    out = await _replay(KV_PLAN, kv_toolset)
    for name, o in out.items():
        models = o.run.trace.of_kind("model")
        assert len(o.scripted_model_seconds) == len(models) == o.run.model_requests, name
        # on the fake clock every request takes exactly its scripted time
        ordered = sorted(models, key=lambda iv: iv.start)
        assert [iv.duration for iv in ordered] == pytest.approx(list(o.scripted_model_seconds))
        assert o.stretched_model_intervals == 0, name
    seq = out["sequential"]
    n = len(seq.scripted_model_seconds)
    # the same intervals against shorter scripts: up to 20 % longer is tolerated
    within = dataclasses.replace(
        seq, scripted_model_seconds=tuple(s / 1.19 for s in seq.scripted_model_seconds)
    )
    assert within.stretched_model_intervals == 0
    beyond = dataclasses.replace(
        seq, scripted_model_seconds=tuple(s / 1.25 for s in seq.scripted_model_seconds)
    )
    assert beyond.stretched_model_intervals == n
    (row, *_) = summarise([{"sequential": beyond}])
    assert (row["model_intervals"], row["stretched_model_intervals"]) == (n, n)
    assert row["model_stretch_max"] == pytest.approx(1.25)
    assert seq.model_stretch() == pytest.approx([1.0] * n)
    assert STRETCH_TOLERANCE == 0.2


# -- model behaviour: batching rate p, reference rate q, await first --------------------


def _pure_toolset() -> a.Toolset:
    def value() -> dict[str, Any]:
        return {"id": "X1"}

    def take(key: str) -> str:
        return f"took {key}"

    return a.Toolset(
        [
            a.tool(value, name="a", reads=(), writes=()),
            a.tool(value, name="b", reads=(), writes=()),
            a.tool(take, name="take", reads=(), writes=()),
        ]
    )


def _ref_plan() -> Plan:
    def arguments(index: int, futures: Any) -> dict[str, Any]:
        if index == 2:
            return {"key": f"{futures[0]}.id" if futures and 0 in futures else "X1"}
        return {}

    calls = [
        PlannedCall(name="a", arguments={}),
        PlannedCall(name="b", arguments={}),
        PlannedCall(name="take", arguments={"key": "X1"}, uses=(0,)),
    ]
    return Plan(prompts=["go"], turns=[calls], arguments=arguments)


@pytest.mark.parametrize(
    ("rate", "expected"), [(1.0, [["a", "b"], ["take"]]), (0.0, [["a"], ["b"], ["take"]])]
)
async def test_batching_rate_bounds_what_one_response_carries(
    rate: float, expected: list[list[str]]
) -> None:
    out = await _replay(
        _ref_plan(), _pure_toolset, modes=["parallel"], behaviour=Behaviour(batching_rate=rate)
    )
    assert batches(out["parallel"].run) == expected


def test_batching_draws_are_seeded_and_shared_by_modes() -> None:
    half = Behaviour(batching_rate=0.5, seed=3)
    draws = [half.batches(i) for i in range(200)]
    assert draws == [Behaviour(batching_rate=0.5, seed=3).batches(i) for i in range(200)]
    assert 60 < sum(draws) < 140  # about half, not all or none
    with pytest.raises(ValueError, match="batching_rate"):
        Behaviour(batching_rate=1.5)


@pytest.mark.parametrize(("rate", "awaits"), [(1.0, 0), (0.0, 1)])
async def test_reference_rate_chooses_reference_or_await(rate: float, awaits: int) -> None:
    out = await _replay(
        _ref_plan(),
        _pure_toolset,
        modes=["async_parallel"],
        behaviour=Behaviour(reference_rate=rate, inline_await_rate=0.0),
    )
    run = out["async_parallel"].run
    assert run.awaits == awaits
    take = next(c for c in run.calls if c.name == "take")
    assert ("future_1.id" in take.arguments) is (rate == 1.0)
    assert not any(r.is_error for r in run.results.values())
    assert run.results[take.id].content == "took X1"


async def test_await_first_awaits_before_the_final_answer() -> None:
    out = await _replay(
        _ref_plan(),
        _pure_toolset,
        modes=["async_parallel"],
        behaviour=Behaviour(await_first=True, inline_await_rate=0.0),
        final_answer="reask",
    )
    run = out["async_parallel"].run
    # a and b in one response, take by reference, then one await of every unseen future,
    # then the answer: nothing is pending when it is written, so it is never asked again.
    assert batches(run)[-1] == [a.AWAIT_TOOL_NAME]
    assert run.model_requests == 4
    assert run.stop_reasons == ["final"]


@pytest.mark.parametrize("rate", [0.0, 1.0])
async def test_inline_awaits_go_in_the_response_of_the_calls(rate: float) -> None:
    """r = 1: the model ends a response with ``await_future`` (no ids) where its next call
    needs a value from it, and before answering when a read is unseen; r = 0: each await is
    a response of its own, and an answer written while a read is pending is asked again."""
    out = await _replay(
        _ref_plan(),
        _pure_toolset,
        modes=["parallel", "async_parallel"],
        behaviour=Behaviour(reference_rate=0.0, inline_await_rate=rate),
    )
    run = out["async_parallel"].run
    if rate == 1.0:
        assert batches(run) == [
            ["a", "b", a.AWAIT_TOOL_NAME],
            ["take", a.AWAIT_TOOL_NAME],
        ]
        awaits = [m for m in run.messages if isinstance(m, a.ToolResultsMessage)]
        assert "future_1 = " in awaits[0].results[-1].content  # a's value, then copied
        assert run.model_requests == out["parallel"].run.model_requests == 3
        assert run.wait_only_responses == 0
    else:
        assert batches(run) == [["a", "b"], [a.AWAIT_TOOL_NAME], ["take"]]
        assert run.model_requests == 5  # the await's own request, and the re-asked answer
        assert run.wait_only_responses == 1
    take = next(c for c in run.calls if c.name == "take")
    assert "X1" in take.arguments
    assert run.results[take.id].content == "took X1"
    assert run.stop_reasons == ["final"]


def test_inline_await_rate_is_checked_and_seeded() -> None:
    with pytest.raises(ValueError, match="inline_await_rate"):
        Behaviour(inline_await_rate=-0.1)
    half = Behaviour(inline_await_rate=0.5, seed=1)
    draws = [half.inlines_await(i, "t") for i in range(200)]
    assert draws == [
        Behaviour(inline_await_rate=0.5, seed=1).inlines_await(i, "t") for i in range(200)
    ]
    assert 60 < sum(draws) < 140
