"""AnthropicModel against the loopback server, through the real ``anthropic`` SDK client."""

from __future__ import annotations

import pytest
from loopback import (
    DROP,
    Checkpoint,
    Loopback,
    anthropic_end,
    anthropic_event,
    anthropic_message,
    anthropic_start,
    anthropic_text_block,
    anthropic_tool_block,
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
)
from asyncfc._messages import (
    AssistantMessage,
    ModelSettings,
    StreamDone,
    StreamEvent,
    SystemMessage,
    TextDelta,
    ToolCallDone,
    ToolResultsMessage,
    UserMessage,
)
from asyncfc.models import AnthropicModel

pytestmark = pytest.mark.anyio

TOOLS = [
    {"name": "get_weather", "description": "Weather in a city.", "parameters": {"type": "object"}},
    {"name": "get_time", "description": "Time in a city.", "parameters": {"type": "object"}},
]
ASK = [SystemMessage(content="be brief"), UserMessage(content="weather and time in Paris?")]
SETTINGS = ModelSettings()
PARIS = {"city": "Paris"}


def tool_use(call_id: str, name: str, arguments: dict[str, str]) -> dict[str, object]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def done_calls(events: list[StreamEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallDone)]


def final(events: list[StreamEvent]) -> StreamDone:
    assert isinstance(events[-1], StreamDone)
    return events[-1]


async def test_text_turn(claude: AnthropicModel, server: Loopback) -> None:
    server.add(json_reply(anthropic_message([{"type": "text", "text": "Sunny."}])))
    response = await claude.request(ASK, [], SETTINGS)
    assert response.message == AssistantMessage(content="Sunny.")
    assert response.finish_reason == "end_turn"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)
    sent = server.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.body["system"] == "be brief"
    assert sent.body["max_tokens"] == 4096
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather and time in Paris?"}]}
    ]
    assert "tools" not in sent.body
    assert "tool_choice" not in sent.body


async def test_multi_call_turn(claude: AnthropicModel, server: Loopback) -> None:
    content = [
        {"type": "text", "text": "Checking."},
        tool_use("tu1", "get_weather", PARIS),
        tool_use("tu2", "get_time", PARIS),
    ]
    server.add(json_reply(anthropic_message(content, "tool_use")))
    response = await claude.request(
        ASK, TOOLS, ModelSettings(parallel_tool_calls=False, max_tokens=100)
    )
    assert response.message == AssistantMessage(
        content="Checking.",
        tool_calls=(
            ToolCall(id="tu1", name="get_weather", arguments=PARIS),
            ToolCall(id="tu2", name="get_time", arguments=PARIS),
        ),
    )
    body = server.last
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["tools"][0] == {
        "name": "get_weather",
        "description": "Weather in a city.",
        "input_schema": {"type": "object"},
    }
    assert body["max_tokens"] == 100


async def test_parallel_true_sends_no_tool_choice(claude: AnthropicModel, server: Loopback) -> None:
    server.add(json_reply(anthropic_message([{"type": "text", "text": "ok"}])))
    await claude.request(ASK, TOOLS, ModelSettings(parallel_tool_calls=True))
    assert "tool_choice" not in server.last


async def test_round_trip_results_and_text_in_one_user_message(
    claude: AnthropicModel, server: Loopback
) -> None:
    calls = (
        ToolCall(id="tu1", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="tu2", name="get_time", arguments=PARIS),
    )
    results = (
        ToolResult(call_id="tu1", name="get_weather", content="sun"),
        ToolResult(call_id="tu2", name="get_time", content="no clock", is_error=True),
    )
    conversation = [
        *ASK,
        AssistantMessage(tool_calls=calls),
        ToolResultsMessage(results=results),
        UserMessage(content="and tomorrow?"),
    ]
    server.add(json_reply(anthropic_message([{"type": "text", "text": "Rain."}])))
    await claude.request(conversation, TOOLS, SETTINGS)
    messages = server.last["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [
        tool_use("tu1", "get_weather", PARIS),
        tool_use("tu2", "get_time", PARIS),
    ]
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "tu1", "content": "sun", "is_error": False},
        {"type": "tool_result", "tool_use_id": "tu2", "content": "no clock", "is_error": True},
        {"type": "text", "text": "and tomorrow?"},
    ]


