"""pydantic-ai's own MCP toolset (``MCPToolset``, a fastmcp client) wrapped by
:class:`AsyncFCToolset`, talking over stdio to the reference time server in a child process.

The agent run enters the wrapper, which enters the MCP toolset: the server process lives for
the run and is gone when it ends (checked from /proc, with a bounded wait).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pydantic_ai")
pytest.importorskip("fastmcp")
pytest.importorskip("mcp_server_time")

from fastmcp.client.transports import StdioTransport
from processes import no_process_left as no_process_left_after
from pydantic_ai import Agent
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai_script import calls, scripted

from asyncfc.integrations.pydantic_ai import AsyncFC, AsyncFCToolset

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """The MCP server process the run started is gone when the test ends."""
    with no_process_left_after():
        yield


def time_server() -> MCPToolset[Any]:
    """pydantic-ai's MCP toolset over the reference time server (stdio, a child process)."""
    return MCPToolset(
        StdioTransport(
            command=sys.executable, args=["-m", "mcp_server_time", "--local-timezone", "UTC"]
        )
    )


def returns(messages: list[ModelMessage]) -> list[ToolReturnPart]:
    return [
        p
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    ]


def called(messages: list[ModelMessage]) -> list[str]:
    return [
        p.tool_call_id
        for m in messages
        if isinstance(m, ModelResponse)
        for p in m.parts
        if isinstance(p, ToolCallPart)
    ]


async def test_mcp_toolset_answers_with_futures_that_resolve_in_later_calls() -> None:
    model, infos = scripted(
        [
            calls(
                ("get_current_time", {"timezone": "Asia/Tokyo"}, "c1"),
                (
                    "convert_time",
                    {
                        "source_timezone": "future_1.timezone",  # "Asia/Tokyo", once settled
                        "time": "12:00",
                        "target_timezone": "UTC",
                    },
                    "c2",
                ),
            ),
            calls(("await_future", {"future_ids": ["future_1", "future_2"]}, "c3")),
            ModelResponse(parts=[TextPart("noon in Tokyo is 03:00 UTC")]),
        ]
    )
    agent = Agent(model, capabilities=[AsyncFC(time_server())])
    result = await agent.run("go")

    assert result.output == "noon in Tokyo is 03:00 UTC"
    assert [t.name for t in infos[0].function_tools] == [
        "get_current_time",
        "convert_time",
        "await_future",
    ]
    messages = result.all_messages()
    parts = returns(messages)
    assert called(messages) == [p.tool_call_id for p in parts] == ["c1", "c2", "c3"]
    assert [str(p.content).split(" ")[0] for p in parts[:2]] == ["future_1", "future_2"]
    awaited = str(parts[2].content)
    assert "future_1 = " in awaited
    assert "future_2 = " in awaited
    assert "Error" not in awaited
    # convert_time ran with the resolved reference: noon in Tokyo (UTC+9, no DST) is 03:00 UTC
    assert '"timezone":"Asia/Tokyo","datetime":' in awaited.replace(" ", "")
    assert "T03:00:00+00:00" in awaited
    assert len(infos) == 3  # the model had seen every result: no drain retry


async def test_mcp_toolset_in_concurrent_mode_hands_back_the_servers_values() -> None:
    model, _ = scripted(
        [
            calls(
                ("get_current_time", {"timezone": "Asia/Tokyo"}, "c1"),
                (
                    "convert_time",
                    {"source_timezone": "Asia/Tokyo", "time": "12:00", "target_timezone": "UTC"},
                    "c2",
                ),
                ("get_current_time", {"timezone": "Not/AZone"}, "c3"),
            ),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    wrapped = AsyncFCToolset(
        time_server(),
        mode="concurrent",
        labels={"get_current_time": {"reads": ["clock"]}, "convert_time": {"reads": []}},
    )
    result = await Agent(model, toolsets=[wrapped]).run("go")

    assert result.output == "ok"
    messages = result.all_messages()
    answered = [
        p.tool_call_id
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if getattr(p, "tool_call_id", None) is not None
    ]
    assert called(messages) == answered == ["c1", "c2", "c3"]
    by_id = {p.tool_call_id: p.content for p in returns(messages)}
    assert by_id["c1"]["timezone"] == "Asia/Tokyo"  # the server's structured value itself
    assert by_id["c2"]["target"]["datetime"].endswith("T03:00:00+00:00")
    # the server's error for a bad zone: pydantic-ai's MCP toolset asks the model to retry
    retried = [m for m in messages if isinstance(m, ModelRequest)][1].parts[-1]
    assert retried.tool_call_id == "c3"
    assert "Not/AZone" in str(getattr(retried, "content", ""))
