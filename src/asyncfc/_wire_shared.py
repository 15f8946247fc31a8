"""What every wire format of :mod:`asyncfc.wire` shares: pairing results with calls, call
ids, argument forms, tool definitions, malformed-response errors (invariants in
:mod:`asyncfc.wire`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._calls import ToolCall, ToolResult
from ._errors import ModelResponseError
from ._messages import AssistantMessage, Message, SystemMessage

__all__ = (
    "arguments_json",
    "arguments_object",
    "call_id",
    "calls_before",
    "field_of",
    "malformed",
    "new_call_id",
    "pair_results",
    "parameters_of",
    "spec_of_tool",
    "system_text",
)


def pair_results(calls: Sequence[ToolCall], results: Iterable[ToolResult]) -> list[ToolResult]:
    """``results`` in the order of ``calls``, one per call id; :class:`ValueError` otherwise."""
    by_id: dict[str, ToolResult] = {}
    for result in results:
        if result.call_id in by_id:
            raise ValueError(f"two results for tool call id {result.call_id!r}")
        by_id[result.call_id] = result
    ids = [call.id for call in calls]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate tool call ids: {ids!r}")
    missing = [i for i in ids if i not in by_id]
    extra = sorted(set(by_id) - set(ids))
    if missing or extra:
        raise ValueError(
            f"tool results do not pair 1:1 with calls (missing: {missing}, unknown: {extra})"
        )
    return [by_id[i] for i in ids]


def new_call_id() -> str:
    """A fresh call id, ``call_`` and 24 random hex digits: unique within any conversation,
    for calls whose provider sent no id (some OpenAI-compatible servers send none or ``""``)."""
    return f"call_{uuid.uuid4().hex[:24]}"


def call_id(value: Any) -> str:
    """The provider's call id, or a new one when it sent none (missing or ``""``)."""
    return str(value) if value not in (None, "") else new_call_id()


def malformed(what: str, position: int, problem: str, provider: str) -> ModelResponseError:
    """The error for a response item the provider sent without something it must have."""
    return ModelResponseError(
        f"{provider} sent a malformed {what} (position {position}): {problem}", provider=provider
    )


def field_of(item: Mapping[str, Any], key: str, what: str, position: int, provider: str) -> Any:
    """``item[key]``, or :class:`ModelResponseError` naming the missing field."""
    value = item.get(key) if isinstance(item, Mapping) else None
    if value is None or value == "":
        raise malformed(what, position, f"it has no '{key}'", provider)
    return value


def arguments_json(call: ToolCall) -> str:
    """The call's arguments as JSON text (OpenAI's form).  Values JSON cannot encode are
    written with ``str()``; arguments that cannot be encoded at all (nested past the encoder's
    depth) become ``{}``, like invalid JSON in :func:`arguments_object`."""
    if isinstance(call.arguments, str):
        return call.arguments
    try:
        return json.dumps(dict(call.arguments), ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return "{}"


def arguments_object(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as a JSON object (Anthropic's form); ``{}`` for invalid JSON."""
    if not isinstance(call.arguments, str):
        return dict(call.arguments)
    try:
        value = json.loads(call.arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def spec_of_tool(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    """The neutral ``{"name", "description", "parameters"}`` of a tool definition, also
    when wrapped OpenAI-style in ``{"type": "function", "function": {...}}``."""
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        spec: Mapping[str, Any] = tool["function"]
        return spec
    return tool


def parameters_of(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A tool's parameter schema (an empty object schema when it has none)."""
    return dict(spec.get("parameters") or {"type": "object", "properties": {}})


def calls_before(messages: Sequence[Message], position: int) -> tuple[ToolCall, ...]:
    """The calls a :class:`ToolResultsMessage` at ``position`` answers: those of the nearest
    assistant message before it (none if there is none, so any result fails to pair)."""
    for earlier in reversed(messages[:position]):
        if isinstance(earlier, AssistantMessage):
            return earlier.tool_calls
    return ()


def system_text(message: Message) -> str:
    """A system message's text."""
    assert isinstance(message, SystemMessage)
    return message.content
