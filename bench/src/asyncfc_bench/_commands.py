"""The commands behind ``asyncfc-bench``: the demo, the BFCL and ComplexFuncBench suites,
and both BFCL commands with a real model.

Sync tools (BFCL's backends, ComplexFuncBench's mocks) run in worker threads, as users' sync
tools do; each replayed run has its own thread limiter as large as its plan
(:mod:`asyncfc.replay._runner`), so no call queues behind anyio's default of 40 threads.
The suites freeze the heap between tasks (:func:`settle_heap`) so that full garbage
collections of the outcomes they keep do not stall the event loop inside a timed run.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

from asyncfc.replay import MODES, DecodeModel, Latency, behaviour_from_arguments

from ._report import (
    LIVE_BOUNDS,
    extremes,
    markdown,
    mode_record,
    stretch_line,
    summary_json,
    table,
)

__all__ = (
    "MODE_HELP",
    "bench_bfcl",
    "bench_cfb",
    "demo",
    "live_run",
    "options",
    "replay_options",
    "settle_heap",
)

MODE_HELP = ",".join(MODES)
"""The ``--modes`` default: every mode."""


def settle_heap() -> None:
    """Collect garbage, then move every surviving object out of the collector's sight
    (:func:`gc.freeze`).

    A suite keeps every task's outcome (runs, messages, traces) for its summary and timelines,
    and the data loaders cache their files, so the heap grows task after task; a full (oldest
    generation) collection walks all of it and, past a few dozen tasks, pauses the event loop
    for 0.1-0.3 s, in the middle of some mode's run.  Called before the first task and after
    each one, this leaves each run's collections only the objects that run allocates.  Nothing
    frozen is freed until exit, which the suite would not have freed anyway."""
    gc.collect()
    gc.freeze()


def replay_options(args: argparse.Namespace) -> dict[str, Any]:
    """The replay's behaviour and final-answer options the command line asks for, and the
    sync-tool path its clock needs."""
    return {
        "behaviour": behaviour_from_arguments(args),
        "final_answer": args.final_answer,
        "hold": args.hold,
        "hold_for": args.hold_for,
        "streaming": args.streaming,
        "sync_tools": "loop" if args.clock == "fake" else "thread",
    }


def options(args: argparse.Namespace) -> tuple[DecodeModel, Latency, list[str]]:
    """The decode model, the latency model and the modes the command line asks for."""
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s): {', '.join(unknown)}; choose from {MODE_HELP}")
    decode = DecodeModel(ttft=args.ttft, tokens_per_second=args.tps)
    latency = Latency(kind=args.latency_kind, seconds=args.latency, seed=args.seed)
    return decode, latency, modes


async def demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from asyncfc.replay import summarise

    from ._bfcl_bench import run_bfcl_task
    from ._bfcl_data import load_multi_turn
    from ._timeline import write_timelines

    console = Console(width=160)
    decode, latency, modes = options(args)
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
        entry,
        modes=modes,
        decode=decode,
        latency=latency,
        time_scale=args.time_scale,
        **replay_options(args),
    )
    rows = summarise([outcomes])
    console.print(table(f"{entry.id}: every mode, side by side", rows, short=not args.full))
    console.print(
        f"Information dependencies in the ground truth: {dependent}; states equal to the "
        "sequential run: "
        + ", ".join(f"{m}={o.extra['state_matches_sequential']}" for m, o in outcomes.items())
    )
    args.out.mkdir(parents=True, exist_ok=True)
    png = write_timelines(
        outcomes,
        args.out / "demo_timeline.png",
        title=f"BFCL {entry.id}: decode (M) and tool (E) intervals per mode",
        perfetto=args.perfetto,
    )
    if args.perfetto:
        console.print(f"Perfetto / chrome://tracing: {png.with_suffix('.trace.json')}")
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


async def bench_bfcl(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from asyncfc.replay import summarise

    from ._bfcl_bench import run_bfcl_task
    from ._bfcl_data import load_multi_turn
    from ._timeline import write_timelines

    console = Console(width=160)
    decode, latency, modes = options(args)
    entries = load_multi_turn(args.category, limit=args.limit)
    out_dir: Path = args.out / f"bfcl_{args.category}"
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any run
    tasks = []
    dependent_total = 0
    mismatches: list[str] = []
    with (out_dir / "tasks.jsonl").open("w") as sink, Progress(console=console) as progress:
        bar = progress.add_task(f"BFCL {args.category}", total=len(entries))
        settle_heap()
        for entry in entries:
            outcomes, dependent = await run_bfcl_task(
                entry,
                modes=modes,
                decode=decode,
                latency=latency,
                time_scale=args.time_scale,
                batching=args.batching,
                **replay_options(args),
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
                    m: mode_record(o, "state_matches_sequential") for m, o in outcomes.items()
                },
            }
            sink.write(json.dumps(record, default=str) + "\n")
            progress.advance(bar)
            settle_heap()
    rows = summarise(tasks)
    console.print(table(f"BFCL {args.category}, {len(tasks)} tasks", rows))
    console.print(
        f"Ground-truth calls with an information dependency: {dependent_total}. "
        f"Tasks whose state or verdict differs from sequential: {len(mismatches)} "
        f"{mismatches[:10]}"
    )
    console.print(stretch_line(rows))
    (out_dir / "summary.md").write_text(markdown(rows, args, len(tasks), dependent_total))
    (out_dir / "summary.json").write_text(summary_json(rows, args, len(tasks)))
    if "sequential" in modes and "async_parallel" in modes and tasks:
        speed = [t["sequential"].wall / t["async_parallel"].wall for t in tasks]
        order = sorted(range(len(tasks)), key=lambda i: speed[i])
        for tag, i in (("slowest", order[0]), ("fastest", order[-1])):
            write_timelines(
                tasks[i],
                out_dir / f"timeline_{tag}.png",
                title=f"{entries[i].id} ({tag} async_parallel speed-up: {speed[i]:.2f}×)",
                perfetto=args.perfetto,
            )
        console.print(
            f"median async_parallel speed-up {statistics.median(speed):.3f}×; outputs in {out_dir}"
        )
    return 1 if mismatches else 0


async def bench_cfb(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from asyncfc.replay import summarise

    from ._cfb_bench import run_cfb_sequence
    from ._complexfuncbench import (
        ideal_parallelism_summary,
        load_complexfuncbench,
    )

    console = Console(width=160)
    decode, latency, modes = options(args)
    sequences = load_complexfuncbench(limit=args.limit)
    tasks = []
    with Progress(console=console) as progress:
        bar = progress.add_task("ComplexFuncBench", total=len(sequences))
        settle_heap()
        for seq in sequences:
            tasks.append(
                await run_cfb_sequence(
                    seq,
                    modes=modes,
                    decode=decode,
                    latency=latency,
                    time_scale=args.time_scale,
                    batching=args.batching,
                    **replay_options(args),
                )
            )
            progress.advance(bar)
            settle_heap()
    rows = summarise(tasks)
    console.print(table(f"ComplexFuncBench, {len(tasks)} sequences", rows))
    ideal = ideal_parallelism_summary(sequences)
    console.print(f"Ideal parallelism (calls ÷ DAG depth) of these sequences: {ideal}")
    out_dir: Path = args.out / "complexfuncbench"
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, after the runs
    console.print(stretch_line(rows))
    (out_dir / "summary.md").write_text(markdown(rows, args, len(tasks), 0, "ComplexFuncBench"))
    (out_dir / "summary.json").write_text(summary_json(rows, args, len(tasks)))
    return 0


async def live_run(args: argparse.Namespace) -> int:
    """``demo`` or ``bench bfcl`` with a real model (see :mod:`asyncfc_bench._live`)."""
    import os

    from rich.console import Console
    from rich.progress import Progress

    from asyncfc.replay import summarise

    from ._bfcl_data import load_multi_turn
    from ._live import (
        LiveSettings,
        ModelSpec,
        open_model,
        run_bfcl_live,
    )
    from ._timeline import write_timelines

    console = Console(width=160)
    _, latency, modes = options(args)
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
        max_requests=args.max_requests,
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
            settle_heap()
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
                            **mode_record(o, "verdict"),
                            "calls": [[c.name, c.arguments] for c in o.run.calls],
                        }
                        for m, o in task.outcomes.items()
                    },
                }
                sink.write(json.dumps(record, default=str) + "\n")
                progress.advance(bar)
                settle_heap()
    rows = summarise(tasks)
    title = f"{args.model}: {len(tasks)} task(s) complete in every mode"
    console.print(table(title, rows, LIVE_BOUNDS))
    console.print(
        f"Tasks left out because a mode hit a provider error or the time limit: {failed} "
        f"(details in {out_dir / 'tasks.jsonl'})."
    )
    for tag, i in extremes(tasks):
        write_timelines(
            tasks[i],
            out_dir / f"timeline_{tag}.png",
            title=f"{ids[i]} with {args.model} ({tag})",
            perfetto=args.perfetto,
        )
    (out_dir / "summary.json").write_text(json.dumps(rows, indent=1, default=str))
    console.print(f"Outputs in {out_dir}")
    return 0 if tasks or not entries else 1
