"""Everything the model *sees* of the futures protocol, kept in one module.

The protocol uses only the standard function-calling messages:

* **A call's result** is the normal tool-result message.  Its content is the stable text
  ``future_<n> (pending)``: the same bytes whatever the timing, so transcripts are
  reproducible and provider prompt caches keep hitting.
* **Schemas** are widened (:func:`future_tool_definition`): each top-level parameter that
  does not already accept any string becomes
  ``{"anyOf": [<original schema>, <future reference>]}`` where the reference branch is
  ``{"type": "string", "pattern": REFERENCE_PATTERN}``.  A plain string parameter (no enum,
  pattern, format or length) already admits every reference and is sent unchanged; how to
  write references, and that every call returns a future id at once, is said once, in
  :data:`PROMPT_ADDENDUM`, not per parameter or per tool description (that repetition was
  most of the async modes' extra input tokens on every request).  ``anyOf`` is accepted by
  OpenAI (non-strict function calling), Anthropic and llama.cpp's JSON-schema grammars.  asyncfc's
  adapters send non-strict schemas; under OpenAI strict mode every branch must itself be
  strict-valid, so strict users must keep their original schemas strict-valid.
  Arguments are validated against the *original* schema after references are resolved.
* **await_future** (:data:`AWAIT_TOOL`) is a runtime tool.  Its result lists each named
  future's value (or error) once all of them are settled, or says which are still pending
  when its ``timeout`` passes.
* **Delivery**: before each model request, every future settled since the previous request
  and not yet shown to the model is delivered in ONE user-role message
  (:func:`delivery_text`).  A user message after the tool results is valid for OpenAI Chat,
  OpenAI Responses and Anthropic (whose adapter merges it into the tool-result message,
  after the results), so tool_call/tool_result pairing is never disturbed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._futures import REFERENCE_PATTERN

__all__ = (
    "AWAIT_TOOL",
    "AWAIT_TOOL_NAME",
    "NOTHING_TO_AWAIT",
    "PROMPT_ADDENDUM",
    "AwaitRequest",
    "await_text",
    "delivery_text",
    "future_tool_definition",
    "parse_await",
    "parse_delivery",
    "parse_pending",
    "pending_text",
    "settled_line",
    "still_pending_line",
    "unknown_futures_text",
)

AWAIT_TOOL_NAME = "await_future"
"""The name of the runtime's own tool; no user tool may take it in the async modes."""

PROMPT_ADDENDUM = """\
Tools run in the background: a call returns a future id such as future_3 at once.
- To use a value you have not seen, pass its future id as the argument, or a part of it: \
future_3.items[0].id.
- To read values before your next step, call await_future in the same response as the calls \
it waits for.
- Other results arrive in a message starting "Results of earlier calls". Never guess a value \
you have not seen."""
"""Appended to the system prompt in the async modes.  Its exact text is tested.

It asks for ``await_future`` *in the same response* as the calls it waits for: an await sent
in a response of its own is a model request that only waits, and on replays that request was
most of what async mode cost over parallel calls (docs/benchmarks.md)."""

