"""Property-based tests of the runtime over random call DAGs (hypothesis).

A random *program* is a list of calls on a small key-value store whose tools are labelled
per key, on a tree where ``kv:/a/x`` lies under ``kv:/a``, plus an unlabelled tool that
snapshots the whole store and a pure tool.  Calls pass literals or references to earlier
futures (whole or embedded), sleep a random time, and sometimes fail.  A ScriptedModel
emits the program (one call per turn in the sequential modes, random batches otherwise)
under trio's MockClock, in every mode, with and without streaming, and with labels ignored.

Checked from the trace intervals and the results, against an oracle that uses only the
program and the labels (never the scheduler's own bookkeeping):

* no call starts before its data dependencies and every conflicting earlier call ended;
* a call whose dependency failed never runs and fails with ``dependency future_k failed``;
* every call id gets exactly one outcome;
* the final store and every call's result equal the sequential run's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import run_mock

import asyncfc as a

KEYS = {"a": "kv:/a", "ax": "kv:/a/x", "b": "kv:/b"}
TOOL_NAMES = [
    *(f"get_{k}" for k in KEYS),
    *(f"put_{k}" for k in KEYS),
    "put_all",
    "snapshot",
    "pure",
]


def make_tools(store: dict[str, str]) -> a.Toolset:
    """Deterministic stateful tools whose labels are exactly what they touch."""
    tools: list[a.Tool] = []

    def touched(key: str) -> list[str]:
        """The store keys under a label's node (kv:/a covers a and a/x)."""
        return ["a", "ax"] if key == "a" else [key]

    def for_key(key: str, label: str) -> None:
        async def get(x: str, d: float, fail: bool = False) -> str:
            await anyio.sleep(d)
            if fail:
                raise RuntimeError("get failed")
            return "/".join(store.get(k, "") for k in touched(key)) + f"<{x}>"

        async def put(x: str, d: float, fail: bool = False) -> str:
            await anyio.sleep(d)
            if fail:
                raise RuntimeError("put failed")
            for k in touched(key):
                store[k] = store.get(k, "") + x[:12] + ";"
            return f"put {key}"

        tools.append(a.Tool.from_function(get, name=f"get_{key}", reads=[label], writes=()))
        tools.append(a.Tool.from_function(put, name=f"put_{key}", reads=(), writes=[label]))

    for key, label in KEYS.items():
        for_key(key, label)

    async def put_all(x: str, d: float, fail: bool = False) -> str:
        await anyio.sleep(d)
        if fail:
            raise RuntimeError("put_all failed")
        for k in KEYS:
            store[k] = f"[{x[:8]}]"
        return "reset"

    async def snapshot(x: str, d: float, fail: bool = False) -> str:
        await anyio.sleep(d)
        if fail:
            raise RuntimeError("snapshot failed")
        store["log"] = (
            store.get("log", "") + "|" + ",".join(f"{k}={store[k]}" for k in sorted(store))
        )
        return f"snap {len(store['log'])}"

    async def pure(x: str, d: float, fail: bool = False) -> str:
        await anyio.sleep(d)
        if fail:
            raise RuntimeError("pure failed")
        return x[::-1][:16]

    tools.append(a.Tool.from_function(put_all, reads=(), writes=["kv"]))
    tools.append(a.Tool.from_function(snapshot))  # unlabelled: writes the root
    tools.append(a.Tool.from_function(pure, reads=(), writes=()))
    return a.Toolset(tools)


@dataclass(frozen=True)
class Step:
    tool: str
    arg: str
    """A literal, ``future_j``, or text embedding ``future_j``."""
    refs: tuple[int, ...]
    delay: float
    fail: bool


@dataclass(frozen=True)
class Program:
    steps: tuple[Step, ...]
    batches: tuple[int, ...]
    """Sizes of the turns in the parallel modes (sum = len(steps))."""
    ttft: float
    streaming: bool


@st.composite
def programs(draw: st.DrawFn) -> Program:
    n = draw(st.integers(1, 7))
    steps: list[Step] = []
    for i in range(n):
        tool = draw(st.sampled_from(TOOL_NAMES))
        kind = draw(st.sampled_from(["literal", "whole", "embedded"])) if i else "literal"
        if kind == "literal":
            arg, refs = f"v{i}", ()
        else:
            j = draw(st.integers(1, i))
            arg = f"future_{j}" if kind == "whole" else f"x{i} future_{j} y"
            refs = (j,)
        delay = draw(st.sampled_from([0.25, 0.5, 1.0, 1.5, 3.0]))
        fail = draw(st.integers(0, 7)) == 0
        steps.append(Step(tool, arg, refs, delay, fail))
    batches: list[int] = []
    left = n
    while left:
        size = draw(st.integers(1, left))
        batches.append(size)
        left -= size
    ttft = draw(st.sampled_from([0.1, 0.5, 1.0, 2.0]))
    return Program(tuple(steps), tuple(batches), ttft, draw(st.booleans()))


