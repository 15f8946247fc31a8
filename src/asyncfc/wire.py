"""Wire formats: pure transforms between asyncfc's neutral types and each provider's JSON.

Three formats are covered, each as plain ``dict``/``list`` data (no SDK is imported, so these
functions work for any client, recorded traffic or tests):

* **OpenAI Chat Completions**: calls are ``assistant.tool_calls[]``; each result is its own
  ``{"role": "tool", "tool_call_id": ...}`` message.
* **OpenAI Responses**: calls are ``function_call`` input/output items; results are
  ``function_call_output`` items.
* **Anthropic Messages**: calls are ``tool_use`` content blocks; *all* results of one turn go
  into ONE user message as ``tool_result`` blocks (with ``is_error``), placed before any text.

Invariants, and why:

* **Exactly one result per call id, in call order.**  Every provider rejects a conversation
  in which a call has no result or a result names no call; some also reject reordered
  results.  :func:`pair_results` enforces it and puts results into call order; anything that
  does not pair 1:1 (missing, extra or duplicate ids) is a programmer error and raises
  :class:`ValueError`, it is never silently repaired.
* **Arguments keep their form as far as the wire allows.**  OpenAI carries arguments as JSON
  text: a decoded mapping is re-encoded.  Anthropic carries a JSON object: text is decoded,
  and text that is not a JSON object (the model wrote invalid JSON; the result it got back
  already says so) becomes ``{}`` because the API accepts nothing else.
* **System prompts go where each provider wants them**: Chat Completions keeps system
  messages in place; Responses lifts the *leading* system messages into ``instructions`` and
  keeps later ones as ``system`` items; Anthropic joins all of them into the top-level
  ``system`` string (it has no system role inside ``messages``).
* **Every call has an id and a name.**  A call the provider sent without an id (missing or
  ``""``, as some OpenAI-compatible servers do) gets a generated one (:func:`new_call_id`), so
  two id-less calls never collide; a call without a name (or, for Chat Completions, without
  ``function``) is a :class:`~asyncfc.ModelResponseError` naming the missing field, never a
  bare ``KeyError``.
* **Tool definitions** are neutral ``{"name", "description", "parameters"}`` mappings; the
  OpenAI-style ``{"type": "function", "function": {...}}`` wrapper is accepted too.
  Responses tools are sent with ``"strict": False`` (the API's default is strict, which
  rejects schemas that are not closed, such as the futures runtime's widened parameters).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._calls import ToolCall, ToolResult
from ._errors import ModelResponseError
from ._messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolResultsMessage,
    UserMessage,
)

__all__ = (
    "anthropic_blocks_to_calls",
    "anthropic_request",
    "anthropic_tool_result_message",
    "anthropic_tools",
    "arguments_json",
    "arguments_object",
    "chat_messages",
    "chat_tool_calls_to_calls",
    "chat_tool_messages",
    "chat_tools",
    "new_call_id",
    "pair_results",
    "responses_items_to_calls",
    "responses_request",
    "responses_result_items",
    "responses_tools",
)


# --- shared -------------------------------------------------------------------------------


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


def _call_id(value: Any) -> str:
    return str(value) if value not in (None, "") else new_call_id()


def _malformed(what: str, position: int, problem: str, provider: str) -> ModelResponseError:
    return ModelResponseError(
        f"{provider} sent a malformed {what} (position {position}): {problem}", provider=provider
    )


def _field(item: Mapping[str, Any], key: str, what: str, position: int, provider: str) -> Any:
    """``item[key]``, or :class:`ModelResponseError` naming the missing field."""
    value = item.get(key) if isinstance(item, Mapping) else None
    if value is None or value == "":
        raise _malformed(what, position, f"it has no '{key}'", provider)
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


def _spec(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        spec: Mapping[str, Any] = tool["function"]
        return spec
    return tool


def _parameters(spec: Mapping[str, Any]) -> dict[str, Any]:
    return dict(spec.get("parameters") or {"type": "object", "properties": {}})


def _calls_before(messages: Sequence[Message], position: int) -> tuple[ToolCall, ...]:
    """The calls a :class:`ToolResultsMessage` at ``position`` answers: those of the nearest
    assistant message before it (none if there is none, so any result fails to pair)."""
    for earlier in reversed(messages[:position]):
        if isinstance(earlier, AssistantMessage):
            return earlier.tool_calls
    return ()


# --- OpenAI Chat Completions --------------------------------------------------------------


def chat_tool_calls_to_calls(tool_calls: Iterable[Mapping[str, Any]]) -> tuple[ToolCall, ...]:
    """``message.tool_calls`` (``[{"id", "function": {"name", "arguments"}}]``) → calls.

    A call without an id gets a generated one (:func:`new_call_id`); a call without
    ``function`` or a name raises :class:`~asyncfc.ModelResponseError`.
    """
    calls = []
    for position, tc in enumerate(tool_calls):
        function = _field(tc, "function", "tool call", position, "openai")
        if not isinstance(function, Mapping):
            raise _malformed("tool call", position, "'function' is not an object", "openai")
        calls.append(
            ToolCall(
                id=_call_id(tc.get("id")),
                name=str(_field(function, "name", "tool call", position, "openai")),
                arguments=function.get("arguments") or "",
            )
        )
    return tuple(calls)


def _chat_tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments_json(call)},
    }


def _chat_assistant(message: AssistantMessage) -> dict[str, Any]:
    # Always a string: OpenAI also takes null here, but llama.cpp's server refuses it.
    out: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [_chat_tool_call(c) for c in message.tool_calls]
    return out


def chat_tool_messages(
    calls: Sequence[ToolCall], results: Iterable[ToolResult]
) -> list[dict[str, Any]]:
    """One ``{"role": "tool"}`` message per call, in call order."""
    return [
        {"role": "tool", "tool_call_id": r.call_id, "content": r.content}
        for r in pair_results(calls, results)
    ]


def chat_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """A neutral conversation → Chat Completions ``messages``."""
    out: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        if isinstance(message, SystemMessage | UserMessage):
            out.append({"role": message.role, "content": message.content})
        elif isinstance(message, AssistantMessage):
            out.append(_chat_assistant(message))
        else:
            out.extend(chat_tool_messages(_calls_before(messages, position), message.results))
    return out


def chat_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Neutral tool definitions → ``[{"type": "function", "function": {...}}]``."""
    out = []
    for tool in tools:
        spec = _spec(tool)
        function = {
            "name": spec["name"],
            "description": spec.get("description", ""),
            "parameters": _parameters(spec),
        }
        out.append({"type": "function", "function": function})
    return out


