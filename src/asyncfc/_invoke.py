"""The one call pipeline: a :class:`ToolCall` becomes a :class:`PreparedCall` (looked up,
decoded, references found, validated), and a prepared call becomes a :class:`ToolResult`
(executed, rendered, truncated).  The scheduler, and through it the batch executor and the
agent, take every call through these functions, so each step runs once per call and every
failure becomes the same model-readable result everywhere.

Invariants:

* :func:`prepare` decodes a call's arguments once and validates them once: at preparation
  when they reference no future, otherwise after the references are resolved
  (:func:`resolve`), against the tool's *original* schema.

* :func:`run_call` never raises for anything the *model* got wrong or the *tool* did wrong:
  unknown tools, bad JSON, invalid arguments, exceptions and timeouts all become error
  results.  Cancellation from outside is the one thing it lets through, as anyio requires.
* A tool with a ``backend`` is executed by it (:mod:`asyncfc._backends`): :func:`complete`
  hands it a :class:`~asyncfc._backends.Job` and returns its result.  A tool without one
  (the default) runs in this process, as below, at the cost of one attribute check.
* Sync tools run in a daemon worker thread (``contextvars`` are copied into it); async tools
  run on the event loop; tools built with ``isolation="process"`` run in a worker process.  A
  timed-out or cancelled sync tool cannot be interrupted: its thread is abandoned, runs to
  completion in the background (never delaying interpreter exit), and its return value is
  discarded.  A process-isolated tool's worker is killed instead (:mod:`asyncfc._workers`).
* A timeout measures the function's own run: time spent waiting for a thread or process slot
  (``max_concurrency``, anyio's default limiters) is not counted.  An async tool that blocks
  the event loop (``time.sleep``) or swallows cancellation cannot be stopped by a timeout;
  ``isolation="process"`` makes the timeout hard.
* Every outcome becomes its result as :mod:`asyncfc._results` says (error texts, rendering).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import pydantic_core

from ._backends import Input, Job
from ._calls import ToolCall, ToolResult
from ._futures import FutureReferenceError, find_references, resolve_references
from ._results import (
    DEFAULT_MAX_RESULT_CHARS,
    ArgumentsError,
    error_result,
    render_result,
    success_result,
    tool_raised,
    tool_timed_out,
)
from ._tools import BindingError, Tool, ToolArgumentsError, ToolContext
from ._toolset import Toolset
from ._workers import PicklingError, WorkerTimeout, run_in_process, run_in_thread

__all__ = (
    "PreparedCall",
    "complete",
    "decode_arguments",
    "execute",
    "lookup",
    "prepare",
    "resolve",
    "run_call",
    "unknown_tool",
)


def lookup(call: ToolCall, toolset: Toolset) -> Tool:
    """The tool ``call`` names; raises :class:`ArgumentsError` (``unknown_tool``)."""
    found = toolset.get(call.name)
    if found is None:
        raise ArgumentsError("unknown_tool", _unknown_tool_text(call, toolset))
    return found


def unknown_tool(call: ToolCall, toolset: Toolset) -> ToolResult:
    """The error result of a call naming a tool ``toolset`` does not have."""
    return error_result(call, "unknown_tool", _unknown_tool_text(call, toolset))


def _unknown_tool_text(call: ToolCall, toolset: Toolset) -> str:
    names = ", ".join(toolset.names()) or "(none)"
    return f"unknown tool '{call.name}'. Available tools: {names}."


def decode_arguments(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as a dict; raises :class:`ArgumentsError` for bad JSON."""
    if call.decoded is not None:  # already parsed by whoever built the call
        return dict(call.decoded)
    raw = call.arguments
    if type(raw) is not str:
        if isinstance(raw, Mapping):
            return dict(raw)
        if not isinstance(raw, str):  # e.g. a decoded list from a provider
            raise ArgumentsError(
                "invalid_json",
                f"arguments for tool '{call.name}' must be a JSON object, got {type(raw).__name__}",
            )
    if raw == "{}" or raw.strip() == "":  # the common no-argument call, without the parser
        return {}
    try:
        value = pydantic_core.from_json(raw)
    except ValueError as exc:
        raise ArgumentsError(
            "invalid_json",
            f"arguments for tool '{call.name}' are not valid JSON ({exc}); "
            "send a JSON object with the parameters as keys",
        ) from None
    if not isinstance(value, dict):
        raise ArgumentsError(
            "invalid_json",
            f"arguments for tool '{call.name}' must be a JSON object, got {type(value).__name__}",
        )
    return value


