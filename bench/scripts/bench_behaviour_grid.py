"""Grid of replayed model behaviour: batching rate p × reference rate q, per mode (at one
inline await rate r, ``--inline-await-rate``).

For every task the sequential run is made once, ``parallel`` once per p, ``async`` once per q
and ``async_parallel`` once per (p, q) (a mode's run depends only on the parameters it can
use: sequential calls never batch, sync modes never pass references).  Everything runs on
trio's MockClock (decode and tool times are exactly the scripted ones; CPU time counts as
zero), so the figures do not depend on the machine's load.  Speed-ups are per-task
``sequential wall ÷ mode wall``, averaged over tasks.

    PYTHONPATH=src:bench/src python bench/scripts/bench_behaviour_grid.py bfcl --limit 200
    PYTHONPATH=src:bench/src python bench/scripts/bench_behaviour_grid.py cfb --limit 300

Writes ``<out>/grid_<suite>.json``, ``.md`` and a heat-map ``.png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
from trio.testing import MockClock

from asyncfc.replay import Behaviour, DecodeModel, Latency, ModeOutcome

P_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)
Q_VALUES = (0.0, 0.5, 1.0)

Runner = Callable[[Sequence[str], Behaviour], Awaitable[dict[str, ModeOutcome]]]


def _record(o: ModeOutcome) -> dict[str, Any]:
    return {
        "wall": o.wall,
        "requests": o.run.model_requests,
        "input_tokens": o.metrics.input_tokens,
        "output_tokens": o.metrics.output_tokens,
        "accurate": bool(o.extra.get("accurate")),
        "state": o.extra.get("state"),
    }


async def _task(
    run: Runner, seed: int, q_matters: bool, r: float = 1.0
) -> dict[str, dict[str, Any]]:
    """Every run one task needs, keyed ``mode`` / ``mode@p`` / ``mode@q`` / ``mode@p,q``."""
    qs = Q_VALUES if q_matters else (1.0,)
    out: dict[str, dict[str, Any]] = {}
    seq = await run(["sequential"], Behaviour(seed=seed))
    out["sequential"] = _record(seq["sequential"])
    for q in qs:
        o = await run(["async"], Behaviour(reference_rate=q, seed=seed))
        out[f"async@q={q}"] = _record(o["async"])
    for p in P_VALUES:
        o = await run(["parallel"], Behaviour(batching_rate=p, seed=seed))
        out[f"parallel@p={p}"] = _record(o["parallel"])
        for q in qs:
            o = await run(
                ["async_parallel"],
                Behaviour(batching_rate=p, reference_rate=q, inline_await_rate=r, seed=seed),
            )
            out[f"async_parallel@p={p},q={q}"] = _record(o["async_parallel"])
    return out


def _cell(tasks: list[dict[str, dict[str, Any]]], key: str) -> dict[str, float]:
    seq = [t["sequential"] for t in tasks]
    mine = [t[key] for t in tasks]
    return {
        "speedup": statistics.fmean(s["wall"] / m["wall"] for s, m in zip(seq, mine, strict=True)),
        "requests": statistics.fmean(m["requests"] for m in mine),
        "input_tokens": statistics.fmean(m["input_tokens"] for m in mine),
        "output_tokens": statistics.fmean(m["output_tokens"] for m in mine),
        "accuracy": statistics.fmean(m["accurate"] for m in mine),
        "state_equal": statistics.fmean(
            m["state"] == s["state"] for s, m in zip(seq, mine, strict=True)
        ),
    }


def summarise_grid(tasks: list[dict[str, dict[str, Any]]], q_matters: bool) -> dict[str, Any]:
    """Per (p, q): each mode's cell; q is reported as ``None`` where it cannot matter."""
    qs = Q_VALUES if q_matters else (1.0,)
    cells = []
    for p in P_VALUES:
        for q in qs:
            cells.append(
                {
                    "p": p,
                    "q": q if q_matters else None,
                    "sequential": _cell(tasks, "sequential"),
                    "parallel": _cell(tasks, f"parallel@p={p}"),
                    "async": _cell(tasks, f"async@q={q}"),
                    "async_parallel": _cell(tasks, f"async_parallel@p={p},q={q}"),
                }
            )
    # async_parallel slower than parallel, per task, in any cell (a defect unless explained).
    slower = {
        f"p={p},q={q}": sum(
            t[f"async_parallel@p={p},q={q}"]["wall"] > t[f"parallel@p={p}"]["wall"] + 1e-9
            for t in tasks
        )
        for p in P_VALUES
        for q in qs
    }
    return {"tasks": len(tasks), "cells": cells, "async_parallel_slower_than_parallel": slower}


