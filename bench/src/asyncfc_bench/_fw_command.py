"""``asyncfc-bench bench frameworks-bfcl``: the BFCL replay through pydantic-ai and the
OpenAI Agents SDK, beside asyncfc's own agent, in one run (:mod:`asyncfc_bench._fw_bench`).

The whole command runs on one :class:`~asyncfc_bench._virtual_clock.VirtualClockLoop`
(:func:`main_virtual`): every time it prints is exact scripted time, whatever the machine's
load.  It prints one row per setup and writes ``tasks.jsonl`` (every task's figures per
setup), ``summary.json`` and ``summary.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from asyncfc.replay import DecodeModel, Latency, add_behaviour_arguments, behaviour_from_arguments

from ._fw_bench import FRAMEWORKS, REFERENCE_MODES, run_framework_task, summarise_frameworks
from ._fw_common import SETUPS, Variant
from ._virtual_clock import run_virtual

__all__ = ("add_parser", "bench_frameworks_bfcl", "main_virtual")

_COLUMNS: list[tuple[str, str, str]] = [
    ("setup", "setup", "{}"),
    ("speedup_mean", "speed-up ×", "{:.3f}"),
    ("speedup_median", "median ×", "{:.3f}"),
    ("wall_mean", "time s", "{:.2f}"),
    ("requests_mean", "requests", "{:.2f}"),
    ("input_tokens_mean", "input tok", "{:,.0f}"),
    ("output_tokens_mean", "output tok", "{:,.0f}"),
    ("accuracy", "accuracy", "{:.1%}"),
    ("state_mismatches", "state ≠ seq", "{}"),
    ("verdict_mismatches", "verdict ≠ seq", "{}"),
    ("slower_than_parallel", "slower than par", "{}"),
    ("cpu_ms_mean", "CPU ms", "{:.1f}"),
    ("cpu_vs_alone", "CPU ÷ alone", "{:.3f}"),
]


def _cell(value: Any, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``frameworks-bfcl`` suite to ``asyncfc-bench bench``'s subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "frameworks-bfcl",
        help="BFCL multi_turn_base through pydantic-ai and the OpenAI Agents SDK (virtual clock)",
    )
    p.add_argument("--limit", type=int, default=None, help="the first N tasks (all 200)")
    p.add_argument("--tasks", default=None, help="comma-separated task ids instead")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    p.add_argument("--setups", default=",".join(SETUPS), help="alone,labels,futures")
    p.add_argument("--latency", type=float, default=5.0, help="seconds per tool call (5)")
    p.add_argument("--latency-kind", choices=["fixed", "uniform", "exponential"], default="fixed")
    p.add_argument("--ttft", type=float, default=0.8, help="seconds to first token (0.8)")
    p.add_argument("--tps", type=float, default=80.0, help="output tokens/s (80)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cpu-repeats",
        type=int,
        default=1,
        help="run each framework setup R times per task and report its least CPU time (1)",
    )
    add_behaviour_arguments(p)
    p.add_argument(
        "--batching",
        choices=["independent", "greedy"],
        default="independent",
        help="which calls the replayed model puts in one response (independent; greedy also "
        "sends conflicting calls together)",
    )
    p.add_argument(
        "--final-answer",
        choices=["reask", "label_aware"],
        default="label_aware",
        help="asyncfc Agent's own rows: Agent(final_answer=...) (label_aware)",
    )
    p.add_argument("--out", type=Path, default=Path("results"))
    return p


def main_virtual(args: argparse.Namespace) -> int:
    """Run the command on a fresh virtual-clock loop."""
    return run_virtual(bench_frameworks_bfcl(args))


def _names(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return names


async def bench_frameworks_bfcl(args: argparse.Namespace) -> int:
    """The command (see the module docstring); 1 when a setup's state or verdict differs
    from asyncfc's sequential run on some task."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from ._bfcl_data import load_multi_turn
    from ._commands import settle_heap

    console = Console(width=170)
    frameworks = _names(args.frameworks, FRAMEWORKS, "framework(s)")
    variants: list[Variant] = [v for v in SETUPS if v in _names(args.setups, SETUPS, "setup(s)")]
    ids = [t.strip() for t in args.tasks.split(",")] if args.tasks else None
    entries = load_multi_turn("multi_turn_base", limit=args.limit, ids=ids)
    decode = DecodeModel(ttft=args.ttft, tokens_per_second=args.tps)
    latency = Latency(kind=args.latency_kind, seconds=args.latency, seed=args.seed)
    behaviour = behaviour_from_arguments(args)
    out_dir: Path = args.out / "frameworks_bfcl"
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any run
    tasks = []
    with (out_dir / "tasks.jsonl").open("w") as sink, Progress(console=console) as progress:
        bar = progress.add_task("BFCL through the frameworks", total=len(entries))
        settle_heap()
        for i, entry in enumerate(entries):
            # each setup runs first in turn: the first run of a task pays for what the
            # others find warm (new tool schemas, caches), and CPU time would show it
            turn = i % len(variants)
            task = await run_framework_task(
                entry,
                frameworks=frameworks,
                variants=variants[turn:] + variants[:turn],
                decode=decode,
                latency=latency,
                behaviour=behaviour,
                batching=args.batching,
                final_answer=args.final_answer,
                cpu_repeats=args.cpu_repeats,
            )
            tasks.append(task)
            sink.write(json.dumps({"task": entry.id, "setups": task.rows()}) + "\n")
            progress.advance(bar)
            settle_heap()
    rows = summarise_frameworks(tasks)
    table = Table(title=f"BFCL multi_turn_base through the frameworks, {len(tasks)} tasks")
    for _, head, _ in _COLUMNS:
        table.add_column(head, justify="right")
    for r in rows:
        table.add_row(*(_cell(r[key], fmt) for key, _, fmt in _COLUMNS))
    console.print(table)
    mismatched = sum(r["state_mismatches"] + r["verdict_mismatches"] for r in rows)
    console.print(
        f"Decode {args.ttft:g} s TTFT + {args.tps:g} tok/s, tools {args.latency:g} s "
        f"({args.latency_kind}), batching {args.batching}, p={args.batching_rate:g}, "
        f"q={args.reference_rate:g}, virtual "
        f"clock.  Speed-up: asyncfc's sequential time ÷ the setup's, per task.  State or "
        f"verdict differences from sequential: {mismatched}.  CPU: process time of each "
        f"framework run, every wait free on the virtual clock, so its time at zero decode.  "
        f"Outputs in {out_dir}"
    )
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    (out_dir / "summary.json").write_text(
        json.dumps({"tasks": len(tasks), "settings": settings, "summary": rows}, indent=1)
    )
    (out_dir / "summary.md").write_text(_markdown(rows, len(tasks), _command_line(args)))
    return 1 if mismatched else 0


