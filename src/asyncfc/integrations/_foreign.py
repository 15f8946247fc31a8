"""asyncfc tools that stand for another framework's tools.

A framework validates and runs its own tools; asyncfc only has to schedule them.  A
:class:`ForeignTool` carries what asyncfc needs for that (name, schema, labels).  In
concurrent mode that is all: the framework's call is a hosted call
(:meth:`~asyncfc.FuturesSession.call_hosted`), run by the framework in its own task once
the labels allow.  In async mode the call runs in a task of the session, later: the tool's
function takes the future-resolved arguments as one mapping and hands them to the framework's
own call path, which validates them with the framework's validator and runs the tool with
the framework's context.

The framework's per-call objects (its run context, its tool object) cannot travel through
the scheduler, which only carries a :class:`~asyncfc.ToolCall`.  They travel in
:data:`FRAMEWORK_CALL`, a context variable set around :meth:`~asyncfc.FuturesSession.call`:
the scheduler starts each call's task inside ``submit``, and a task starts with a copy of
the submitting task's context variables, so the call's task sees the values of its own call
(also after the framework's call has returned a future and moved on).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pydantic

from asyncfc._labels import UNLABELLED, Access
from asyncfc._tools import Tool, ToolContext

__all__ = ("FRAMEWORK_CALL", "LABELS_METADATA_KEY", "ForeignTool", "access_of")

LABELS_METADATA_KEY = "asyncfc"
"""The metadata key whose value (``{"reads": [...], "writes": [...]}``) labels a tool."""

FRAMEWORK_CALL: ContextVar[Any] = ContextVar("asyncfc_framework_call")
"""The framework's own objects for the call being submitted (see the module docstring)."""

_NO_FIELDS = pydantic.create_model("foreign_arguments")


@dataclass(frozen=True, kw_only=True)
class ForeignTool(Tool):
    """A tool whose function takes the call's arguments as one mapping; the framework that
    owns the tool validates them (asyncfc only decodes them and resolves future references)."""

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Pass the arguments on unvalidated: the framework validates them.  A dict is passed
        as it is: the call pipeline hands over a fresh one (decoded or resolved per call)."""
        return {"arguments": arguments if type(arguments) is dict else dict(arguments)}

    def bind(self, kwargs: Mapping[str, Any], context: ToolContext) -> Callable[[], Any]:
        """Call the function with the argument mapping."""
        return functools.partial(self.function, kwargs["arguments"])

    @classmethod
    def wrap(
        cls,
        *,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        function: Callable[[dict[str, Any]], Awaitable[Any]],
        access: Access,
    ) -> ForeignTool:
        """A foreign tool over an async ``function(arguments)``."""
        return cls(
            name=name,
            description=description,
            parameters=parameters,
            function=function,
            access=access,
            is_async=True,
            validator=_NO_FIELDS,
        )


def access_of(
    name: str,
    labels: Mapping[str, Mapping[str, Iterable[str]]],
    metadata: Mapping[str, Any] | None,
) -> Access:
    """A tool's labels: from ``labels[name]``, else from its ``asyncfc`` metadata, else none
    (unlabelled: the call serializes against every other call, the safe default)."""
    given = labels.get(name)
    if given is None and metadata is not None:
        given = metadata.get(LABELS_METADATA_KEY)
    if given is None:
        return UNLABELLED
    unknown = set(given) - {"reads", "writes"}
    if unknown:
        raise ValueError(f"labels of tool {name!r}: unknown keys {sorted(unknown)}")
    return _access(_labels(given.get("reads")), _labels(given.get("writes")))


def _labels(given: Iterable[str] | None) -> tuple[str, ...] | None:
    if given is None or isinstance(given, str):  # a string: Access.of says what is wrong
        return given  # type: ignore[return-value]
    return tuple(given)


@functools.lru_cache(maxsize=1024)
def _access(reads: tuple[str, ...] | None, writes: tuple[str, ...] | None) -> Access:
    """:meth:`Access.of`, once per distinct labels: a framework lists its tools again at
    every model request, and parsing every label each time was most of the wrapper's cost
    on BFCL-sized toolsets (``Access`` is immutable, so one object serves every call)."""
    return Access.of(reads=reads, writes=writes)
