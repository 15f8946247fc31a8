"""How every outcome of a call becomes the one :class:`~asyncfc.ToolResult` the model reads.

Invariants:

* A failure is a result too: :func:`error_result` gives ``Error: <message>``, in words a model
  can act on, with its :data:`~asyncfc.ErrorKind` for code.  :class:`ArgumentsError` carries
  both through the pipeline (:mod:`asyncfc._invoke`) to where the result is made.
* Every successful value gets a text (:func:`render_result`), or the call gets an
  ``unrenderable_result`` error result; rendering never raises anything else.  A tool's
  exception is described with a guarded ``str()``, so an exception whose ``__str__`` raises
  is still reported.
* Text longer than ``max_chars`` (:data:`DEFAULT_MAX_RESULT_CHARS` unless set) is cut, with
  an explicit marker saying how much was shown.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from ._calls import ErrorKind, ToolCall, ToolResult

__all__ = (
    "DEFAULT_MAX_RESULT_CHARS",
    "ArgumentsError",
    "UnrenderableResult",
    "error_result",
    "render_result",
    "render_value",
    "success_result",
    "tool_raised",
    "tool_timed_out",
)

DEFAULT_MAX_RESULT_CHARS = 20_000


class ArgumentsError(Exception):
    """A call cannot run; ``kind`` and the message say why (the message is for the model)."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


def error_result(call: ToolCall, kind: ErrorKind, message: str) -> ToolResult:
    """The error result of ``call``: ``Error: <message>``, with ``kind`` for code."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=f"Error: {message}",
        is_error=True,
        error_kind=kind,
    )


class UnrenderableResult(ArgumentsError):
    """A tool returned a value that has no text for the model (see :func:`render_result`)."""

    def __init__(self, message: str) -> None:
        super().__init__("unrenderable_result", message)


def render_result(value: Any, max_chars: int | None = DEFAULT_MAX_RESULT_CHARS) -> str:
    """The text a model reads for a tool's return value; :class:`UnrenderableResult` when
    there is none.

    Strings pass through; everything else is JSON.  A value JSON cannot encode (an unknown
    type, a cycle, nesting past the encoder's depth limit, an integer of more than 4,300
    digits is fine as JSON) falls back to ``str()`` with a note saying why.  When ``str()``
    raises too (a raising ``__str__`` or ``__repr__``, recursion too deep), the value has no
    text and :class:`UnrenderableResult` names the type and both reasons.  Text longer than
    ``max_chars`` is cut with an explicit marker.
    """
    if isinstance(value, str):
        text = value
    else:
        try:
            text = pydantic_core.to_json(value).decode()
        except Exception as json_exc:
            why = _json_problem(json_exc)
            try:
                shown = str(value)
            except Exception as str_exc:
                raise UnrenderableResult(
                    f"the tool returned a value of type {_type_name(value)} that cannot be "
                    f"shown: it is not JSON-serialisable{why} and str() raised "
                    f"{_reason(str_exc)}"
                ) from None
            text = f"{shown} [note: result was not JSON-serialisable{why}; shown with str()]"
    if max_chars is not None and len(text) > max_chars:
        text = f"{text[:max_chars]}… [truncated: {max_chars} of {len(text)} characters shown]"
    return text


def render_value(value: Any, max_chars: int | None = DEFAULT_MAX_RESULT_CHARS) -> str:
    """:func:`render_result` that never raises: a value without text becomes a bracketed
    note naming its type (used where a text is needed whatever happens, e.g. interpolating a
    future's value into a longer string)."""
    try:
        return render_result(value, max_chars)
    except UnrenderableResult as exc:
        return f"[{exc}]"


def _json_problem(exc: BaseException) -> str:
    """Why the JSON encoder refused a value, when it is not simply an unknown type."""
    text = _reason(exc)
    if "Circular reference" in text:
        return " (it contains a reference cycle)"
    if "depth" in text or "recursion" in text.lower():
        return " (it is nested too deeply)"
    return ""


def _type_name(value: Any) -> str:
    try:
        return type(value).__qualname__
    except Exception:  # pragma: no cover - a metaclass that breaks __qualname__
        return "object"


def _reason(exc: BaseException) -> str:
    """``TypeName: message`` for an exception whose own ``__str__`` may raise, cut to 200
    characters (pydantic's messages repeat the whole cause chain)."""
    try:
        message = str(exc)
    except Exception:
        message = "(its message cannot be shown either)"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= 200 else f"{text[:200]}…"


def tool_raised(name: str, exc: BaseException) -> str:
    """The error text of a call whose tool raised ``exc``."""
    return f"tool '{name}' raised {_reason(exc)}"


def tool_timed_out(name: str, timeout: float) -> str:
    """The error text of a call that ran past its ``timeout``."""
    return f"tool '{name}' timed out after {timeout:g} s"


def success_result(call: ToolCall, content: str, value: Any, return_direct: bool) -> ToolResult:
    """``ToolResult(call_id=..., name=..., content=..., value=..., return_direct=...)``.

    Built without the frozen dataclass's ``__init__``, which costs about 1 µs more on the path
    every call takes.  It is the same object; ``tests/test_invoke.py`` checks that it equals
    the plain construction, so a new field cannot be forgotten here.
    """
    result = object.__new__(ToolResult)
    result.__dict__.update(
        call_id=call.id,
        name=call.name,
        content=content,
        is_error=False,
        error_kind=None,
        value=value,
        return_direct=return_direct,
    )
    return result
