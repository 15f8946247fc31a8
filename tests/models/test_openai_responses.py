"""OpenAIResponsesModel against the loopback server, through the real ``openai`` SDK client."""

from __future__ import annotations

import pytest
from loopback import (
    DROP,
    Checkpoint,
    Loopback,
    drain,
    json_reply,
    raw_reply,
    responses_body,
    responses_call_events,
    responses_call_item,
    responses_event,
    responses_terminal,
    responses_text_item,
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
from asyncfc.models import OpenAIResponsesModel

pytestmark = pytest.mark.anyio

TOOLS = [
    {"name": "get_weather", "description": "Weather in a city.", "parameters": {"type": "object"}},
    {"name": "get_time", "description": "Time in a city.", "parameters": {"type": "object"}},
]
ASK = [SystemMessage(content="be brief"), UserMessage(content="weather and time in Paris?")]
SETTINGS = ModelSettings()
ARGS = '{"city": "Paris"}'


def done_calls(events: list[StreamEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallDone)]


def final(events: list[StreamEvent]) -> StreamDone:
    assert isinstance(events[-1], StreamDone)
    return events[-1]


def created() -> bytes:
    return responses_event("response.created", response=responses_body([], "in_progress"))


async def test_text_turn(responses: OpenAIResponsesModel, server: Loopback) -> None:
    server.add(json_reply(responses_body([responses_text_item("Sunny.")])))
    response = await responses.request(ASK, [], SETTINGS)
    assert response.message == AssistantMessage(content="Sunny.")
    assert response.finish_reason == "completed"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)
    sent = server.requests[-1]
    assert sent.path == "/v1/responses"
    assert sent.body["instructions"] == "be brief"
    assert sent.body["input"] == [{"role": "user", "content": "weather and time in Paris?"}]
    assert "tools" not in sent.body


async def test_multi_call_turn(responses: OpenAIResponsesModel, server: Loopback) -> None:
    output = [
        responses_call_item("c1", "get_weather", ARGS),
        responses_call_item("c2", "get_time", ARGS),
    ]
    server.add(json_reply(responses_body(output)))
    response = await responses.request(ASK, TOOLS, ModelSettings(parallel_tool_calls=False))
    assert response.message.tool_calls == (
        ToolCall(id="c1", name="get_weather", arguments=ARGS),
        ToolCall(id="c2", name="get_time", arguments=ARGS),
    )
    body = server.last
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0] == {
        "type": "function",
        "name": "get_weather",
        "description": "Weather in a city.",
        "parameters": {"type": "object"},
        "strict": False,
    }


async def test_round_trip_of_tool_results(
    responses: OpenAIResponsesModel, server: Loopback
) -> None:
    calls = (ToolCall(id="c1", name="get_weather", arguments=ARGS),)
    conversation = [
        *ASK,
        AssistantMessage(content="Let me check.", tool_calls=calls),
        ToolResultsMessage(results=(ToolResult(call_id="c1", name="get_weather", content="sun"),)),
        UserMessage(content="thanks"),
    ]
    server.add(json_reply(responses_body([responses_text_item("You're welcome.")])))
    await responses.request(conversation, TOOLS, SETTINGS)
    assert server.last["input"][1:] == [
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": ARGS},
        {"type": "function_call_output", "call_id": "c1", "output": "sun"},
        {"role": "user", "content": "thanks"},
    ]


async def test_errors(responses: OpenAIResponsesModel, server: Loopback) -> None:
    server.add(
        json_reply({"error": {"message": "too many"}}, 429),
        json_reply({"error": {"message": "backend down"}}, 503),
        raw_reply("<html>not json"),
    )
    with pytest.raises(ModelRateLimitError, match="too many"):
        await responses.request(ASK, TOOLS, SETTINGS)
    with pytest.raises(ModelAPIError, match="backend down") as caught:
        await responses.request(ASK, TOOLS, SETTINGS)
    assert caught.value.status == 503
    with pytest.raises(ModelResponseError):
        await responses.request(ASK, TOOLS, SETTINGS)


async def test_connection_dropped(responses: OpenAIResponsesModel, server: Loopback) -> None:
    server.add(json_reply({}))
    server.replies[-1].drop = True
    with pytest.raises(ModelConnectionError):
        await responses.request(ASK, TOOLS, SETTINGS)


async def test_failed_response_raises(responses: OpenAIResponsesModel, server: Loopback) -> None:
    body = {**responses_body([], "failed"), "error": {"code": "server_error", "message": "oops"}}
    server.add(json_reply(body))
    with pytest.raises(ModelAPIError, match="oops"):
        await responses.request(ASK, TOOLS, SETTINGS)


async def test_incomplete_drops_the_cut_call(
    responses: OpenAIResponsesModel, server: Loopback
) -> None:
    output = [
        responses_call_item("c1", "get_weather", ARGS),
        responses_call_item("c2", "get_time", '{"ci', status="incomplete"),
    ]
    server.add(json_reply(responses_body(output, "incomplete", "max_output_tokens")))
    response = await responses.request(ASK, TOOLS, SETTINGS)
    assert [c.id for c in response.message.tool_calls] == ["c1"]
    assert response.finish_reason == "max_output_tokens"


# --- streaming ----------------------------------------------------------------------------


