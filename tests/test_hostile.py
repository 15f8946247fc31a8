"""Hostile results and arguments: every call gets exactly one precise outcome, nothing escapes.

Each case runs through :class:`ToolExecutor` (sequential and concurrent) and through
:class:`Agent` (``async_parallel``, streaming on and off).  The agent runs use async tools
under trio's mock clock (:func:`runtime_support.run_mock`), so they are deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import pytest
from hostile_support import DecodedModel
from runtime_support import check_pairing, run_mock

import asyncfc as a
from asyncfc._invoke import decode_arguments
from asyncfc._results import UnrenderableResult, render_result, render_value
from asyncfc.models._anthropic import _decoded
from asyncfc.models._common import OpenCall

EXECUTOR_MODES: list[a.ExecutionMode] = ["sequential", "concurrent"]
STREAMING = [False, True]


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")


class BadRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr")


class BadMessage(Exception):
    def __str__(self) -> str:
        raise RuntimeError("a message that cannot be shown")


def cyclic() -> dict[str, Any]:
    d: dict[str, Any] = {"k": 1, "items": [10, 20]}
    d["self"] = d
    return d


def nested(depth: int, leaf: Any = 0) -> dict[str, Any]:
    value: Any = leaf
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[no-any-return]


def depth_of(value: Any) -> int:
    n = 0
    while isinstance(value, dict):
        value, n = value["a"], n + 1
    return n


def run_batch(tools: Sequence[a.Tool], calls: Sequence[a.ToolCall], mode: a.ExecutionMode):
    async def main() -> a.BatchResult:
        return await a.ToolExecutor(toolset=a.Toolset(tools), mode=mode).run(calls)

    batch = anyio.run(main)
    assert [r.call_id for r in batch.results] == [c.id for c in calls]
    return batch.results


def run_agent(
    tools: Sequence[a.Tool],
    turns: Sequence[Sequence[tuple[str, Any]]],
    *,
    streaming: bool,
    decoded: bool = False,
) -> a.AgentRun:
    model: Any
    if decoded:
        model = DecodedModel(turns)
    else:
        scripted = [a.Reply(calls=list(t)) for t in turns]

        def script(view: a.ScriptView) -> a.Reply:
            return scripted[view.index] if view.index < len(scripted) else a.Reply(text="done")

        model = a.ScriptedModel(script=script, ttft=1.0)
    agent = a.Agent(
        model=model, toolset=a.Toolset(tools), mode="async_parallel", streaming=streaming
    )

    async def main() -> a.AgentRun:
        return await agent.run("go")

    run = run_mock(main)
    check_pairing(run)
    return run


def returning(name: str, make: Callable[[], Any]) -> a.Tool:
    async def fn() -> Any:
        await anyio.sleep(0.5)
        return make()

    return a.tool(fn, name=name, reads=(), writes=())


async def echo(x: Any = None) -> Any:
    await anyio.sleep(0.5)
    return x


ECHO = a.tool(echo, reads=(), writes=())


# -- F1: a value without text ----------------------------------------------------------------


def bad() -> object:
    return BadStr()


def ok() -> int:
    return 1


@pytest.mark.parametrize("mode", EXECUTOR_MODES)
def test_result_whose_str_raises_is_an_error_result_and_siblings_survive(
    mode: a.ExecutionMode,
) -> None:
    results = run_batch(
        [a.tool(bad), a.tool(ok)],
        [a.ToolCall(id="1", name="bad"), a.ToolCall(id="2", name="ok")],
        mode,
    )
    assert results[0].error_kind == "unrenderable_result"
    assert results[0].content == (
        "Error: the tool returned a value of type BadStr that cannot be shown: it is not "
        "JSON-serialisable and str() raised RuntimeError: no str"
    )
    assert results[0].value is None
    assert (results[1].content, results[1].value) == ("1", 1)


@pytest.mark.parametrize("mode", EXECUTOR_MODES)
def test_hostile_values_and_exceptions_each_get_one_precise_outcome(
    mode: a.ExecutionMode,
) -> None:
    def bad_repr() -> object:
        return BadRepr()

    def cyc() -> object:
        return cyclic()

    def deep() -> object:
        return nested(10_000)

    def huge() -> object:
        return {"n": 10**5000, "s": "x" * 1_000_000}

    def raises_bad_message() -> None:
        raise BadMessage

    tools = [a.tool(f) for f in (bad_repr, cyc, deep, huge, raises_bad_message, ok)]
    calls = [a.ToolCall(id=str(i), name=t.name) for i, t in enumerate(tools)]
    r = run_batch(tools, calls, mode)
    assert r[0].error_kind == "unrenderable_result"
    assert "str() raised ValueError: no repr" in r[0].content
    assert not r[1].is_error
    assert r[1].content == (
        "{'k': 1, 'items': [10, 20], 'self': {...}} [note: result was not JSON-serialisable "
        "(it contains a reference cycle); shown with str()]"
    )
    assert r[2].error_kind == "unrenderable_result"
    assert "it is not JSON-serialisable (it is nested too deeply) and str() raised " in r[2].content
    assert "RecursionError" in r[2].content
    assert not r[3].is_error
    assert r[3].content.endswith("[truncated: 20000 of 1005014 characters shown]")
    assert r[4].error_kind == "exception"
    assert r[4].content == (
        "Error: tool 'raises_bad_message' raised BadMessage: (its message cannot be shown either)"
    )
    assert r[5].content == "1"


@pytest.mark.parametrize("streaming", STREAMING)
def test_agent_survives_a_result_without_text(streaming: bool) -> None:
    tools = [returning("bad", BadStr), returning("ok", lambda: 1), ECHO]
    run = run_agent(
        tools,
        [
            [("bad", {}), ("ok", {})],
            [("echo", {"x": "got future_1"}), ("echo", {"x": "got future_2"})],
        ],
        streaming=streaming,
    )
    assert run.results["call_1"].error_kind == "unrenderable_result"
    assert run.results["call_2"].value == 1
    # a failed future fails its dependants; the sibling's value is still usable
    assert run.results["call_3"].error_kind == "dependency_failed"
    assert run.results["call_4"].value == "got 1"


def test_render_value_never_raises_and_render_result_says_why() -> None:
    assert render_value(BadStr()).startswith("[the tool returned a value of type BadStr")

    with pytest.raises(UnrenderableResult):
        render_result(nested(10_000))


# -- F2: a cyclic value, and paths into it ---------------------------------------------------


@pytest.mark.parametrize("streaming", STREAMING)
def test_paths_into_a_cyclic_result_are_walked_not_converted(streaming: bool) -> None:
    run = run_agent(
        [returning("cyc", cyclic), ECHO],
        [
            [("cyc", {})],
            [
                ("echo", {"x": "future_1.k"}),
                ("echo", {"x": "future_1.self.self.items[-1]"}),
                ("echo", {"x": "k is future_1.k."}),
                ("echo", {"x": "future_1.nope"}),
            ],
        ],
        streaming=streaming,
    )
    assert run.results["call_1"].content.startswith("{'k': 1, 'items': [10, 20], 'self': {...}}")
    assert run.results["call_2"].value == 1
    assert run.results["call_3"].value == 20
    assert run.results["call_4"].value == "k is 1."
    assert run.results["call_5"].error_kind == "unknown_future"
    assert run.results["call_5"].content == (
        "Error: future_1 has no field 'nope' (in future_1.nope); fields: k, items, self"
    )


@pytest.mark.parametrize("mode", EXECUTOR_MODES)
def test_executor_passes_cyclic_values_to_tools_and_renders_them(mode: a.ExecutionMode) -> None:
    def cyc() -> object:
        return cyclic()

    results = run_batch([a.tool(cyc)], [a.ToolCall(id="1", name="cyc")], mode)
    assert "reference cycle" in results[0].content


# -- F3: depth -----------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", STREAMING)
def test_deep_decoded_arguments_and_deep_results_through_the_agent(streaming: bool) -> None:
    async def depth(x: Any) -> int:
        await anyio.sleep(0.5)
        return depth_of(x)

    async def deep(n: int) -> Any:
        await anyio.sleep(0.5)
        return nested(n, leaf="bottom")

    tools = [a.tool(depth, reads=(), writes=()), a.tool(deep, reads=(), writes=()), ECHO]
    run = run_agent(
        tools,
        [
            [("deep", {"n": 10_000}), ("deep", {"n": 500}), ("depth", {"x": nested(10_000)})],
            [("depth", {"x": nested(5_000, leaf="future_3")}), ("echo", {"x": "future_2.a.a"})],
        ],
        streaming=streaming,
        decoded=True,
    )
    assert run.results["call_1"].error_kind == "unrenderable_result"
    assert run.results["call_2"].content.endswith(
        "[note: result was not JSON-serialisable (it is nested too deeply); shown with str()]"
    )
    assert run.results["call_3"].value == 10_000
    assert run.results["call_4"].value == 5_000  # the reference at the bottom was resolved
    assert run.results["call_5"].error_kind is None
    assert depth_of(run.results["call_5"].value) == 498


@pytest.mark.parametrize("mode", EXECUTOR_MODES)
def test_deep_arguments_through_the_executor(mode: a.ExecutionMode) -> None:
    def depth(x: Any) -> int:
        return depth_of(x)

    results = run_batch(
        [a.tool(depth)],
        [
            a.ToolCall(id="1", name="depth", arguments={"x": nested(10_000)}),
            a.ToolCall(id="2", name="depth", arguments=json.dumps({"x": nested(500)})),
        ],
        mode,
    )
    assert results[0].value == 10_000
    assert results[1].error_kind == "invalid_json"  # past the JSON decoder's depth limit


def test_anthropic_adapter_keeps_too_deep_json_as_text_for_an_invalid_json_result() -> None:
    call = _decoded(OpenCall(id="t1", name="depth", parts=["[" * 10_000, "]" * 10_000]))
    assert isinstance(call.arguments, str)
    with pytest.raises(Exception, match="not valid JSON") as info:
        decode_arguments(call)
    assert type(info.value).__name__ == "ArgumentsError"
    assert info.value.kind == "invalid_json"  # type: ignore[attr-defined]


# -- F5: strings that start like a reference --------------------------------------------------


@pytest.mark.parametrize("streaming", STREAMING)
def test_malformed_references_are_rejected_not_interpolated(streaming: bool) -> None:
    src = returning("src", lambda: {"items": [10, 20]})
    bad = [
        ("future_1]", "unexpected ']' after 'future_1'"),
        ("future_1.items[0]x", "unexpected 'x' after 'future_1.items[0]'"),
        ("future_1['__dict__']", "unexpected '[' after 'future_1'"),
        ("future_1.", "unexpected '.' after 'future_1'"),
    ]
    good = [
        ("future_1.items[-1]", 20),
        ("future_1.items[-2]", 10),
        ("see future_1.", 'see {"items":[10,20]}.'),
        ("future_2024_report.txt", "future_2024_report.txt"),
        ("xfuture_1 future_1x", "xfuture_1 future_1x"),
    ]
    run = run_agent(
        [src, ECHO],
        [[("src", {})], [("echo", {"x": text}) for text, _ in bad + good]],
        streaming=streaming,
    )
    for i, (text, problem) in enumerate(bad, start=2):
        result = run.results[f"call_{i}"]
        assert result.error_kind == "unknown_future", text
        assert result.content == (
            f"Error: '{text}' is not a valid future reference: {problem} (a reference is "
            "future_<n> followed by .field and [index] steps, e.g. future_3.items[0].id)"
        )
    for i, (text, expected) in enumerate(good, start=2 + len(bad)):
        assert run.results[f"call_{i}"].value == expected, text
    assert run.results[f"call_{2 + len(bad)}"].value == 20


@pytest.mark.parametrize("streaming", STREAMING)
def test_negative_index_out_of_range_is_precise(streaming: bool) -> None:
    run = run_agent(
        [returning("src", lambda: {"items": [10, 20]}), ECHO],
        [[("src", {})], [("echo", {"x": "future_1.items[-3]"})]],
        streaming=streaming,
    )
    assert run.results["call_2"].content == (
        "Error: future_1.items has 2 items, so [-3] does not exist (in future_1.items[-3])"
    )


@pytest.mark.parametrize("mode", EXECUTOR_MODES)
def test_executor_never_reads_references(mode: a.ExecutionMode) -> None:
    """Futures exist only in the agent's async modes: the executor passes such text as is."""

    def echo_sync(x: str) -> str:
        return x

    results = run_batch(
        [a.tool(echo_sync)],
        [a.ToolCall(id="1", name="echo_sync", arguments={"x": "future_1]"})],
        mode,
    )
    assert results[0].value == "future_1]"