# --- OpenAI Responses ---------------------------------------------------------------------


def responses_items_to_calls(items: Iterable[Mapping[str, Any]]) -> tuple[ToolCall, ...]:
    """``function_call`` items of a response's ``output`` → calls (other items skipped)."""
    calls = []
    for position, item in enumerate(items):
        if item.get("type") != "function_call":
            continue
        calls.append(
            ToolCall(
                id=_call_id(item.get("call_id")),
                name=str(_field(item, "name", "function_call item", position, "openai")),
                arguments=item.get("arguments") or "",
            )
        )
    return tuple(calls)


def _responses_call_item(call: ToolCall) -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments_json(call),
    }


def responses_result_items(
    calls: Sequence[ToolCall], results: Iterable[ToolResult]
) -> list[dict[str, Any]]:
    """One ``function_call_output`` item per call, in call order."""
    return [
        {"type": "function_call_output", "call_id": r.call_id, "output": r.content}
        for r in pair_results(calls, results)
    ]


def _responses_items(messages: Sequence[Message], position: int) -> list[dict[str, Any]]:
    message = messages[position]
    if isinstance(message, SystemMessage | UserMessage):
        return [{"role": message.role, "content": message.content}]
    if isinstance(message, AssistantMessage):
        text = [{"role": "assistant", "content": message.content}] if message.content else []
        return text + [_responses_call_item(c) for c in message.tool_calls]
    return responses_result_items(_calls_before(messages, position), message.results)


def responses_request(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """A neutral conversation → ``(instructions, input)``.

    Leading system messages become ``instructions`` (joined by blank lines); later system
    messages stay in ``input`` as ``system`` items.
    """
    lead = 0
    while lead < len(messages) and isinstance(messages[lead], SystemMessage):
        lead += 1
    instructions = "\n\n".join(_system_text(m) for m in messages[:lead]) or None
    items: list[dict[str, Any]] = []
    for position in range(lead, len(messages)):
        items.extend(_responses_items(messages, position))
    return instructions, items


def responses_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Neutral tool definitions → Responses ``function`` tools (non-strict)."""
    out = []
    for tool in tools:
        spec = _spec(tool)
        out.append(
            {
                "type": "function",
                "name": spec["name"],
                "description": spec.get("description", ""),
                "parameters": _parameters(spec),
                "strict": False,
            }
        )
    return out


# --- Anthropic Messages -------------------------------------------------------------------


def anthropic_blocks_to_calls(blocks: Iterable[Mapping[str, Any]]) -> tuple[ToolCall, ...]:
    """``tool_use`` blocks of a message's ``content`` → calls (other blocks skipped)."""
    calls = []
    for position, b in enumerate(blocks):
        if b.get("type") != "tool_use":
            continue
        arguments = b.get("input") or {}
        calls.append(
            ToolCall(
                id=_call_id(b.get("id")),
                name=str(_field(b, "name", "tool_use block", position, "anthropic")),
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


def _system_text(message: Message) -> str:
    assert isinstance(message, SystemMessage)
    return message.content


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
            results = pair_results(_calls_before(messages, position), message.results)
            _append_user(out, [_tool_result_block(r) for r in results])
    return ("\n\n".join(system) or None), out


def anthropic_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Neutral tool definitions → ``[{"name", "description", "input_schema"}]``."""
    out = []
    for tool in tools:
        spec = _spec(tool)
        out.append(
            {
                "name": spec["name"],
                "description": spec.get("description", ""),
                "input_schema": _parameters(spec),
            }
        )
    return out
