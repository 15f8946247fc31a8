"""A futures session for tool loops asyncfc does not own (MCP clients, agent frameworks).

:class:`~asyncfc.Agent` owns its loop, so it can put settled results into a user message
before the next model request.  A host loop that only lets asyncfc answer tool calls (an MCP
client talking to the proxy, a framework's tool hook) cannot insert messages.  This session
therefore rides on the only channel it has, the tool results themselves:

* ``mode="async"``: every call is answered at once with ``future_N (pending)``
  (:func:`~asyncfc._protocol.pending_text`) and runs in the background under a
  :class:`~asyncfc.Scheduler`, which resolves future references in later calls and orders
  calls by data dependencies and labels.  ``await_future`` is served here.
* ``mode="concurrent"``: every call waits for its own result; the scheduler still orders
  calls that arrive concurrently (several requests in flight) by their labels.  A call with
  nothing to wait for runs in the host's own task (:meth:`~asyncfc.Scheduler.call`): a host
  that already runs each call in a task of its own pays for no second one.
* Every result settled since the session's previous answer and not yet shown is appended to
  the next answer it returns, in the exact text of :func:`~asyncfc._protocol.delivery_text`.
  :meth:`FuturesSession.drain` returns whatever is left, for the host to show at the end of
  a turn.  A settled result is shown exactly once: in an answer, an ``await_future`` answer or
  a drain.
* Every call gets exactly one :class:`~asyncfc.ToolResult` with its call id; a call id seen
  before gets an error result instead of a second run.

Everything the model reads comes from :mod:`asyncfc._protocol`, through the same
:class:`~asyncfc._delivery.Delivery` the agent loop uses for ``await_future`` and deliveries.
"""

from __future__ import annotations

import itertools
from types import TracebackType
from typing import Any, Literal, Self

from ._calls import ToolCall, ToolResult
from ._delivery import Delivery
from ._hosted import HostedRun
from ._outcome import FinalAnswerPolicy
from ._protocol import (
    AWAIT_TOOL,
    AWAIT_TOOL_NAME,
    PROMPT_ADDENDUM,
    future_tool_definition,
    pending_text,
)
from ._results import error_result
from ._scheduler import Future, Scheduler
from ._toolset import Toolset

__all__ = ("FuturesSession", "SessionMode")

SessionMode = Literal["concurrent", "async"]
"""``"async"``: answer with futures; ``"concurrent"``: answer with results, label-ordered."""


