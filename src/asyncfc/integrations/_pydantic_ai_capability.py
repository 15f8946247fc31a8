"""The capability that puts asyncfc into a pydantic-ai agent in one line:
``Agent(model, capabilities=[AsyncFC(toolset, labels=...)])``.

It registers :class:`~asyncfc.integrations._pydantic_ai.AsyncFCToolset` over the toolset
(a fresh per-run state in ``for_run``, or a conversation's inside ``async with``) and drains
in ``before_output_process``, the output hook that fires for every output kind, plain text
included.  In a conversation, the results a label-aware drain left unshown open the next
run: ``before_model_request`` enqueues them (``RunContext.enqueue``) into that run's first
model request, where they stay in the history, as asyncfc's ``Agent`` puts them before the
next prompt.  pydantic-ai also runs its tool hooks at every tool call, which the wrapper used
as a plain toolset with :meth:`AsyncFCToolset.drain_output
<asyncfc.integrations._pydantic_ai.AsyncFCToolset.drain_output>` avoids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.models import ModelRequestContext
from pydantic_ai.output import OutputContext
from pydantic_ai.toolsets import AbstractToolset

from asyncfc._outcome import FinalAnswerPolicy
from asyncfc._session import SessionMode

from ._pydantic_ai import AsyncFCToolset, _Known, _RunState, reject_unseen

__all__ = ("AsyncFC",)


@dataclass
class AsyncFC(AbstractCapability[Any]):
    """The capability: ``Agent(model, capabilities=[AsyncFC(toolset, labels=...)])``.

    Registers :class:`AsyncFCToolset` over ``toolset`` and drains before the final output
    (async mode): an output is rejected with ``ModelRetry`` carrying the results the model
    has not seen, so count one output retry per final answer that arrives before its results.
    ``final_answer`` decides which unseen results reject it, as
    :attr:`Agent.final_answer <asyncfc.Agent.final_answer>` does (default ``"label_aware"``:
    an answer whose only unseen results are successful writes stands; ``"reask"``: any).

    Each run gets its own session, so future ids start again at ``future_1``.  For a
    conversation of several runs (``message_history``), enter the capability around them,
    ``async with cap: ...``: every run inside shares one session, future ids stay unique
    and a future from an earlier turn can still be passed or awaited.
    """

    toolset: AbstractToolset[Any]
    mode: SessionMode = "async"
    labels: Mapping[str, Mapping[str, Iterable[str]]] = field(default_factory=dict)
    scheduler_options: Mapping[str, Any] = field(default_factory=dict)
    final_answer: FinalAnswerPolicy = "label_aware"
    _run_toolset: AsyncFCToolset | None = field(default=None, repr=False)
    _conversation: AsyncFCToolset | None = field(default=None, repr=False)
    _opened: bool = field(default=False, repr=False)
    """Whether this run's first model request has been prepared (per-run copies only)."""
    _known: dict[str, _Known] = field(default_factory=dict, repr=False)
    """What every run's wrapper made of the tool definitions (see
    ``AsyncFCToolset._known``), kept across runs: a wrapper is made per run."""

    async def __aenter__(self) -> AsyncFC:
        """Start a conversation: one session for every run until the block ends."""
        if self._conversation is not None:
            raise RuntimeError("this AsyncFC is already in a conversation ('async with')")
        wrapper = self._wrapper(_RunState())
        await wrapper.__aenter__()
        self._conversation = wrapper
        return self

    def take_delivery(self) -> str:
        """Inside ``async with``: the results a label-aware drain left unshown (successful
        writes), now marked shown (:meth:`AsyncFCToolset.take_delivery`).  The next run
        inside the block shows them to the model by itself; this is for a conversation that
        goes on some other way."""
        if self._conversation is None:
            raise RuntimeError("take_delivery() needs a conversation: 'async with' the AsyncFC")
        return self._conversation.take_delivery()

    async def __aexit__(self, *args: Any) -> None:
        """End the conversation and close its session: a call still running is cancelled,
        with its one outcome (``cancelled``)."""
        wrapper, self._conversation = self._conversation, None
        if wrapper is not None:
            await wrapper.__aexit__(*args)

    def _wrapper(self, state: _RunState | None) -> AsyncFCToolset:
        return AsyncFCToolset(
            self.toolset,
            mode=self.mode,
            labels=self.labels,
            scheduler_options=self.scheduler_options,
            final_answer=self.final_answer,
            _state=state,
            _known=self._known,
        )

    async def for_run(self, ctx: RunContext[Any]) -> AsyncFC:
        """A copy whose wrapper is bound to this run's state (the conversation's, inside
        ``async with``)."""
        if self._conversation is not None:
            return replace(self, _run_toolset=self._conversation)
        return replace(self, _run_toolset=self._wrapper(_RunState()))

    def get_toolset(self) -> AsyncFCToolset:
        """The wrapper (the run's own once :meth:`for_run` made it)."""
        return self._run_toolset or self._wrapper(None)

    async def before_model_request(
        self, ctx: RunContext[Any], request_context: ModelRequestContext
    ) -> ModelRequestContext:
        """At a conversation's run's first model request: enqueue what the previous run's
        drain left unshown, so the model reads it in this request (and it stays in the
        history)."""
        if self._opened or self._conversation is None or self._run_toolset is None:
            return request_context
        self._opened = True
        delivery = self._run_toolset.take_delivery()
        if delivery:
            ctx.enqueue(delivery)
        return request_context

    async def before_output_process(
        self, ctx: RunContext[Any], *, output_context: OutputContext, output: Any
    ) -> Any:
        """Drain; reject the output with the results the model has not seen, if any.

        Output *processing* is the hook that fires for every output kind, plain text
        included (the validate hooks fire only for structured output)."""
        if ctx.partial_output or self._run_toolset is None or self.mode == "concurrent":
            return output
        reject_unseen(await self._run_toolset.drain(self.final_answer))
        return output
