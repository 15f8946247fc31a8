"""asyncfc.wire: pure transforms between neutral messages and the three provider formats."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncfc import ToolCall, ToolResult, wire
from asyncfc._messages import (
    AssistantMessage,
    SystemMessage,
    ToolResultsMessage,
    UserMessage,
)

CALLS = (
    ToolCall(id="c1", name="read", arguments='{"path": "/a"}'),
    ToolCall(id="c2", name="write", arguments={"path": "/b", "text": "hé"}),
)
RESULTS = (
    ToolResult(call_id="c1", name="read", content="contents"),
    ToolResult(call_id="c2", name="write", content="disk full", is_error=True),
)
CONVERSATION = [
    SystemMessage(content="sys"),
    UserMessage(content="go"),
    AssistantMessage(content="On it.", tool_calls=CALLS),
    ToolResultsMessage(results=RESULTS),
    UserMessage(content="next"),
]
TOOL = {"name": "read", "description": "Read a file.", "parameters": {"type": "object"}}


# --- pairing ------------------------------------------------------------------------------


def test_pair_results_puts_results_in_call_order() -> None:
    assert wire.pair_results(CALLS, reversed(RESULTS)) == list(RESULTS)


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (RESULTS[:1], "missing"),
        ((*RESULTS, ToolResult(call_id="c9", name="x", content="")), "unknown"),
        ((*RESULTS, RESULTS[0]), "two results"),
    ],
    ids=["missing", "extra", "duplicate"],
)
def test_pair_results_rejects_anything_not_one_to_one(
    results: tuple[ToolResult, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        wire.pair_results(CALLS, results)


def test_pair_results_rejects_duplicate_call_ids() -> None:
    with pytest.raises(ValueError, match="duplicate tool call ids"):
        wire.pair_results((CALLS[0], CALLS[0]), RESULTS[:1])


def test_results_without_a_preceding_assistant_message_fail() -> None:
    with pytest.raises(ValueError, match="pair"):
        wire.chat_messages([UserMessage(content="x"), ToolResultsMessage(results=RESULTS)])


@given(st.permutations(range(6)))
def test_every_format_keeps_one_result_per_call_in_call_order(order: list[int]) -> None:
    calls = tuple(ToolCall(id=f"id{i}", name="t", arguments="{}") for i in range(6))
    results = [ToolResult(call_id=f"id{i}", name="t", content=str(i)) for i in order]
    ids = [c.id for c in calls]
    assert [m["tool_call_id"] for m in wire.chat_tool_messages(calls, results)] == ids
    assert [m["call_id"] for m in wire.responses_result_items(calls, results)] == ids
    blocks = wire.anthropic_tool_result_message(calls, results)["content"]
    assert [b["tool_use_id"] for b in blocks] == ids


# --- arguments ----------------------------------------------------------------------------


def test_arguments_forms() -> None:
    assert wire.arguments_json(CALLS[0]) == '{"path": "/a"}'
    assert json.loads(wire.arguments_json(CALLS[1])) == {"path": "/b", "text": "hé"}
    assert wire.arguments_object(CALLS[0]) == {"path": "/a"}
    assert wire.arguments_object(ToolCall(id="x", name="t", arguments="{bad")) == {}
    assert wire.arguments_object(ToolCall(id="x", name="t", arguments="[1]")) == {}


# --- provider calls → ToolCalls -----------------------------------------------------------


def test_provider_calls_to_tool_calls() -> None:
    chat = [{"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]
    assert wire.chat_tool_calls_to_calls(chat) == (ToolCall(id="c1", name="read", arguments="{}"),)
    items = [
        {"type": "message", "content": []},
        {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{}"},
    ]
    assert wire.responses_items_to_calls(items) == (ToolCall(id="c1", name="read", arguments="{}"),)
    blocks = [
        {"type": "text", "text": "hi"},
        {"type": "tool_use", "id": "t1", "name": "read", "input": {"path": "/a"}},
    ]
    assert wire.anthropic_blocks_to_calls(blocks) == (
        ToolCall(id="t1", name="read", arguments={"path": "/a"}),
    )


# --- whole conversations ------------------------------------------------------------------


def test_chat_messages() -> None:
    assert wire.chat_messages(CONVERSATION) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": "On it.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path": "/a"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "write", "arguments": wire.arguments_json(CALLS[1])},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "contents"},
        {"role": "tool", "tool_call_id": "c2", "content": "disk full"},
        {"role": "user", "content": "next"},
    ]


def test_chat_assistant_without_text_has_empty_string_content() -> None:
    """A string, never null: OpenAI accepts both, llama.cpp's server refuses null."""
    [message] = wire.chat_messages([AssistantMessage(content="")])
    assert message == {"role": "assistant", "content": ""}
    calls = (ToolCall(id="c1", name="read", arguments="{}"),)
    [message, _] = wire.chat_messages(
        [
            AssistantMessage(tool_calls=calls),
            ToolResultsMessage(results=(ToolResult(call_id="c1", name="read", content="x"),)),
        ]
    )
    assert message["content"] == ""


