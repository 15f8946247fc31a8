"""Helpers shared by the adapters: stream guarding, the emitter's parse-once hand-over."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

import openai
import pytest

from asyncfc._calls import ToolCall
from asyncfc._errors import ModelConnectionError
from asyncfc._invoke import decode_arguments
from asyncfc._messages import StreamEvent, TextDelta, ToolCallDone
from asyncfc.models._common import CallEmitter, guarded

pytestmark = pytest.mark.anyio


async def test_closing_the_guard_closes_the_adapter_events_at_once() -> None:
    closed: list[bool] = []

    async def events() -> AsyncGenerator[StreamEvent, None]:
        try:
            yield TextDelta(text="a")
            yield TextDelta(text="b")
        finally:
            closed.append(True)

    inner = events()
    outer = guarded(inner, openai, "openai")
    assert await outer.__anext__() == TextDelta(text="a")
    await outer.aclose()
    assert closed == [True]


async def test_sdk_errors_inside_the_stream_become_typed_errors() -> None:
    async def events() -> AsyncGenerator[StreamEvent, None]:
        yield TextDelta(text="a")
        raise openai.APIConnectionError(request=None)  # type: ignore[arg-type]

    with pytest.raises(ModelConnectionError):
        async for _ in guarded(events(), openai, "openai"):
            pass


def emitted(events: list[StreamEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallDone)]


@pytest.mark.parametrize(
    "text", ['{"city": "Paris", "days": [1, 2]}', "{}", ' {"a": {"b": null}} ']
)
def test_a_complete_object_is_handed_on_decoded(text: str) -> None:
    emitter = CallEmitter()
    [call] = emitted(emitter.complete(ToolCall(id="c1", name="f", arguments=text), proven=False))
    assert call.arguments == text  # the raw text stays what goes back to the provider
    assert call.decoded == json.loads(text)
    assert decode_arguments(call) == json.loads(text)
    assert emitter.calls == [call]


DEEP = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
"""Valid JSON nested past every parser's depth limit (``json.loads`` raises RecursionError)."""


@pytest.mark.parametrize(
    "text",
    ["{city: Paris", "[1, 2]", '"text"', "", DEEP],
    ids=["bad", "array", "string", "empty", "deep"],
)
def test_invalid_json_or_a_non_object_leaves_decoded_none(text: str) -> None:
    emitter = CallEmitter()
    [call] = emitted(emitter.complete(ToolCall(id="c1", name="f", arguments=text), proven=True))
    assert call.decoded is None
    assert call.arguments == text


def test_calls_completed_by_the_end_of_the_turn_are_decoded_too() -> None:
    emitter = CallEmitter()
    open_calls = [
        ToolCall(id="c1", name="f", arguments='{"x": 1}'),
        ToolCall(id="c2", name="f", arguments='{"x": '),
    ]
    calls = emitted(emitter.finish(open_calls, truncated=False))
    assert [(c.id, c.decoded) for c in calls] == [("c1", {"x": 1}), ("c2", None)]


def test_a_mapping_argument_is_not_parsed_or_copied() -> None:
    arguments = {"x": 1}
    [call] = emitted(CallEmitter().complete(ToolCall(id="c1", name="f", arguments=arguments)))
    assert call.arguments is arguments
    assert call.decoded is None


def test_decoded_is_not_part_of_equality_or_repr() -> None:
    [call] = emitted(CallEmitter().complete(ToolCall(id="c1", name="f", arguments='{"x": 1}')))
    plain = ToolCall(id="c1", name="f", arguments='{"x": 1}')
    assert call == plain
    assert repr(call) == repr(plain)
