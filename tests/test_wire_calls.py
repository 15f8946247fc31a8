"""Calls read from provider JSON (asyncfc.wire): a missing field is a typed error naming it, a
missing id is generated, and id-less calls never collide."""

from __future__ import annotations

import re

import pytest

from asyncfc import ModelResponseError
from asyncfc.wire import (
    anthropic_blocks_to_calls,
    chat_tool_calls_to_calls,
    new_call_id,
    responses_items_to_calls,
)


def test_chat_calls_without_ids_get_unique_generated_ids() -> None:
    calls = chat_tool_calls_to_calls(
        [
            {"function": {"name": "a", "arguments": "{}"}},
            {"id": "", "function": {"name": "a", "arguments": "{}"}},
            {"id": None, "function": {"name": "b"}},
            {"id": "call_x", "function": {"name": "c", "arguments": '{"k": 1}'}},
        ]
    )
    ids = [c.id for c in calls]
    assert len(set(ids)) == 4
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", i) for i in ids[:3])
    assert ids[3] == "call_x"
    assert [c.name for c in calls] == ["a", "a", "b", "c"]
    assert calls[2].arguments == ""


@pytest.mark.parametrize(
    ("tool_calls", "message"),
    [
        ([{"id": "1"}], "openai sent a malformed tool call (position 0): it has no 'function'"),
        (
            [{"id": "1", "function": {"name": "a"}}, {"id": "2", "function": {"arguments": "{}"}}],
            "openai sent a malformed tool call (position 1): it has no 'name'",
        ),
        (
            [{"id": "1", "function": "a"}],
            "openai sent a malformed tool call (position 0): 'function' is not an object",
        ),
    ],
)
def test_chat_calls_missing_a_field_are_a_typed_error(tool_calls: list, message: str) -> None:
    with pytest.raises(ModelResponseError) as info:
        chat_tool_calls_to_calls(tool_calls)
    assert str(info.value) == message
    assert info.value.provider == "openai"


def test_responses_items_and_anthropic_blocks() -> None:
    calls = responses_items_to_calls(
        [
            {"type": "message"},
            {"type": "function_call", "name": "a", "arguments": "{}"},
            {"type": "function_call", "call_id": "", "name": "a"},
        ]
    )
    assert calls[0].id != calls[1].id
    assert calls[1].arguments == ""
    with pytest.raises(ModelResponseError, match=r"function_call item \(position 0\): it has no"):
        responses_items_to_calls([{"type": "function_call", "call_id": "x"}])
    blocks = anthropic_blocks_to_calls(
        [{"type": "tool_use", "name": "a", "input": {"k": 1}}, {"type": "tool_use", "name": "a"}]
    )
    assert blocks[0].id != blocks[1].id
    assert blocks[0].arguments == {"k": 1}
    assert blocks[1].arguments == {}
    with pytest.raises(ModelResponseError, match=r"tool_use block \(position 0\): it has no"):
        anthropic_blocks_to_calls([{"type": "tool_use", "id": "t"}])


def test_generated_ids_do_not_collide() -> None:
    ids = {new_call_id() for _ in range(10_000)}
    assert len(ids) == 10_000
