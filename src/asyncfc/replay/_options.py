"""The replayed model's behaviour as command-line options, defined once for every command
that replays (``asyncfc replay``, the harness's ``asyncfc-bench bench ...``)."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from ._plan import Behaviour

__all__ = ("add_behaviour_arguments", "behaviour_from_arguments")


class _TakesArguments(Protocol):
    """An ``argparse`` parser or argument group."""

    def add_argument(self, *name_or_flags: str, **kwargs: Any) -> Any: ...


def add_behaviour_arguments(parser: _TakesArguments) -> None:
    """Add ``--batching-rate`` (p), ``--reference-rate`` (q), ``--inline-await-rate`` (r)
    and ``--await-first``, the fields of :class:`Behaviour`; its seed is the command's own
    ``--seed``."""
    parser.add_argument(
        "--batching-rate",
        type=float,
        default=1.0,
        help="p: share of batchable calls the model puts in one response (1)",
    )
    parser.add_argument(
        "--reference-rate",
        type=float,
        default=1.0,
        help="q: share of reachable dependencies passed as future references (1)",
    )
    parser.add_argument(
        "--inline-await-rate",
        type=float,
        default=1.0,
        help="r: share of awaits written in the response of the calls they wait for (1)",
    )
    parser.add_argument(
        "--await-first",
        action="store_true",
        help="async modes: the model awaits unseen results before its final answer",
    )


def behaviour_from_arguments(args: argparse.Namespace) -> Behaviour:
    """The :class:`Behaviour` that :func:`add_behaviour_arguments`' options (and ``--seed``)
    ask for."""
    return Behaviour(
        batching_rate=args.batching_rate,
        reference_rate=args.reference_rate,
        inline_await_rate=args.inline_await_rate,
        await_first=args.await_first,
        seed=args.seed,
    )
