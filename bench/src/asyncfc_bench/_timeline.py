"""Timeline pictures: one row per mode, decode (M) and function (E) intervals on a shared
time axis, dependency edges as arrows (solid: a future passed as an argument; dashed: a value
the model read through ``await_future`` first).  Needs matplotlib (a dependency of
``asyncfc-bench``).

Readability rules: executions that overlap in time get their own sub-lanes (so parallelism
is visible), every bar has a thin white outline (so back-to-back calls stay distinct), and
the legend sits below the plots, where it covers nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from asyncfc import Interval, Trace, chrome_trace

__all__ = (
    "EdgeKind",
    "edges",
    "perfetto_traces",
    "plot_timelines",
    "timeline_figure",
    "write_timelines",
)


def _lanes(intervals: list[Interval]) -> dict[int, int]:
    """Greedy lane assignment so overlapping tool intervals stack instead of hiding."""
    ends: list[float] = []
    lane_of: dict[int, int] = {}
    for k, iv in sorted(enumerate(intervals), key=lambda p: p[1].start):
        for lane, end in enumerate(ends):
            if end <= iv.start + 1e-9:
                ends[lane] = iv.end
                lane_of[k] = lane
                break
        else:
            ends.append(iv.end)
            lane_of[k] = len(ends) - 1
    return lane_of


EdgeKind = Literal["argument", "awaited"]


def edges(intervals: Iterable[Interval]) -> list[tuple[str, str, EdgeKind]]:
    """``(dependency, call, kind)`` for each arrow: a future passed as an argument
    (``depends_on``), or a future's value the model read through ``await_future`` before
    making the call (``awaited``; drawn only where it is not also an argument)."""
    out: list[tuple[str, str, EdgeKind]] = []
    for iv in intervals:
        if iv.call_id is None:
            continue
        out += [(dep, iv.call_id, "argument") for dep in iv.depends_on]
        out += [(dep, iv.call_id, "awaited") for dep in iv.awaited if dep not in iv.depends_on]
    return out


def _bar(colour: str) -> dict[str, object]:
    return {"height": 0.8, "color": colour, "edgecolor": "white", "linewidth": 0.8}


def plot_timelines(traces: Mapping[str, Trace], path: str | Path, *, title: str = "") -> Path:
    """Draw ``traces`` (row label → trace) into a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig = timeline_figure(traces, title=title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def timeline_figure(traces: Mapping[str, Trace], *, title: str = "") -> Any:
    """The matplotlib figure :func:`plot_timelines` saves (the caller closes it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = []
    for label, trace in traces.items():
        origin = min((i.start for i in trace.intervals), default=0.0)
        tools = trace.of_kind("tool")
        rows.append((label, origin, trace.of_kind("model"), tools, _lanes(tools)))
    heights: list[int] = [2 + max(lanes.values(), default=0) for *_, lanes in rows]
    fig, axes = plt.subplots(
        len(rows),
        1,
        figsize=(12, 1.6 + 0.45 * sum(heights)),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for ax, (label, origin, models, tools, lanes), height in zip(
        axes[:, 0], rows, heights, strict=True
    ):
        h = float(height)
        for iv in models:
            ax.barh(h - 1, iv.end - iv.start, left=iv.start - origin, **_bar("#4C72B0"))
        centre: dict[str, tuple[float, float, float]] = {}
        for k, iv in enumerate(tools):
            y = h - 2 - lanes[k]
            colour = "#DD8452" if iv.ok else "#C44E52"
            ax.barh(y, iv.end - iv.start, left=iv.start - origin, **_bar(colour))
            if iv.call_id is not None:
                centre[iv.call_id] = (iv.start - origin, iv.end - origin, y)
        for dep, call, kind in edges(tools):
            if dep in centre and call in centre:
                start, _, y = centre[call]
                _, dep_end, dep_y = centre[dep]
                ax.annotate(
                    "",
                    xy=(start, y),
                    xytext=(dep_end, dep_y),
                    arrowprops={
                        "arrowstyle": "->",
                        "color": "0.35",
                        "lw": 0.8,
                        "linestyle": "-" if kind == "argument" else "--",
                    },
                )
        ax.set_yticks([h - 1], [label])
        ax.set_ylim(-0.6, h - 0.4)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("seconds since the first model request")
    fig.legend(
        handles=[
            Patch(color="#4C72B0", label="model decoding (M)"),
            Patch(color="#DD8452", label="tool execution (E)"),
            Patch(color="#C44E52", label="failed tool"),
            Line2D([], [], color="0.35", lw=0.8, label="future argument"),
            Line2D([], [], color="0.35", lw=0.8, linestyle="--", label="read via await_future"),
        ],
        loc="lower center",
        ncol=5,
        frameon=False,
    )
    if title:
        fig.suptitle(title, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    return fig


def perfetto_traces(traces: Mapping[str, Trace]) -> dict[str, object]:
    """One Chrome trace-event document (Perfetto, ``chrome://tracing``) holding every mode's
    trace as a process of its own (``asyncfc.chrome_trace`` per mode; process and flow ids
    renumbered so the modes never share one)."""
    events: list[dict[str, object]] = []
    for pid, (label, trace) in enumerate(traces.items(), start=1):
        for event in chrome_trace(trace, name=label)["traceEvents"]:
            moved = {**event, "pid": pid}
            if "id" in moved:
                moved["id"] = f"{pid}-{moved['id']}"
            events.append(moved)
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def write_timelines(outcomes: Mapping[str, Any], png: Path, *, title: str, perfetto: bool) -> Path:
    """The PNG timelines of one task's mode outcomes (anything with ``.run.trace``) at
    ``png`` and, with ``perfetto``, the same traces as ``<name>.trace.json`` beside it."""
    traces = {mode: outcome.run.trace for mode, outcome in outcomes.items()}
    plot_timelines(traces, png, title=title)
    if perfetto:
        import json

        png.with_suffix(".trace.json").write_text(json.dumps(perfetto_traces(traces)))
    return png
