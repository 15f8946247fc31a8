"""What runs on the Ray workers: resolve a call's references, validate, run, render.

This module does not import ``ray``: it is the part of a call that happens where the tool
runs, whatever ships it there.  Invariants:

* A worker returns two things for one call: the tool's *value* (which stays in the object
  store) and a small :class:`Outcome` (the rendered, truncated text, or an error kind and
  message).  The driver fetches only the outcome, so the model reads exactly what the
  in-process pipeline would have rendered, and a large value never travels to the driver.
* References to other futures are resolved here, from values Ray hands the task as
  top-level arguments (the ``ObjectRef``\\ s the driver passed on, or the field a
  :func:`select_field` step took out of one), with the same rules as in process
  (:func:`asyncfc._futures.resolve_references`); then the arguments are validated against
  the tool's signature, here, so an argument that came by reference is checked too.
* Everything the tool or the model got wrong becomes an error :class:`Outcome`; only
  ``BaseException`` (the ``KeyboardInterrupt`` of ``ray.cancel``) leaves the task.
* The worker rebuilds the :class:`~asyncfc.Tool` from its function once per process (the
  pydantic validator is derived, not shipped).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncfc._calls import ErrorKind
from asyncfc._futures import FutureReferenceError, resolve_references, select_path
from asyncfc._results import render_value
from asyncfc._tools import Tool, ToolArgumentsError, ToolContext

__all__ = ("Outcome", "ToolActor", "execute_here", "make_task", "method_stub", "select_field")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the driver receives of one call: the text the model reads, or an error."""

    text: str
    kind: ErrorKind | None = None
    """``None`` for a value; otherwise why the call failed (``text`` says how)."""


def execute_here(
    tool: Tool,
    arguments: Mapping[str, Any] | None,
    kwargs: Mapping[str, Any] | None,
    numbers: Sequence[int],
    context: Mapping[str, Any],
    max_chars: int | None,
    values: Sequence[Any],
) -> tuple[Any, Outcome]:
    """Run one call in this process: ``(value, outcome)``; never raises an ``Exception``."""
    try:
        if kwargs is None:
            assert arguments is not None
            lookup = dict(zip(numbers, values, strict=True))
            resolved = resolve_references(
                arguments, lookup.__getitem__, lambda v: render_value(v, max_chars)
            )
            kwargs = tool.validate(resolved)
        value = tool.bind(kwargs, ToolContext(context))()
        if inspect.iscoroutine(value):  # an async tool: its own loop, for this call
            value = asyncio.run(value)
    except FutureReferenceError as exc:
        return None, Outcome(str(exc), "unknown_future")
    except ToolArgumentsError as exc:
        return None, Outcome(str(exc), "invalid_arguments")
    except Exception as exc:
        return None, Outcome(f"tool '{tool.name}' raised {type(exc).__name__}: {exc}", "exception")
    return value, Outcome(render_value(value, max_chars))


def make_task(function: Callable[..., Any], name: str) -> Callable[..., tuple[Any, Outcome]]:
    """The function a stateless tool runs as on Ray (wrap it with ``ray.remote``)."""
    built: list[Tool] = []  # per worker process: the closure is deserialised once there

    def run(
        arguments: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any] | None,
        numbers: Sequence[int],
        context: Mapping[str, Any],
        max_chars: int | None,
        *values: Any,
    ) -> tuple[Any, Outcome]:
        if not built:
            built.append(Tool.from_function(function, name=name))
        return execute_here(built[0], arguments, kwargs, numbers, context, max_chars, values)

    run.__name__ = run.__qualname__ = f"asyncfc_tool_{name}"
    return run


def select_field(value: Any, path: str, ref: str) -> Any:
    """The field ``path`` of ``value`` (the tiny remote step of ``future_3.items[0].id``);
    raises :class:`~asyncfc.FutureReferenceError` as in process."""
    return select_path(value, path, ref=ref)


class ToolActor:
    """The Ray actor behind a stateful toolset: one instance, whose methods are the tools."""

    def __init__(
        self, factory: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> None:
        self.instance = factory(*args, **kwargs)
        self.tools: dict[str, Tool] = {}

    def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any] | None,
        numbers: Sequence[int],
        context: Mapping[str, Any],
        max_chars: int | None,
        *values: Any,
    ) -> tuple[Any, Outcome]:
        """Run method ``name`` of the instance as one call (see :func:`execute_here`)."""
        tool = self.tools.get(name)
        if tool is None:
            tool = self.tools[name] = Tool.from_function(getattr(self.instance, name), name=name)
        return execute_here(tool, arguments, kwargs, numbers, context, max_chars, values)

    def pid(self) -> int:
        """The actor's process id (for tests and diagnostics)."""
        import os

        return os.getpid()


def method_stub(cls: type, name: str) -> Callable[..., Any]:
    """A driver-side stand-in for ``cls.<name>`` without ``self``: it carries the method's
    signature, hints and docstring (so the schema and the validator come out as for a bound
    method) and refuses to run, because the instance lives in the actor."""
    method = getattr(cls, name)
    if not callable(method):
        raise TypeError(f"{cls.__name__}.{name} is not a method")
    signature = inspect.signature(method)
    params = list(signature.parameters.values())
    if isinstance(inspect.getattr_static(cls, name), staticmethod | classmethod):
        raise TypeError(f"{cls.__name__}.{name}: a static or class method holds no state")
    first = params[0].name if params else None

    def stub(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{cls.__name__}.{name} runs in its Ray actor, not on the driver")

    stub.__name__ = stub.__qualname__ = name
    stub.__doc__ = method.__doc__
    stub.__wrapped__ = method  # type: ignore[attr-defined]  # get_type_hints finds globals
    stub.__signature__ = signature.replace(parameters=params[1:])  # type: ignore[attr-defined]
    stub.__annotations__ = {k: v for k, v in method.__annotations__.items() if k != first}
    return stub
