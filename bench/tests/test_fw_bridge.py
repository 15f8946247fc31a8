"""The decode bridge: pydantic-ai's and the Agents SDK's messages convert to asyncfc's and
back without losing what the replay reads, and the script sees a futures session's
appended deliveries as delivered."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from asyncfc_bench._fw_common import ReplayBridge, script_view, split_delivery
from asyncfc_bench._fw_openai_agents import to_neutral as agents_to_neutral
from asyncfc_bench._fw_openai_agents import to_output_items
from asyncfc_bench._fw_pydantic_ai import to_neutral as pai_to_neutral
from asyncfc_bench._fw_pydantic_ai import to_pydantic_ai
from asyncfc_bench._virtual_clock import run_virtual
from pydantic_ai.messages import ModelRequest, ToolReturnPart, UserPromptPart

from asyncfc import (
    AWAIT_TOOL_NAME,
    AssistantMessage,
    FuturesSession,
    Message,
    SystemMessage,
    Tool,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    Toolset,
    UserMessage,
)
from asyncfc.replay import Behaviour, DecodeModel, Plan, PlannedCall

REPLY = AssistantMessage(
    content="",
    tool_calls=(
        ToolCall(id="call_1", name="cd", arguments='{"folder": "document"}'),
        ToolCall(id="call_2", name="ls", arguments="{}"),
    ),
)


def _calls(message: Message) -> list[tuple[str, str, Any]]:
    assert isinstance(message, AssistantMessage)
    return [
        (c.id, c.name, json.loads(c.arguments) if isinstance(c.arguments, str) else c.arguments)
        for c in message.tool_calls
    ]


# -- pydantic-ai ----------------------------------------------------------------------------


def test_pydantic_ai_reply_round_trip() -> None:
    response = to_pydantic_ai(REPLY, 120, 9)
    assert response.usage.input_tokens == 120
    assert response.usage.output_tokens == 9
    [back] = pai_to_neutral([response])
    assert _calls(back) == _calls(REPLY)
    [text] = pai_to_neutral([to_pydantic_ai(AssistantMessage(content="done"), 1, 1)])
    assert text == AssistantMessage(content="done")


def test_pydantic_ai_request_parts() -> None:
    request = ModelRequest(
        parts=[
            ToolReturnPart(tool_name="ls", content="future_2 (pending)", tool_call_id="call_2"),
            ToolReturnPart(tool_name="cd", content="future_1 (pending)", tool_call_id="call_1"),
            UserPromptPart("next"),
        ]
    )
    messages = pai_to_neutral([request], instructions="be brief")
    assert messages[0] == SystemMessage(content="be brief")
    assert isinstance(messages[1], ToolResultsMessage)
    assert [(r.call_id, r.name, r.content) for r in messages[1].results] == [
        ("call_2", "ls", "future_2 (pending)"),
        ("call_1", "cd", "future_1 (pending)"),
    ]
    assert messages[2] == UserMessage(content="next")


# -- OpenAI Agents SDK ----------------------------------------------------------------------


def test_agents_reply_round_trip() -> None:
    reply = AssistantMessage(content="working", tool_calls=REPLY.tool_calls)
    items = [i.model_dump(exclude_unset=True) for i in to_output_items(reply)]
    messages = agents_to_neutral(
        [
            {"role": "user", "content": "go"},
            *items,
            {"type": "function_call_output", "call_id": "call_1", "output": "r1"},
            {"type": "function_call_output", "call_id": "call_2", "output": "r2"},
        ],
        "system text",
    )
    system, user, assistant, results = messages
    assert system == SystemMessage(content="system text")
    assert user == UserMessage(content="go")
    assert isinstance(assistant, AssistantMessage)
    assert assistant.content == "working"
    assert _calls(assistant) == _calls(REPLY)
    assert isinstance(results, ToolResultsMessage)
    assert [(r.call_id, r.name, r.content) for r in results.results] == [
        ("call_1", "cd", "r1"),
        ("call_2", "ls", "r2"),
    ]


def test_agents_unknown_items_are_refused() -> None:
    with pytest.raises(TypeError, match="reasoning"):
        agents_to_neutral([{"type": "reasoning", "summary": []}])


# -- deliveries appended by a futures session -----------------------------------------------


async def first() -> str:
    """Return at once."""
    return "one"


async def second() -> str:
    """Take a while."""
    await anyio.sleep(100)
    return "two"


async def third() -> str:
    """Needs the first result."""
    return "three"


def _session_conversation(*, keep_delivery: bool) -> tuple[str, str]:
    """Drive a bridge and a real futures session: call ``first``, let it settle, call
    ``second`` (whose answer carries the delivery of ``first``), and return the name of the
    call the script makes next and the answer's raw text."""
    plan = Plan(
        prompts=["go"],
        turns=[
            [
                PlannedCall(name="first", arguments={}),
                PlannedCall(name="second", arguments={}),
                PlannedCall(name="third", arguments={}, needs=(0,)),
            ]
        ],
    )
    toolset = Toolset(Tool.from_function(f) for f in (first, second, third))
    bridge = ReplayBridge.for_plan(
        plan,
        toolset,
        futures=True,
        decode=DecodeModel(ttft=0.0),
        behaviour=Behaviour(batching_rate=0.0),
    )

    async def main() -> tuple[str, str]:
        messages: list[Message] = [UserMessage(content="go")]
        async with FuturesSession(toolset, mode="async") as session:
            raw = ""
            for _ in range(2):
                reply = await bridge.respond(messages, session.tool_definitions())
                [call] = reply.tool_calls
                result = await session.call(call)
                raw = result.content
                if not keep_delivery:
                    result = ToolResult(
                        call_id=result.call_id,
                        name=result.name,
                        content=split_delivery(result.content)[0],
                    )
                messages += [reply, ToolResultsMessage(results=(result,))]
                await anyio.sleep(1)  # ``first`` settles; ``second`` is still running
            reply = await bridge.respond(messages, session.tool_definitions())
            await session.drain()
        return reply.tool_calls[0].name, raw

    return run_virtual(main())


def test_an_appended_delivery_is_split_off_losslessly() -> None:
    _, raw = _session_conversation(keep_delivery=True)
    own, delivery = split_delivery(raw)
    assert delivery
    assert raw == f"{own}\n\n{delivery}"
    assert own.startswith("future_2")
    assert "\n" not in own
    assert "future_1" in delivery
    assert "one" in delivery
    assert split_delivery(own) == (own, "")


def test_the_script_reads_an_appended_delivery_as_delivered() -> None:
    """With the delivery the script writes the dependent call at once; without it (the
    control) it must first await the future it has not seen."""
    assert _session_conversation(keep_delivery=True)[0] == "third"
    assert _session_conversation(keep_delivery=False)[0] == AWAIT_TOOL_NAME


def test_script_view_orders_results_by_call_and_moves_deliveries() -> None:
    delivery = "Heading\nfuture_1 = 1"
    messages: list[Message] = [
        REPLY,
        ToolResultsMessage(
            results=(
                ToolResult(
                    call_id="call_2", name="ls", content=f"future_2 (pending)\n\n{delivery}"
                ),
                ToolResult(call_id="call_1", name="cd", content="future_1 (pending)"),
            )
        ),
    ]
    view = script_view(messages)
    assert view[0] == REPLY
    assert isinstance(view[1], ToolResultsMessage)
    assert [(r.call_id, r.content) for r in view[1].results] == [
        ("call_1", "future_1 (pending)"),
        ("call_2", "future_2 (pending)"),
    ]
    assert view[2] == UserMessage(content=delivery)
