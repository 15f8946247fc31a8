"""A :class:`~asyncfc.Trace` as Chrome trace-event JSON, for Perfetto (ui.perfetto.dev) and
``chrome://tracing``.

Layout: one process; one lane (``tid``) for model requests, then one lane per tool execution
that overlaps another, so concurrent executions never share a lane; arrows (flow events
``s`` → ``f``) from each call to the calls that waited for it (``Interval.depends_on``) and,
in another colour (category), to the calls written after the model had read its outcome
(``Interval.awaited``).

Invariants:

* Every slice is a complete event (``ph: "X"``) with ``ts`` and ``dur`` in microseconds from
  the trace's first instant; slices on one lane never overlap (lanes are assigned greedily
  in start order, the interval-partitioning rule, so the count of lanes is the peak
  concurrency).
* Every flow has exactly one start (``s``, inside the slice of the call waited for) and one
  finish (``f``, ``bp: "e"``, at the start of the waiting call's slice), with one ``id``;
  an edge to a call that never ran has no slice and so no arrow.
* Each lane is named by a metadata event (``ph: "M"``, ``thread_name``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._trace import Interval, Trace

__all__ = ("chrome_trace",)

_PID = 1


def chrome_trace(trace: Trace, *, name: str = "asyncfc run") -> dict[str, Any]:
    """The trace as a Chrome trace-event document (``json.dump`` it to a ``.json`` file).

    ``name`` is the process name Perfetto shows above the lanes.
    """
    intervals = trace.intervals
    origin = min(
        (min(i.start, i.submitted) if i.submitted is not None else i.start for i in intervals),
        default=0.0,
    )

    def us(t: float) -> float:
        return (t - origin) * 1e6

    models = sorted(trace.of_kind("model"), key=lambda i: (i.start, i.end))
    tools = sorted(trace.of_kind("tool"), key=lambda i: (i.start, i.end))
    model_lanes = _lanes(models)
    tool_lanes = _lanes(tools)
    n_model = max(model_lanes, default=-1) + 1 if models else 1
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": _PID, "tid": 0, "args": {"name": name}}
    ]
    for lane in range(n_model):
        events.append(_lane_name(lane, "model" if lane == 0 else f"model {lane + 1}"))
    for lane in range(max(tool_lanes, default=-1) + 1):
        events.append(_lane_name(n_model + lane, f"tools {lane + 1}"))

    for iv, lane in zip(models, model_lanes, strict=True):
        events.append(
            _slice(
                iv,
                f"model request {iv.request}",
                lane,
                us,
                {
                    "request": iv.request,
                    "user_turn": iv.user_turn,
                    "input_tokens": iv.input_tokens,
                    "output_tokens": iv.output_tokens,
                },
            )
        )
    where: dict[str, tuple[Interval, int]] = {}
    for iv, lane in zip(tools, tool_lanes, strict=True):
        tid = n_model + lane
        args: dict[str, Any] = {
            "call_id": iv.call_id,
            "ok": iv.ok,
            "request": iv.request,
            "user_turn": iv.user_turn,
            "depends_on": list(iv.depends_on),
            "awaited": list(iv.awaited),
        }
        if iv.future_id is not None:
            args["future_id"] = iv.future_id
        if iv.submitted is not None:
            args["wait_ms"] = (iv.start - iv.submitted) * 1e3
        events.append(_slice(iv, iv.name, tid, us, args))
        if iv.call_id is not None:
            where[iv.call_id] = (iv, tid)

    flow = 0
    for iv in tools:
        if iv.call_id is None:
            continue
        target_tid = where[iv.call_id][1]
        for cat, deps in (("dependency", iv.depends_on), ("awaited", iv.awaited)):
            for dep in deps:
                found = where.get(dep)
                if found is None:
                    continue
                source, source_tid = found
                flow += 1
                # Inside the source slice, just before its end (a zero-length slice: its start).
                inside = max(source.start, source.end - min(source.duration / 2, 1e-9))
                common = {"name": f"{dep} → {iv.call_id}", "cat": cat, "id": flow, "pid": _PID}
                events.append({**common, "ph": "s", "tid": source_tid, "ts": us(inside)})
                events.append(
                    {**common, "ph": "f", "bp": "e", "tid": target_tid, "ts": us(iv.start)}
                )
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def _lanes(intervals: Sequence[Interval]) -> list[int]:
    """Per interval (sorted by start), the lowest lane free at its start."""
    ends: list[float] = []
    lanes: list[int] = []
    for iv in intervals:
        for lane, end in enumerate(ends):
            if end <= iv.start:
                ends[lane] = iv.end
                lanes.append(lane)
                break
        else:
            ends.append(iv.end)
            lanes.append(len(ends) - 1)
    return lanes


def _lane_name(tid: int, label: str) -> dict[str, Any]:
    return {"ph": "M", "name": "thread_name", "pid": _PID, "tid": tid, "args": {"name": label}}


def _slice(
    iv: Interval, label: str, tid: int, us: Callable[[float], float], args: dict[str, Any]
) -> dict[str, Any]:
    return {
        "ph": "X",
        "name": label,
        "cat": iv.kind,
        "pid": _PID,
        "tid": tid,
        "ts": us(iv.start),
        "dur": max(iv.duration, 0.0) * 1e6,
        "args": args,
    }
