"""The execution backend boundary: where a prepared call actually runs.

Every call goes through one pipeline (:mod:`asyncfc._invoke`): prepared and validated by the
driver, ordered by the driver's scheduler (data dependencies, labels), then *executed*.  A
:class:`Tool` whose ``backend`` is ``None`` (the default) executes in this process, as
before: coroutines on the event loop, sync functions in worker threads; that path builds no
:class:`Job` and costs one attribute check.  A tool with a backend hands the call, as a
:class:`Job`, to :meth:`ExecutionBackend.run`, which returns the call's one
:class:`~asyncfc.ToolResult`.

Invariants a backend keeps:

* ``run`` returns exactly one result for the job's call.  What the *model* or the *tool* got
  wrong (invalid arguments, an exception, a timeout, a crashed worker) becomes an error
  result; ``run`` raises only when the backend itself can no longer run anything
  (:class:`~asyncfc.BackendUnavailableError`), which stops the scheduler's run: every other
  call then gets a ``cancelled`` result and the error propagates, typed, from the block.
* Cancellation of the awaiting task is let through (as anyio requires), after asking the
  backend to stop the call.
* ``ToolResult.content`` is the rendered, truncated text (the model reads only that);
  ``ToolResult.value`` may be a *handle* to a value that stays where it was made (a Ray
  ``ObjectRef``).  :meth:`ExecutionBackend.fetch` turns such a handle into the value; the
  scheduler calls it only when an in-process call needs the value as an argument.
* A job whose arguments reference futures arrives unresolved (``kwargs is None``) with its
  :attr:`Job.inputs`: the backend resolves and validates them where it runs the tool, so a
  value that stayed on a cluster can be passed on by reference.  Labels and data
  dependencies were already enforced by the scheduler before ``run`` is called.

Imports point one way: this module needs nothing above :mod:`asyncfc._calls` and
:mod:`asyncfc._tools` (for types only), so ``_tools`` and ``_invoke`` can both name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._calls import ToolCall, ToolResult
    from ._tools import Tool, ToolContext

__all__ = ("ExecutionBackend", "Input", "Job")


@dataclass(frozen=True, slots=True)
class Input:
    """The value of one future a job's arguments reference, and the backend that made it
    (``None``: made in process, so ``value`` is the value itself)."""

    value: Any
    backend: ExecutionBackend | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Job:
    """One prepared call, handed to :meth:`ExecutionBackend.run`."""

    call: ToolCall
    tool: Tool
    arguments: Mapping[str, Any]
    """The decoded arguments, future references still in place."""
    kwargs: Mapping[str, Any] | None
    """The validated keyword arguments, or ``None`` when references remain: then resolve
    :attr:`arguments` with :attr:`inputs` (see :func:`asyncfc._futures.resolve_references`)
    and validate the result with the tool's validator."""
    inputs: Mapping[int, Input]
    """Future number → its value, for every future the arguments reference."""
    context: ToolContext
    timeout: float | None
    """Seconds the call may run (``None``: no limit); past it, the result is a timeout."""
    max_result_chars: int | None
    """Where the rendered text is cut (see :func:`asyncfc.render_value`)."""


class ExecutionBackend(Protocol):
    """Runs prepared calls somewhere else than in this process (see the module docstring)."""

    async def run(self, job: Job) -> ToolResult:
        """Run ``job``'s call; return its one result (see the module's invariants)."""
        ...

    async def fetch(self, value: Any) -> Any:
        """The value behind ``value``, a ``ToolResult.value`` this backend produced."""
        ...
