"""One call: decoding, validation, execution and rendering, every failure as an error result."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import anyio
import pytest

from asyncfc import ToolCall, ToolContext, ToolResult, Toolset, render_value, tool
from asyncfc._invoke import decode_arguments, run_call
from asyncfc._results import ArgumentsError, success_result

pytestmark = pytest.mark.anyio


def _call(name: str = "add", arguments: Any = '{"a": 1, "b": 2}', id: str = "c1") -> ToolCall:
    return ToolCall(id=id, name=name, arguments=arguments)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ({"a": 1}, {"a": 1}),
        ("", {}),
        ("   ", {}),
    ],
)
def test_decode_arguments(arguments: Any, expected: dict[str, Any]) -> None:
    assert decode_arguments(_call(arguments=arguments)) == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('{"a": 1', "are not valid JSON"),
        ("not json", "are not valid JSON"),
        ("[1, 2]", "must be a JSON object, got list"),
        ("3", "must be a JSON object, got int"),
        ('"text"', "must be a JSON object, got str"),
        ("null", "must be a JSON object, got NoneType"),
        ([1, 2], "must be a JSON object, got list"),
    ],
)
def test_decode_arguments_rejects(arguments: Any, message: str) -> None:
    with pytest.raises(ArgumentsError, match=message) as info:
        decode_arguments(_call(arguments=arguments))
    assert info.value.kind == "invalid_json"
    assert "'add'" in str(info.value)


def test_decoded_mapping_is_copied() -> None:
    source = {"a": 1}
    decoded = decode_arguments(_call(arguments=source))
    decoded["a"] = 2
    assert source == {"a": 1}


@dataclasses.dataclass
class Pair:
    left: int
    right: int


class Opaque:
    def __str__(self) -> str:
        return "<opaque thing>"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain text", "plain text"),
        ("", ""),
        (3, "3"),
        (None, "null"),
        ({"k": [1, 2.5, True]}, '{"k":[1,2.5,true]}'),
        ("ünïcødé", "ünïcødé"),
        ({"é": "ü"}, '{"é":"ü"}'),
        (Pair(1, 2), '{"left":1,"right":2}'),
    ],
)
def test_render_value(value: Any, text: str) -> None:
    assert render_value(value) == text


def test_render_value_falls_back_to_str_with_a_note() -> None:
    text = render_value(Opaque())
    assert text == "<opaque thing> [note: result was not JSON-serialisable; shown with str()]"
    assert render_value({"x": Opaque()}).startswith("{'x': <")
    assert render_value({"x": Opaque()}).endswith("shown with str()]")


def test_render_value_truncates_with_an_explicit_marker() -> None:
    assert render_value("a" * 10, max_chars=10) == "a" * 10
    assert (
        render_value("a" * 11, max_chars=10)
        == "a" * 10 + "… [truncated: 10 of 11 characters shown]"
    )
    assert render_value([1] * 50, max_chars=5).startswith("[1,1,… [truncated: 5 of 101")
    assert render_value("a" * 100_000, max_chars=None) == "a" * 100_000


def test_render_value_default_limit() -> None:
    text = render_value("x" * 30_000)
    assert text.startswith("x" * 20_000 + "… [truncated: 20000 of 30000")


def add(a: int, b: int) -> int:
    return a + b


async def never_returns() -> None:
    await anyio.sleep_forever()


def boom(message: str) -> None:
    raise KeyError(message)


TOOLS = Toolset(
    [
        tool(add),
        tool(never_returns),
        tool(boom),
        tool(name="slow_own_timeout", timeout=0.001)(never_returns),
        tool(name="finish", return_direct=True)(lambda: "done"),
    ]
)


async def _run(call: ToolCall, **kwargs: Any) -> Any:
    return await run_call(call, TOOLS, context=ToolContext(), **kwargs)


async def test_run_call_success() -> None:
    result = await _run(_call())
    assert result.call_id == "c1"
    assert result.name == "add"
    assert result.content == "3"
    assert result.value == 3
    assert not result.is_error
    assert result.error_kind is None
    assert not result.return_direct


async def test_run_call_return_direct_tool() -> None:
    result = await _run(_call("finish", "{}"))
    assert result.content == "done"
    assert result.return_direct


@pytest.mark.parametrize(
    ("call", "kind", "fragment"),
    [
        (_call("nope"), "unknown_tool", "unknown tool 'nope'. Available tools: add, never_returns"),
        (_call(arguments="{oops"), "invalid_json", "are not valid JSON"),
        (_call(arguments="[1]"), "invalid_json", "must be a JSON object, got list"),
        (_call(arguments='{"a": 1}'), "invalid_arguments", "argument 'b' is required"),
        (_call(arguments='{"a": 1, "b": 2, "c": 3}'), "invalid_arguments", "'c' is not a param"),
        (_call(arguments='{"a": 1, "b": "x"}'), "invalid_arguments", "argument 'b': "),
        (_call("boom", '{"message": "gone"}'), "exception", "tool 'boom' raised KeyError: 'gone'"),
        (_call("never_returns", "{}"), "timeout", "tool 'never_returns' timed out after 0.001 s"),
    ],
)
async def test_run_call_errors_become_results(call: ToolCall, kind: str, fragment: str) -> None:
    # Only the hanging tool gets a tiny timeout: a slow worker thread must not make others flaky.
    result = await _run(call, default_timeout=0.001 if kind == "timeout" else None)
    assert result.is_error
    assert result.error_kind == kind
    assert result.content.startswith("Error: ")
    assert fragment in result.content
    assert result.call_id == call.id
    assert result.name == call.name
    assert result.value is None
    assert not result.return_direct


async def test_tool_timeout_wins_over_default() -> None:
    result = await _run(_call("slow_own_timeout", "{}"), default_timeout=math.inf)
    assert result.error_kind == "timeout"
    assert "after 0.001 s" in result.content


async def test_infinite_default_timeout_means_none() -> None:
    with anyio.move_on_after(0.01) as scope:
        await _run(_call("never_returns", "{}"), default_timeout=math.inf)
    assert scope.cancelled_caught  # still running when the outer scope gave up


async def test_outer_cancellation_is_not_turned_into_a_result() -> None:
    with anyio.CancelScope() as scope:
        scope.cancel()
        await _run(_call("never_returns", "{}"))
        pytest.fail("run_call returned despite the cancellation")  # pragma: no cover
    assert scope.cancelled_caught


async def test_max_result_chars_is_applied() -> None:
    result = await _run(_call(), max_result_chars=None)
    assert result.content == "3"
    big = Toolset([tool(name="big")(lambda: "y" * 50)])
    result = await run_call(_call("big", "{}"), big, context=ToolContext(), max_result_chars=8)
    assert result.content == "y" * 8 + "… [truncated: 8 of 50 characters shown]"
    assert result.value == "y" * 50


@pytest.mark.parametrize("return_direct", [False, True])
def test_fast_success_result_equals_the_plain_construction(return_direct: bool) -> None:
    value = {"k": [1]}
    fast = success_result(_call(), "text", value, return_direct)
    plain = ToolResult(
        call_id="c1", name="add", content="text", value=value, return_direct=return_direct
    )
    assert fast == plain
    assert repr(fast) == repr(plain)
    assert vars(fast) == vars(plain)
    assert dataclasses.asdict(fast) == dataclasses.asdict(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.content = "changed"  # type: ignore[misc]
