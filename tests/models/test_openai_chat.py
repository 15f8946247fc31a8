"""OpenAIChatModel against the loopback server, through the real ``openai`` SDK client."""

from __future__ import annotations

import json

import pytest
from loopback import (
    CHAT_DONE,
    DROP,
    Checkpoint,
    Loopback,
    chat_chunk,
    chat_completion,
    chat_fragment,
    chat_usage_chunk,
    drain,
    json_reply,
    raw_reply,
    sse,
    stream_reply,
)

from asyncfc import ToolCall, ToolResult
from asyncfc._errors import (
    ModelAPIError,
    ModelConnectionError,
    ModelRateLimitError,
    ModelResponseError,
    ModelTimeoutError,
)
from asyncfc._messages import (
    AssistantMessage,
    ChatModel,
    ModelSettings,
    StreamDone,
    StreamEvent,
    SystemMessage,
    TextDelta,
    ToolCallDone,
    ToolResultsMessage,
    UserMessage,
)
from asyncfc.models import OpenAIChatModel

pytestmark = pytest.mark.anyio

TOOLS = [
    {"name": "get_weather", "description": "Weather in a city.", "parameters": {"type": "object"}},
    {"name": "get_time", "description": "Time in a city.", "parameters": {"type": "object"}},
]
ASK = [SystemMessage(content="be brief"), UserMessage(content="weather and time in Paris?")]
SETTINGS = ModelSettings()


async def collect(model: OpenAIChatModel, settings: ModelSettings = SETTINGS) -> list[StreamEvent]:
    async with model.stream(ASK, TOOLS, settings) as events:
        return [event async for event in events]


def done_calls(events: list[StreamEvent]) -> list[ToolCallDone]:
    return [e for e in events if isinstance(e, ToolCallDone)]


def final(events: list[StreamEvent]) -> StreamDone:
    assert isinstance(events[-1], StreamDone)
    return events[-1]


def two_call_stream(*middle: object) -> list[object]:
    """Call a (index 0) then call b (index 1), with ``middle`` steps after b's first fragment."""
    return [
        chat_chunk(tool_calls=[chat_fragment(0, "call_a", "get_weather")]),
        chat_chunk(tool_calls=[chat_fragment(0, arguments='{"city": ')]),
        chat_chunk(tool_calls=[chat_fragment(0, arguments='"Paris"}')]),
        chat_chunk(tool_calls=[chat_fragment(1, "call_b", "get_time", '{"city"')]),
        *middle,
        chat_chunk(tool_calls=[chat_fragment(1, arguments=': "Paris"}')]),
        chat_chunk(finish_reason="tool_calls"),
        chat_usage_chunk(),
        CHAT_DONE,
    ]


# --- non-streaming ------------------------------------------------------------------------


async def test_satisfies_the_protocol(chat: OpenAIChatModel) -> None:
    assert isinstance(chat, ChatModel)


async def test_text_turn(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(json_reply(chat_completion("It is sunny.")))
    response = await chat.request(ASK, [], SETTINGS)
    assert response.message == AssistantMessage(content="It is sunny.")
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)
    assert response.model == "test-model"
    sent = server.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather and time in Paris?"},
    ]
    assert "tools" not in sent.body
    assert "parallel_tool_calls" not in sent.body


