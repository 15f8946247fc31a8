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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._calls import ToolCall, ToolResult
from ._messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    UserMessage,
)
from ._wire_anthropic import anthropic_blocks_to_calls as anthropic_blocks_to_calls
from ._wire_anthropic import anthropic_request as anthropic_request
from ._wire_anthropic import anthropic_tool_result_message as anthropic_tool_result_message
from ._wire_anthropic import anthropic_tools as anthropic_tools
from ._wire_shared import arguments_json as arguments_json
from ._wire_shared import arguments_object as arguments_object
from ._wire_shared import (
    call_id,
    calls_before,
    field_of,
    malformed,
    parameters_of,
    spec_of_tool,
    system_text,
)
from ._wire_shared import new_call_id as new_call_id
from ._wire_shared import pair_results as pair_results

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


# --- OpenAI Chat Completions --------------------------------------------------------------


def chat_tool_calls_to_calls(tool_calls: Iterable[Mapping[str, Any]]) -> tuple[ToolCall, ...]:
    """``message.tool_calls`` (``[{"id", "function": {"name", "arguments"}}]``) → calls.

    A call without an id gets a generated one (:func:`new_call_id`); a call without
    ``function`` or a name raises :class:`~asyncfc.ModelResponseError`.
    """
    calls = []
    for position, tc in enumerate(tool_calls):
        function = field_of(tc, "function", "tool call", position, "openai")
        if not isinstance(function, Mapping):
            raise malformed("tool call", position, "'function' is not an object", "openai")
        calls.append(
            ToolCall(
                id=call_id(tc.get("id")),
                name=str(field_of(function, "name", "tool call", position, "openai")),
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
            out.extend(chat_tool_messages(calls_before(messages, position), message.results))
    return out


def chat_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Neutral tool definitions → ``[{"type": "function", "function": {...}}]``."""
    out = []
    for tool in tools:
        spec = spec_of_tool(tool)
        function = {
            "name": spec["name"],
            "description": spec.get("description", ""),
            "parameters": parameters_of(spec),
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
                id=call_id(item.get("call_id")),
                name=str(field_of(item, "name", "function_call item", position, "openai")),
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
    return responses_result_items(calls_before(messages, position), message.results)


def responses_request(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """A neutral conversation → ``(instructions, input)``.

    Leading system messages become ``instructions`` (joined by blank lines); later system
    messages stay in ``input`` as ``system`` items.
    """
    lead = 0
    while lead < len(messages) and isinstance(messages[lead], SystemMessage):
        lead += 1
    instructions = "\n\n".join(system_text(m) for m in messages[:lead]) or None
    items: list[dict[str, Any]] = []
    for position in range(lead, len(messages)):
        items.extend(_responses_items(messages, position))
    return instructions, items


def responses_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Neutral tool definitions → Responses ``function`` tools (non-strict)."""
    out = []
    for tool in tools:
        spec = spec_of_tool(tool)
        out.append(
            {
                "type": "function",
                "name": spec["name"],
                "description": spec.get("description", ""),
                "parameters": parameters_of(spec),
                "strict": False,
            }
        )
    return out
