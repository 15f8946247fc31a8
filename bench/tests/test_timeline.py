"""Timeline edges: which arrows a picture draws, and the PNG itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfc_bench._timeline import edges, plot_timelines

from asyncfc import Interval, Trace


def call(call_id: str, start: float, **kwargs: object) -> Interval:
    return Interval(
        kind="tool",
        start=start,
        end=start + 1,
        name="f",
        call_id=call_id,
        **kwargs,  # type: ignore[arg-type]
    )


INTERVALS = [
    call("a", 0),
    call("b", 0),
    call("c", 1, depends_on=("a",)),
    call("d", 1, depends_on=("a",), awaited=("a", "b")),
    Interval(kind="model", start=0, end=0.5, name="model"),
]


def test_edges_are_future_arguments_and_awaited_values_once_each() -> None:
    assert edges(INTERVALS) == [
        ("a", "c", "argument"),
        ("a", "d", "argument"),
        ("b", "d", "awaited"),
    ]


def test_the_picture_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = plot_timelines({"async": Trace(INTERVALS)}, tmp_path / "t.png", title="x")
    assert out.read_bytes().startswith(b"\x89PNG")
