"""What the commands print and write: rich tables, ``summary.md``, ``tasks.jsonl`` records.

Every summary carries ``stretched_model_intervals``: model intervals that ran longer than
scripted by more than 20 % (:data:`asyncfc.replay.STRETCH_TOLERANCE`), a sign that something
held the event loop while the model "decoded".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = (
    "LIVE_BOUNDS",
    "extremes",
    "markdown",
    "mode_record",
    "stretch_line",
    "summary_json",
    "table",
)

_Column = tuple[str, str, str]
"""(row key, heading, format) of one table column."""


def _render(title: str, rows: list[dict[str, Any]], columns: list[_Column]) -> Any:
    """A rich table of ``rows`` with ``(key, heading, format)`` columns; ``None`` shows "-"."""
    from rich.table import Table

    t = Table(title=title)
    for _, head, _ in columns:
        t.add_column(head, justify="right")
    for r in rows:
        t.add_row(*("-" if r[k] is None else fmt.format(r[k]) for k, _, fmt in columns))
    return t


_REPLAY_BOUNDS: list[_Column] = [
    ("r_task_mean", "R_task", "{:.3f}"),
    ("efficiency_task_mean", "eff R_task", "{:.3f}"),
    ("r_turn_mean", "R_turn", "{:.3f}"),
    ("efficiency_turn_mean", "eff R_turn", "{:.3f}"),
]
LIVE_BOUNDS: list[_Column] = [("trace_bound_mean", "R (own trace)", "{:.3f}")]
"""A real model's run has no plan, so only each trace's own bound is known."""


_SHORT: list[_Column] = [
    ("mode", "mode", "{}"),
    ("wall_mean", "time s", "{:.2f}"),
    ("speedup_mean", "speed-up ×", "{:.2f}"),
    ("model_requests_mean", "requests", "{:.1f}"),
    ("input_tokens_mean", "input tok", "{:,.0f}"),
    ("output_tokens_mean", "output tok", "{:,.0f}"),
    ("accuracy", "accuracy", "{:.0%}"),
]
"""The demo's table: time, speed-up and cost, nothing a newcomer has to look up."""


def table(
    title: str,
    rows: list[dict[str, Any]],
    bounds: list[_Column] = _REPLAY_BOUNDS,
    *,
    short: bool = False,
) -> Any:
    """The printed summary: one row per mode (rows of :func:`asyncfc.replay.summarise`);
    ``short`` keeps time, speed-up, cost and accuracy only."""
    if short:
        return _render(title, rows, _SHORT)
    columns = [
        ("mode", "mode", "{}"),
        ("wall_mean", "time s", "{:.2f}"),
        ("speedup_mean", "speed-up ×", "{:.3f}"),
        ("speedup_vs_parallel_mean", "vs parallel ×", "{:.3f}"),
        *bounds,
        ("overlap_saved_mean", "overlap saved s", "{:.2f}"),
        ("parallel_saved_mean", "parallel saved s", "{:.2f}"),
        ("accuracy", "accuracy", "{:.0%}"),
        ("model_requests_mean", "requests", "{:.1f}"),
        ("input_tokens_mean", "input tok", "{:,.0f}"),
        ("output_tokens_mean", "output tok", "{:,.0f}"),
        ("awaits_total", "awaits", "{}"),
        ("wait_only_responses_total", "wait-only requests", "{}"),
        ("stretched_model_intervals", "stretched M", "{}"),
        ("model_stretch_max", "max stretch ×", "{:.1f}"),
    ]
    return _render(title, rows, columns)


def mode_record(outcome: Any, *extra_keys: str) -> dict[str, Any]:
    """One mode of one task in ``tasks.jsonl``: timing, verdict, counts and the trace."""
    return {
        "wall": outcome.wall,
        "accurate": outcome.extra["accurate"],
        **{key: outcome.extra[key] for key in extra_keys},
        "model_requests": outcome.run.model_requests,
        "input_tokens": outcome.metrics.input_tokens,
        "output_tokens": outcome.metrics.output_tokens,
        "awaits": outcome.run.awaits,
        "stretched_model_intervals": outcome.stretched_model_intervals,
        "trace": outcome.run.trace.to_dict(),
    }


