"""The Anthropic Messages wire format of :mod:`asyncfc.wire` (invariants there): calls are
``tool_use`` content blocks; *all* results of one turn go into ONE user message as
``tool_result`` blocks (with ``is_error``), placed before any text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._calls import ToolCall, ToolResult
from ._messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolResultsMessage,
    UserMessage,
)
from ._wire_shared import (
    arguments_object,
    call_id,
    calls_before,
    field_of,
    pair_results,
    parameters_of,
    spec_of_tool,
)

__all__ = (
    "anthropic_blocks_to_calls",
    "anthropic_request",
    "anthropic_tool_result_message",
    "anthropic_tools",
)


def anthropic_blocks_to_calls(blocks: Iterable[Mapping[str, Any]]) -> tuple[ToolCall, ...]:
    """``tool_use`` blocks of a message's ``content`` → calls (other blocks skipped)."""
    calls = []
    for position, b in enumerate(blocks):
        if b.get("type") != "tool_use":
            continue
        arguments = b.get("input") or {}
        calls.append(
            ToolCall(
                id=call_id(b.get("id")),
                name=str(field_of(b, "name", "tool_use block", position, "anthropic")),
                arguments=(
                    dict(arguments)
                    if isinstance(arguments, Mapping)
                    else json.dumps(arguments, default=str)
                ),
            )
        )
    return tuple(calls)


def _tool_result_block(result: ToolResult) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": result.call_id,
        "content": result.content,
        "is_error": result.is_error,
    }


def anthropic_tool_result_message(
    calls: Sequence[ToolCall], results: Iterable[ToolResult], text: str | None = None
) -> dict[str, Any]:
    """ONE user message: a ``tool_result`` block per call, in call order, then ``text``."""
    content = [_tool_result_block(r) for r in pair_results(calls, results)]
    if text:
        content.append({"type": "text", "text": text})
    return {"role": "user", "content": content}


def _anthropic_assistant(message: AssistantMessage) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if message.content:
        content.append({"type": "text", "text": message.content})
    content.extend(
        {"type": "tool_use", "id": c.id, "name": c.name, "input": arguments_object(c)}
        for c in message.tool_calls
    )
    return {"role": "assistant", "content": content}


def _append_user(out: list[dict[str, Any]], blocks: list[dict[str, Any]]) -> None:
    """Append user content, merging into the previous message when it is a user message
    (a tool-results message followed by user text becomes one message, results first)."""
    if out and out[-1]["role"] == "user":
        out[-1]["content"].extend(blocks)
    else:
        out.append({"role": "user", "content": blocks})


def anthropic_request(
    messages: Sequence[Message],
) -> tuple[str | None, list[dict[str, Any]]]:
    """A neutral conversation → ``(system, messages)`` for ``client.messages.create``.

    All system messages are joined (blank lines) into the top-level ``system``.  Consecutive
    user-side messages (results, then text) are merged into one user message.
    """
    system = [m.content for m in messages if isinstance(m, SystemMessage)]
    out: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        if isinstance(message, UserMessage):
            _append_user(out, [{"type": "text", "text": message.content}])
        elif isinstance(message, AssistantMessage):
            out.append(_anthropic_assistant(message))
        elif isinstance(message, ToolResultsMessage):
            results = pair_results(calls_before(messages, position), message.results)
            _append_user(out, [_tool_result_block(r) for r in results])
    return ("\n\n".join(system) or None), out


def anthropic_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Neutral tool definitions → ``[{"name", "description", "input_schema"}]``."""
    out = []
    for tool in tools:
        spec = spec_of_tool(tool)
        out.append(
            {
                "name": spec["name"],
                "description": spec.get("description", ""),
                "input_schema": parameters_of(spec),
            }
        )
    return out