class FuturesSession:
    """Answer tool calls of a foreign loop with futures; use as ``async with``.

    ``scheduler_options`` go to :class:`~asyncfc.Scheduler` (``ordering``,
    ``max_concurrency``, ``timeout``, ``context``, ``trace``, ``max_result_chars``).
    """

    def __init__(
        self, toolset: Toolset, *, mode: SessionMode = "async", **scheduler_options: Any
    ) -> None:
        if mode not in ("concurrent", "async"):
            raise ValueError(f"mode must be 'concurrent' or 'async', got {mode!r}")
        if mode == "async" and AWAIT_TOOL_NAME in toolset:
            raise ValueError(f"a tool may not be named {AWAIT_TOOL_NAME!r} in async mode")
        self.toolset = toolset
        self.mode: SessionMode = mode
        # Without futures, an argument that reads like ``future_3`` is just text.
        scheduler_options.setdefault("futures", mode == "async")
        self.scheduler = Scheduler(toolset, **scheduler_options)
        self.delivery = Delivery(self.scheduler)
        """What the model has been shown (see :class:`~asyncfc._delivery.Delivery`)."""
        self.host_state: dict[str, Any] = {}
        """What a host integration made for this session (an Agents SDK agent's clone and
        tool copies, for instance), under a key of its own; it lives as long as the session,
        so nothing a host keeps for a session outlives it."""
        self._call_ids: set[str] = set()
        self._ids = itertools.count(1)
        self._settled_taken = 0
        """``scheduler.settled`` at the last take: nothing new to show while it is unchanged."""

    async def __aenter__(self) -> Self:
        await self.scheduler.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self.scheduler.__aexit__(exc_type, exc, tb)

    # -- what the host shows the model ----------------------------------------------------

    @property
    def prompt_addendum(self) -> str:
        """The system-prompt addendum that teaches the protocol (empty in concurrent mode)."""
        return PROMPT_ADDENDUM if self.mode == "async" else ""

    def tool_definitions(self) -> list[dict[str, Any]]:
        """Neutral definitions the model sees: widened plus ``await_future`` in async mode."""
        defs = self.toolset.definitions()
        if self.mode == "concurrent":
            return defs
        return [future_tool_definition(d) for d in defs] + [dict(AWAIT_TOOL)]

    # -- answering calls -----------------------------------------------------------------

    def new_call_id(self) -> str:
        """A call id no call of this session has used yet (for hosts without ids)."""
        while True:
            candidate = f"call_{next(self._ids)}"
            if candidate not in self._call_ids:
                return candidate

    async def call(self, call: ToolCall) -> ToolResult:
        """Answer one call; the content ends with any results settled and not yet shown."""
        reused = self._reused_id(call)
        if reused is not None:
            return reused
        if self.mode == "concurrent":  # answered with its own result, never delivered again
            return self._answered(await self.scheduler.call(call))
        if call.name == AWAIT_TOOL_NAME:
            result = await self.delivery.serve_await(call)
        else:
            submitted = self.scheduler.submit(call)
            if isinstance(submitted, ToolResult):
                result = submitted
            else:
                result = ToolResult(
                    call_id=call.id, name=call.name, content=pending_text(submitted.id)
                )
        return self._with_delivery(result)

    async def call_hosted(
        self,
        call: ToolCall,
        run: HostedRun,
        *,
        passthrough: tuple[type[BaseException], ...] = (),
    ) -> ToolResult:
        """Answer one call that the host runs itself (concurrent mode only): the host has
        validated the arguments and will render the value; asyncfc orders the call by its
        tool's labels and then awaits ``run()`` in the caller's task.  The result carries the
        value (``value``), or is an error result for a timeout, an exception, an unknown tool
        or a call id used before.  An exception of a ``passthrough`` type (the host's own
        control flow) is raised here once the call has its result.  See
        :meth:`Scheduler.call_hosted <asyncfc.Scheduler.call_hosted>`.

        Why: :meth:`call` takes the call through asyncfc's whole pipeline (decode, validate,
        bind, render), work the host does anyway; skipping it is most of what a framework
        wrapper costs per call (``docs/integrations.md``).  In async mode a call is answered
        before it runs, so it cannot run in the caller's task: use :meth:`call`.
        """
        if self.mode != "concurrent":
            raise RuntimeError(
                "FuturesSession.call_hosted() is for mode='concurrent'; in async mode use call()"
            )
        reused = self._reused_id(call)
        if reused is not None:
            return reused
        return self._answered(await self.scheduler.call_hosted(call, run, passthrough=passthrough))

    def _reused_id(self, call: ToolCall) -> ToolResult | None:
        """The error result of a call whose id this session has seen; else ``None``, and
        the id is taken."""
        if call.id in self._call_ids:
            return error_result(
                call, "invalid_arguments", f"call id {call.id!r} was already used in this session"
            )
        self._call_ids.add(call.id)
        return None

    def _answered(self, outcome: Future | ToolResult) -> ToolResult:
        """A concurrent-mode call's answer: its own result, shown in this answer."""
        if isinstance(outcome, ToolResult):
            return outcome
        self.delivery.seen.add(outcome.number)
        assert outcome.result is not None
        return outcome.result

    def take_delivery(self) -> str:
        """The delivery text of results settled and not yet shown ('' if none); marks them shown."""
        if self.mode == "concurrent":  # every call is answered with its own result
            return ""
        settled = self.scheduler.settled
        if settled == self._settled_taken:  # O(1) instead of a scan of every future per call
            return ""
        self._settled_taken = settled
        return self.delivery.take()

    async def drain(self, final_answer: FinalAnswerPolicy = "reask") -> str:
        """Wait for every call to finish; return the delivery text of the unshown results.

        ``final_answer`` is the host's policy for an answer given before them (as
        :attr:`Agent.final_answer <asyncfc.Agent.final_answer>`): ``"reask"`` shows every
        unshown result; ``"label_aware"`` returns ``""`` when the only unshown outcomes are
        successful writes, which stay unshown and go with the session's next answer."""
        await self.scheduler.drain()
        if final_answer == "label_aware" and not self.delivery.must_show(final_answer):
            return ""
        return self.take_delivery()

    def _with_delivery(self, result: ToolResult) -> ToolResult:
        if self.mode == "concurrent":  # every call is answered with its own result
            return result
        delivery = self.take_delivery()
        if not delivery:
            return result
        return ToolResult(
            call_id=result.call_id,
            name=result.name,
            content=f"{result.content}\n\n{delivery}",
            is_error=result.is_error,
            error_kind=result.error_kind,
            value=result.value,
            return_direct=result.return_direct,
        )
