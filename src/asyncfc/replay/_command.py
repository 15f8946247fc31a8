"""``asyncfc replay``: what would async save on my agent?

Reads recorded OpenAI-format conversations (JSON or JSONL, see
:func:`~asyncfc.replay.load_conversations`), replays them in every mode with the same decode
model and behaviour, and prints time, speed-up, model requests and tokens side by side.
Standard library only; the table uses ``rich`` when it is installed.

The clock: ``fake`` (the default when ``trio`` is installed) runs under trio's ``MockClock``,
so the figures are exactly the scripted decode times and recorded latencies, independent of
the machine; ``real`` sleeps for real (use ``--time-scale`` to shorten it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from ._conversations import ReplayReport, load_conversations, replay_conversations
from ._options import add_behaviour_arguments, behaviour_from_arguments
from ._runner import MODES, DecodeModel

__all__ = ("main", "parser")

_COLUMNS: list[tuple[str, str, str]] = [
    ("mode", "mode", "{}"),
    ("wall_mean", "time s", "{:.2f}"),
    ("speedup_mean", "speed-up ×", "{:.2f}"),
    ("model_requests_mean", "requests", "{:.1f}"),
    ("input_tokens_mean", "input tokens", "{:,.0f}"),
    ("output_tokens_mean", "output tokens", "{:,.0f}"),
]


def parser() -> argparse.ArgumentParser:
    """The command line of ``asyncfc replay``."""
    p = argparse.ArgumentParser(
        prog="asyncfc replay",
        description="Replay recorded OpenAI-format conversations in every mode and compare "
        "time, model requests and tokens.",
    )
    p.add_argument("conversations", type=Path, help="JSON or JSONL file of conversations")
    p.add_argument(
        "--latency",
        type=float,
        default=1.0,
        help="seconds per call without a recorded latency (1.0)",
    )
    p.add_argument("--modes", default="sequential,parallel,async,async_parallel")
    p.add_argument("--ttft", type=float, default=0.8, help="seconds to first token (0.8)")
    p.add_argument("--tps", type=float, default=80.0, help="output tokens per second (80)")
    add_behaviour_arguments(p)
    p.add_argument("--final-answer", choices=["reask", "label_aware"], default="label_aware")
    p.add_argument("--hold", type=float, default=0.0, help="Agent(hold=...) seconds (0)")
    p.add_argument("--hold-for", choices=["any", "reads"], default="any")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--labels",
        type=Path,
        default=None,
        help='JSON {"tool": {"reads": [...], "writes": [...]}}; unlabelled tools serialise',
    )
    p.add_argument(
        "--assume-pure",
        action="store_true",
        help="treat every tool as reading and writing nothing (an upper bound)",
    )
    p.add_argument("--clock", choices=["auto", "fake", "real"], default="auto")
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--json", type=Path, default=None, help="write the summary rows here")
    return p


def _print_table(rows: list[dict[str, Any]], write: Callable[[str], None]) -> None:
    cells = [
        [fmt.format(r[k]) if r[k] is not None else "-" for k, _, fmt in _COLUMNS] for r in rows
    ]
    heads = [h for _, h, _ in _COLUMNS]
    if importlib.util.find_spec("rich") is not None:
        from rich.console import Console
        from rich.table import Table

        table = Table()
        for h in heads:
            table.add_column(h, justify="right", no_wrap=True, min_width=len(h))
        table.columns[0].min_width = max(len(c[0]) for c in cells)
        for c in cells:
            table.add_row(*c)
        Console().print(table)
        return
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    write("  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
    for c in cells:
        write("  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``asyncfc replay``; 0 when at least one conversation was replayed, 1 when none
    could be, 2 for bad input."""
    args = parser().parse_args(argv)
    try:
        conversations = load_conversations(args.conversations.read_text())
        labels = json.loads(args.labels.read_text()) if args.labels else None
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            raise ValueError(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
        behaviour = behaviour_from_arguments(args)
    except (OSError, ValueError) as exc:
        print(f"asyncfc replay: {exc}", file=sys.stderr)
        return 2
    fake = args.clock == "fake" or (
        args.clock == "auto" and importlib.util.find_spec("trio") is not None
    )

    async def go() -> ReplayReport:
        return await replay_conversations(
            conversations,
            modes=modes,
            decode=DecodeModel(ttft=args.ttft, tokens_per_second=args.tps),
            behaviour=behaviour,
            final_answer=args.final_answer,
            hold=args.hold,
            hold_for=args.hold_for,
            default_latency=args.latency,
            time_scale=args.time_scale,
            labels=labels,
            assume_pure=args.assume_pure,
        )

    try:
        if fake:
            from trio.testing import MockClock

            report = anyio.run(
                go, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)}
            )
        else:
            report = anyio.run(go)
    except ValueError as exc:
        print(f"asyncfc replay: {exc}", file=sys.stderr)
        return 2
    if not report.outcomes:
        print("asyncfc replay: no conversation with tool calls", file=sys.stderr)
        return 1
    print(
        f"{len(report.outcomes)} conversation(s), clock {'fake' if fake else 'real'}, "
        f"p={behaviour.batching_rate:g}, q={behaviour.reference_rate:g}, "
        f"r={behaviour.inline_await_rate:g}, "
        f"final answer {args.final_answer}"
    )
    _print_table(report.rows, print)
    if args.json is not None:
        args.json.write_text(json.dumps(report.rows, indent=1, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover - until the lead wires `asyncfc replay`
    raise SystemExit(main())
