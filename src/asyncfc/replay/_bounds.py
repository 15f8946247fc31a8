"""The bounds of a replayed task: R_task (the paper's Eq. 1) and R_turn.

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

from dataclasses import dataclass

from asyncfc._outcome import AgentRun
from asyncfc._protocol import AWAIT_TOOL_NAME
from asyncfc._trace import longest_path

from ._plan import ConflictTest, Plan

__all__ = ("TaskBound", "task_bound")


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
