"""Property-based hostility: hostile results and hostile arguments through the executor and the
agent.  Invariant: exactly one outcome per call id, in call order, and no exception escapes
except the documented programmer error (two calls of one batch sharing an id).

Example counts stay modest so the whole suite stays fast on two cores.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hostile_support import DecodedModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import check_pairing, run_mock

import asyncfc as a

SETTINGS = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")


class BadRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr")


def nested(depth: int, leaf: Any = 0) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def cyclic() -> Any:
    d: dict[str, Any] = {"k": [1, 2]}
    d["self"] = d
    return d


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)

hostile_results = st.one_of(
    json_values,
    st.builds(BadStr),
    st.builds(BadRepr),
    st.builds(cyclic),
    st.builds(nested, st.sampled_from([10, 300, 600, 5_000])),
    st.builds(lambda n: "x" * n, st.sampled_from([0, 25_000])),
    st.builds(lambda: 10**5000),
    st.builds(object),
    st.builds(lambda: {1, 2}),
    st.builds(lambda: b"\xff\x00"),
    st.builds(lambda: complex(1, 2)),
)

reference_like = st.one_of(
    st.sampled_from(
        [
            "future_1",
            "future_1]",
            "future_1.k[-1]",
            "future_1.k[9]",
            "future_1.items[0]x",
            "future_1['__dict__']",
            "future_2.self.k",
            "future_99",
            "see future_1.",
            "future_0",
            " future_1 ",
            "future_1,future_2",
        ]
    ),
    st.from_regex(r"future_[0-9]{1,2}[A-Za-z0-9_.\[\]\-']{0,8}", fullmatch=True),
    st.text(alphabet="future_1.[]-x ", max_size=20),
)

hostile_arguments = st.one_of(
    json_values,
    reference_like,
    st.builds(nested, st.sampled_from([1, 250, 2_000]), reference_like),
    st.builds(lambda n: {f"k{i}": "future_1" for i in range(n)}, st.sampled_from([1, 200])),
    st.lists(reference_like, max_size=5),
)
# Resolve the lazy strategies now, at import: ``from_regex`` imports (and pytest compiles) a
# module at its first draw, and compiling right after an example that ran into Python's
# recursion limit (the nested arguments) failed once on CPython 3.11.7 with "AST constructor
# recursion depth mismatch", an interpreter bug, not ours.
hostile_arguments.validate()


def make_tools(table: list[Any]) -> list[a.Tool]:
    async def ret(i: int) -> Any:
        await anyio.sleep(0.25)
        return table[i]

    def ret_sync(i: int) -> Any:
        return table[i]

    async def echo(x: Any = None) -> Any:
        await anyio.sleep(0.25)
        return x

    return [
        a.tool(ret, reads=(), writes=()),
        a.tool(ret_sync, reads=(), writes=()),
        a.tool(echo, reads=(), writes=()),
    ]


call_specs = st.lists(
    st.one_of(
        st.tuples(st.just("ret"), st.integers(0, 5)),
        st.tuples(st.just("ret_sync"), st.integers(0, 5)),
        st.tuples(st.just("echo"), hostile_arguments),
    ),
    min_size=1,
    max_size=6,
)


def arguments_of(name: str, spec: Any) -> dict[str, Any]:
    return {"i": spec} if name != "echo" else {"x": spec}


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
@SETTINGS
@given(
    table=st.lists(hostile_results, min_size=6, max_size=6),
    specs=call_specs,
    ids=st.lists(st.sampled_from("abcdefgh"), min_size=6, max_size=6),
)
def test_executor_gives_one_outcome_per_call(
    mode: a.ExecutionMode, table: list[Any], specs: list[Any], ids: list[str]
) -> None:
    calls = [
        a.ToolCall(id=ids[i], name=name, arguments=arguments_of(name, spec))
        for i, (name, spec) in enumerate(specs)
    ]
    executor = a.ToolExecutor(toolset=a.Toolset(make_tools(table)), mode=mode)

    async def main() -> a.BatchResult:
        return await executor.run(calls)

    if len({c.id for c in calls}) < len(calls):
        with pytest.raises(a.DuplicateCallIdError):
            anyio.run(main)
        return
    batch = anyio.run(main)
    assert [r.call_id for r in batch.results] == [c.id for c in calls]
    for result, (name, _) in zip(batch.results, specs, strict=True):
        assert result.name == name
        assert result.is_error == (result.error_kind is not None)
        assert isinstance(result.content, str)
        if result.is_error:
            assert result.error_kind in ("unrenderable_result", "invalid_arguments")


@pytest.mark.parametrize("streaming", [False, True])
@settings(SETTINGS, max_examples=25)
@given(
    table=st.lists(hostile_results, min_size=6, max_size=6),
    turns=st.lists(call_specs, min_size=1, max_size=3),
)
def test_agent_gives_one_outcome_per_call(
    streaming: bool, table: list[Any], turns: list[list[Any]]
) -> None:
    tools = [t for t in make_tools(table) if t.name != "ret_sync"]  # no threads on a mock clock
    model = DecodedModel(
        [
            [(name if name != "ret_sync" else "ret", arguments_of(name, spec)) for name, spec in t]
            for t in turns
        ]
    )
    agent = a.Agent(
        model=model, toolset=a.Toolset(tools), mode="async_parallel", streaming=streaming
    )

    async def main() -> a.AgentRun:
        return await agent.run("go")

    run = run_mock(main)
    check_pairing(run)
    assert len(run.results) == sum(len(t) for t in turns)
    for result in run.results.values():
        assert result.is_error == (result.error_kind is not None)
        assert isinstance(result.content, str)
