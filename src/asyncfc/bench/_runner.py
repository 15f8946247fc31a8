"""Replaying one plan in every mode, side by side, and summarising the runs.

Every mode gets a fresh environment (tools and their state) from ``make_env`` and the same
decode model, tool latencies and batching policy, so the only difference between the rows is
the mode.

The bound of a task.  A mode's own trace only knows the edges that mode enforced (a sync
mode never creates a future, so its trace misses every information dependency), so a bound
from it says little about the task.  The summaries use two bounds of the *task*, computed
once per task from the plan and the sequential run, the same for every mode:

* **R_task** is the paper's Eq. 1 over the full task DAG:
  ``R_task = (T_LLM + T_tool) / max(T_LLM, T_cp)``.  ``T_LLM`` (summed model intervals) and
  ``T_tool`` (summed tool intervals) come from the sequential run's trace.  ``T_cp`` is the
  longest weighted path of the DAG whose nodes are the plan's calls (flattened), each
  weighing its measured duration in the sequential run (which plays the plan in order;
  calls are matched by order, ``await_future`` excluded; a call that never ran weighs 0), and
  whose edges join a call to every call in its ``needs`` (information dependencies) and
  ``uses`` (results passed by reference), to every *earlier* call whose resource labels
  conflict with its own (:meth:`~asyncfc.Access.conflicts_with`, in program order), and to
  every call of an earlier user turn (the next user message exists only once the previous
  turn is done).
* **R_turn** is our own, tighter idealisation; it is not in the paper.  For user turn ``k``
  of the sequential trace let ``f_k`` be its first model request's duration, ``l_k`` its last
  one's (0 when the turn has a single request), ``m_k`` the rest of its decode time, and
  ``T_cp,k`` the critical path of that turn's calls (the edges above inside the turn).  Then
  ``ideal_k = f_k + max(m_k, T_cp,k) + l_k``: the first decode has to precede the turn's first
  call and the final answer has to follow its last result, and at best everything between
  overlaps perfectly.  ``R_turn = sequential wall / Σ_k ideal_k``.

Efficiency of a mode against a bound = (sequential wall ÷ mode wall) ÷ bound, per task;
the summaries report means over tasks.  Both bounds keep the sequential run's decode time, so
a mode that decodes less (a parallel batch replaces several requests) can exceed 1.  The
per-trace ``TraceMetrics.bound`` stays in every trace's metrics (and in per-task JSON); it
is the bound of the schedule that mode ran, not of the task.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from asyncfc._agent import Agent, AgentMode, AgentRun
from asyncfc._labels import Access
from asyncfc._protocol import AWAIT_TOOL_NAME
from asyncfc._scripted import ScriptedModel
from asyncfc._tools import Toolset
from asyncfc._trace import TraceMetrics, longest_path
from asyncfc.bench._latency import Latency, with_latency
from asyncfc.bench._replay import BatchingPolicy, ConflictTest, Plan, PlannedCall, replay_script

__all__ = (
    "MODES",
    "DecodeModel",
    "Environment",
    "ModeOutcome",
    "TaskBound",
    "label_conflicts",
    "replay_modes",
    "summarise",
    "task_bound",
)

MODES: Mapping[str, tuple[AgentMode, bool]] = {
    "sequential": ("sequential", True),
    "parallel": ("parallel", True),
    "async": ("async", True),
    "async_parallel": ("async_parallel", True),
    "async_nolabels": ("async", False),
}
"""Row name → (agent mode, respect_labels)."""


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


@dataclass(frozen=True, kw_only=True)
class TaskBound:
    """The bounds of one task (see the module docstring), from its sequential run."""

    t_llm: float
    t_tool: float
    t_cp: float
    """Critical path of the full task DAG."""
    r_task: float
    """The paper's Eq. 1 over the task DAG."""
    sequential_wall: float
    ideal_turns: tuple[float, ...]
    """``ideal_k`` per user turn."""
    r_turn: float
    """``sequential_wall / sum(ideal_turns)``."""


@dataclass(kw_only=True)
class ModeOutcome:
    mode: str
    run: AgentRun
    wall: float
    metrics: TraceMetrics
    """This mode's own trace metrics (its ``bound`` is the bound of its own schedule)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    bound: TaskBound | None = None
    """The task's bounds, shared by every mode of the task; ``None`` without a sequential run."""


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


def _task_edges(plan: Plan, conflicts: ConflictTest) -> list[set[int]]:
    """Per flattened call, the calls it depends on (needs, uses, earlier conflicting calls,
    every call of an earlier user turn)."""
    calls = plan.flat()
    turn_of = [k for k, turn in enumerate(plan.turns) for _ in turn]
    edges: list[set[int]] = []
    for i, call in enumerate(calls):
        mine = {j for j in (*call.needs, *call.uses) if 0 <= j < len(calls) and j != i}
        for j in range(i):
            if turn_of[j] < turn_of[i] or conflicts(calls[j], call):
                mine.add(j)
        edges.append(mine)
    return edges


