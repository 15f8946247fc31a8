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

The loop itself, and the invariants every run keeps (one result per call id, deliveries
before each request, the final-answer policy, holds, streaming dispatch, the trace), are in
:mod:`asyncfc._loop`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._delivery import Delivery
from ._loop import Loop
from ._messages import (
    ChatModel,
    ModelSettings,
    SystemMessage,
)
from ._modes import AgentMode, ModePolicy
from ._observe import RunObserver
from ._outcome import AgentRun, EarlyDispatch, FinalAnswerPolicy, HoldPolicy
from ._protocol import (
    AWAIT_TOOL,
    AWAIT_TOOL_NAME,
    PROMPT_ADDENDUM,
    future_tool_definition,
)
from ._results import DEFAULT_MAX_RESULT_CHARS
from ._scheduler import Scheduler
from ._toolset import Toolset

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
            loop = Loop(self, run, scheduler, Delivery(scheduler))
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