def turns_for(program: Program, mode: a.AgentMode) -> list[a.Reply]:
    calls = [
        (s.tool, {"x": s.arg, "d": s.delay, **({"fail": True} if s.fail else {})})
        for s in program.steps
    ]
    if mode in ("sequential", "async"):
        return [a.Reply(calls=[c]) for c in calls]
    turns, at = [], 0
    for size in program.batches:
        turns.append(a.Reply(calls=calls[at : at + size]))
        at += size
    return turns


@dataclass
class Outcome:
    run: a.AgentRun
    store: dict[str, str]
    toolset: a.Toolset


def play(program: Program, mode: a.AgentMode, *, respect_labels: bool = True) -> Outcome:
    store: dict[str, str] = {}
    toolset = make_tools(store)
    turns = turns_for(program, mode)

    def script(view: a.ScriptView) -> a.Reply:
        return turns[view.index] if view.index < len(turns) else a.Reply(text="done")

    model = a.ScriptedModel(
        script=script, ttft=program.ttft, tokens_per_second=40 if program.streaming else None
    )
    agent = a.Agent(
        model=model,
        toolset=toolset,
        mode=mode,
        respect_labels=respect_labels,
        streaming=program.streaming,
        max_requests=len(turns) + 3,
    )

    async def main() -> a.AgentRun:
        return await agent.run("go")

    return Outcome(run_mock(main), dict(store), toolset)


def check_ordering(program: Program, out: Outcome, *, respect_labels: bool) -> None:
    run = out.run
    ids = [f"call_{i}" for i in range(1, len(program.steps) + 1)]
    # exactly one outcome per call id, and every call got a future (numbered in order)
    assert [c.id for c in run.calls] == ids
    assert list(run.results) == ids
    assert all(run.results[i].call_id == i for i in ids)
    assert run.futures == {cid: f"future_{n}" for n, cid in enumerate(ids, 1)}
    executed = {iv.call_id: iv for iv in run.trace.of_kind("tool")}
    assert len(executed) == len(run.trace.of_kind("tool")), "a call ran twice"

    for n, step in enumerate(program.steps, 1):
        cid = f"call_{n}"
        result = run.results[cid]
        failed_deps = [j for j in step.refs if run.results[f"call_{j}"].is_error]
        if failed_deps:
            assert cid not in executed
            assert result.error_kind == "dependency_failed"
            assert result.content.startswith(f"Error: dependency future_{failed_deps[0]} failed: ")
            continue
        assert cid in executed, f"{cid} never ran: {result.content}"
        assert result.is_error == step.fail
        me = executed[cid]
        access = out.toolset[step.tool].access
        for j, earlier in enumerate(program.steps[: n - 1], 1):
            other = executed.get(f"call_{j}")
            if other is None:
                continue
            must_wait = (
                j in step.refs
                or not respect_labels
                or access.conflicts_with(out.toolset[earlier.tool].access)
            )
            if must_wait:
                assert me.start >= other.end, f"{cid} started before call_{j} ended"


def comparable(out: Outcome) -> tuple[dict[str, str], dict[str, str]]:
    return out.store, {cid: r.content for cid, r in out.run.results.items()}


@settings(max_examples=60, deadline=None)
@given(programs())
def test_random_programs_in_every_mode(program: Program) -> None:
    reference = play(program, "sequential")
    check_ordering(program, reference, respect_labels=True)
    for mode in ("parallel", "async", "async_parallel"):
        out = play(program, mode)
        check_ordering(program, out, respect_labels=True)
        assert comparable(out) == comparable(reference), mode
    ablation = play(program, "async_parallel", respect_labels=False)
    check_ordering(program, ablation, respect_labels=False)
    assert comparable(ablation) == comparable(reference)
    # without labels every execution is strictly in program order, one at a time
    spans = sorted((iv.start, iv.end) for iv in ablation.run.trace.of_kind("tool"))
    assert all(e <= s for (_, e), (s, _) in itertools.pairwise(spans))


@settings(max_examples=30, deadline=None)
@given(programs())
def test_trace_metrics_are_consistent(program: Program) -> None:
    out = play(program, "async_parallel")
    m = out.run.trace.metrics()
    eps = 1e-9
    assert abs(m.saving - (m.overlap_saving + m.parallel_saving)) < eps
    assert m.overlap_saving >= -eps
    assert m.parallel_saving >= -eps
    assert m.t_cp <= m.t_tool + eps
    assert m.wall >= max(m.t_cp, 0) - eps
    assert m.bound >= 1 - eps
    again = a.Trace.from_dict(out.run.trace.to_dict()).metrics()
    assert abs(again.bound - m.bound) < eps
