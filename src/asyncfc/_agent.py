"""The agent loop: a conversation of one or more user turns, in one of four modes.

Modes (the paper's baselines and AsyncFC variants):

* ``sequential`` (Seq FC): the model is asked for one call per request
  (``parallel_tool_calls=False``); decoding waits for each result.
* ``parallel`` (Par FC): the model may emit several calls per request; they run together
  where their labels allow, and decoding waits for all of them.
* ``async`` (AsyncFC over sequential calling) and ``async_parallel`` (over parallel calling):
  every call is answered at once with a future (see :mod:`asyncfc._protocol`), runs in the
  background under the scheduler, and the model keeps decoding.

All modes run calls through the same :class:`~asyncfc._scheduler.Scheduler`, so labels mean
the same thing everywhere; ``respect_labels=False`` serializes every call in program order.

Invariants:

* Every tool call id gets exactly one result in the conversation, in call order, and one
  final outcome in :attr:`AgentRun.results`.
* Before each model request, every future settled since the last request and not yet seen
  is delivered in one message.
* A final answer given while futures are pending waits for them; if any result was not seen
  by the model, the model gets one more request with those results (``final_turns`` bounds
  how many times this happens per user turn).
* Before a new user turn starts, every call of the previous turn has finished.
* Each user turn is bounded by ``max_turns`` model requests.
* With ``streaming=True`` each call is dispatched the moment the stream marks its arguments
  complete (``early_dispatch="read_only"`` holds back calls that write, and every call after
  the first held-back one, so program order among conflicting calls is kept).  A call is
  dispatched at most once: the final aggregated message is matched to dispatched calls by id.
* A provider error lets calls already running finish, then propagates as the typed
  exception (see :mod:`asyncfc._errors`).
* The trace says, for every interval, which user turn it belongs to (``user_turn``) and, for
  every call, which futures the model had read through ``await_future`` in earlier requests
  of the same user turn (``awaited``).  Together with the user-turn barrier these are the
  dependencies the scheduler never sees (the model copied a value it had read instead of
  passing a future), so :meth:`~asyncfc.Trace.critical_path` counts them.  Calls written in
  the same message as an ``await_future`` were written before its result was shown, so that
  await is not in their ``awaited``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from ._calls import ToolCall, ToolResult
from ._errors import ModelAPIError, ModelResponseError
from ._futures import parse_future_number
from ._invoke import DEFAULT_MAX_RESULT_CHARS, ArgumentsError, decode_arguments, error_result
from ._messages import (
    ChatModel,
    Message,
    ModelResponse,
    ModelSettings,
    StreamDone,
    SystemMessage,
    ToolCallDone,
    ToolResultsMessage,
    UserMessage,
)
from ._protocol import (
    AWAIT_TOOL,
    AWAIT_TOOL_NAME,
    PROMPT_ADDENDUM,
    delivery_text,
    future_tool_definition,
    pending_text,
    settled_line,
)
from ._scheduler import Future, Scheduler
from ._tools import Toolset
from ._trace import Interval, Trace

__all__ = ("Agent", "AgentMode", "AgentRun", "EarlyDispatch", "StopReason")

AgentMode = Literal["sequential", "parallel", "async", "async_parallel"]
EarlyDispatch = Literal["all", "read_only"]
StopReason = Literal["final", "max_turns", "return_direct"]

_ASYNC_MODES = ("async", "async_parallel")


@dataclass(kw_only=True)
class AgentRun:
    """Everything one :meth:`Agent.run` produced."""

    messages: list[Message]
    outputs: list[str] = field(default_factory=list)
    """The final text of each user turn."""
    stop_reasons: list[StopReason] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    """Every tool call the model made, in order (``await_future`` included)."""
    results: dict[str, ToolResult] = field(default_factory=dict)
    """The final outcome of every call id (the real value, not the placeholder)."""
    futures: dict[str, str] = field(default_factory=dict)
    """Call id → future id, for calls answered with a future."""
    trace: Trace = field(default_factory=Trace)
    model_requests: int = 0
    awaits: int = 0


@dataclass(kw_only=True)
class Agent:
    model: ChatModel
    toolset: Toolset
    mode: AgentMode = "async_parallel"
    system_prompt: str | None = None
    respect_labels: bool = True
    """False: every call serializes in program order (the "no annotation" ablation)."""
    max_concurrency: int | None = None
    timeout: float | None = None
    """Per-call timeout for tools that set none."""
    max_turns: int = 25
    """Model requests allowed per user turn."""
    final_turns: int = 1
    """Extra requests allowed per user turn to show the model results it has not seen."""
    streaming: bool = False
    early_dispatch: EarlyDispatch = "all"
    settings: ModelSettings = field(default_factory=ModelSettings)
    context: Mapping[str, Any] = field(default_factory=dict)
    max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS

    def __post_init__(self) -> None:
        if self.mode not in ("sequential", "parallel", *_ASYNC_MODES):
            raise ValueError(f"unknown mode {self.mode!r}")
        if self.is_async and AWAIT_TOOL_NAME in self.toolset:
            raise ValueError(f"a tool may not be named {AWAIT_TOOL_NAME!r} in the async modes")
        if self.max_turns < 1 or self.final_turns < 0:
            raise ValueError("max_turns must be >= 1 and final_turns >= 0")

    @property
    def is_async(self) -> bool:
        return self.mode in _ASYNC_MODES

    def tool_definitions(self) -> list[dict[str, Any]]:
        """The tool list sent to the model in this mode."""
        defs = self.toolset.definitions()
        if not self.is_async:
            return defs
        return [future_tool_definition(d) for d in defs] + [dict(AWAIT_TOOL)]

    def model_settings(self) -> ModelSettings:
        parallel = self.mode in ("parallel", "async_parallel")
        return dataclasses.replace(self.settings, parallel_tool_calls=parallel)

    def system_text(self) -> str | None:
        if not self.is_async:
            return self.system_prompt
        if self.system_prompt:
            return f"{self.system_prompt}\n\n{PROMPT_ADDENDUM}"
        return PROMPT_ADDENDUM

    async def run(self, prompts: str | Sequence[str]) -> AgentRun:
        """Run one user turn per prompt against the same tool state."""
        turns = [prompts] if isinstance(prompts, str) else list(prompts)
        system = self.system_text()
        run = AgentRun(messages=[SystemMessage(content=system)] if system else [])
        async with Scheduler(
            self.toolset,
            max_concurrency=self.max_concurrency,
            timeout=self.timeout,
            respect_labels=self.respect_labels,
            context=self.context,
            trace=run.trace,
            max_result_chars=self.max_result_chars,
        ) as scheduler:
            loop = _Loop(self, run, scheduler)
            for prompt in turns:
                await loop.user_turn(prompt)
        # Every future is settled now (drained, or cancelled on the way out): record the
        # final outcomes, in call order.
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
    seen: set[int] = field(default_factory=set)
    """Numbers of the futures whose outcome the model has been shown."""
    user_index: int = -1
    """Index of the current user turn."""
    awaited: list[str] = field(default_factory=list)
    """Call ids whose outcome ``await_future`` showed the model in this user turn."""

    # -- one user turn --------------------------------------------------------------------

    async def user_turn(self, prompt: str) -> None:
        agent, run = self.agent, self.run
        self.user_index += 1
        self.awaited = []
        delivery = self._take_delivery()
        run.messages.append(UserMessage(content=f"{delivery}\n\n{prompt}" if delivery else prompt))
        requests = finals = 0
        reason: StopReason = "max_turns"
        output = ""
        while requests < agent.max_turns:
            if requests:
                delivery = self._take_delivery()
                if delivery:
                    run.messages.append(UserMessage(content=delivery))
            response, dispatched = await self._request()
            requests += 1
            message = response.message
            run.messages.append(message)
            output = message.content
            if not message.tool_calls:
                await self.scheduler.drain()
                if self._unseen() and finals < agent.final_turns:
                    finals += 1
                    continue
                reason = "final"
                break
            results = await self._handle_calls(message.tool_calls, dispatched)
            run.messages.append(ToolResultsMessage(results=tuple(results)))
            if not agent.is_async and all(r.return_direct for r in results):
                output = "\n".join(r.content for r in results)
                reason = "return_direct"
                break
        await self.scheduler.drain()
        run.outputs.append(output)
        run.stop_reasons.append(reason)

    # -- model requests ---------------------------------------------------------------------

    async def _request(self) -> tuple[ModelResponse, dict[str, Future | ToolResult]]:
        agent, run = self.agent, self.run
        tools = agent.tool_definitions()
        settings = agent.model_settings()
        turn = run.model_requests
        run.model_requests += 1
        start = anyio.current_time()
        dispatched: dict[str, Future | ToolResult] = {}
        try:
            if agent.streaming:
                response = await self._stream(tools, settings, turn, dispatched)
            else:
                response = await agent.model.request(run.messages, tools, settings)
        except ModelAPIError:
            await self.scheduler.drain()
            raise
        run.trace.add(
            Interval(
                kind="model",
                start=start,
                end=anyio.current_time(),
                name="model",
                turn=turn,
                user_turn=self.user_index,
            )
        )
        return response, dispatched

    async def _stream(
        self,
        tools: list[dict[str, Any]],
        settings: ModelSettings,
        turn: int,
        dispatched: dict[str, Future | ToolResult],
    ) -> ModelResponse:
        holding = False
        awaited = tuple(self.awaited)
        async with self.agent.model.stream(self.run.messages, tools, settings) as events:
            async for event in events:
                if isinstance(event, ToolCallDone):
                    call = event.call
                    if call.name == AWAIT_TOOL_NAME or call.id in dispatched:
                        continue
                    holding = holding or not self._may_dispatch_early(call)
                    if not holding:
                        dispatched[call.id] = self._submit(call, turn, awaited)
                elif isinstance(event, StreamDone):
                    return event.response
        raise ModelResponseError("the stream ended without its final event")

    def _may_dispatch_early(self, call: ToolCall) -> bool:
        if self.agent.early_dispatch == "all":
            return True
        found = self.agent.toolset.get(call.name)
        return found is not None and self.agent.respect_labels and found.access.read_only

    # -- tool calls ---------------------------------------------------------------------------

    async def _handle_calls(
        self, calls: Sequence[ToolCall], dispatched: dict[str, Future | ToolResult]
    ) -> list[ToolResult]:
        agent, run = self.agent, self.run
        turn = run.model_requests - 1
        awaited = tuple(self.awaited)  # what the model had read when it wrote these calls
        shown: list[ToolResult] = []
        submitted: list[Future | ToolResult] = []
        for call in calls:
            run.calls.append(call)
            if agent.is_async and call.name == AWAIT_TOOL_NAME:
                run.awaits += 1
                result = await self._await(call)
                run.results[call.id] = result
                shown.append(result)
                submitted.append(result)
                continue
            outcome = dispatched.get(call.id)
            if outcome is None:
                outcome = self._submit(call, turn, awaited)
            if agent.mode == "sequential" and isinstance(outcome, Future):
                await outcome.done.wait()
            submitted.append(outcome)
            if isinstance(outcome, Future):
                run.futures[call.id] = outcome.id
                if agent.is_async:
                    shown.append(
                        ToolResult(
                            call_id=call.id, name=call.name, content=pending_text(outcome.id)
                        )
                    )
            else:
                run.results[call.id] = outcome
                shown.append(outcome)
        if not agent.is_async:
            await self.scheduler.wait(f for f in submitted if isinstance(f, Future))
            self.seen.update(f.number for f in submitted if isinstance(f, Future))
            shown = [o if isinstance(o, ToolResult) else _settled(o) for o in submitted]
        return shown

    def _submit(self, call: ToolCall, turn: int, awaited: tuple[str, ...]) -> Future | ToolResult:
        self.run.trace.annotate(call.id, user_turn=self.user_index, awaited=awaited)
        return self.scheduler.submit(call, turn=turn)

    async def _await(self, call: ToolCall) -> ToolResult:
        try:
            args = decode_arguments(call)
        except ArgumentsError as exc:
            return error_result(call, exc.kind, str(exc))
        ids = args.get("future_ids")
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids:
            return error_result(
                call, "invalid_arguments", "await_future needs future_ids: a list of future ids"
            )
        timeout = args.get("timeout")
        if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
            return error_result(call, "invalid_arguments", "timeout must be a positive number")
        futures: list[Future] = []
        unknown: list[str] = []
        for fid in ids:
            n = parse_future_number(fid)
            if n is None or not 1 <= n <= len(self.scheduler.futures):
                unknown.append(fid)
            else:
                futures.append(self.scheduler.get(n))
        if unknown:
            return error_result(
                call,
                "unknown_future",
                f"unknown future id(s): {', '.join(unknown)} "
                f"(futures issued so far: {len(self.scheduler.futures)})",
            )
        with anyio.move_on_after(timeout if timeout is not None else float("inf")):
            await self.scheduler.wait(futures)
        lines = []
        for f in futures:
            if f.result is None:
                lines.append(f"{f.id} still pending after {timeout:g} s")
            else:
                self.seen.add(f.number)
                if f.call.id not in self.awaited:
                    self.awaited.append(f.call.id)
                lines.append(settled_line(f.id, f.result.content, is_error=f.result.is_error))
        return ToolResult(call_id=call.id, name=call.name, content="\n".join(lines))

    # -- delivery -------------------------------------------------------------------------------

    def _unseen(self) -> list[Future]:
        return [
            f for f in self.scheduler.futures if f.result is not None and f.number not in self.seen
        ]

    def _take_delivery(self) -> str:
        unseen = self._unseen()
        if not unseen:
            return ""
        self.seen.update(f.number for f in unseen)
        return delivery_text(
            [(f.id, f.result.content, f.result.is_error) for f in unseen if f.result is not None]
        )


def _settled(future: Future) -> ToolResult:
    assert future.result is not None, "a settled future always has its result"
    return future.result
