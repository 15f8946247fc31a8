"""Calls a host runs itself: asyncfc orders them, the host validates, runs and renders them.

A framework (pydantic-ai, the OpenAI Agents SDK) that already decoded and validated a call's
arguments, and will render its value for the model itself, needs from asyncfc only the order
of its calls (labels), the concurrency bound, the timeout and the one outcome per call id.
Taking such a call through the whole pipeline of :mod:`asyncfc._invoke` (decode, validate,
bind, run in a task of the scheduler, render) repeated work the framework does anyway and
cost about a tenth of pydantic-ai's own time per call (``docs/integrations.md``).

:func:`complete_hosted` is that call's pipeline: ``run()`` is the host's own coroutine for the
call, run in the caller's task (so with the host's context variables and cancellation).

Invariants:

* The call gets exactly one :class:`~asyncfc.ToolResult`: its value, or an error result for a
  timeout or an exception, as :func:`asyncfc._invoke.complete` gives.
* An exception of a ``passthrough`` type (the host's own control flow, such as pydantic-ai's
  ``ModelRetry``) still gives the call its error result, and is then handed back to the host,
  which raises it as if asyncfc were not there.
* The value's text is :func:`~asyncfc._results.render_value`: it never fails the call, since
  the host renders the value for the model, not asyncfc; the text is what asyncfc's own
  readers (observers, the trace's consumers) see.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ._calls import ToolCall, ToolResult
from ._future import Future
from ._ledger import FutureLedger
from ._results import error_result, render_value, success_result, tool_raised, tool_timed_out
from ._tools import Tool

__all__ = ("HostedException", "HostedRun", "complete_hosted", "complete_hosted_in_turn")

HostedRun = Callable[[], Awaitable[Any]]
"""The host's coroutine function for one call: runs it, returns its value."""


class HostedException(Exception):
    """A ``passthrough`` exception of a hosted call, with the call's error result: the
    scheduler records the result, then raises ``error`` for the host."""

    def __init__(self, result: ToolResult, error: BaseException) -> None:
        super().__init__(result.content)
        self.result = result
        self.error = error


async def complete_hosted(
    call: ToolCall,
    tool: Tool,
    run: HostedRun,
    max_result_chars: int | None,
    timeout: float | None = None,  # noqa: ASYNC109 - a per-call setting, enforced with a cancel scope
    passthrough: tuple[type[BaseException], ...] = (),
) -> ToolResult:
    """Run ``run()`` and give the call its result; raise :class:`HostedException` for a
    ``passthrough`` exception.  Positional parameters: it is on the path every hosted call
    takes."""
    try:
        if timeout is None or math.isinf(timeout):
            value = await run()
        else:
            with anyio.move_on_after(timeout):
                value = await run()
                return _success(call, tool, value, max_result_chars)
            return error_result(call, "timeout", tool_timed_out(tool.name, timeout))
    except passthrough as exc:
        raise HostedException(
            error_result(call, "exception", tool_raised(tool.name, exc)), exc
        ) from None
    except Exception as exc:
        return error_result(call, "exception", tool_raised(tool.name, exc))
    return _success(call, tool, value, max_result_chars)


async def complete_hosted_in_turn(
    ledger: FutureLedger,
    future: Future,
    tool: Tool,
    run: HostedRun,
    limiter: anyio.CapacityLimiter | None,
    max_result_chars: int | None,
    timeout: float | None,  # noqa: ASYNC109 - a per-call setting, see complete_hosted
    passthrough: tuple[type[BaseException], ...],
) -> ToolResult:
    """:func:`complete_hosted` once the calls ``future`` conflicts with have settled and a
    ``limiter`` slot is free, with the ledger's observers and trace told."""
    for n in future.conflict_deps:
        await ledger.futures[n - 1].wait()
    future.state = "running"
    for o in ledger.observers:
        o.call_started(future)
    start = anyio.current_time() if ledger.trace is not None else 0.0
    call = future.call
    try:
        if limiter is None:
            result = await complete_hosted(call, tool, run, max_result_chars, timeout, passthrough)
        else:
            async with limiter:
                result = await complete_hosted(
                    call, tool, run, max_result_chars, timeout, passthrough
                )
    except HostedException:
        if ledger.trace is not None:
            ledger._record(future, start, ok=False)  # the scheduler's books, kept by the rules
        raise
    if ledger.trace is not None:
        ledger._record(future, start, ok=not result.is_error)
    return result


def _success(call: ToolCall, tool: Tool, value: Any, max_result_chars: int | None) -> ToolResult:
    return success_result(call, render_value(value, max_result_chars), value, tool.return_direct)
