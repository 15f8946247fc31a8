"""Every SDK adapter records the provider's token usage, requested and streamed.

``Usage.input_tokens`` is the whole prompt and ``output_tokens`` the whole completion, whatever
part of them the provider cached or spent on reasoning: OpenAI counts cached and reasoning
tokens inside its totals (they must not be added again), Anthropic reports cache reads and
writes beside ``input_tokens`` (they must be added).
"""

from __future__ import annotations

from typing import Any

import pytest
from loopback import (
    CHAT_DONE,
    Loopback,
    anthropic_event,
    anthropic_message,
    anthropic_text_block,
    chat_chunk,
    chat_completion,
    drain,
    json_reply,
    responses_body,
    responses_event,
    responses_text_item,
    sse,
    stream_reply,
)

from asyncfc._messages import ModelSettings, StreamDone, StreamEvent, Usage, UserMessage
from asyncfc.models import AnthropicModel, OpenAIChatModel, OpenAIResponsesModel

pytestmark = pytest.mark.anyio

ASK = [UserMessage(content="hi")]
SETTINGS = ModelSettings()

CHAT_USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 100},
    "completion_tokens_details": {"reasoning_tokens": 20},
}
RESPONSES_USAGE = {
    "input_tokens": 120,
    "output_tokens": 30,
    "total_tokens": 150,
    "input_tokens_details": {"cached_tokens": 100},
    "output_tokens_details": {"reasoning_tokens": 20},
}
ANTHROPIC_USAGE = {
    "input_tokens": 20,
    "cache_creation_input_tokens": 30,
    "cache_read_input_tokens": 100,
    "output_tokens": 30,
}


def usage_of(events: list[StreamEvent]) -> Usage:
    assert isinstance(events[-1], StreamDone)
    return events[-1].response.usage


def chat_usage_chunk(usage: dict[str, Any]) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test-model",
        "choices": [],
        "usage": usage,
    }
    return sse(chunk)


# --- OpenAI Chat Completions ----------------------------------------------------------------


async def test_chat_request(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(json_reply({**chat_completion("hello"), "usage": CHAT_USAGE}))
    response = await chat.request(ASK, [], SETTINGS)
    assert response.usage == Usage(input_tokens=120, output_tokens=30)


async def test_chat_stream_asks_for_usage_and_reads_the_last_chunk(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    steps = [chat_chunk("hello"), chat_chunk(finish_reason="stop"), chat_usage_chunk(CHAT_USAGE)]
    server.add(stream_reply([*steps, CHAT_DONE]))
    events = await drain(chat, ASK, [], SETTINGS, [])
    assert usage_of(events) == Usage(input_tokens=120, output_tokens=30)
    assert server.last["stream_options"] == {"include_usage": True}


async def test_chat_stream_options_from_extra_keep_usage_unless_they_refuse_it(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    steps = [chat_chunk("hello"), chat_chunk(finish_reason="stop"), CHAT_DONE]
    server.add(stream_reply(steps), stream_reply(steps))
    other = ModelSettings(extra={"stream_options": {"include_obfuscation": False}})
    await drain(chat, ASK, [], other, [])
    assert server.last["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    refused = ModelSettings(extra={"stream_options": {"include_usage": False}})
    events = await drain(chat, ASK, [], refused, [])
    assert server.last["stream_options"] == {"include_usage": False}
    assert usage_of(events) == Usage()


# --- OpenAI Responses -----------------------------------------------------------------------


def responses_with_usage(status: str = "completed") -> dict[str, Any]:
    return {**responses_body([responses_text_item("hello")], status), "usage": RESPONSES_USAGE}


async def test_responses_request(responses: OpenAIResponsesModel, server: Loopback) -> None:
    server.add(json_reply(responses_with_usage()))
    response = await responses.request(ASK, [], SETTINGS)
    assert response.usage == Usage(input_tokens=120, output_tokens=30)


async def test_responses_stream(responses: OpenAIResponsesModel, server: Loopback) -> None:
    steps = [
        responses_event("response.created", response=responses_body([], "in_progress")),
        responses_event("response.output_text.delta", item_id="msg_1", delta="hello"),
        responses_event("response.completed", response=responses_with_usage()),
    ]
    server.add(stream_reply(steps))
    events = await drain(responses, ASK, [], SETTINGS, [])
    assert usage_of(events) == Usage(input_tokens=120, output_tokens=30)


# --- Anthropic Messages ---------------------------------------------------------------------


async def test_anthropic_request_counts_cached_input(
    claude: AnthropicModel, server: Loopback
) -> None:
    body = {**anthropic_message([{"type": "text", "text": "hello"}]), "usage": ANTHROPIC_USAGE}
    server.add(json_reply(body))
    response = await claude.request(ASK, [], SETTINGS)
    assert response.usage == Usage(input_tokens=20 + 30 + 100, output_tokens=30)


def anthropic_stream(delta_usage: dict[str, Any]) -> list[bytes]:
    start = {
        **anthropic_message([]),
        "stop_reason": None,
        "usage": {**ANTHROPIC_USAGE, "output_tokens": 1},
    }
    return [
        anthropic_event("message_start", message=start),
        *anthropic_text_block(0, ["hello"]),
        anthropic_event(
            "message_delta",
            delta={"stop_reason": "end_turn", "stop_sequence": None},
            usage=delta_usage,
        ),
        anthropic_event("message_stop"),
    ]


async def test_anthropic_stream_counts_cached_input(
    claude: AnthropicModel, server: Loopback
) -> None:
    server.add(stream_reply(anthropic_stream({"output_tokens": 30})))
    events = await drain(claude, ASK, [], SETTINGS, [])
    assert usage_of(events) == Usage(input_tokens=20 + 30 + 100, output_tokens=30)


async def test_anthropic_stream_takes_the_cumulative_counts_of_message_delta(
    claude: AnthropicModel, server: Loopback
) -> None:
    # message_delta's counts are cumulative; a field it leaves null keeps message_start's.
    delta = {"output_tokens": 31, "input_tokens": 25, "cache_read_input_tokens": 110}
    server.add(stream_reply(anthropic_stream({**delta, "cache_creation_input_tokens": None})))
    events = await drain(claude, ASK, [], SETTINGS, [])
    assert usage_of(events) == Usage(input_tokens=25 + 30 + 110, output_tokens=31)