def extremes(tasks: Sequence[Any]) -> list[tuple[str, int]]:
    """(tag, index) of the tasks with the lowest and highest async_parallel speed-up."""
    usable = [i for i, t in enumerate(tasks) if "sequential" in t and "async_parallel" in t]
    if not usable:
        return [("task", 0)] if tasks else []
    speed = {i: tasks[i]["sequential"].wall / tasks[i]["async_parallel"].wall for i in usable}
    order = sorted(usable, key=speed.__getitem__)
    return [("slowest", order[0]), ("fastest", order[-1])]


def stretch_line(rows: list[dict[str, Any]]) -> str:
    """One sentence: how many model intervals ran more than 20 % over their scripted time."""
    stretched = sum(r["stretched_model_intervals"] for r in rows)
    total = sum(r["model_intervals"] for r in rows)
    return (
        f"Model intervals more than 20 % longer than scripted: {stretched} of {total} "
        "(per mode in the 'stretched M' column)."
    )


def summary_json(rows: list[dict[str, Any]], args: argparse.Namespace, n: int) -> str:
    """``summary.json``: the summary rows (with ``stretched_model_intervals`` per mode), the
    task count and the settings of the run."""
    settings = {
        k: str(v) if isinstance(v, Path) else v
        for k, v in vars(args).items()
        if k != "replay_time_scale"
    }
    return json.dumps({"tasks": n, "settings": settings, "summary": rows}, indent=1, default=str)


def markdown(
    rows: list[dict[str, Any]], args: argparse.Namespace, n: int, dep: int, name: str = ""
) -> str:
    """``summary.md``: the summary rows as a Markdown table under the command that made them."""
    head = (
        "| mode | speed-up (mean) | speed-up (median) | vs parallel (mean) "
        "| vs parallel (median) | R_task | eff (R_task) | R_turn | eff (R_turn) "
        "| overlap saved s | parallel saved s | accuracy | requests | input tokens "
        "| output tokens | awaits | wait-only requests | stretched M |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {r['mode']} | {r['speedup_mean']:.3f} | {r['speedup_median']:.3f} "
        f"| {r['speedup_vs_parallel_mean']:.3f} | {r['speedup_vs_parallel_median']:.3f} "
        f"| {r['r_task_mean']:.3f} | {r['efficiency_task_mean']:.3f} | {r['r_turn_mean']:.3f} "
        f"| {r['efficiency_turn_mean']:.3f} | {r['overlap_saved_mean']:.3f} "
        f"| {r['parallel_saved_mean']:.3f} | {r['accuracy']:.1%} | {r['model_requests_mean']:.2f} "
        f"| {r['input_tokens_mean']:.0f} | {r['output_tokens_mean']:.0f} "
        f"| {r['awaits_total']} | {r.get('wait_only_responses_total', 0)} "
        f"| {r['stretched_model_intervals']} |"
        for r in rows
    ]
    cmd = " ".join(sys.argv[1:]) or "bench bfcl"
    return (
        f"# {name or 'BFCL ' + args.category}: {n} tasks\n\n`asyncfc-bench {cmd}`\n\n"
        f"Tool latency {args.latency:g} s ({args.latency_kind}), decode {args.ttft:g} s TTFT + "
        f"{args.tps:g} tok/s, time scale {args.time_scale:g}, batching "
        f"{getattr(args, 'batching', 'independent')}, p={getattr(args, 'batching_rate', 1.0):g}, "
        f"q={getattr(args, 'reference_rate', 1.0):g}, "
        f"r={getattr(args, 'inline_await_rate', 1.0):g}, await first "
        f"{getattr(args, 'await_first', False)}, final answer "
        f"{getattr(args, 'final_answer', 'label_aware')}, hold {getattr(args, 'hold', 0.0):g} s "
        f"({getattr(args, 'hold_for', 'any')}), streaming {getattr(args, 'streaming', False)}, "
        f"clock {getattr(args, 'clock', 'real')}. Information dependencies: {dep}.\n\n"
        + head
        + "\n".join(lines)
        + "\n"
    )
