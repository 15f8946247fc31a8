"""A call's data dependencies, once they have settled: their values, and the call's
arguments with its future references replaced by them.

Invariants:

* A call whose dependency failed does not run: its result says which future failed and why
  (``dependency_failed``).
* A value a backend holds (:mod:`asyncfc._backends`) is fetched into this process only for a
  call that runs here; a call with a backend gets the handles (:class:`Input`) and resolves
  its arguments where it runs.
* Arguments are resolved and validated once, by :func:`asyncfc._invoke.resolve`; a fetch that
  fails is the call's ``dependency_failed`` result, except a backend that is gone
  (:class:`~asyncfc.BackendUnavailableError`), which stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._backends import Input
from ._calls import ToolResult
from ._errors import BackendUnavailableError
from ._future import Future
from ._invoke import PreparedCall, resolve
from ._results import ArgumentsError, error_result
from ._toolset import Toolset

__all__ = ("dependency_inputs", "resolved_arguments")


def dependency_inputs(
    future: Future, futures: Sequence[Future], toolset: Toolset
) -> dict[int, Input] | ToolResult | None:
    """The settled values ``future`` references, each with the backend that made it
    (``None`` when it references none); its error result when one of them failed."""
    if not future.data_deps:
        return None
    inputs = {}
    for n in future.data_deps:
        dep = futures[n - 1]
        if not dep.ok:
            reason = dep.result.content if dep.result is not None else "unknown error"
            return error_result(
                future.call,
                "dependency_failed",
                f"dependency {dep.id} failed: {reason.removeprefix('Error: ')}",
            )
        tool = toolset.get(dep.call.name)
        inputs[n] = Input(dep.value, tool.backend if tool is not None else None)
    return inputs


async def resolved_arguments(
    future: Future,
    prepared: PreparedCall,
    inputs: Mapping[int, Input],
    render: Callable[[Any], str],
) -> dict[str, Any] | ToolResult:
    """The validated keyword arguments of a call that runs in this process, its references
    replaced by the values (fetched from their backends); its error result when a value
    cannot be fetched or the arguments are invalid once resolved."""
    try:
        values = {n: await _fetch(i) for n, i in inputs.items()}
    except BackendUnavailableError:
        raise
    except Exception as exc:  # a value its backend could not hand over
        return error_result(
            future.call,
            "dependency_failed",
            f"the value of a dependency could not be fetched: {type(exc).__name__}: {exc}",
        )
    try:
        return resolve(prepared, _value_of(values), render)
    except ArgumentsError as exc:
        return error_result(future.call, exc.kind, str(exc))


async def _fetch(item: Input) -> Any:
    """An input's value in this process (a backend's handle is fetched from it)."""
    return item.value if item.backend is None else await item.backend.fetch(item.value)


def _value_of(values: Mapping[int, Any]) -> Any:
    def value_of(n: int) -> Any:
        return values[n]  # KeyError for a future the arguments do not reference

    return value_of