def _command_line(args: argparse.Namespace) -> str:
    """The command that repeats this run, every option spelled out."""
    parts = ["asyncfc-bench bench frameworks-bfcl"]
    if args.tasks:
        parts.append(f"--tasks {args.tasks}")
    elif args.limit is not None:
        parts.append(f"--limit {args.limit}")
    parts += [
        f"--frameworks {args.frameworks} --setups {args.setups}",
        f"--latency {args.latency:g} --latency-kind {args.latency_kind}",
        f"--ttft {args.ttft:g} --tps {args.tps:g} --seed {args.seed}",
        f"--batching {args.batching} --batching-rate {args.batching_rate:g} "
        f"--reference-rate {args.reference_rate:g}",
        f"--final-answer {args.final_answer} --cpu-repeats {args.cpu_repeats} --out {args.out}",
    ]
    if args.await_first:
        parts.append("--await-first")
    return " ".join(parts)


def _markdown(rows: list[dict[str, Any]], n: int, command: str) -> str:
    head = "| " + " | ".join(h for _, h, _ in _COLUMNS) + " |\n"
    rule = "|" + "---|" * len(_COLUMNS) + "\n"
    lines = ["| " + " | ".join(_cell(r[key], fmt) for key, _, fmt in _COLUMNS) + " |" for r in rows]
    return (
        f"# BFCL multi_turn_base through the frameworks: {n} tasks\n\n"
        f"`{command}` (asyncfc's reference modes: {', '.join(REFERENCE_MODES)})\n\n"
        + head
        + rule
        + "\n".join(lines)
        + "\n"
    )
