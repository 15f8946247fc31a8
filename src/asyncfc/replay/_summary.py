"""Summaries of replayed tasks: one row per mode, means and medians over tasks.

Speed-ups pair each task's mode with the same task's sequential (or parallel) run; the
efficiencies divide them by the task's bounds (:mod:`asyncfc.replay._bounds`).  NaN marks a
figure no task could give (for instance, no sequential run).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from ._runner import ModeOutcome

__all__ = ("summarise",)


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def summarise(tasks: Sequence[Mapping[str, ModeOutcome]]) -> list[dict[str, Any]]:
    """One row per mode over many tasks: means and medians of the per-task figures.

    ``r_task_mean``/``r_turn_mean`` and the efficiencies against them use the tasks that have
    a :class:`TaskBound` (NaN when none has); ``trace_bound_mean`` is the mean of each mode's
    own-trace R, kept for runs without a plan.  ``stretched_model_intervals`` counts the
    model intervals of the mode (``model_intervals`` of them have a scripted duration) that
    ran longer than scripted by more than :data:`~asyncfc.replay.STRETCH_TOLERANCE`;
    ``model_stretch_max`` is the largest measured ÷ scripted ratio among them.  Cost sits next
    to time: ``model_requests_mean``, ``input_tokens_mean`` and ``output_tokens_mean`` per
    task (tokens as the model reported them, or the scripted model's estimate)."""
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
                "input_tokens_mean": statistics.fmean(o.metrics.input_tokens for o in per),
                "output_tokens_mean": statistics.fmean(o.metrics.output_tokens for o in per),
                "awaits_total": sum(o.run.awaits for o in per),
                "wait_only_responses_total": sum(o.run.wait_only_responses for o in per),
                "model_intervals": sum(len(o.scripted_model_seconds) for o in per),
                "stretched_model_intervals": sum(o.stretched_model_intervals for o in per),
                "model_stretch_max": max(
                    (r for o in per for r in o.model_stretch()), default=math.nan
                ),
            }
        )
    return rows
