"""One agent run's loop: user turns, model requests, calls, deliveries (see
:mod:`asyncfc._agent` for the modes and :class:`~asyncfc.Agent` for its settings).

Invariants:

* Every tool call id gets exactly one result in the conversation, in call order, and one
  final outcome in :attr:`AgentRun.results`.
* Before each model request, every future settled since the last request and not yet seen
  is delivered in one message.
* A final answer given while futures are pending waits for them.  Whether the model is then
  asked again is the ``final_answer`` policy (:data:`FinalAnswerPolicy`): ``"reask"`` (the
  paper) asks again whenever a result was not seen; ``"label_aware"`` (the default) keeps
  the answer when
  every unseen outcome is a *successful write* (a tool whose labels say it writes), and asks
  again only for a value the model did not read or an error it has not heard of.
  ``final_requests`` bounds the extra requests per user turn.  Kept or not, nothing is lost:
  unseen outcomes are delivered with the next user turn's prompt and are in
  :attr:`AgentRun.results`.
* ``hold`` (async modes): before a request, when futures are pending and none has settled
  unseen, the loop waits up to ``hold`` seconds for one to settle, so the model is not asked
  to decode with nothing new to read.  ``hold_for="reads"`` waits only for futures whose
  value the model may need (tools that read or have no labels), never for pending writes.
* Before a new user turn starts, every call of the previous turn has finished.
* Each user turn is bounded by ``max_requests`` model requests.
* Call ids are unique within a run: a call whose id is empty or was already used (some
  OpenAI-compatible servers repeat ids) is given a fresh one (``<id>_2``, ``call_<n>``) before
  anything runs, and the conversation carries the new id, so every call keeps its own result
  and the pairing stays valid on every wire format.
* With ``streaming=True`` each call is dispatched the moment the stream marks its arguments
  complete (``early_dispatch="read_only"`` holds back calls that write, and every call after
  the first held-back one, so program order among conflicting calls is kept).  A call is
  dispatched at most once: the final aggregated message is matched to dispatched calls by id.
* A provider error lets calls already running finish, then propagates as the typed
  exception (see :mod:`asyncfc._errors`).
* The trace says, for every interval, which user turn it belongs to (``user_turn``) and, for
  every call, which futures the model had read through ``await_future`` in earlier requests
  of the same user turn (``awaited``); the scheduler receives both at submission.  Together
  with the user-turn barrier these are the dependencies the scheduler never sees (the model
  copied a value it had read instead of passing a future), so
  :meth:`~asyncfc.Trace.critical_path` counts them.  Calls written in the same message as an
  ``await_future`` were written before its result was shown, so that await is not in their
  ``awaited``.
* Every model interval carries the request's input and output tokens (the provider's usage,
  or the scripted model's estimate), so cost is reported next to time.
* ``observers`` (:class:`~asyncfc.RunObserver`) hear of the run, each model request and every
  future (through the scheduler); see :mod:`asyncfc._observe` for when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from ._callids import CallIds
from ._calls import ToolCall, ToolResult
from ._delivery import Delivery
from ._errors import ModelAPIError, ModelResponseError
from ._messages import (
    AssistantMessage,
    ModelResponse,
    ModelSettings,
    StreamDone,
    ToolCallDone,
    ToolResultsMessage,
    UserMessage,
)
from ._modes import ModePolicy
from ._outcome import AgentRun, StopReason
from ._protocol import (
    AWAIT_TOOL_NAME,
    pending_text,
)
from ._scheduler import Future, Scheduler
from ._trace import Interval

if TYPE_CHECKING:
    from ._agent import Agent

__all__ = ("Loop",)


@dataclass
class Loop:
    """The state of one run of an :class:`~asyncfc.Agent` and its user turns."""

    agent: Agent
    run: AgentRun
    scheduler: Scheduler
    delivery: Delivery
    user_index: int = -1
    """Index of the current user turn."""
    ids: CallIds = field(default_factory=CallIds)

    @property
    def policy(self) -> ModePolicy:
        """What the agent's mode means (see :class:`~asyncfc.ModePolicy`)."""
        return self.agent.policy

    # -- one user turn --------------------------------------------------------------------

    async def user_turn(self, prompt: str) -> None:
        """Run one user turn: ``prompt`` (after what is left to deliver) until a final answer
        stands or ``max_requests`` is reached."""
        agent, run = self.agent, self.run
        self.user_index += 1
        self.delivery.forget_awaits()
        delivery = self.delivery.take()
        run.messages.append(UserMessage(content=f"{delivery}\n\n{prompt}" if delivery else prompt))
        requests = finals = 0
        reason: StopReason = "max_requests"
        output = ""
        while requests < agent.max_requests:
            if requests:
                if self.policy.futures and agent.hold:
                    await self.delivery.hold(agent.hold, agent.hold_for)
                delivery = self.delivery.take()
                if delivery:
                    run.messages.append(UserMessage(content=delivery))
            message, dispatched = await self._request()
            requests += 1
            run.messages.append(message)
            output = message.content
            if not message.tool_calls:
                await self.scheduler.drain()
                if self.delivery.must_show(agent.final_answer) and finals < agent.final_requests:
                    finals += 1
                    continue
                reason = "final"
                break
            results = await self._handle_calls(message.tool_calls, dispatched)
            run.messages.append(ToolResultsMessage(results=tuple(results)))
            if not self.policy.futures and all(r.return_direct for r in results):
                output = "\n".join(r.content for r in results)
                reason = "return_direct"
                break
        await self.scheduler.drain()
        run.outputs.append(output)
        run.stop_reasons.append(reason)

    # -- model requests ---------------------------------------------------------------------

    async def _request(self) -> tuple[AssistantMessage, dict[str, Future | ToolResult]]:
        agent, run = self.agent, self.run
        tools = agent.tool_definitions()
        settings = agent.model_settings()
        request = run.model_requests
        run.model_requests += 1
        start = anyio.current_time()
        dispatched: dict[str, Future | ToolResult] = {}
        renamed: dict[int, ToolCall] = {}
        try:
            if agent.streaming:
                response = await self._stream(tools, settings, request, dispatched, renamed)
            else:
                response = await agent.model.request(run.messages, tools, settings)
        except ModelAPIError:
            await self.scheduler.drain()
            raise
        interval = Interval(
            kind="model",
            start=start,
            end=anyio.current_time(),
            name="model",
            request=request,
            user_turn=self.user_index,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
        )
        run.trace.add(interval)
        for o in agent.observers:
            o.model_finished(interval, response)
        return self.ids.message(response.message, renamed), dispatched

    async def _stream(
        self,
        tools: list[dict[str, Any]],
        settings: ModelSettings,
        request: int,
        dispatched: dict[str, Future | ToolResult],
        renamed: dict[int, ToolCall],
    ) -> ModelResponse:
        holding = False
        awaited = tuple(self.delivery.awaited)
        async with self.agent.model.stream(self.run.messages, tools, settings) as events:
            async for event in events:
                if isinstance(event, ToolCallDone):
                    if event.index in renamed:  # a stream may not repeat an index; ignore it
                        continue
                    call = renamed[event.index] = self.ids.unique(event.call)
                    if call.name == AWAIT_TOOL_NAME and self.policy.futures:
                        continue
                    holding = holding or not self._may_dispatch_early(call)
                    if not holding:
                        dispatched[call.id] = self._submit(call, request, awaited)
                elif isinstance(event, StreamDone):
                    return event.response
        raise ModelResponseError("the stream ended without its final event")

    def _may_dispatch_early(self, call: ToolCall) -> bool:
        if self.agent.early_dispatch == "all":
            return True
        found = self.agent.toolset.get(call.name)
        return found is not None and self.policy.respect_labels and found.access.read_only

    # -- tool calls ---------------------------------------------------------------------------

    async def _handle_calls(
        self, calls: Sequence[ToolCall], dispatched: dict[str, Future | ToolResult]
    ) -> list[ToolResult]:
        policy, run = self.policy, self.run
        request = run.model_requests - 1
        awaited = tuple(self.delivery.awaited)  # what the model had read when it wrote these
        shown: list[ToolResult] = []
        submitted: list[Future | ToolResult] = []
        for call in calls:
            run.calls.append(call)
            if policy.futures and call.name == AWAIT_TOOL_NAME:
                run.awaits += 1
                result = await self.delivery.serve_await(
                    call, [f for f in submitted if isinstance(f, Future)]
                )
                run.results[call.id] = result
                shown.append(result)
                submitted.append(result)
                continue
            outcome = dispatched.get(call.id)
            if outcome is None:
                outcome = self._submit(call, request, awaited)
            if not policy.calls_together and isinstance(outcome, Future):
                await outcome.wait()
            submitted.append(outcome)
            if isinstance(outcome, Future):
                run.futures[call.id] = outcome.id
                if policy.futures:
                    shown.append(
                        ToolResult(
                            call_id=call.id, name=call.name, content=pending_text(outcome.id)
                        )
                    )
            else:
                run.results[call.id] = outcome
                shown.append(outcome)
        if not policy.futures:
            await self.scheduler.wait(f for f in submitted if isinstance(f, Future))
            self.delivery.mark_seen([f for f in submitted if isinstance(f, Future)])
            shown = [o if isinstance(o, ToolResult) else _settled(o) for o in submitted]
        return shown

    def _submit(
        self, call: ToolCall, request: int, awaited: tuple[str, ...]
    ) -> Future | ToolResult:
        return self.scheduler.submit(
            call, request=request, user_turn=self.user_index, awaited=awaited
        )


def _settled(future: Future) -> ToolResult:
    assert future.result is not None, "a settled future always has its result"
    return future.result
