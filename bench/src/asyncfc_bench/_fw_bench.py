"""BFCL multi-turn through pydantic-ai and the OpenAI Agents SDK, beside asyncfc's own agent.

One task runs, one after another on fresh backends: asyncfc's own ``Agent`` in the reference
modes (``sequential``, ``parallel``, ``async_parallel``, through
:func:`~asyncfc_bench._bfcl_bench.run_bfcl_task`), then every framework in every setup:
(a) ``alone``, (b) ``labels``, (c) ``futures`` (:mod:`asyncfc_bench._fw_common`).  Every run
uses the same decode model, tool latency and model behaviour
(:class:`~asyncfc.replay.Behaviour`), and all of them run on one
:class:`~asyncfc_bench._virtual_clock.VirtualClockLoop`, so each wall time is exactly the
scripted decode and tool time of that run's schedule (CPU time counts as zero).  Each
setup's CPU time is measured beside it: with every wait free, that is the setup's wall time at
zero decode and tool time, so ``CPU ÷ alone`` is the wrapper's cost on BFCL's own call shapes
(the synthetic worst case, hundreds of no-op calls in one response, is
``bench/scripts/bench_frameworks.py``).

Scoring is the harness's: BFCL's ``multi_turn_checker`` on the calls each run made
(``await_future`` left out), and the final backend state compared with asyncfc's sequential
run's.  A setup's speed-up is asyncfc's sequential wall time ÷ its own, per task.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncfc.replay import BatchingPolicy, Behaviour, DecodeModel, Latency, ModeOutcome

from ._bfcl_bench import bfcl_plan, calls_by_turn, run_bfcl_task
from ._bfcl_data import BfclEntry
from ._bfcl_scoring import score
from ._fw_common import ReplayBridge, SetupOutcome, Variant, bfcl_tools

__all__ = (
    "FRAMEWORKS",
    "REASK",
    "REFERENCE_MODES",
    "FrameworkTask",
    "row_name",
    "run_framework_task",
    "summarise_frameworks",
)

FRAMEWORKS: tuple[str, ...] = ("pydantic-ai", "openai-agents")
"""The frameworks, by the names the command line takes."""
REFERENCE_MODES: tuple[str, ...] = ("sequential", "parallel", "async_parallel")
"""asyncfc's own modes run beside the frameworks (``sequential`` is the baseline)."""
REASK = "async_parallel, reask"
"""The reference row of asyncfc's ``async_parallel`` with ``final_answer="reask"``."""

_LETTER = {"alone": "(a) alone", "labels": "(b) + labels", "futures": "(c) + futures"}

Runner = Callable[..., Awaitable[SetupOutcome]]


def row_name(framework: str, variant: str) -> str:
    """The table's name for one setup (``asyncfc`` rows are named by their mode)."""
    if framework == "asyncfc":
        return f"asyncfc Agent {variant}"
    return f"{framework} {_LETTER[variant]}"


def _runner(framework: str) -> Runner:
    if framework == "pydantic-ai":
        from ._fw_pydantic_ai import run_pydantic_ai

        return run_pydantic_ai
    if framework == "openai-agents":
        from ._fw_openai_agents import run_openai_agents

        return run_openai_agents
    raise ValueError(f"unknown framework {framework!r}; choose from {', '.join(FRAMEWORKS)}")