async def test_errors(claude: AnthropicModel, server: Loopback) -> None:
    def error(kind: str, message: str) -> dict[str, object]:
        return {"type": "error", "error": {"type": kind, "message": message}}

    server.add(
        json_reply(error("rate_limit_error", "Number of requests exceeded"), 429),
        json_reply(error("api_error", "Internal server error"), 500),
        json_reply(error("overloaded_error", "Overloaded"), 529),
        raw_reply('{"content": [ nope'),
    )
    with pytest.raises(ModelRateLimitError, match="Number of requests exceeded") as limited:
        await claude.request(ASK, TOOLS, SETTINGS)
    assert limited.value.status == 429
    assert limited.value.provider == "anthropic"
    with pytest.raises(ModelAPIError, match="Internal server error") as failed:
        await claude.request(ASK, TOOLS, SETTINGS)
    assert failed.value.status == 500
    with pytest.raises(ModelAPIError, match="Overloaded") as overloaded:
        await claude.request(ASK, TOOLS, SETTINGS)
    assert overloaded.value.status == 529
    with pytest.raises(ModelResponseError):
        await claude.request(ASK, TOOLS, SETTINGS)


async def test_connection_dropped(claude: AnthropicModel, server: Loopback) -> None:
    server.add(json_reply({}))
    server.replies[-1].drop = True
    with pytest.raises(ModelConnectionError):
        await claude.request(ASK, TOOLS, SETTINGS)


async def test_max_tokens_drops_the_trailing_call(claude: AnthropicModel, server: Loopback) -> None:
    content = [tool_use("tu1", "get_weather", PARIS), tool_use("tu2", "get_time", {})]
    server.add(json_reply(anthropic_message(content, "max_tokens")))
    response = await claude.request(ASK, TOOLS, SETTINGS)
    assert [c.id for c in response.message.tool_calls] == ["tu1"]
    assert response.finish_reason == "max_tokens"


# --- streaming ----------------------------------------------------------------------------


async def test_stream_call_done_before_stream_ends(
    claude: AnthropicModel, server: Loopback
) -> None:
    hold = Checkpoint()
    steps = [
        anthropic_start(),
        *anthropic_text_block(0, ["Let me ", "check."]),
        *anthropic_tool_block(1, "tu1", "get_weather", ["", '{"city": ', '"Paris"}']),
        hold,
        *anthropic_tool_block(2, "tu2", "get_time", ['{"city": "Paris"}']),
        *anthropic_end("tool_use"),
    ]
    server.add(stream_reply(steps, pace_s=0.001))
    seen: list[StreamEvent] = []
    async with claude.stream(ASK, TOOLS, SETTINGS) as events:
        async for event in events:
            seen.append(event)
            if isinstance(event, ToolCallDone) and event.call.id == "tu1":
                assert not hold.released.is_set()
                hold.release()
    assert hold.released.is_set()
    assert [e for e in seen if isinstance(e, TextDelta)] == [
        TextDelta(text="Let me "),
        TextDelta(text="check."),
    ]
    calls = done_calls(seen)
    assert calls == [
        ToolCall(id="tu1", name="get_weather", arguments=PARIS),
        ToolCall(id="tu2", name="get_time", arguments=PARIS),
    ]
    response = final(seen).response
    assert response.message == AssistantMessage(content="Let me check.", tool_calls=tuple(calls))
    assert response.finish_reason == "tool_use"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)
    assert server.last["stream"] is True


