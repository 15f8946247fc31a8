"""Bound parameters: values the application passes to a tool in place of the model.

A bound parameter is hidden from the schema and refused in arguments (see :mod:`asyncfc._tools`).
This module holds what it takes to bind one: :class:`FromContext` for values read from each
run's context, and the checks that run when a tool is built — a constant must fit the
parameter's annotation, and an annotation with no JSON schema gets a :class:`TypeError` that
says what to do (binding the parameter is one of the ways out).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic

if TYPE_CHECKING:
    from ._context import ToolContext

__all__ = ("BindingError", "FromContext", "bind_value", "no_schema_error")


class BindingError(Exception):
    """A bound parameter's value could not be produced for a call (its :class:`FromContext`
    key is missing or its value does not fit the annotation); the message names the tool
    and the parameter."""


@dataclass(frozen=True)
class FromContext:
    """A bound parameter's value, taken from each run's :class:`ToolContext`:
    ``FromContext("account")`` reads ``context["account"]``; ``FromContext(fn)`` calls
    ``fn(context)``.  The value is validated against the parameter's annotation per call."""

    source: str | Callable[[ToolContext], Any]

    def resolve(self, context: ToolContext) -> Any:
        """The value for one call, from that call's run context."""
        if isinstance(self.source, str):
            return context[self.source]
        return self.source(context)


_ARBITRARY = pydantic.ConfigDict(arbitrary_types_allowed=True)


def bind_value(
    tool_name: str, pname: str, annotation: Any, value: Any
) -> tuple[Any, pydantic.TypeAdapter[Any] | None]:
    """A bound value as passed to calls, and the per-call check of a :class:`FromContext`."""
    adapter = _adapter(annotation)
    if isinstance(value, FromContext):
        return value, adapter
    try:
        return adapter.validate_python(value), None
    except pydantic.ValidationError as exc:
        raise TypeError(
            f"tool {tool_name!r}: the value bound to parameter {pname!r} does not fit its "
            f"annotation: {exc.errors(include_url=False)[0]['msg']}"
        ) from None


def _adapter(annotation: Any) -> pydantic.TypeAdapter[Any]:
    """A validator of one annotation, allowing plain classes (checked with ``isinstance``)."""
    if annotation is inspect.Parameter.empty:
        annotation = Any
    try:
        return pydantic.TypeAdapter(annotation, config=_ARBITRARY)
    except pydantic.PydanticUserError:  # a model, dataclass or TypedDict has its own config
        return pydantic.TypeAdapter(annotation)


def no_schema_error(tool_name: str, annotations: Mapping[str, Any]) -> TypeError:
    """The error for a parameter whose annotation has no JSON schema (named when found)."""
    culprit = ""
    for pname, annotation in annotations.items():
        try:
            _adapter(annotation).json_schema()
        except Exception:
            culprit = f"parameter {pname!r} is annotated {_type_text(annotation)}, which "
            break
    return TypeError(
        f"tool {tool_name!r}: {culprit or 'a parameter annotation '}has no JSON schema to "
        "show the model; annotate it with JSON data types, a pydantic model, a dataclass or "
        "a TypedDict, or bind it (bind={...} or functools.partial) if the application "
        "provides it, or pass parameters= with a schema of your own"
    )


def _type_text(annotation: Any) -> str:
    return getattr(annotation, "__qualname__", None) or repr(annotation)
