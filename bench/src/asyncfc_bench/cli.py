"""The ``asyncfc-bench`` command: ``demo``, ``bench bfcl``, ``bench complexfuncbench`` and
``bench frameworks-bfcl``.

``demo`` replays one BFCL multi-turn task in every mode and draws its timelines; ``bench``
runs a whole suite.  With ``--model`` the BFCL commands use a real model instead of the replay
(:mod:`asyncfc_bench._live`).  The commands live in :mod:`asyncfc_bench._commands`, the tables
and files they write in :mod:`asyncfc_bench._report`.  ``bench frameworks-bfcl`` replays BFCL
through pydantic-ai and the OpenAI Agents SDK on a virtual-time asyncio loop
(:mod:`asyncfc_bench._fw_command`).
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from asyncfc.replay import add_behaviour_arguments

from ._commands import MODE_HELP, bench_bfcl, bench_cfb, demo, live_run
from ._fw_command import add_parser as add_frameworks_parser
from ._fw_command import main_virtual as frameworks_bfcl

__all__ = ("main",)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asyncfc-bench", description=__doc__)
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
        sp.add_argument("--modes", default=MODE_HELP)
        sp.add_argument("--out", type=Path, default=Path("results"))
        sp.add_argument(
            "--perfetto",
            action="store_true",
            help="also write each timeline as Chrome trace-event JSON (Perfetto, chrome://tracing)",
        )
        g = sp.add_argument_group("replayed model behaviour and final-answer policy")
        add_behaviour_arguments(g)
        g.add_argument(
            "--final-answer",
            choices=["reask", "label_aware"],
            default="label_aware",
            help="Agent(final_answer=...) (label_aware)",
        )
        g.add_argument(
            "--hold",
            type=float,
            default=0.0,
            help="Agent(hold=...) in seconds before the time scale (0)",
        )
        g.add_argument(
            "--hold-for",
            choices=["any", "reads"],
            default="any",
            help="Agent(hold_for=...): which pending futures --hold waits for (any)",
        )
        g.add_argument(
            "--streaming",
            action="store_true",
            help="Agent(streaming=True): each call starts as the stream completes it "
            "(replayed and live models)",
        )
        g.add_argument(
            "--clock",
            choices=["real", "fake"],
            default="real",
            help="fake: trio's MockClock, sync tools on the loop; times are the "
            "scripted ones exactly, CPU time counts as zero",
        )

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
        g.add_argument("--max-requests", type=int, default=10, help="requests per user turn (10)")

    demo = sub.add_parser("demo", help="replay one BFCL multi-turn task in every mode")
    demo.add_argument("--task", default="multi_turn_base_0")
    demo.add_argument("--full", action="store_true", help="every column, not the short table")
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
    add_frameworks_parser(bsub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status (0: done, 1: a check failed or no task completed).

    The suites freeze the heap between tasks (:func:`asyncfc_bench._commands.settle_heap`);
    everything frozen is handed back to the collector when the command returns, so a caller
    that goes on (a test session) keeps a normal heap."""
    args = _parser().parse_args(argv)
    if getattr(args, "suite", None) == "frameworks-bfcl":
        try:
            return frameworks_bfcl(args)
        finally:
            gc.unfreeze()
    live = getattr(args, "model", None) is not None
    if args.time_scale is None:
        args.time_scale = 1.0 if live else args.replay_time_scale
    if getattr(args, "clock", "real") == "fake" and not live:
        from trio.testing import MockClock

        def run(fn: Any, a: argparse.Namespace) -> int:
            result: int = anyio.run(
                fn, a, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)}
            )
            return result
    else:

        def run(fn: Any, a: argparse.Namespace) -> int:
            result: int = anyio.run(fn, a)
            return result

    try:
        if live:
            return anyio.run(live_run, args)
        if args.command == "demo":
            return run(demo, args)
        if args.suite == "bfcl":
            return run(bench_bfcl, args)
        if args.suite == "complexfuncbench":
            return run(bench_cfb, args)
        return 2  # pragma: no cover - argparse rejects anything else
    finally:
        gc.unfreeze()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
