"""Replaying one plan in every mode, side by side.

Every mode gets a fresh environment (tools and their state) from ``make_env`` and the same
decode model, tool latencies and batching policy, so the only difference between the rows is
the mode.  The task's bounds (:mod:`asyncfc.replay._bounds`) come from the sequential run.

Invariants:

* Sync tools run in worker threads, as they do for users (:func:`~asyncfc.replay.with_latency`),
  unless ``sync_tools="loop"`` is asked for a fake clock.  Each run's agent gets
  ``max_concurrency`` equal to the plan's call count: no more calls than that can be in flight,
  so it bounds nothing, but it gives the run its own thread limiter of that size, so sync tools
  never queue behind anyio's process-wide default of 40 threads.
* Every model request's *scripted* duration (``ttft + output tokens / tokens per second``) is
  recorded next to its measured interval, so a request the event loop delayed (a stretched
  interval) is counted, not silently folded into the figures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import anyio

from asyncfc._agent import Agent
from asyncfc._labels import UNLABELLED, Access
from asyncfc._messages import Message, ModelResponse, ModelSettings, StreamEvent
from asyncfc._modes import ModePolicy
from asyncfc._outcome import AgentRun, FinalAnswerPolicy, HoldPolicy
from asyncfc._scripted import ScriptedModel
from asyncfc._toolset import Toolset
from asyncfc._trace import TraceMetrics

from ._bounds import TaskBound, task_bound
from ._latency import Latency, SyncTools, with_latency
from ._plan import (
    BatchingPolicy,
    Behaviour,
    ConflictTest,
    Plan,
    PlannedCall,
    ReadTest,
    replay_script,
)

__all__ = (
    "MODES",
    "STRETCH_TOLERANCE",
    "DecodeModel",
    "Environment",
    "ModeOutcome",
    "label_conflicts",
    "label_reads",
    "replay_modes",
)

MODES: Mapping[str, ModePolicy] = {
    "sequential": ModePolicy.of("sequential"),
    "parallel": ModePolicy.of("parallel"),
    "async": ModePolicy.of("async"),
    "async_parallel": ModePolicy.of("async_parallel"),
    "async_nolabels": ModePolicy.of("async", respect_labels=False),
}
"""Row name → the mode's policy (``async_nolabels`` is the paper's no-annotation ablation)."""

STRETCH_TOLERANCE = 0.2
"""A model interval longer than its scripted duration by more than this fraction counts as
stretched (:attr:`ModeOutcome.stretched_model_intervals`)."""


@dataclass(frozen=True, kw_only=True)
class DecodeModel:
    """Simulated decoding of a hosted GPT-4o-class model (before the time scale).

    Defaults: 0.8 s to the first token and 80 output tokens/s.  Hosted GPT-4o-class
    endpoints are commonly reported at roughly 0.4-1.0 s time-to-first-token for prompts of a
    few thousand tokens (BFCL multi-turn prompts carry 10-40 tool schemas) and 50-110 output
    tokens/s; we take values inside both ranges.  These are assumptions, not measurements.
    """

    ttft: float = 0.8
    tokens_per_second: float = 80.0


@dataclass(kw_only=True)
class Environment:
    """A fresh set of tools for one run, and what to compute from it afterwards."""

    toolset: Toolset
    finish: Callable[[AgentRun], Mapping[str, Any]] = lambda _run: {}
    """Called with the finished run; its mapping becomes :attr:`ModeOutcome.extra`."""


@dataclass(kw_only=True)
class ModeOutcome:
    """One mode's run of one plan, with its wall time and trace metrics."""

    mode: str
    run: AgentRun
    wall: float
    metrics: TraceMetrics
    """This mode's own trace metrics (its ``bound`` is the bound of its own schedule)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    bound: TaskBound | None = None
    """The task's bounds, shared by every mode of the task; ``None`` without a sequential run."""
    scripted_model_seconds: tuple[float, ...] = ()
    """Per model request, in order, the decode time the script asked for (empty for runs of a
    real model, whose decoding is not scripted)."""

    def model_stretch(self) -> list[float]:
        """Per model request with a scripted duration, in order: measured ÷ scripted duration
        (1.0 for a request scripted to take no time, which has nothing to stretch)."""
        models = sorted(self.run.trace.of_kind("model"), key=lambda iv: iv.start)
        return [
            iv.duration / expected if expected > 0 else 1.0
            for iv, expected in zip(models, self.scripted_model_seconds, strict=False)
        ]

    @property
    def stretched_model_intervals(self) -> int:
        """Model intervals longer than their scripted duration by more than
        :data:`STRETCH_TOLERANCE` (the event loop, or something on it, delayed them)."""
        return sum(r > 1.0 + STRETCH_TOLERANCE for r in self.model_stretch())