@dataclass(kw_only=True)
class FrameworkTask:
    """One task's runs: asyncfc's reference modes and every framework setup."""

    entry_id: str
    reference: dict[str, ModeOutcome]
    setups: dict[tuple[str, Variant], SetupOutcome] = field(default_factory=dict)

    def rows(self) -> dict[str, dict[str, Any]]:
        """Row name → this task's figures (wall, requests, tokens, verdict, state match)."""
        out: dict[str, dict[str, Any]] = {}
        for mode, o in self.reference.items():
            out[row_name("asyncfc", mode)] = {
                "wall": o.wall,
                "requests": o.run.model_requests,
                "input_tokens": o.metrics.input_tokens,
                "output_tokens": o.metrics.output_tokens,
                "accurate": o.extra["accurate"],
                "state_matches_sequential": o.extra["state_matches_sequential"],
                "cpu": None,
            }
        for (framework, variant), s in self.setups.items():
            out[row_name(framework, variant)] = {
                "wall": s.wall,
                "requests": s.requests,
                "input_tokens": s.input_tokens,
                "output_tokens": s.output_tokens,
                "accurate": s.extra["accurate"],
                "state_matches_sequential": s.extra["state_matches_sequential"],
                "cpu": s.cpu,
                "framework": framework,
            }
        return out


async def run_framework_task(
    entry: BfclEntry,
    *,
    frameworks: Sequence[str] = FRAMEWORKS,
    variants: Sequence[Variant] = ("alone", "labels", "futures"),
    decode: DecodeModel,
    latency: Latency,
    behaviour: Behaviour,
    batching: BatchingPolicy = "independent",
    reference_modes: Sequence[str] = REFERENCE_MODES,
    reask_reference: bool = True,
    cpu_repeats: int = 1,
    **options: Any,
) -> FrameworkTask:
    """Run ``entry`` through asyncfc's reference modes and every framework setup, on the
    running event loop (a :class:`~asyncfc_bench._virtual_clock.VirtualClockLoop` for exact
    times); ``batching`` is the replayed model's batching policy in every run (with
    ``"greedy"`` it also puts conflicting calls in one response, relying on the runtime to
    order them); ``options`` go to asyncfc's own runs (``final_answer``, ``hold``, ...).

    With ``reask_reference`` asyncfc's ``async_parallel`` also runs with
    ``final_answer="reask"`` (the row :data:`REASK`), the policy of the frameworks' drains
    before they took :data:`~asyncfc_bench._fw_common.FRAMEWORK_FINAL_ANSWER`.

    ``cpu_repeats``: each framework setup runs that many times on fresh backends, one right
    after another; the first run is scored and its CPU time is the least of them (the
    clock's times are the same in every run, CPU time is not: the least is the run the
    machine disturbed least)."""
    if cpu_repeats < 1:
        raise ValueError(f"cpu_repeats must be at least 1, got {cpu_repeats}")
    if "sequential" not in reference_modes:
        raise ValueError("the reference modes must include 'sequential' (the baseline)")
    reference, _ = await run_bfcl_task(
        entry,
        modes=reference_modes,
        decode=decode,
        latency=latency,
        time_scale=1.0,
        sync_tools="loop",
        behaviour=behaviour,
        batching=batching,
        **options,
    )
    sequential = reference["sequential"].extra
    if reask_reference and "async_parallel" in reference_modes:
        # The paper's policy, for comparison with the frameworks' label-aware drains.
        options = {**options, "final_answer": "reask"}
        again, _ = await run_bfcl_task(
            entry,
            modes=["async_parallel"],
            decode=decode,
            latency=latency,
            time_scale=1.0,
            sync_tools="loop",
            behaviour=behaviour,
            batching=batching,
            **options,
        )
        reask = again["async_parallel"]
        reask.extra = {
            **reask.extra,
            "state_matches_sequential": reask.extra["state"] == sequential["state"],
        }
        reference[REASK] = reask
    plan, _ = bfcl_plan(entry)
    task = FrameworkTask(entry_id=entry.id, reference=reference)
    for framework in frameworks:
        run = _runner(framework)
        for variant in variants:
            cpu_times: list[float] = []
            for _ in range(cpu_repeats):
                tools = bfcl_tools(entry, latency)
                bridge = ReplayBridge.for_plan(
                    plan,
                    tools.toolset,
                    futures=variant == "futures",
                    decode=decode,
                    behaviour=behaviour,
                    batching=batching,
                )
                cpu = time.process_time()
                run_outcome = await run(variant, plan.prompts, bridge, tools.toolset, tools.labels)
                cpu_times.append(time.process_time() - cpu)
                if len(cpu_times) == 1:
                    outcome, scored = run_outcome, tools
                elif (
                    abs(run_outcome.wall - outcome.wall) > 1e-6  # the clock's float rounding
                    or run_outcome.requests != outcome.requests
                ):
                    raise RuntimeError(  # then the least CPU time would be of other work
                        f"{entry.id}, {framework} {variant}: a repeated run differs from "
                        f"the first ({run_outcome.wall} s, {run_outcome.requests} requests "
                        f"against {outcome.wall} s, {outcome.requests})"
                    )
            tools = scored
            outcome.cpu = min(cpu_times)
            verdict = score(entry, calls_by_turn(outcome.messages, plan.prompts))
            state = tools.environment.state()
            outcome.extra = {
                "accurate": bool(verdict.get("valid")),
                "verdict": verdict,
                "state": state,
                "state_matches_sequential": state == sequential["state"],
            }
            task.setups[(framework, variant)] = outcome
    return task


