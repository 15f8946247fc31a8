"""Parse once: a streamed call's argument text is parsed by the emitter, which hands the object
on as ``ToolCall.decoded``, and the runtime runs the call without parsing the text again."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pydantic_core
import pytest
from loopback import (
    CHAT_DONE,
    Loopback,
    chat_chunk,
    chat_completion,
    chat_fragment,
    chat_usage_chunk,
    drain,
    json_reply,
    responses_body,
    responses_call_events,
    responses_call_item,
    responses_event,
    responses_terminal,
    stream_reply,
)

from asyncfc import ToolCall, ToolExecutor, ToolResult, Toolset
from asyncfc._messages import (
    AssistantMessage,
    ModelSettings,
    StreamEvent,
    ToolCallDone,
    ToolResultsMessage,
    UserMessage,
)
from asyncfc.models import OpenAIChatModel, OpenAIResponsesModel

pytestmark = pytest.mark.anyio

ASK = [UserMessage(content="weather in Paris?")]
TOOLS = [{"name": "get_weather", "description": "Weather.", "parameters": {"type": "object"}}]
SETTINGS = ModelSettings()
ARGS = '{"city": "Paris", "days": [1, 2]}'


def get_weather(city: str, days: list[int]) -> str:
    """Weather in a city."""
    return f"{city}: sunny for {len(days)} days"


def emitted(events: list[StreamEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallDone)]


def chat_steps(*calls: tuple[int, str, str]) -> list[object]:
    """One chat stream writing ``(index, id, arguments)`` calls, the arguments in two pieces."""
    steps: list[object] = []
    for index, call_id, arguments in calls:
        steps.append(chat_chunk(tool_calls=[chat_fragment(index, call_id, "get_weather")]))
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            steps.append(chat_chunk(tool_calls=[chat_fragment(index, arguments=piece)]))
    return [*steps, chat_chunk(finish_reason="tool_calls"), chat_usage_chunk(), CHAT_DONE]


async def test_chat_stream_hands_on_the_decoded_arguments(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    server.add(stream_reply(chat_steps((0, "c1", ARGS), (1, "c2", "{city: Paris"))))
    good, bad = emitted(await drain(chat, ASK, TOOLS, SETTINGS, []))
    assert (good.arguments, good.decoded) == (ARGS, json.loads(ARGS))
    assert (bad.arguments, bad.decoded) == ("{city: Paris", None)


async def test_responses_stream_hands_on_the_decoded_arguments(
    responses: OpenAIResponsesModel, server: Loopback
) -> None:
    steps = [
        responses_event("response.created", response=responses_body([], "in_progress")),
        *responses_call_events(0, "c1", "get_weather", [ARGS[:9], ARGS[9:]]),
        *responses_call_events(1, "c2", "get_weather", ["[1, 2]"]),
        responses_terminal(
            [
                responses_call_item("c1", "get_weather", ARGS),
                responses_call_item("c2", "get_weather", "[1, 2]"),
            ]
        ),
    ]
    server.add(stream_reply(steps))
    good, not_an_object = emitted(await drain(responses, ASK, TOOLS, SETTINGS, []))
    assert good.decoded == json.loads(ARGS)
    assert not_an_object.decoded is None


async def test_the_provider_gets_back_the_text_it_wrote(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    written = '{ "city" :"Paris",  "days": [1,2] }'  # not how json.dumps would write it
    server.add(stream_reply(chat_steps((0, "c1", written))))
    [call] = emitted(await drain(chat, ASK, TOOLS, SETTINGS, []))
    assert call.decoded == {"city": "Paris", "days": [1, 2]}
    result = ToolResult(call_id="c1", name="get_weather", content="sunny")
    conversation = [
        *ASK,
        AssistantMessage(tool_calls=(call,)),
        ToolResultsMessage(results=(result,)),
    ]
    server.add(json_reply(chat_completion("Sunny.")))
    await chat.request(conversation, TOOLS, SETTINGS)
    assert server.last["messages"][1]["tool_calls"][0]["function"]["arguments"] == written


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text handed to ``pydantic_core.from_json`` (the emitter's and the runtime's
    parser) or to ``json.loads`` while the test runs."""
    seen: list[str] = []

    def counting(real: Callable[..., Any]) -> Callable[..., Any]:
        def parse(data: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(data)
            return real(data, *args, **kwargs)

        return parse

    monkeypatch.setattr(pydantic_core, "from_json", counting(pydantic_core.from_json))
    monkeypatch.setattr(json, "loads", counting(json.loads))
    return seen


async def test_a_streamed_call_is_parsed_once_from_the_wire_to_the_tool(
    chat: OpenAIChatModel, server: Loopback, parses: list[str]
) -> None:
    other = '{"city": "Rome", "days": [3]}'
    server.add(stream_reply(chat_steps((0, "c1", ARGS), (1, "c2", other))))
    calls = emitted(await drain(chat, ASK, TOOLS, SETTINGS, []))
    executor = ToolExecutor(toolset=Toolset([get_weather]))
    batch = await executor.run(calls)
    assert [r.content for r in batch.results] == [
        "Paris: sunny for 2 days",
        "Rome: sunny for 1 days",
    ]
    assert (parses.count(ARGS), parses.count(other)) == (1, 1)
    # The counter does see the runtime's parse: without ``decoded`` the text is parsed again.
    await executor.run([replace(calls[0], decoded=None)])
    assert parses.count(ARGS) == 2