def test_responses_request() -> None:
    instructions, items = wire.responses_request([*CONVERSATION, SystemMessage(content="late")])
    assert instructions == "sys"
    assert items == [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "On it."},
        {"type": "function_call", "call_id": "c1", "name": "read", "arguments": '{"path": "/a"}'},
        {
            "type": "function_call",
            "call_id": "c2",
            "name": "write",
            "arguments": wire.arguments_json(CALLS[1]),
        },
        {"type": "function_call_output", "call_id": "c1", "output": "contents"},
        {"type": "function_call_output", "call_id": "c2", "output": "disk full"},
        {"role": "user", "content": "next"},
        {"role": "system", "content": "late"},
    ]


def test_responses_request_without_system() -> None:
    assert wire.responses_request([UserMessage(content="hi")]) == (
        None,
        [{"role": "user", "content": "hi"}],
    )


def test_anthropic_request_merges_results_and_text_results_first() -> None:
    system, messages = wire.anthropic_request(CONVERSATION)
    assert system == "sys"
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "On it."},
                {"type": "tool_use", "id": "c1", "name": "read", "input": {"path": "/a"}},
                {
                    "type": "tool_use",
                    "id": "c2",
                    "name": "write",
                    "input": {"path": "/b", "text": "hé"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "c1",
                    "content": "contents",
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "c2",
                    "content": "disk full",
                    "is_error": True,
                },
                {"type": "text", "text": "next"},
            ],
        },
    ]


def test_anthropic_joins_every_system_message() -> None:
    system, messages = wire.anthropic_request(
        [SystemMessage(content="a"), UserMessage(content="u"), SystemMessage(content="b")]
    )
    assert system == "a\n\nb"
    assert len(messages) == 1


def test_anthropic_tool_result_message_text_after_results() -> None:
    message = wire.anthropic_tool_result_message(CALLS, RESULTS, text="more")
    assert [b["type"] for b in message["content"]] == ["tool_result", "tool_result", "text"]
    assert message["role"] == "user"


# --- tool definitions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool", [TOOL, {"type": "function", "function": TOOL}], ids=["bare", "openai"]
)
def test_tool_definitions(tool: dict[str, object]) -> None:
    assert wire.chat_tools([tool]) == [{"type": "function", "function": TOOL}]
    assert wire.responses_tools([tool]) == [{"type": "function", **TOOL, "strict": False}]
    assert wire.anthropic_tools([tool]) == [
        {"name": "read", "description": "Read a file.", "input_schema": {"type": "object"}}
    ]


def test_tool_without_parameters_gets_an_empty_object_schema() -> None:
    [tool] = wire.anthropic_tools([{"name": "now"}])
    assert tool == {
        "name": "now",
        "description": "",
        "input_schema": {"type": "object", "properties": {}},
    }