async def test_multi_call_turn_sends_tools_and_parallel_flag(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    calls = [("c1", "get_weather", '{"city": "Paris"}'), ("c2", "get_time", '{"city":"Paris"}')]
    server.add(json_reply(chat_completion(None, calls)))
    response = await chat.request(ASK, TOOLS, ModelSettings(parallel_tool_calls=False))
    assert response.message.tool_calls == tuple(
        ToolCall(id=i, name=n, arguments=a) for i, n, a in calls
    )
    assert response.message.content == ""
    assert response.finish_reason == "tool_calls"
    body = server.last
    assert body["parallel_tool_calls"] is False
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert body["tools"][0]["type"] == "function"


async def test_parallel_flag_not_sent_without_tools(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    server.add(json_reply(chat_completion("hi")))
    await chat.request(ASK, [], ModelSettings(parallel_tool_calls=True, max_tokens=5))
    assert "parallel_tool_calls" not in server.last
    assert server.last["max_completion_tokens"] == 5


async def test_max_tokens_under_the_older_field_name(server: Loopback) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0, timeout=10)
    async with client:
        model = OpenAIChatModel("m", client=client, max_tokens_param="max_tokens")
        server.add(json_reply(chat_completion("hi")))
        await model.request(ASK, [], ModelSettings(max_tokens=5))
    assert server.last["max_tokens"] == 5
    assert "max_completion_tokens" not in server.last


async def test_round_trip_of_tool_results(chat: OpenAIChatModel, server: Loopback) -> None:
    calls = (
        ToolCall(id="c1", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="c2", name="get_time", arguments={"city": "Paris"}),
    )
    results = (
        ToolResult(call_id="c2", name="get_time", content="12:00"),
        ToolResult(call_id="c1", name="get_weather", content="boom", is_error=True),
    )
    conversation = [
        *ASK,
        AssistantMessage(tool_calls=calls),
        ToolResultsMessage(results=results),
    ]
    server.add(json_reply(chat_completion("Sunny, noon.")))
    response = await chat.request(conversation, TOOLS, SETTINGS)
    assert response.message.content == "Sunny, noon."
    sent = server.last["messages"]
    assert sent[2]["tool_calls"][1]["function"] == {
        "name": "get_time",
        "arguments": json.dumps({"city": "Paris"}),
    }
    assert sent[3:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "boom"},
        {"role": "tool", "tool_call_id": "c2", "content": "12:00"},
    ]


