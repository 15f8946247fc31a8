"""Timeline edges: which arrows a picture draws, and the PNG itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfc_bench._timeline import _lanes, edges, plot_timelines, timeline_figure

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


def test_overlapping_executions_get_their_own_lanes() -> None:
    tools = [i for i in INTERVALS if i.kind == "tool"]  # a, b at 0-1; c, d at 1-2
    assert _lanes(tools) == {0: 0, 1: 1, 2: 0, 3: 1}


def test_the_legend_covers_no_plot() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    fig = timeline_figure({"async": Trace(INTERVALS), "parallel": Trace(INTERVALS)}, title="x")
    try:
        fig.canvas.draw()
        legend = fig.legends[0].get_window_extent()
        for ax in fig.axes:
            assert not legend.overlaps(ax.get_window_extent())
    finally:
        plt.close(fig)
