"""The data that crosses every layer: a tool call as the model wrote it, and its one result.

Invariants:

* A :class:`ToolResult` always carries the ``call_id`` of exactly one :class:`ToolCall`; every
  layer above (executor, scheduler, agent loop, wire formats) keeps one result per call id.
* ``content`` is the text the model reads.  Errors are results too (``is_error=True``) whose
  content says what went wrong in words a model can act on; ``error_kind`` says the same to code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ("ErrorKind", "ToolCall", "ToolResult", "decoded_call")

ErrorKind = Literal[
    "unknown_tool",
    "invalid_json",
    "invalid_arguments",
    "exception",
    "timeout",
    "cancelled",
    "unknown_future",
    "dependency_failed",
    "unrenderable_result",
    "worker_lost",
]
"""Why a call produced an error result instead of a value.

``unrenderable_result``: the tool returned, but its value has no text for the model (not
JSON-serialisable and its ``str()`` raises, e.g. a raising ``__str__``/``__repr__`` or a
structure nested too deep); see :func:`asyncfc._results.render_result`.  ``worker_lost``: the
process that ran the call died under it (a crashed worker, a killed actor, a value lost with
its node), so the call may or may not have had its effect."""


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """One function call emitted by a model.

    ``arguments`` is the raw JSON text (OpenAI) or an already decoded object (Anthropic).
    """

    id: str
    name: str
    arguments: str | Mapping[str, Any] = "{}"
    decoded: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The arguments already parsed from ``arguments`` by whoever built the call; consumers
    use it instead of parsing ``arguments`` again; it must equal the parse of ``arguments``.
    ``None`` when nobody parsed them (or they are not a JSON object).  Wire formats still send
    ``arguments`` itself back to the provider."""


def decoded_call(call_id: str, name: str, arguments: dict[str, Any]) -> ToolCall:
    """``ToolCall(id=call_id, name=name, arguments=arguments, decoded=arguments)``: a call whose
    host (a framework) has decoded the arguments already.

    Built without the frozen dataclass's ``__init__`` (about 0.8 µs less on a path every
    framework call takes); ``tests/test_calls.py`` checks it equals the plain construction,
    so a new field cannot be forgotten here.
    """
    call = object.__new__(ToolCall)
    call.__dict__.update(id=call_id, name=name, arguments=arguments, decoded=arguments)
    return call


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """The outcome of one :class:`ToolCall`."""

    call_id: str
    name: str
    content: str
    is_error: bool = False
    error_kind: ErrorKind | None = None
    value: Any = None
    """The Python value the tool returned (``None`` for errors)."""
    return_direct: bool = False
    """True when the call succeeded and its tool is marked ``return_direct``."""