async def test_stream_no_argument_tool(claude: AnthropicModel, server: Loopback) -> None:
    steps = [anthropic_start(), *anthropic_tool_block(0, "tu1", "get_time", []), *anthropic_end()]
    server.add(stream_reply(steps))
    events = await drain(claude, ASK, TOOLS, SETTINGS, [])
    assert done_calls(events) == [ToolCall(id="tu1", name="get_time", arguments={})]


async def test_stream_dropped_mid_call(claude: AnthropicModel, server: Loopback) -> None:
    steps = [
        anthropic_start(),
        *anthropic_tool_block(0, "tu1", "get_weather", ['{"city": "Paris"}']),
        *anthropic_tool_block(1, "tu2", "get_time", ['{"city": "Pa'], stop=False),
        DROP,
    ]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelConnectionError):
        await drain(claude, ASK, TOOLS, SETTINGS, seen)
    assert [c.id for c in done_calls(seen)] == ["tu1"]


async def test_stream_without_message_stop(claude: AnthropicModel, server: Loopback) -> None:
    steps = [anthropic_start(), *anthropic_tool_block(0, "tu1", "get_weather", ['{"ci'], False)]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelResponseError, match="message_stop"):
        await drain(claude, ASK, TOOLS, SETTINGS, seen)
    assert done_calls(seen) == []


async def test_stream_malformed_event(claude: AnthropicModel, server: Loopback) -> None:
    steps = [anthropic_start(), sse("{broken", event="content_block_delta")]
    server.add(stream_reply(steps))
    with pytest.raises(ModelResponseError):
        await drain(claude, ASK, TOOLS, SETTINGS, [])


async def test_stream_error_event(claude: AnthropicModel, server: Loopback) -> None:
    steps = [
        anthropic_start(),
        *anthropic_tool_block(0, "tu1", "get_weather", ['{"city": "Paris"}']),
        *anthropic_tool_block(1, "tu2", "get_time", ['{"ci'], stop=False),
        anthropic_event("error", error={"type": "overloaded_error", "message": "Overloaded"}),
    ]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelAPIError, match="Overloaded") as caught:
        await drain(claude, ASK, TOOLS, SETTINGS, seen)
    assert caught.value.status is None  # an event inside a 200 response: no HTTP status
    assert [c.id for c in done_calls(seen)] == ["tu1"]


async def test_stream_max_tokens_inside_arguments(claude: AnthropicModel, server: Loopback) -> None:
    """The API closes the cut block with ``content_block_stop``: the call is held (bad JSON)
    and dropped when ``message_delta`` reports ``max_tokens``."""
    steps = [
        anthropic_start(),
        *anthropic_tool_block(0, "tu1", "get_weather", ['{"city": "Paris"}']),
        *anthropic_tool_block(1, "tu2", "get_time", ['{"city": "Pa']),
        *anthropic_end("max_tokens"),
    ]
    server.add(stream_reply(steps))
    events = await drain(claude, ASK, TOOLS, SETTINGS, [])
    assert [c.id for c in done_calls(events)] == ["tu1"]
    response = final(events).response
    assert [c.id for c in response.message.tool_calls] == ["tu1"]
    assert response.finish_reason == "max_tokens"


async def test_stream_invalid_json_is_emitted_once(
    claude: AnthropicModel, server: Loopback
) -> None:
    steps = [
        anthropic_start(),
        *anthropic_tool_block(0, "tu1", "get_weather", ["{city: Paris}"]),
        *anthropic_tool_block(1, "tu2", "get_time", ['{"city": "Paris"}']),
        *anthropic_end("tool_use"),
    ]
    server.add(stream_reply(steps))
    events = await drain(claude, ASK, TOOLS, SETTINGS, [])
    emitted = [e for e in events if isinstance(e, ToolCallDone)]
    assert [(e.index, e.call.id, e.call.arguments) for e in emitted] == [
        (0, "tu1", "{city: Paris}"),
        (1, "tu2", PARIS),
    ]
    response = final(events).response
    assert response.message.tool_calls == tuple(e.call for e in emitted)