def summarise_frameworks(tasks: Sequence[FrameworkTask]) -> list[dict[str, Any]]:
    """One row per setup over ``tasks``: speed-up vs asyncfc's sequential run (mean and
    median of the per-task ratios), mean wall time, requests and tokens per task, accuracy,
    and how many tasks differ from sequential in final state or in the checker's verdict.
    Framework rows add their mean CPU time per task and their total CPU time ÷ that of the
    same framework alone (``cpu_vs_alone``); asyncfc's rows have ``None`` there."""
    per_row: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for task in tasks:
        rows = task.rows()
        base = rows[row_name("asyncfc", "sequential")]
        for name, figures in rows.items():
            per_row.setdefault(name, []).append((figures, base))
    out: list[dict[str, Any]] = []
    for name, pairs in per_row.items():
        speed = [b["wall"] / f["wall"] for f, b in pairs]
        out.append(
            {
                "setup": name,
                "tasks": len(pairs),
                "wall_mean": _mean(f["wall"] for f, _ in pairs),
                "speedup_mean": statistics.fmean(speed),
                "speedup_median": statistics.median(speed),
                "requests_mean": _mean(f["requests"] for f, _ in pairs),
                "input_tokens_mean": _mean(f["input_tokens"] for f, _ in pairs),
                "output_tokens_mean": _mean(f["output_tokens"] for f, _ in pairs),
                "accuracy": _mean(float(f["accurate"]) for f, _ in pairs),
                "state_mismatches": sum(not f["state_matches_sequential"] for f, _ in pairs),
                "verdict_mismatches": sum(f["accurate"] != b["accurate"] for f, b in pairs),
                "slower_than_parallel": _slower(name, pairs, per_row),
                **_cpu(pairs, per_row),
            }
        )
    return out


def _cpu(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    per_row: Mapping[str, Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]],
) -> dict[str, float | None]:
    """Mean CPU ms per task, and total CPU ÷ the same framework alone's (``None`` for
    asyncfc's own rows, whose modes run together and are not timed one by one)."""
    if pairs[0][0]["cpu"] is None:
        return {"cpu_ms_mean": None, "cpu_vs_alone": None}
    total = sum(f["cpu"] for f, _ in pairs)
    alone = per_row.get(row_name(pairs[0][0]["framework"], "alone"))
    ratio = total / sum(f["cpu"] for f, _ in alone) if alone else None
    return {"cpu_ms_mean": total / len(pairs) * 1e3, "cpu_vs_alone": ratio}


def _mean(values: Any) -> float:
    return statistics.fmean(list(values))


def _slower(
    name: str,
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    per_row: Mapping[str, Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]],
) -> int:
    """Tasks on which this row took longer than asyncfc's own parallel run."""
    parallel = per_row.get(row_name("asyncfc", "parallel"))
    if parallel is None:
        return 0
    return sum(f["wall"] > p["wall"] + 1e-9 for (f, _), (p, _) in zip(pairs, parallel, strict=True))