async def test_rate_limit(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(json_reply({"error": {"message": "slow down", "type": "rate_limit"}}, 429))
    with pytest.raises(ModelRateLimitError, match="slow down") as caught:
        await chat.request(ASK, TOOLS, SETTINGS)
    assert caught.value.status == 429
    assert caught.value.provider == "openai"


async def test_server_error_keeps_provider_message(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(json_reply({"error": {"message": "the engine is overloaded"}}, 500))
    with pytest.raises(ModelAPIError, match="the engine is overloaded") as caught:
        await chat.request(ASK, TOOLS, SETTINGS)
    assert caught.value.status == 500
    assert not isinstance(caught.value, ModelRateLimitError)


async def test_malformed_body(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(raw_reply('{"choices": [ oops'))
    with pytest.raises(ModelResponseError):
        await chat.request(ASK, TOOLS, SETTINGS)


async def test_body_without_choices(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(json_reply({**chat_completion("x"), "choices": []}))
    with pytest.raises(ModelResponseError, match="no choices"):
        await chat.request(ASK, TOOLS, SETTINGS)


async def test_connection_dropped(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(json_reply({}))
    server.replies[-1].drop = True
    with pytest.raises(ModelConnectionError):
        await chat.request(ASK, TOOLS, SETTINGS)


async def test_length_drops_the_trailing_call(chat: OpenAIChatModel, server: Loopback) -> None:
    calls = [("c1", "get_weather", '{"city": "Paris"}'), ("c2", "get_time", '{"ci')]
    server.add(json_reply(chat_completion(None, calls, finish_reason="length")))
    response = await chat.request(ASK, TOOLS, SETTINGS)
    assert [c.id for c in response.message.tool_calls] == ["c1"]
    assert response.finish_reason == "length"


# --- streaming ----------------------------------------------------------------------------


async def test_stream_text(chat: OpenAIChatModel, server: Loopback) -> None:
    steps = [
        chat_chunk("It is "),
        chat_chunk("sunny."),
        chat_chunk(finish_reason="stop"),
        CHAT_DONE,
    ]
    server.add(stream_reply(steps, pace_s=0.001))
    events = await collect(chat)
    assert events[:2] == [TextDelta(text="It is "), TextDelta(text="sunny.")]
    response = final(events).response
    assert response.message == AssistantMessage(content="It is sunny.")
    assert response.finish_reason == "stop"
    assert server.last["stream"] is True
    assert server.last["stream_options"] == {"include_usage": True}


async def test_call_done_before_stream_ends(chat: OpenAIChatModel, server: Loopback) -> None:
    hold = Checkpoint("after call b starts")
    server.add(stream_reply(two_call_stream(hold)))
    seen: list[StreamEvent] = []
    async with chat.stream(ASK, TOOLS, SETTINGS) as events:
        async for event in events:
            seen.append(event)
            if isinstance(event, ToolCallDone) and event.call.id == "call_a":
                # The server is parked at the checkpoint: the rest of the stream (b's
                # arguments, finish_reason, [DONE]) cannot have been sent yet.
                assert not hold.released.is_set()
                hold.release()
    assert hold.released.is_set(), "call_a was not emitted while the stream was held"
    calls = done_calls(seen)
    assert [(d.index, d.call.id) for d in calls] == [(0, "call_a"), (1, "call_b")]
    assert calls[0].call == ToolCall(id="call_a", name="get_weather", arguments='{"city": "Paris"}')
    response = final(seen).response
    assert response.message.tool_calls == (calls[0].call, calls[1].call)
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)


async def test_index_zero_reuse(chat: OpenAIChatModel, server: Loopback) -> None:
    """Ollama-style: every call on index 0; a new id completes the previous call."""
    hold = Checkpoint()
    steps = [
        chat_chunk(tool_calls=[chat_fragment(0, "call_a", "get_weather", '{"city": "Paris"}')]),
        chat_chunk(tool_calls=[chat_fragment(0, "call_b", "get_time", '{"city": ')]),
        hold,
        chat_chunk(tool_calls=[chat_fragment(0, arguments='"Rome"}')]),
        chat_chunk(finish_reason="tool_calls"),
        CHAT_DONE,
    ]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    async with chat.stream(ASK, TOOLS, SETTINGS) as events:
        async for event in events:
            seen.append(event)
            if isinstance(event, ToolCallDone) and event.call.id == "call_a":
                assert not hold.released.is_set()
                hold.release()
    calls = [d.call for d in done_calls(seen)]
    assert calls == [
        ToolCall(id="call_a", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="call_b", name="get_time", arguments='{"city": "Rome"}'),
    ]
    assert final(seen).response.message.tool_calls == tuple(calls)


async def test_same_id_repeated_on_every_fragment_is_one_call(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    steps = [
        chat_chunk(tool_calls=[chat_fragment(0, "call_a", "get_weather", '{"city"')]),
        chat_chunk(tool_calls=[chat_fragment(0, "call_a", "get_weather", ': "Paris"}')]),
        chat_chunk(finish_reason="tool_calls"),
        CHAT_DONE,
    ]
    server.add(stream_reply(steps))
    calls = [d.call for d in done_calls(await collect(chat))]
    assert calls == [ToolCall(id="call_a", name="get_weather", arguments='{"city": "Paris"}')]


async def test_dropped_connection_mid_call(chat: OpenAIChatModel, server: Loopback) -> None:
    steps = two_call_stream(DROP)
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelConnectionError):
        await drain(chat, ASK, TOOLS, SETTINGS, seen)
    assert [d.call.id for d in done_calls(seen)] == ["call_a"]  # call_b never completed


async def test_stream_ending_without_finish_reason(chat: OpenAIChatModel, server: Loopback) -> None:
    steps = [chat_chunk(tool_calls=[chat_fragment(0, "call_a", "get_weather", '{"ci')]), CHAT_DONE]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelResponseError, match="finish_reason"):
        await drain(chat, ASK, TOOLS, SETTINGS, seen)
    assert done_calls(seen) == []


async def test_malformed_chunk(chat: OpenAIChatModel, server: Loopback) -> None:
    steps = [chat_chunk("hi"), sse("{not json"), chat_chunk(finish_reason="stop"), CHAT_DONE]
    server.add(stream_reply(steps))
    with pytest.raises(ModelResponseError, match="malformed"):
        await collect(chat)


async def test_error_event(chat: OpenAIChatModel, server: Loopback) -> None:
    steps = two_call_stream(sse({"error": {"message": "upstream model crashed"}}))
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelAPIError, match="upstream model crashed"):
        await drain(chat, ASK, TOOLS, SETTINGS, seen)
    assert [d.call.id for d in done_calls(seen)] == ["call_a"]


async def test_length_inside_arguments(chat: OpenAIChatModel, server: Loopback) -> None:
    steps = [
        chat_chunk(tool_calls=[chat_fragment(0, "call_a", "get_weather", '{"city": "Paris"}')]),
        chat_chunk(tool_calls=[chat_fragment(1, "call_b", "get_time", '{"city": "Ro')]),
        chat_chunk(finish_reason="length"),
        CHAT_DONE,
    ]
    server.add(stream_reply(steps))
    events = await collect(chat)
    assert [d.call.id for d in done_calls(events)] == ["call_a"]
    response = final(events).response
    assert [c.id for c in response.message.tool_calls] == ["call_a"]
    assert response.finish_reason == "length"


async def test_completed_invalid_json_is_still_emitted(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    steps = [
        chat_chunk(tool_calls=[chat_fragment(0, "call_a", "get_weather", "{city: Paris")]),
        chat_chunk(tool_calls=[chat_fragment(1, "call_b", "get_time", "{}")]),
        chat_chunk(finish_reason="tool_calls"),
        CHAT_DONE,
    ]
    server.add(stream_reply(steps))
    events = await collect(chat)
    calls = [d.call for d in done_calls(events)]
    assert calls[0] == ToolCall(id="call_a", name="get_weather", arguments="{city: Paris")
    assert final(events).response.message.tool_calls == tuple(calls)


async def test_no_double_emission(chat: OpenAIChatModel, server: Loopback) -> None:
    """Whole calls flushed at the end in one chunk, then finish_reason: each emitted once,
    and the final message repeats exactly the emitted calls."""
    steps = [
        chat_chunk("Checking."),
        chat_chunk(
            tool_calls=[
                chat_fragment(0, "call_a", "get_weather", '{"city": "Paris"}'),
                chat_fragment(1, "call_b", "get_time", '{"city": "Paris"}'),
            ],
            finish_reason="tool_calls",
        ),
        CHAT_DONE,
    ]
    server.add(stream_reply(steps))
    events = await collect(chat)
    emitted = done_calls(events)
    ids = [d.call.id for d in emitted]
    assert ids == ["call_a", "call_b"]
    assert [d.index for d in emitted] == [0, 1]
    response = final(events).response
    assert [c.id for c in response.message.tool_calls] == ids
    for done in emitted:
        assert response.message.tool_calls[done.index] is done.call
    assert response.message.content == "Checking."


async def test_stream_open_error_is_typed(chat: OpenAIChatModel, server: Loopback) -> None:
    server.add(json_reply({"error": {"message": "quota"}}, 429))
    with pytest.raises(ModelRateLimitError, match="quota"):
        await collect(chat)


async def test_base_url_constructor(server: Loopback) -> None:
    model = OpenAIChatModel("local-model", base_url=f"{server.url}/v1", max_retries=0, timeout=5)
    server.add(json_reply(chat_completion("ok")))
    async with model.client:
        response = await model.request(ASK, [], SETTINGS)
    assert response.message.content == "ok"
    assert server.last["model"] == "local-model"
    assert model.client.max_retries == 0


async def test_read_timeout_is_typed(server: Loopback) -> None:
    from openai import AsyncOpenAI

    hold = Checkpoint()
    server.add(stream_reply([hold, chat_chunk(finish_reason="stop"), CHAT_DONE]))
    client = AsyncOpenAI(base_url=f"{server.url}/v1", api_key="t", max_retries=0, timeout=0.05)
    try:
        async with client:
            model = OpenAIChatModel("m", client=client)
            with pytest.raises(ModelTimeoutError):
                await drain(model, ASK, TOOLS, SETTINGS, [])
    finally:
        hold.release()


async def test_leaving_the_stream_early_closes_it(chat: OpenAIChatModel, server: Loopback) -> None:
    hold = Checkpoint()
    server.add(stream_reply(two_call_stream(hold)))
    try:
        async with chat.stream(ASK, TOOLS, SETTINGS) as events:
            async for event in events:
                if isinstance(event, ToolCallDone):
                    break
    finally:
        hold.release()
    # The client is still usable for the next request.
    server.add(json_reply(chat_completion("again")))
    assert (await chat.request(ASK, [], SETTINGS)).message.content == "again"
