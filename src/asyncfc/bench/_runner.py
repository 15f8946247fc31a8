"""Replaying one plan in every mode, side by side, and summarising the runs.

Every mode gets a fresh environment (tools and their state) from ``make_env`` and the same
decode model and tool latencies, so the only difference between the rows is the mode.

Efficiency is the achieved speed-up over the sequential run divided by the bound R of the
mode's own trace (``R = (T_LLM + T_tool) / max(T_LLM, T_cp)``, with ``T_cp`` over the
dependency edges that mode enforced): how much of what that schedule could gain was gained.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from asyncfc._agent import Agent, AgentMode, AgentRun
from asyncfc._scripted import ScriptedModel
from asyncfc._tools import Toolset
from asyncfc._trace import TraceMetrics
from asyncfc.bench._latency import Latency, with_latency
from asyncfc.bench._replay import Plan, replay_script

__all__ = (
    "MODES",
    "DecodeModel",
    "Environment",
    "ModeOutcome",
    "replay_modes",
    "summarise",
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


@dataclass(kw_only=True)
class ModeOutcome:
    mode: str
    run: AgentRun
    wall: float
    metrics: TraceMetrics
    extra: Mapping[str, Any] = field(default_factory=dict)


async def replay_modes(
    plan: Plan,
    make_env: Callable[[], Environment],
    *,
    modes: Sequence[str] = tuple(MODES),
    decode: DecodeModel | None = None,
    latency: Latency | None = None,
    time_scale: float = 1.0,
) -> dict[str, ModeOutcome]:
    """Run ``plan`` once per mode, one after another, on fresh environments."""
    decode = decode or DecodeModel()
    latency = latency or Latency()
    out: dict[str, ModeOutcome] = {}
    for name in modes:
        agent_mode, labels = MODES[name]
        env = make_env()
        model = ScriptedModel(
            script=replay_script(plan, agent_mode),
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
    return out


def summarise(tasks: Sequence[Mapping[str, ModeOutcome]]) -> list[dict[str, Any]]:
    """One row per mode over many tasks: means and medians of the per-task figures."""
    rows: list[dict[str, Any]] = []
    if not tasks:
        return rows
    for mode in tasks[0]:
        per = [t[mode] for t in tasks if mode in t]
        speed = [t["sequential"].wall / t[mode].wall for t in tasks if "sequential" in t]
        vs_par = [t["parallel"].wall / t[mode].wall for t in tasks if "parallel" in t]
        bounds = [o.metrics.bound for o in per]
        eff = [s / o.metrics.bound for s, o in zip(speed, per, strict=False)]
        accurate = [o.extra.get("accurate") for o in per if "accurate" in o.extra]
        rows.append(
            {
                "mode": mode,
                "tasks": len(per),
                "wall_mean": statistics.fmean(o.wall for o in per),
                "speedup_mean": statistics.fmean(speed) if speed else float("nan"),
                "speedup_median": statistics.median(speed) if speed else float("nan"),
                "speedup_vs_parallel_mean": statistics.fmean(vs_par) if vs_par else float("nan"),
                "speedup_vs_parallel_median": statistics.median(vs_par) if vs_par else float("nan"),
                "bound_mean": statistics.fmean(bounds),
                "efficiency_mean": statistics.fmean(eff) if eff else float("nan"),
                "overlap_saved_mean": statistics.fmean(o.metrics.overlap_saving for o in per),
                "parallel_saved_mean": statistics.fmean(o.metrics.parallel_saving for o in per),
                "accuracy": (sum(bool(a) for a in accurate) / len(accurate)) if accurate else None,
                "model_requests_mean": statistics.fmean(o.run.model_requests for o in per),
                "awaits_total": sum(o.run.awaits for o in per),
            }
        )
    return rows