class _Recording:
    """A :class:`ScriptedModel` that records each request's scripted decode time."""

    def __init__(self, model: ScriptedModel) -> None:
        self.model = model
        self.seconds: list[float] = []

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> ModelResponse:
        response = await self.model.request(messages, tools, settings)
        tokens = response.usage.output_tokens or 0
        self.seconds.append(self.model.ttft + self.model.decode_seconds(tokens))
        return response

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        return self.model.stream(messages, tools, settings)


def label_conflicts(toolset: Toolset) -> ConflictTest:
    """Two planned calls conflict when their tools' labels do.  An unknown tool never runs,
    so it conflicts with nothing."""
    nothing = Access()

    def access(name: str) -> Access:
        found = toolset.get(name)
        return found.access if found is not None else nothing

    def conflicts(a: PlannedCall, b: PlannedCall) -> bool:
        return access(a.name).conflicts_with(access(b.name))

    return conflicts


def label_reads(toolset: Toolset) -> ReadTest:
    """A planned call returns something to read unless its tool declares writes: the rule of
    the ``label_aware`` final-answer policy (an unknown or unlabelled tool may be read)."""

    def reads(call: PlannedCall) -> bool:
        found = toolset.get(call.name)
        return found is None or found.access is UNLABELLED or not found.access.writes

    return reads


async def replay_modes(
    plan: Plan,
    make_env: Callable[[], Environment],
    *,
    modes: Sequence[str] = tuple(MODES),
    decode: DecodeModel | None = None,
    latency: Latency | None = None,
    time_scale: float = 1.0,
    batching: BatchingPolicy = "independent",
    sync_tools: SyncTools = "thread",
    behaviour: Behaviour | None = None,
    final_answer: FinalAnswerPolicy = "label_aware",
    hold: float = 0.0,
    hold_for: HoldPolicy = "any",
    system_prompt: str | None = None,
    streaming: bool = False,
) -> dict[str, ModeOutcome]:
    """Run ``plan`` once per mode (names of :data:`MODES`), one after another, on fresh
    environments.

    Every outcome carries the task's :class:`TaskBound` when ``"sequential"`` is among
    ``modes``.  The batching test comes from each environment's tool labels, whatever the
    row's ``respect_labels`` (see :mod:`asyncfc.replay._plan`).  ``sync_tools="loop"`` is for
    fake clocks only (see :func:`~asyncfc.replay.with_latency`).  ``behaviour`` is the
    replayed model's (:class:`~asyncfc.replay.Behaviour`); ``final_answer``, ``hold``
    (seconds before the time scale), ``hold_for`` and ``streaming`` (early dispatch of each
    call as the stream completes it) are given to every run's :class:`~asyncfc.Agent`."""
    decode = decode or DecodeModel()
    latency = latency or Latency()
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    out: dict[str, ModeOutcome] = {}
    conflicts: ConflictTest | None = None
    for name in modes:
        policy = MODES[name]
        env = make_env()
        conflicts = label_conflicts(env.toolset)
        model = _Recording(
            ScriptedModel(
                script=replay_script(
                    plan,
                    policy,
                    batching=batching,
                    conflicts=conflicts,
                    behaviour=behaviour,
                    reads=label_reads(env.toolset),
                ),
                ttft=decode.ttft * time_scale,
                tokens_per_second=decode.tokens_per_second / time_scale,
            )
        )
        agent = Agent(
            model=model,
            toolset=with_latency(env.toolset, latency.sampler(time_scale), sync_tools=sync_tools),
            mode=policy.mode,
            respect_labels=policy.respect_labels,
            max_requests=4 * max((len(t) for t in plan.turns), default=1) + 4,
            max_concurrency=max(1, len(plan.flat())),
            final_answer=final_answer,
            hold=hold * time_scale,
            hold_for=hold_for,
            streaming=streaming,
            system_prompt=system_prompt,
        )
        start = anyio.current_time()
        run = await agent.run(list(plan.prompts))
        wall = anyio.current_time() - start
        out[name] = ModeOutcome(
            mode=name,
            run=run,
            wall=wall,
            metrics=run.trace.metrics(),
            extra=env.finish(run),
            scripted_model_seconds=tuple(model.seconds),
        )
    reference = out.get("sequential")
    if reference is not None and conflicts is not None:
        bound = task_bound(plan, reference.run, reference.wall, conflicts)
        for o in out.values():
            o.bound = bound
    return out
