"""Repeated and empty call ids from a server, through the real SDKs over loopback HTTP: the
agent gives them fresh ids before anything runs, and the next request pairs every result
with its call on each wire format (asyncfc._callids)."""

from __future__ import annotations

from typing import Any

import pytest
from loopback import (
    Loopback,
    anthropic_message,
    chat_completion,
    json_reply,
    responses_body,
    responses_call_item,
    responses_text_item,
)

import asyncfc as a

pytestmark = pytest.mark.anyio


def echo(x: int) -> int:
    return x


TOOLS = a.Toolset([a.tool(echo, reads=(), writes=())])


async def _run(model: Any, mode: a.AgentMode = "parallel") -> a.AgentRun:
    agent = a.Agent(model=model, toolset=TOOLS, mode=mode)
    return await agent.run("go")


@pytest.mark.parametrize("mode", ["parallel", "async_parallel"])
async def test_openai_chat(server: Loopback, chat: Any, mode: a.AgentMode) -> None:
    calls = [
        ("call_0", "echo", '{"x": 1}'),
        ("call_0", "echo", '{"x": 2}'),
        ("", "echo", '{"x": 3}'),
    ]
    server.add(json_reply(chat_completion(tool_calls=calls)), json_reply(chat_completion("ok")))
    if mode == "async_parallel":
        server.add(json_reply(chat_completion("ok")))
    run = await _run(chat, mode)
    sent = server.requests[1].body["messages"]
    assistant = next(m for m in sent if m["role"] == "assistant")
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert len(set(ids)) == 3
    assert ids[:2] == ["call_0", "call_0_2"]
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ids
    assert sorted(r.value for r in run.results.values()) == [1, 2, 3]
    assert ids[2].startswith("call_")  # the wire gave the empty id a fresh one
    assert run.renamed_ids == {"call_0_2": "call_0"}


async def test_openai_responses(server: Loopback, responses: Any) -> None:
    items = [
        responses_call_item("call_0", "echo", '{"x": 1}'),
        responses_call_item("call_0", "echo", '{"x": 2}'),
    ]
    server.add(
        json_reply(responses_body(items)), json_reply(responses_body([responses_text_item("ok")]))
    )
    run = await _run(responses)
    sent = server.requests[1].body["input"]
    calls = [i["call_id"] for i in sent if i.get("type") == "function_call"]
    outputs = [i["call_id"] for i in sent if i.get("type") == "function_call_output"]
    assert calls == outputs == ["call_0", "call_0_2"]
    assert sorted(r.value for r in run.results.values()) == [1, 2]


async def test_anthropic(server: Loopback, claude: Any) -> None:
    blocks = [
        {"type": "tool_use", "id": "toolu_0", "name": "echo", "input": {"x": 1}},
        {"type": "tool_use", "id": "toolu_0", "name": "echo", "input": {"x": 2}},
    ]
    server.add(
        json_reply(anthropic_message(blocks, stop_reason="tool_use")),
        json_reply(anthropic_message([{"type": "text", "text": "ok"}])),
    )
    run = await _run(claude)
    sent = server.requests[1].body["messages"]
    uses = [
        b["id"]
        for m in sent
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_use"
    ]
    results = [
        b["tool_use_id"]
        for m in sent
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert uses == results == ["toolu_0", "toolu_0_2"]
    assert sorted(r.value for r in run.results.values()) == [1, 2]
