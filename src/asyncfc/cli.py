"""The ``asyncfc`` command: ``asyncfc demo`` and ``asyncfc bench bfcl``.

Needs the ``cli`` extra (rich, matplotlib) and the benchmark data packages, which
``make demo`` installs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

__all__ = ("main",)

_MODE_HELP = "sequential,parallel,async,async_parallel,async_nolabels"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asyncfc", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, *, scale: float) -> None:
        sp.add_argument("--latency", type=float, default=5.0, help="seconds per tool call (5)")
        sp.add_argument(
            "--latency-kind", choices=["fixed", "uniform", "exponential"], default="fixed"
        )
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument(
            "--time-scale",
            type=float,
            default=None,
            help=f"multiplies model and tool time alike, so ratios are preserved ({scale:g}); "
            "with --model only tool latency is scaled (default 1)",
        )
        sp.set_defaults(replay_time_scale=scale)
        sp.add_argument("--ttft", type=float, default=0.8, help="seconds to first token (0.8)")
        sp.add_argument("--tps", type=float, default=80.0, help="output tokens/s (80)")
        sp.add_argument("--modes", default=_MODE_HELP)
        sp.add_argument("--out", type=Path, default=Path("results"))

    def live_options(sp: argparse.ArgumentParser) -> None:
        g = sp.add_argument_group("real model (instead of the replay)")
        g.add_argument(
            "--model",
            default=None,
            help="openai:<name>, openai-responses:<name>, anthropic:<name>, or local "
            "(SmolLM2-135M on a llama.cpp server started on 127.0.0.1 for the run)",
        )
        g.add_argument("--base-url", default=None, help="any OpenAI-compatible server")
        g.add_argument(
            "--api-key-env",
            default=None,
            help="environment variable holding the API key (default: the provider's usual one)",
        )
        g.add_argument("--max-tokens", type=int, default=1024, help="per request (1024)")
        g.add_argument("--max-turns", type=int, default=10, help="requests per user turn (10)")
        g.add_argument("--streaming", action="store_true", help="dispatch calls while streaming")

    demo = sub.add_parser("demo", help="replay one BFCL multi-turn task in every mode")
    demo.add_argument("--task", default="multi_turn_base_0")
    common(demo, scale=0.1)
    live_options(demo)

    bench = sub.add_parser("bench", help="benchmarks")
    bsub = bench.add_subparsers(dest="suite", required=True)
    bfcl = bsub.add_parser("bfcl", help="BFCL multi-turn replay")
    bfcl.add_argument(
        "--category",
        default="multi_turn_base",
        choices=["multi_turn_base", "multi_turn_long_context"],
    )
    bfcl.add_argument("--limit", type=int, default=None)
    common(bfcl, scale=0.02)
    live_options(bfcl)
    cfb = bsub.add_parser("complexfuncbench", help="ComplexFuncBench DAG replay")
    cfb.add_argument("--limit", type=int, default=None)
    common(cfb, scale=0.02)
    for sp in (bfcl, cfb):
        sp.add_argument(
            "--batching",
            choices=["independent", "greedy"],
            default="independent",
            help="which calls the replayed model puts in one parallel request (independent)",
        )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    live = getattr(args, "model", None) is not None
    if args.time_scale is None:
        args.time_scale = 1.0 if live else args.replay_time_scale
    if live:
        return anyio.run(_live, args)
    if args.command == "demo":
        return anyio.run(_demo, args)
    if args.suite == "bfcl":
        return anyio.run(_bench_bfcl, args)
    if args.suite == "complexfuncbench":
        return anyio.run(_bench_cfb, args)
    return 2  # pragma: no cover - argparse rejects anything else


def _settings(args: argparse.Namespace) -> tuple[Any, Any, list[str]]:
    from asyncfc.bench._latency import Latency
    from asyncfc.bench._runner import MODES, DecodeModel

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s): {', '.join(unknown)}; choose from {_MODE_HELP}")
    decode = DecodeModel(ttft=args.ttft, tokens_per_second=args.tps)
    latency = Latency(kind=args.latency_kind, seconds=args.latency, seed=args.seed)
    return decode, latency, modes


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
_LIVE_BOUNDS: list[_Column] = [("trace_bound_mean", "R (own trace)", "{:.3f}")]
"""A real model's run has no plan, so only each trace's own bound is known."""


def _table(title: str, rows: list[dict[str, Any]], bounds: list[_Column] = _REPLAY_BOUNDS) -> Any:
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
        ("awaits_total", "awaits", "{}"),
    ]
    return _render(title, rows, columns)


async def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from asyncfc.bench import load_multi_turn
    from asyncfc.bench._bfcl_bench import run_bfcl_task
    from asyncfc.bench._runner import summarise
    from asyncfc.bench._timeline import plot_timelines

    console = Console(width=160)
    decode, latency, modes = _settings(args)
    entries = [e for e in load_multi_turn("multi_turn_base") if e.id == args.task]
    if not entries:
        raise SystemExit(f"no BFCL task {args.task!r} in multi_turn_base")
    entry = entries[0]
    console.print(
        f"[bold]asyncfc demo[/]: BFCL task {entry.id} ({len(entry.ground_truth)} user turns, "
        f"{sum(len(t) for t in entry.ground_truth)} calls), replayed by the ScriptedModel.\n"
        f"Tool latency {args.latency:g} s, decode {args.ttft:g} s TTFT + {args.tps:g} tok/s, "
        f"all times × {args.time_scale:g}."
    )
    started = time.perf_counter()
    outcomes, dependent = await run_bfcl_task(
        entry, modes=modes, decode=decode, latency=latency, time_scale=args.time_scale
    )
    rows = summarise([outcomes])
    console.print(_table(f"{entry.id}: every mode, side by side", rows))
    console.print(
        f"Information dependencies in the ground truth: {dependent}; states equal to the "
        "sequential run: "
        + ", ".join(f"{m}={o.extra['state_matches_sequential']}" for m, o in outcomes.items())
    )
    args.out.mkdir(parents=True, exist_ok=True)
    png = plot_timelines(
        {m: o.run.trace for m, o in outcomes.items()},
        args.out / "demo_timeline.png",
        title=f"BFCL {entry.id}: decode (M) and tool (E) intervals per mode",
    )
    (args.out / "demo.json").write_text(
        json.dumps(
            {
                "task": entry.id,
                "summary": rows,
                "traces": {m: o.run.trace.to_dict() for m, o in outcomes.items()},
            },
            indent=1,
            default=str,
        )
    )
    console.print(f"Timeline: {png}   (took {time.perf_counter() - started:.1f} s)")
    return 0


async def _bench_bfcl(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from asyncfc.bench import load_multi_turn
    from asyncfc.bench._bfcl_bench import run_bfcl_task
    from asyncfc.bench._runner import summarise
    from asyncfc.bench._timeline import plot_timelines

    console = Console(width=160)
    decode, latency, modes = _settings(args)
    entries = load_multi_turn(args.category, limit=args.limit)
    out_dir: Path = args.out / f"bfcl_{args.category}"
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any run
    tasks = []
    dependent_total = 0
    mismatches: list[str] = []
    with (out_dir / "tasks.jsonl").open("w") as sink, Progress(console=console) as progress:
        bar = progress.add_task(f"BFCL {args.category}", total=len(entries))
        for entry in entries:
            outcomes, dependent = await run_bfcl_task(
                entry,
                modes=modes,
                decode=decode,
                latency=latency,
                time_scale=args.time_scale,
                batching=args.batching,
            )
            dependent_total += dependent
            tasks.append(outcomes)
            for m, o in outcomes.items():
                if not o.extra["state_matches_sequential"] or (
                    "sequential" in outcomes
                    and o.extra["accurate"] != outcomes["sequential"].extra["accurate"]
                ):
                    mismatches.append(f"{entry.id}:{m}")
            bound = next(iter(outcomes.values())).bound
            record = {
                "task": entry.id,
                "information_dependencies": dependent,
                "bound": None if bound is None else dataclasses.asdict(bound),
                "modes": {
                    m: _mode_record(o, "state_matches_sequential") for m, o in outcomes.items()
                },
            }
            sink.write(json.dumps(record, default=str) + "\n")
            progress.advance(bar)
    rows = summarise(tasks)
    console.print(_table(f"BFCL {args.category}, {len(tasks)} tasks", rows))
    console.print(
        f"Ground-truth calls with an information dependency: {dependent_total}. "
        f"Tasks whose state or verdict differs from sequential: {len(mismatches)} "
        f"{mismatches[:10]}"
    )
    (out_dir / "summary.md").write_text(_markdown(rows, args, len(tasks), dependent_total))
    if "sequential" in modes and "async_parallel" in modes and tasks:
        speed = [t["sequential"].wall / t["async_parallel"].wall for t in tasks]
        order = sorted(range(len(tasks)), key=lambda i: speed[i])
        for tag, i in (("slowest", order[0]), ("fastest", order[-1])):
            plot_timelines(
                {m: o.run.trace for m, o in tasks[i].items()},
                out_dir / f"timeline_{tag}.png",
                title=f"{entries[i].id} ({tag} async_parallel speed-up: {speed[i]:.2f}×)",
            )
        console.print(
            f"median async_parallel speed-up {statistics.median(speed):.3f}×; outputs in {out_dir}"
        )
    return 1 if mismatches else 0


async def _bench_cfb(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from asyncfc.bench._cfb_bench import run_cfb_sequence
    from asyncfc.bench._complexfuncbench import (
        ideal_parallelism_summary,
        load_complexfuncbench,
    )
    from asyncfc.bench._runner import summarise

    console = Console(width=160)
    decode, latency, modes = _settings(args)
    sequences = load_complexfuncbench(limit=args.limit)
    tasks = []
    with Progress(console=console) as progress:
        bar = progress.add_task("ComplexFuncBench", total=len(sequences))
        for seq in sequences:
            tasks.append(
                await run_cfb_sequence(
                    seq,
                    modes=modes,
                    decode=decode,
                    latency=latency,
                    time_scale=args.time_scale,
                    batching=args.batching,
                )
            )
            progress.advance(bar)
    rows = summarise(tasks)
    console.print(_table(f"ComplexFuncBench, {len(tasks)} sequences", rows))
    ideal = ideal_parallelism_summary(sequences)
    console.print(f"Ideal parallelism (calls ÷ DAG depth) of these sequences: {ideal}")
    out_dir: Path = args.out / "complexfuncbench"
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, after the runs
    (out_dir / "summary.md").write_text(_markdown(rows, args, len(tasks), 0, "ComplexFuncBench"))
    return 0


async def _live(args: argparse.Namespace) -> int:
    """``demo`` or ``bench bfcl`` with a real model (see :mod:`asyncfc.bench._live`)."""
    import os

    from rich.console import Console
    from rich.progress import Progress

    from asyncfc.bench import load_multi_turn
    from asyncfc.bench._live import (
        LiveSettings,
        ModelSpec,
        open_model,
        run_bfcl_live,
    )
    from asyncfc.bench._runner import summarise
    from asyncfc.bench._timeline import plot_timelines

    console = Console(width=160)
    _, latency, modes = _settings(args)
    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    try:
        spec = ModelSpec.parse(args.model, base_url=args.base_url, api_key=key)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if args.command == "demo":
        entries = load_multi_turn("multi_turn_base", ids=[args.task])
        out_dir: Path = args.out / "demo_live"
    else:
        entries = load_multi_turn(args.category, limit=args.limit)
        out_dir = args.out / f"bfcl_{args.category}_live"
    settings = LiveSettings.for_provider(
        spec.provider,
        max_turns=args.max_turns,
        max_tokens=args.max_tokens,
        streaming=args.streaming,
    )
    console.print(
        f"[bold]{args.model}[/] on {len(entries)} BFCL task(s), modes {', '.join(modes)}; "
        f"tool latency {args.latency:g} s × {args.time_scale:g}; decoding is real."
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks, ids, failed = [], [], 0
    async with open_model(spec) as model:
        with (out_dir / "tasks.jsonl").open("w") as sink, Progress(console=console) as progress:
            bar = progress.add_task(f"{args.model}", total=len(entries))
            for entry in entries:
                task = await run_bfcl_live(
                    entry,
                    model,
                    modes=modes,
                    latency=latency,
                    time_scale=args.time_scale,
                    settings=settings,
                )
                if task.errors:
                    failed += 1
                else:
                    tasks.append(task.outcomes)
                    ids.append(entry.id)
                record = {
                    "task": entry.id,
                    "errors": task.errors,
                    "modes": {
                        m: {
                            **_mode_record(o, "verdict"),
                            "calls": [[c.name, c.arguments] for c in o.run.calls],
                        }
                        for m, o in task.outcomes.items()
                    },
                }
                sink.write(json.dumps(record, default=str) + "\n")
                progress.advance(bar)
    rows = summarise(tasks)
    title = f"{args.model}: {len(tasks)} task(s) complete in every mode"
    console.print(_table(title, rows, _LIVE_BOUNDS))
    console.print(
        f"Tasks left out because a mode hit a provider error or the time limit: {failed} "
        f"(details in {out_dir / 'tasks.jsonl'})."
    )
    for tag, i in _extremes(tasks):
        plot_timelines(
            {m: o.run.trace for m, o in tasks[i].items()},
            out_dir / f"timeline_{tag}.png",
            title=f"{ids[i]} with {args.model} ({tag})",
        )
    (out_dir / "summary.json").write_text(json.dumps(rows, indent=1, default=str))
    console.print(f"Outputs in {out_dir}")
    return 0 if tasks or not entries else 1


def _mode_record(outcome: Any, *extra_keys: str) -> dict[str, Any]:
    """One mode of one task in ``tasks.jsonl``: timing, verdict, counts and the trace."""
    return {
        "wall": outcome.wall,
        "accurate": outcome.extra["accurate"],
        **{key: outcome.extra[key] for key in extra_keys},
        "model_requests": outcome.run.model_requests,
        "awaits": outcome.run.awaits,
        "trace": outcome.run.trace.to_dict(),
    }


def _extremes(tasks: Sequence[Any]) -> list[tuple[str, int]]:
    """(tag, index) of the tasks with the lowest and highest async_parallel speed-up."""
    usable = [i for i, t in enumerate(tasks) if "sequential" in t and "async_parallel" in t]
    if not usable:
        return [("task", 0)] if tasks else []
    speed = {i: tasks[i]["sequential"].wall / tasks[i]["async_parallel"].wall for i in usable}
    order = sorted(usable, key=speed.__getitem__)
    return [("slowest", order[0]), ("fastest", order[-1])]


def _markdown(
    rows: list[dict[str, Any]], args: argparse.Namespace, n: int, dep: int, name: str = ""
) -> str:
    head = (
        "| mode | speed-up (mean) | speed-up (median) | vs parallel (mean) "
        "| vs parallel (median) | R_task | eff (R_task) | R_turn | eff (R_turn) "
        "| overlap saved s | parallel saved s | accuracy | requests | awaits |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {r['mode']} | {r['speedup_mean']:.3f} | {r['speedup_median']:.3f} "
        f"| {r['speedup_vs_parallel_mean']:.3f} | {r['speedup_vs_parallel_median']:.3f} "
        f"| {r['r_task_mean']:.3f} | {r['efficiency_task_mean']:.3f} | {r['r_turn_mean']:.3f} "
        f"| {r['efficiency_turn_mean']:.3f} | {r['overlap_saved_mean']:.3f} "
        f"| {r['parallel_saved_mean']:.3f} | {r['accuracy']:.1%} | {r['model_requests_mean']:.2f} "
        f"| {r['awaits_total']} |"
        for r in rows
    ]
    cmd = " ".join(sys.argv[1:]) or "bench bfcl"
    return (
        f"# {name or 'BFCL ' + args.category}: {n} tasks\n\n`asyncfc {cmd}`\n\n"
        f"Tool latency {args.latency:g} s ({args.latency_kind}), decode {args.ttft:g} s TTFT + "
        f"{args.tps:g} tok/s, time scale {args.time_scale:g}, batching "
        f"{getattr(args, 'batching', 'independent')}. Information dependencies: {dep}.\n\n"
        + head
        + "\n".join(lines)
        + "\n"
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