AWAIT_TOOL: Mapping[str, Any] = {
    "name": AWAIT_TOOL_NAME,
    "description": (
        "Wait for futures and return their values. Without future_ids: the calls made "
        "before it in this response."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "future_ids": {"type": "array", "items": {"type": "string"}},
            "timeout": {"type": "number", "description": "seconds, optional"},
        },
    },
}
"""The runtime's own tool.  Kept short: its definition is sent with every request."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AwaitRequest:
    """The decoded arguments of an ``await_future`` call."""

    future_ids: tuple[str, ...]
    """The futures named, in order; empty: the calls made before it in the same response."""
    timeout: float | None = None
    """Seconds to wait at most; ``None`` waits until every future has settled."""


def parse_await(arguments: Mapping[str, Any]) -> AwaitRequest:
    """Check ``await_future``'s decoded arguments; raise :class:`ValueError` with a message
    for the model.  A single id given as a string is accepted as a list of one; no
    ``future_ids`` (or an empty list) asks for the calls made before it in the response."""
    ids = arguments.get("future_ids")
    if ids is None:
        ids = []
    elif isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"{AWAIT_TOOL_NAME}: future_ids must be a list of future ids")
    timeout = arguments.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise ValueError("timeout must be a positive number")
    return AwaitRequest(future_ids=tuple(ids), timeout=timeout)


def unknown_futures_text(unknown: Sequence[str], issued: int) -> str:
    """The error text of an ``await_future`` call naming futures that do not exist."""
    return f"unknown future id(s): {', '.join(unknown)} (futures issued so far: {issued})"


def still_pending_line(future_id: str, timeout: float) -> str:
    """An ``await_future`` result line for a future its timeout did not see settle."""
    return f"{future_id} still pending after {timeout:g} s"


def await_text(lines: Sequence[str]) -> str:
    """The result text of an ``await_future`` call: one line per future, in the order asked
    (a fixed sentence when there was nothing to wait for)."""
    return "\n".join(lines) if lines else NOTHING_TO_AWAIT


NOTHING_TO_AWAIT = "nothing to wait for"
"""The result of an ``await_future`` without ids when no call is left to wait for."""


_REFERENCE_SCHEMA = {"type": "string", "pattern": REFERENCE_PATTERN}

_ANNOTATIONS = frozenset({"type", "description", "title", "default", "examples"})
"""Keys that do not restrict a string schema: one made of these only accepts every reference."""


def accepts_any_string(schema: Any) -> bool:
    """Whether ``schema`` is a plain string schema (``type`` ``"string"`` and nothing that
    restricts it: no enum, pattern, format or length), which already admits every reference,
    so widening it would only add tokens."""
    return (
        isinstance(schema, Mapping)
        and schema.get("type") == "string"
        and set(schema) <= _ANNOTATIONS
    )


def future_tool_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The widened form of a neutral tool definition (see the module docstring)."""
    params = copy.deepcopy(dict(definition.get("parameters") or {}))
    props = params.get("properties")
    if isinstance(props, dict):
        params["properties"] = {
            name: schema
            if accepts_any_string(schema)
            else {"anyOf": [schema, dict(_REFERENCE_SCHEMA)]}
            for name, schema in props.items()
        }
    return {
        "name": definition["name"],
        "description": definition.get("description") or "",
        "parameters": params,
    }


def pending_text(future_id: str) -> str:
    """The tool-result content of a call that returned a future."""
    return f"{future_id} (pending)"


def settled_line(future_id: str, content: str, *, is_error: bool) -> str:
    """One settled future as the model reads it: ``future_3 = <value>`` or
    ``future_3 failed: <reason>``."""
    if is_error:
        return f"{future_id} failed: {content.removeprefix('Error: ')}"
    return f"{future_id} = {content}"


def delivery_text(settled: Sequence[tuple[str, str, bool]]) -> str:
    """One message delivering ``(future_id, content, is_error)`` triples, in id order."""
    lines = [settled_line(fid, content, is_error=err) for fid, content, err in settled]
    return "Results of earlier calls:\n" + "\n".join(lines)


_PENDING = re.compile(r"(future_\d+) \(pending\)")
_SETTLED_LINE = re.compile(r"^(future_\d+) (?:=|failed:)", re.MULTILINE)


def parse_pending(text: str) -> str | None:
    """The future id of a :func:`pending_text` result, or ``None`` when ``text`` is not one
    (a concrete result, or an error the call got at once)."""
    m = _PENDING.fullmatch(text)
    return m.group(1) if m else None


def parse_delivery(text: str) -> list[str]:
    """The future ids whose value (or error) ``text`` shows, in order: every line of the
    form :func:`settled_line` writes.  Works on :func:`delivery_text` messages and on
    ``await_future`` results, which are made of the same lines."""
    return _SETTLED_LINE.findall(text)