async def test_stream_call_done_before_stream_ends(
    responses: OpenAIResponsesModel, server: Loopback
) -> None:
    hold = Checkpoint()
    output = [
        responses_call_item("c1", "get_weather", ARGS),
        responses_call_item("c2", "get_time", ARGS),
    ]
    steps = [
        created(),
        *responses_call_events(0, "c1", "get_weather", ['{"city": ', '"Paris"}']),
        hold,
        *responses_call_events(1, "c2", "get_time", ['{"city": "Paris"}']),
        responses_terminal(output),
    ]
    server.add(stream_reply(steps, pace_s=0.001))
    seen: list[StreamEvent] = []
    async with responses.stream(ASK, TOOLS, SETTINGS) as events:
        async for event in events:
            seen.append(event)
            if isinstance(event, ToolCallDone) and event.call.id == "c1":
                assert not hold.released.is_set()
                hold.release()
    assert hold.released.is_set()
    calls = done_calls(seen)
    assert calls == [
        ToolCall(id="c1", name="get_weather", arguments=ARGS),
        ToolCall(id="c2", name="get_time", arguments=ARGS),
    ]
    response = final(seen).response
    assert response.message.tool_calls == tuple(calls)
    assert response.finish_reason == "completed"
    assert server.last["stream"] is True


async def test_stream_text(responses: OpenAIResponsesModel, server: Loopback) -> None:
    steps = [
        created(),
        responses_event("response.output_text.delta", item_id="msg_1", delta="Sun"),
        responses_event("response.output_text.delta", item_id="msg_1", delta="ny."),
        responses_terminal([responses_text_item("Sunny.")]),
    ]
    server.add(stream_reply(steps))
    events = await drain(responses, ASK, [], SETTINGS, [])
    assert events[:2] == [TextDelta(text="Sun"), TextDelta(text="ny.")]
    assert final(events).response.message == AssistantMessage(content="Sunny.")


async def test_stream_dropped_mid_call(responses: OpenAIResponsesModel, server: Loopback) -> None:
    steps = [
        created(),
        *responses_call_events(0, "c1", "get_weather", [ARGS]),
        *responses_call_events(1, "c2", "get_time", ['{"ci'], done=False),
        DROP,
    ]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelConnectionError):
        await drain(responses, ASK, TOOLS, SETTINGS, seen)
    assert [c.id for c in done_calls(seen)] == ["c1"]


async def test_stream_without_terminal_event(
    responses: OpenAIResponsesModel, server: Loopback
) -> None:
    steps = [created(), *responses_call_events(0, "c1", "get_weather", ['{"ci'], done=False)]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelResponseError, match=r"response\.completed"):
        await drain(responses, ASK, TOOLS, SETTINGS, seen)
    assert done_calls(seen) == []


async def test_stream_malformed_event(responses: OpenAIResponsesModel, server: Loopback) -> None:
    steps = [created(), sse("{oops", event="response.output_text.delta")]
    server.add(stream_reply(steps))
    with pytest.raises(ModelResponseError):
        await drain(responses, ASK, TOOLS, SETTINGS, [])


async def test_stream_error_event(responses: OpenAIResponsesModel, server: Loopback) -> None:
    steps = [
        created(),
        *responses_call_events(0, "c1", "get_weather", [ARGS]),
        *responses_call_events(1, "c2", "get_time", ['{"ci'], done=False),
        responses_event("error", code="server_error", message="model fell over", param=None),
    ]
    server.add(stream_reply(steps))
    seen: list[StreamEvent] = []
    with pytest.raises(ModelAPIError, match="model fell over"):
        await drain(responses, ASK, TOOLS, SETTINGS, seen)
    assert [c.id for c in done_calls(seen)] == ["c1"]


async def test_stream_failed_event(responses: OpenAIResponsesModel, server: Loopback) -> None:
    failed = {**responses_body([], "failed"), "error": {"code": "x", "message": "rate exceeded"}}
    steps = [created(), responses_event("response.failed", response=failed)]
    server.add(stream_reply(steps))
    with pytest.raises(ModelAPIError, match="rate exceeded"):
        await drain(responses, ASK, TOOLS, SETTINGS, [])


async def test_stream_max_output_tokens_inside_arguments(
    responses: OpenAIResponsesModel, server: Loopback
) -> None:
    """The cut call even gets an ``arguments.done`` with bad JSON: held, then dropped."""
    cut = responses_call_item("c2", "get_time", '{"ci', status="incomplete")
    steps = [
        created(),
        *responses_call_events(0, "c1", "get_weather", [ARGS]),
        *responses_call_events(1, "c2", "get_time", ['{"ci'], done=False),
        responses_event(
            "response.function_call_arguments.done",
            item_id="fc_c2",
            output_index=1,
            arguments='{"ci',
        ),
        responses_event("response.output_item.done", output_index=1, item=cut),
        responses_terminal(
            [responses_call_item("c1", "get_weather", ARGS), cut],
            "incomplete",
            "max_output_tokens",
        ),
    ]
    server.add(stream_reply(steps))
    events = await drain(responses, ASK, TOOLS, SETTINGS, [])
    assert [c.id for c in done_calls(events)] == ["c1"]
    response = final(events).response
    assert [c.id for c in response.message.tool_calls] == ["c1"]
    assert response.finish_reason == "max_output_tokens"


async def test_stream_invalid_json_and_no_double_emission(
    responses: OpenAIResponsesModel, server: Loopback
) -> None:
    steps = [
        created(),
        *responses_call_events(0, "c1", "get_weather", ["{city: Paris"]),
        *responses_call_events(1, "c2", "get_time", [ARGS]),
        responses_terminal(
            [
                responses_call_item("c1", "get_weather", "{city: Paris"),
                responses_call_item("c2", "get_time", ARGS),
            ]
        ),
    ]
    server.add(stream_reply(steps))
    events = await drain(responses, ASK, TOOLS, SETTINGS, [])
    emitted = [e for e in events if isinstance(e, ToolCallDone)]
    assert [(e.index, e.call.id, e.call.arguments) for e in emitted] == [
        (0, "c1", "{city: Paris"),
        (1, "c2", ARGS),
    ]
    assert final(events).response.message.tool_calls == tuple(e.call for e in emitted)
