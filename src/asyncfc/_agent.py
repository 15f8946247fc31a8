"""The agent loop: a conversation of one or more user turns, in one of four modes.

Modes (the paper's baselines and AsyncFC variants):

* ``sequential`` (Seq FC): the model is asked for one call per request
  (``parallel_tool_calls=False``); decoding waits for each result.
* ``parallel`` (Par FC): the model may emit several calls per request; they run together
  where their labels allow, and decoding waits for all of them.
* ``async`` (AsyncFC over sequential calling) and ``async_parallel`` (over parallel calling):
  every call is answered at once with a future (see :mod:`asyncfc._protocol`), runs in the
  background under the scheduler, and the model keeps decoding.

What a mode means is decided once, in :class:`~asyncfc.ModePolicy`; this loop reads the
policy and never compares mode names.  All modes run calls through the same
:class:`~asyncfc._scheduler.Scheduler`, so labels mean the same thing everywhere;
``respect_labels=False`` serializes every call in program order.

Words: a *user turn* is one prompt and everything the agent does for it; a *request* is one
model request (a user turn makes one or more).

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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from ._callids import CallIds
from ._calls import ToolCall, ToolResult
from ._delivery import Delivery
from ._errors import ModelAPIError, ModelResponseError
from ._messages import (
    AssistantMessage,
    ChatModel,
    ModelResponse,
    ModelSettings,
    StreamDone,
    SystemMessage,
    ToolCallDone,
    ToolResultsMessage,
    UserMessage,
)
from ._modes import AgentMode, ModePolicy
from ._observe import RunObserver
from ._outcome import AgentRun, EarlyDispatch, FinalAnswerPolicy, HoldPolicy, StopReason
from ._protocol import (
    AWAIT_TOOL,
    AWAIT_TOOL_NAME,
    PROMPT_ADDENDUM,
    future_tool_definition,
    pending_text,
)
from ._results import DEFAULT_MAX_RESULT_CHARS
from ._scheduler import Future, Scheduler
from ._toolset import Toolset
from ._trace import Interval

__all__ = ("Agent",)


@dataclass(kw_only=True)
class Agent:
    """A tool-calling agent over any :class:`~asyncfc.ChatModel`, in one of four modes.

    ``await agent.run(prompts)`` plays one user turn per prompt and returns an
    :class:`AgentRun`; see the module docstring for the invariants.
    """

    model: ChatModel
    toolset: Toolset
    mode: AgentMode = "async_parallel"
    system_prompt: str | None = None
    respect_labels: bool = True
    """False: every call serializes in program order (the "no annotation" ablation)."""
    max_concurrency: int | None = None
    """Upper bound on calls running at once (``None``: unbounded)."""
    timeout: float | None = None
    """Per-call timeout for tools that set none."""
    max_requests: int = 25
    """Model requests allowed per user turn."""
    final_requests: int = 1
    """Extra requests allowed per user turn to show the model results it has not seen."""
    final_answer: FinalAnswerPolicy = "label_aware"
    """When a final answer given while futures were pending is asked again.  The default
    keeps an answer whose only unseen outcomes are successful writes (measured: fewer
    requests, no slower, same BFCL accuracy and states; see docs/benchmarks.md);
    ``"reask"`` is the paper's behaviour."""
    hold: float = 0.0
    """Async modes: seconds a request may wait for a pending future to settle when the model
    would otherwise be asked with nothing new to read (0: never wait)."""
    hold_for: HoldPolicy = "any"
    """Which pending futures ``hold`` waits for: ``"any"``, or ``"reads"`` (only a tool whose
    value the model may need; pending writes never delay a request)."""
    streaming: bool = False
    """Dispatch each call as soon as the stream completes its arguments."""
    early_dispatch: EarlyDispatch = "all"
    settings: ModelSettings = field(default_factory=ModelSettings)
    context: Mapping[str, Any] = field(default_factory=dict)
    """Read-only data handed to tools that declare a :class:`~asyncfc.ToolContext`."""
    max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS
    """Longer result texts are cut, with a marker saying so (``None``: never)."""
    observers: Sequence[RunObserver] = ()
    """Told of the run, each model request and every future (tracing, live views)."""

    def __post_init__(self) -> None:
        self._policy = ModePolicy.of(self.mode, respect_labels=self.respect_labels)
        if self._policy.futures and AWAIT_TOOL_NAME in self.toolset:
            raise ValueError(f"a tool may not be named {AWAIT_TOOL_NAME!r} in the async modes")
        if self.max_requests < 1 or self.final_requests < 0:
            raise ValueError("max_requests must be >= 1 and final_requests >= 0")
        if self.final_answer not in ("reask", "label_aware"):
            raise ValueError(
                f"final_answer must be 'reask' or 'label_aware', got {self.final_answer!r}"
            )
        if not self.hold >= 0:
            raise ValueError(f"hold must be >= 0 seconds, got {self.hold!r}")
        if self.hold_for not in ("any", "reads"):
            raise ValueError(f"hold_for must be 'any' or 'reads', got {self.hold_for!r}")

    @property
    def policy(self) -> ModePolicy:
        """What this agent's mode means (see :class:`~asyncfc.ModePolicy`)."""
        return self._policy

    @property
    def is_async(self) -> bool:
        """True in the modes that answer calls with futures."""
        return self._policy.futures

    def tool_definitions(self) -> list[dict[str, Any]]:
        """The tool list sent to the model in this mode."""
        defs = self.toolset.definitions()
        if not self._policy.futures:
            return defs
        return [future_tool_definition(d) for d in defs] + [dict(AWAIT_TOOL)]

    def model_settings(self) -> ModelSettings:
        """The settings sent with every request: yours, with ``parallel_tool_calls`` set by
        the mode."""
        return dataclasses.replace(
            self.settings, parallel_tool_calls=self._policy.parallel_tool_calls
        )

    def system_text(self) -> str | None:
        """The system prompt sent: yours, plus the protocol's addendum in the async modes."""
        if not self._policy.futures:
            return self.system_prompt
        if self.system_prompt:
            return f"{self.system_prompt}\n\n{PROMPT_ADDENDUM}"
        return PROMPT_ADDENDUM

    async def run(self, prompts: str | Sequence[str]) -> AgentRun:
        """Run one user turn per prompt against the same tool state."""
        turns = [prompts] if isinstance(prompts, str) else list(prompts)
        system = self.system_text()
        run = AgentRun(messages=[SystemMessage(content=system)] if system else [])
        if not self.observers:
            return await self._run(turns, run)
        observers = tuple(self.observers)
        for o in observers:
            o.run_started(self, run)
        error: BaseException | None = None
        try:
            return await self._run(turns, run)
        except BaseException as exc:
            error = exc
            raise
        finally:
            for o in reversed(observers):
                o.run_finished(self, run, error)

    async def _run(self, turns: list[str], run: AgentRun) -> AgentRun:
        async with Scheduler(
            self.toolset,
            ordering="labels" if self._policy.respect_labels else "program",
            max_concurrency=self.max_concurrency,
            timeout=self.timeout,
            context=self.context,
            trace=run.trace,
            max_result_chars=self.max_result_chars,
            observers=self.observers,
        ) as scheduler:
            loop = _Loop(self, run, scheduler, Delivery(scheduler))
            for prompt in turns:
                await loop.user_turn(prompt)
        # Every future is settled now (drained, or cancelled on the way out): record the
        # final outcomes, in call order.
        run.renamed_ids = loop.ids.renamed
        by_call = {f.call.id: f.result for f in scheduler.futures if f.result is not None}
        run.results = {
            c.id: by_call.get(c.id) or run.results[c.id]
            for c in run.calls
            if c.id in by_call or c.id in run.results
        }
        return run


@dataclass
class _Loop:
    agent: Agent
    run: AgentRun
    scheduler: Scheduler
    delivery: Delivery
    user_index: int = -1
    """Index of the current user turn."""
    ids: CallIds = field(default_factory=CallIds)

    @property
    def policy(self) -> ModePolicy:
        return self.agent.policy

    # -- one user turn --------------------------------------------------------------------

    async def user_turn(self, prompt: str) -> None:
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