def validate(tool: Tool, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``tool``; raises :class:`ArgumentsError`
    (``invalid_arguments``)."""
    try:
        return tool.validate(arguments)
    except ToolArgumentsError as exc:
        raise ArgumentsError("invalid_arguments", str(exc)) from None


@dataclass(eq=False, slots=True)
class PreparedCall:
    """A call ready to run: its tool, its decoded arguments, the futures they reference and,
    once nothing is left to resolve, the validated keyword arguments.

    Positional fields, unlike the rest of the library: :func:`prepare` builds one per call on
    the executor's hot path, and a keyword-only constructor costs twice as much there."""

    call: ToolCall
    tool: Tool
    arguments: dict[str, Any]
    """The decoded arguments, references still in place."""
    references: tuple[int, ...] = ()
    """Numbers of the futures the arguments reference, ascending."""
    kwargs: dict[str, Any] | None = None
    """The validated keyword arguments; ``None`` while references are unresolved."""


def prepare(call: ToolCall, toolset: Toolset, *, issued: int | None = None) -> PreparedCall:
    """Look up, decode, find references and, when there are none, validate; once.

    ``issued`` is the number of futures that exist, or ``None`` where there are no futures
    (the batch executor): then no string is a reference.  Raises :class:`ArgumentsError` for
    everything that stops the call before it runs.
    """
    tool = lookup(call, toolset)
    arguments = decode_arguments(call)
    references: tuple[int, ...] = ()
    if issued is not None:
        found, problems = find_references(arguments, issued)
        if problems:
            raise ArgumentsError("unknown_future", "; ".join(problems))
        references = tuple(sorted(found))
    kwargs = None if references else validate(tool, arguments)
    return PreparedCall(call, tool, arguments, references, kwargs)


def resolve(
    prepared: PreparedCall, value_of: Callable[[int], Any], render: Callable[[Any], str]
) -> dict[str, Any]:
    """The validated keyword arguments of a call whose references have settled.

    ``value_of(n)`` is the value of ``future_n``; ``render`` gives the text a reference inside
    a longer string is replaced by.  Raises :class:`ArgumentsError`.
    """
    if prepared.kwargs is not None:
        return prepared.kwargs
    try:
        resolved = resolve_references(prepared.arguments, value_of, render)
    except FutureReferenceError as exc:
        raise ArgumentsError("unknown_future", str(exc)) from None
    return validate(prepared.tool, resolved)


async def execute(
    tool: Tool,
    kwargs: Mapping[str, Any],
    *,
    context: ToolContext,
    timeout: float | None,  # noqa: ASYNC109 - a per-tool setting, enforced with a cancel scope
    limiter: anyio.CapacityLimiter | None = None,
    check_render: bool = True,
) -> Any:
    """Run the tool; raise :class:`ArgumentsError` for timeouts, tool exceptions and (with
    ``check_render``) a value that has no text (:class:`UnrenderableResult`).

    ``check_render`` renders the value once to find out; callers that render the value
    themselves with :func:`render_result` pass ``False`` and handle the error there.
    """
    try:
        value = await _call(tool, kwargs, context, timeout, limiter)
    except ArgumentsError:
        raise
    except WorkerTimeout:
        raise ArgumentsError("timeout", tool_timed_out(tool.name, timeout or 0)) from None
    except BindingError as exc:
        raise ArgumentsError("exception", str(exc)) from None
    except PicklingError as exc:
        raise ArgumentsError(
            "exception",
            f"tool '{tool.name}' runs in a worker process (isolation='process'), but its "
            f"function or arguments cannot be pickled ({exc})",
        ) from None
    except Exception as exc:
        raise ArgumentsError("exception", tool_raised(tool.name, exc)) from exc
    if check_render and not isinstance(value, str | int | float | bool | None):
        render_result(value, None)
    return value


async def _call(
    tool: Tool,
    kwargs: Mapping[str, Any],
    context: ToolContext,
    timeout: float | None,  # noqa: ASYNC109 - passed on to where the function runs
    limiter: anyio.CapacityLimiter | None,
) -> Any:
    """Run the function where its tool says: in a worker process, on the event loop (async),
    or in a daemon worker thread (sync); see :mod:`asyncfc._workers` for what a timeout
    measures in each."""
    if timeout is not None and math.isinf(timeout):
        timeout = None
    if tool.isolation == "process":
        args, kw = tool.arguments(kwargs, context)
        return await run_in_process(tool.function, args, kw, timeout=timeout)
    fn = tool.bind(kwargs, context)
    if not tool.is_async:
        return await run_in_thread(fn, timeout=timeout, limiter=limiter)
    if timeout is None:
        return await fn()
    with anyio.move_on_after(timeout):
        return await fn()
    raise WorkerTimeout


async def complete(
    prepared: PreparedCall,
    kwargs: Mapping[str, Any] | None,
    *,
    context: ToolContext,
    default_timeout: float | None = None,
    max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
    thread_limiter: anyio.CapacityLimiter | None = None,
    inputs: Mapping[int, Input] | None = None,
) -> ToolResult:
    """Execute a prepared call and render its value once; tool failures and a value without
    text become error results.

    ``kwargs`` is ``None`` only for a tool with a backend, which then resolves the
    arguments itself from ``inputs`` (the referenced futures' values)."""
    tool = prepared.tool
    timeout = tool.timeout if tool.timeout is not None else default_timeout
    if tool.backend is not None:
        return await tool.backend.run(
            Job(
                call=prepared.call,
                tool=tool,
                arguments=prepared.arguments,
                kwargs=kwargs,
                inputs=inputs or {},
                context=context,
                timeout=timeout,
                max_result_chars=max_result_chars,
            )
        )
    assert kwargs is not None, "unresolved arguments for an in-process tool"
    try:
        value = await execute(
            tool,
            kwargs,
            context=context,
            timeout=timeout,
            limiter=thread_limiter,
            check_render=False,
        )
        content = render_result(value, max_result_chars)
    except ArgumentsError as exc:
        return error_result(prepared.call, exc.kind, str(exc))
    return success_result(prepared.call, content, value, tool.return_direct)


async def run_call(
    call: ToolCall,
    toolset: Toolset,
    *,
    context: ToolContext,
    default_timeout: float | None = None,
    max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
    thread_limiter: anyio.CapacityLimiter | None = None,
) -> ToolResult:
    """:func:`prepare` and :func:`complete` one call without futures; never raises for a
    model or tool failure."""
    try:
        prepared = prepare(call, toolset)
    except ArgumentsError as exc:
        return error_result(call, exc.kind, str(exc))
    assert prepared.kwargs is not None  # no futures, so nothing left to resolve
    return await complete(
        prepared,
        prepared.kwargs,
        context=context,
        default_timeout=default_timeout,
        max_result_chars=max_result_chars,
        thread_limiter=thread_limiter,
    )