def task_bound(
    plan: Plan, sequential: AgentRun, sequential_wall: float, conflicts: ConflictTest
) -> TaskBound:
    """R_task and R_turn of ``plan`` from its sequential run (see the module docstring)."""
    calls = plan.flat()
    executed = [c for c in sequential.calls if c.name != AWAIT_TOOL_NAME]
    duration = {iv.call_id: iv.duration for iv in sequential.trace.of_kind("tool")}
    weights: list[float] = []
    for i, planned in enumerate(calls):
        if i >= len(executed):
            weights.append(0.0)
            continue
        if executed[i].name != planned.name:
            raise ValueError(
                f"the sequential run's call {i} is {executed[i].name!r}, "
                f"the plan's is {planned.name!r}"
            )
        weights.append(duration.get(executed[i].id, 0.0))
    edges = _task_edges(plan, conflicts)
    t_cp = max(longest_path(weights, edges), default=0.0)
    metrics = sequential.trace.metrics()
    denom = max(metrics.t_llm, t_cp)
    r_task = (metrics.t_llm + metrics.t_tool) / denom if denom > 0 else 1.0

    ideal: list[float] = []
    models = sequential.trace.of_kind("model")
    first = 0
    for k, turn in enumerate(plan.turns):
        members = range(first, first + len(turn))
        first += len(turn)
        local = {j: n for n, j in enumerate(members)}
        inner = [[local[p] for p in edges[j] if p in local] for j in members]
        cp_k = max(longest_path([weights[j] for j in members], inner), default=0.0)
        spans = sorted((iv.start, iv.duration) for iv in models if iv.user_turn == k)
        durations = [d for _, d in spans]
        f_k = durations[0] if durations else 0.0
        l_k = durations[-1] if len(durations) > 1 else 0.0
        m_k = sum(durations[1:-1])
        ideal.append(f_k + max(m_k, cp_k) + l_k)
    total = sum(ideal)
    return TaskBound(
        t_llm=metrics.t_llm,
        t_tool=metrics.t_tool,
        t_cp=t_cp,
        r_task=r_task,
        sequential_wall=sequential_wall,
        ideal_turns=tuple(ideal),
        r_turn=sequential_wall / total if total > 0 else 1.0,
    )


async def replay_modes(
    plan: Plan,
    make_env: Callable[[], Environment],
    *,
    modes: Sequence[str] = tuple(MODES),
    decode: DecodeModel | None = None,
    latency: Latency | None = None,
    time_scale: float = 1.0,
    batching: BatchingPolicy = "independent",
) -> dict[str, ModeOutcome]:
    """Run ``plan`` once per mode, one after another, on fresh environments.

    Every outcome carries the task's :class:`TaskBound` when ``"sequential"`` is among
    ``modes``.  The batching test comes from each environment's tool labels, whatever the
    row's ``respect_labels`` (see :mod:`asyncfc.bench._replay`)."""
    decode = decode or DecodeModel()
    latency = latency or Latency()
    out: dict[str, ModeOutcome] = {}
    conflicts: ConflictTest | None = None
    for name in modes:
        agent_mode, labels = MODES[name]
        env = make_env()
        conflicts = label_conflicts(env.toolset)
        model = ScriptedModel(
            script=replay_script(plan, agent_mode, batching=batching, conflicts=conflicts),
            ttft=decode.ttft * time_scale,
            tokens_per_second=decode.tokens_per_second / time_scale,
        )
        agent = Agent(
            model=model,
            toolset=with_latency(env.toolset, latency.sampler(time_scale)),
            mode=agent_mode,
            respect_labels=labels,
            max_turns=4 * max((len(t) for t in plan.turns), default=1) + 4,
        )
        start = anyio.current_time()
        run = await agent.run(list(plan.prompts))
        wall = anyio.current_time() - start
        out[name] = ModeOutcome(
            mode=name, run=run, wall=wall, metrics=run.trace.metrics(), extra=env.finish(run)
        )
    reference = out.get("sequential")
    if reference is not None and conflicts is not None:
        bound = task_bound(plan, reference.run, reference.wall, conflicts)
        for o in out.values():
            o.bound = bound
    return out


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def summarise(tasks: Sequence[Mapping[str, ModeOutcome]]) -> list[dict[str, Any]]:
    """One row per mode over many tasks: means and medians of the per-task figures.

    ``r_task_mean``/``r_turn_mean`` and the efficiencies against them use the tasks that have
    a :class:`TaskBound` (NaN when none has); ``trace_bound_mean`` is the mean of each mode's
    own-trace R, kept for runs without a plan."""
    rows: list[dict[str, Any]] = []
    if not tasks:
        return rows
    for mode in tasks[0]:
        per = [t[mode] for t in tasks if mode in t]
        paired = [
            (t["sequential"].wall / t[mode].wall, t[mode])
            for t in tasks
            if "sequential" in t and mode in t
        ]
        speed = [s for s, _ in paired]
        vs_par = [t["parallel"].wall / t[mode].wall for t in tasks if "parallel" in t and mode in t]
        bounded = [(s, o.bound) for s, o in paired if o.bound is not None]
        accurate = [o.extra.get("accurate") for o in per if "accurate" in o.extra]
        rows.append(
            {
                "mode": mode,
                "tasks": len(per),
                "wall_mean": statistics.fmean(o.wall for o in per),
                "speedup_mean": _mean(speed),
                "speedup_median": statistics.median(speed) if speed else math.nan,
                "speedup_vs_parallel_mean": _mean(vs_par),
                "speedup_vs_parallel_median": statistics.median(vs_par) if vs_par else math.nan,
                "r_task_mean": _mean([b.r_task for _, b in bounded]),
                "efficiency_task_mean": _mean([s / b.r_task for s, b in bounded]),
                "r_turn_mean": _mean([b.r_turn for _, b in bounded]),
                "efficiency_turn_mean": _mean([s / b.r_turn for s, b in bounded]),
                "trace_bound_mean": statistics.fmean(o.metrics.bound for o in per),
                "overlap_saved_mean": statistics.fmean(o.metrics.overlap_saving for o in per),
                "parallel_saved_mean": statistics.fmean(o.metrics.parallel_saving for o in per),
                "accuracy": (sum(bool(a) for a in accurate) / len(accurate)) if accurate else None,
                "model_requests_mean": statistics.fmean(o.run.model_requests for o in per),
                "awaits_total": sum(o.run.awaits for o in per),
            }
        )
    return rows
