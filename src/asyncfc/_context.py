"""What a tool sees of its run, and how argument problems are told to the model.

:class:`ToolContext` is the run's read-only data, handed to tools that declare a parameter
annotated with it; :class:`ToolArgumentsError` carries a message written for the model.  The
helpers below turn schemas and validation errors into what :mod:`asyncfc._tools` needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType, NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import pydantic

__all__ = (
    "ToolArgumentsError",
    "ToolContext",
    "format_validation_error",
    "is_context_annotation",
    "spec_of",
    "without_properties",
)


class ToolContext(Mapping[str, Any]):
    """An immutable mapping handed to tools that declare a parameter annotated with it.

    It is shared by concurrent calls, which is safe because nobody can change it.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: Mapping[str, Any] = MappingProxyType(dict(data or {}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ToolContext({dict(self._data)!r})"

    def __reduce__(self) -> tuple[type[ToolContext], tuple[dict[str, Any]]]:
        """Pickled as its data (for ``isolation="process"`` tools; the values must pickle)."""
        return (ToolContext, (dict(self._data),))


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool; the message is written for the model."""


def is_context_annotation(annotation: Any) -> bool:
    """``ToolContext``, or ``ToolContext | None`` for a parameter with a ``None`` default."""
    if annotation is ToolContext:
        return True
    if get_origin(annotation) in (Union, UnionType):
        return [a for a in get_args(annotation) if a is not NoneType] == [ToolContext]
    return False


def format_validation_error(tool_name: str, exc: pydantic.ValidationError) -> str:
    """The model-readable message of a validation error: each offending argument and why."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        if err["type"] == "missing":
            problems.append(f"argument '{loc}' is required but missing")
        elif err["type"] == "extra_forbidden":
            problems.append(f"argument '{loc}' is not a parameter of this tool")
        else:
            got = err.get("input")
            problems.append(f"argument '{loc}': {err['msg']} (got {got!r})")
    return f"invalid arguments for tool '{tool_name}': " + "; ".join(problems)


def spec_of(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The function spec of ``{"type": "function", "function": {...}}`` or of the bare form."""
    if schema.get("type") == "function":
        inner: Mapping[str, Any] = schema.get("function", schema)
        return inner
    return schema


def without_properties(schema: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    """``schema`` less the properties ``names`` (and their ``required`` entries)."""
    out = dict(schema)
    props = out.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {k: v for k, v in props.items() if k not in names}
    required = out.get("required")
    if isinstance(required, list):
        out["required"] = [r for r in required if r not in names]
    return out