def markdown(name: str, grid: dict[str, Any], command: str) -> str:
    """The grid as a Markdown table."""
    lines = [
        f"### {name}: {grid['tasks']} tasks\n",
        f"`{command}`\n",
        "| p | q | parallel × | async × | async_parallel × | requests seq / par / async / "
        "async_par | input tokens seq / par / async / async_par | accuracy async_par |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in grid["cells"]:
        q = "-" if c["q"] is None else f"{c['q']:g}"
        modes = ("sequential", "parallel", "async", "async_parallel")
        lines.append(
            f"| {c['p']:g} | {q} | {c['parallel']['speedup']:.3f} | {c['async']['speedup']:.3f} "
            f"| {c['async_parallel']['speedup']:.3f} | "
            + " / ".join(f"{c[m]['requests']:.2f}" for m in modes)
            + " | "
            + " / ".join(f"{c[m]['input_tokens']:,.0f}" for m in modes)
            + f" | {c['async_parallel']['accuracy']:.1%} |"
        )
    slower = {k: v for k, v in grid["async_parallel_slower_than_parallel"].items() if v}
    lines.append(
        "\nTasks where async_parallel took longer than parallel with the same p: "
        + (json.dumps(slower) if slower else "none")
        + "\n"
    )
    return "\n".join(lines)


def heatmap(name: str, grid: dict[str, Any], path: Path) -> None:
    """Speed-up vs sequential per mode (top) and model requests per task (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    qs = sorted({c["q"] for c in grid["cells"]}, key=lambda q: -1 if q is None else q)
    modes = ("parallel", "async", "async_parallel")
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), constrained_layout=True)
    for row, (metric, label, fmt) in enumerate(
        (("speedup", "speed-up vs sequential ×", "{:.2f}"), ("requests", "requests/task", "{:.1f}"))
    ):
        values = [[[0.0] * len(qs) for _ in P_VALUES] for _ in modes]
        for c in grid["cells"]:
            for k, m in enumerate(modes):
                values[k][P_VALUES.index(c["p"])][qs.index(c["q"])] = c[m][metric]
        lo = min(v for mv in values for r in mv for v in r)
        hi = max(v for mv in values for r in mv for v in r)
        for k, m in enumerate(modes):
            ax = axes[row][k]
            im = ax.imshow(
                values[k], origin="lower", aspect="auto", vmin=lo, vmax=hi, cmap="viridis"
            )
            ax.set_xticks(range(len(qs)), ["-" if q is None else f"{q:g}" for q in qs])
            ax.set_yticks(range(len(P_VALUES)), [f"{p:g}" for p in P_VALUES])
            ax.set_xlabel("q (reference rate)")
            ax.set_ylabel("p (batching rate)")
            ax.set_title(f"{m}: {label}", fontsize=9)
            for i in range(len(P_VALUES)):
                for j in range(len(qs)):
                    v = values[k][i][j]
                    ax.text(
                        j,
                        i,
                        fmt.format(v),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if v < (lo + hi) / 2 else "black",
                    )
        fig.colorbar(im, ax=axes[row].tolist(), shrink=0.8)
    fig.suptitle(f"{name}: replayed behaviour grid ({grid['tasks']} tasks, MockClock)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


async def main(args: argparse.Namespace) -> int:
    decode = DecodeModel()
    latency = Latency(seconds=args.latency)
    tasks: list[dict[str, dict[str, Any]]] = []
    started = time.perf_counter()
    opts: dict[str, Any] = {
        "decode": decode,
        "latency": latency,
        "time_scale": 1.0,
        "sync_tools": "loop",
        "final_answer": args.final_answer,
        "hold": args.hold,
        "hold_for": args.hold_for,
        "streaming": args.streaming,
    }
    if args.suite == "bfcl":
        from asyncfc_bench._bfcl_bench import run_bfcl_task
        from asyncfc_bench._bfcl_data import load_multi_turn

        for entry in load_multi_turn("multi_turn_base", limit=args.limit):

            async def run(modes: Sequence[str], b: Behaviour, e: Any = entry) -> Any:
                outcomes, _ = await run_bfcl_task(e, modes=modes, behaviour=b, **opts)
                return outcomes

            tasks.append(await _task(run, args.seed, False, args.inline_await_rate))
        name, q_matters = "BFCL multi_turn_base", False
    else:
        from asyncfc_bench._cfb_bench import run_cfb_sequence
        from asyncfc_bench._complexfuncbench import load_complexfuncbench

        for seq in load_complexfuncbench(limit=args.limit):

            async def run_cfb(modes: Sequence[str], b: Behaviour, s: Any = seq) -> Any:
                return await run_cfb_sequence(s, modes=modes, behaviour=b, **opts)

            tasks.append(await _task(run_cfb, args.seed, True, args.inline_await_rate))
        name, q_matters = "ComplexFuncBench", True
    name += f" (r={args.inline_await_rate:g}{', streaming' if args.streaming else ''})"
    grid = summarise_grid(tasks, q_matters)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python bench/scripts/bench_behaviour_grid.py " + " ".join(sys.argv[1:])
    (args.out / f"grid_{args.suite}.json").write_text(json.dumps(grid, indent=1))
    (args.out / f"grid_{args.suite}.md").write_text(markdown(name, grid, command))
    heatmap(name, grid, args.out / f"grid_{args.suite}.png")
    print(markdown(name, grid, command))
    print(f"took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=["bfcl", "cfb"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--latency", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--final-answer", choices=["reask", "label_aware"], default="label_aware")
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--streaming", action="store_true", help="Agent(streaming=True)")
    parser.add_argument(
        "--inline-await-rate",
        type=float,
        default=1.0,
        help="r: share of awaits written in the response of the calls they wait for (1)",
    )
    parser.add_argument("--hold-for", choices=["any", "reads"], default="any")
    parser.add_argument("--out", type=Path, default=Path("results/grid"))
    ns = parser.parse_args()
    raise SystemExit(
        anyio.run(
            main, ns, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)}
        )
    )
