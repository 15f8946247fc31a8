"""The trace: every model call (M) and every function execution (E) as a time interval, and
the arithmetic that explains the time saved.

Definitions (AsyncFC, Eq. 1 and App. B.2), with S = summed length and D = union length:

* ``T_LLM = S(M)``, ``T_tool = S(E)``;
* ``T_cp``: function time on the critical path of the dependency DAG, where an edge joins a
  call to every call it had to wait for (future arguments *and* conflicting resource labels,
  i.e. exactly what the scheduler enforces);
* bound ``R = (T_LLM + T_tool) / max(T_LLM, T_cp)``;
* saving against the synchronous equivalent ``S(M) + S(E) - D(M ∪ E)``, split exactly into
  decode/execute overlap ``D(M) + D(E) - D(M ∪ E)`` and inter-function parallelism
  ``S(E) - D(E)``.

Times come from :func:`anyio.current_time`, so a fake clock gives exact, repeatable traces.
Only executions that actually ran are E intervals: a call rejected before running (unknown
tool, bad arguments, failed dependency) costs no function time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import anyio

__all__ = ("Interval", "IntervalKind", "Trace", "TraceMetrics", "union_length")

IntervalKind = Literal["model", "tool"]

TRACE_SCHEMA_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Interval:
    kind: IntervalKind
    start: float
    end: float
    name: str
    """The tool name, or ``"model"`` for a model request."""
    call_id: str | None = None
    future_id: str | None = None
    depends_on: tuple[str, ...] = ()
    """Call ids this execution had to wait for (data dependencies and label conflicts)."""
    turn: int = 0
    """Index of the model request that emitted the call (or, for M, the request itself)."""
    ok: bool = True

    @property
    def duration(self) -> float:
        return self.end - self.start


def union_length(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals."""
    total = 0.0
    cur_start = cur_end = None
    for s, e in sorted(intervals):
        if cur_end is None or s > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


@dataclass(frozen=True, kw_only=True)
class TraceMetrics:
    wall: float
    """From the first interval's start to the last one's end."""
    t_llm: float
    t_tool: float
    t_cp: float
    bound: float
    """The paper's R: the best speed-up over synchronous calling this run's DAG allows."""
    saving: float
    overlap_saving: float
    """Δ_D‖E: time saved by executing while decoding."""
    parallel_saving: float
    """Δ_F‖F: time saved by running functions side by side."""
    model_calls: int
    tool_calls: int


@dataclass
class Trace:
    """Collects intervals; safe to share between concurrent tasks (one event loop)."""

    intervals: list[Interval] = field(default_factory=list)

    @staticmethod
    def now() -> float:
        return anyio.current_time()

    def add(self, interval: Interval) -> None:
        self.intervals.append(interval)

    def of_kind(self, kind: IntervalKind) -> list[Interval]:
        return [i for i in self.intervals if i.kind == kind]

    def critical_path(self) -> float:
        """Longest chain of function time through the recorded dependency edges."""
        tools = self.of_kind("tool")
        by_id = {i.call_id: i for i in tools if i.call_id is not None}
        memo: dict[str, float] = {}

        def cp(iv: Interval) -> float:
            key = iv.call_id
            if key is not None and key in memo:
                return memo[key]
            best = max((cp(by_id[d]) for d in iv.depends_on if d in by_id), default=0.0)
            value = iv.duration + best
            if key is not None:
                memo[key] = value
            return value

        return max((cp(i) for i in tools), default=0.0)

    def metrics(self) -> TraceMetrics:
        m = [(i.start, i.end) for i in self.of_kind("model")]
        e = [(i.start, i.end) for i in self.of_kind("tool")]
        s_m = sum(b - a for a, b in m)
        s_e = sum(b - a for a, b in e)
        d_m, d_e, d_all = union_length(m), union_length(e), union_length(m + e)
        t_cp = self.critical_path()
        denom = max(s_m, t_cp)
        starts = [i.start for i in self.intervals]
        ends = [i.end for i in self.intervals]
        return TraceMetrics(
            wall=(max(ends) - min(starts)) if starts else 0.0,
            t_llm=s_m,
            t_tool=s_e,
            t_cp=t_cp,
            bound=(s_m + s_e) / denom if denom > 0 else 1.0,
            saving=s_m + s_e - d_all,
            overlap_saving=d_m + d_e - d_all,
            parallel_saving=s_e - d_e,
            model_calls=len(m),
            tool_calls=len(e),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; see ``docs/trace.md`` for the schema."""
        origin = min((i.start for i in self.intervals), default=0.0)
        rows: list[dict[str, Any]] = []
        for iv in sorted(self.intervals, key=lambda i: (i.start, i.end)):
            row = asdict(iv)
            row["start"] = iv.start - origin
            row["end"] = iv.end - origin
            row["depends_on"] = list(iv.depends_on)
            rows.append(row)
        return {
            "version": TRACE_SCHEMA_VERSION,
            "intervals": rows,
            "metrics": asdict(self.metrics()),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        rows: Sequence[dict[str, Any]] = data["intervals"]
        return cls([Interval(**{**r, "depends_on": tuple(r.get("depends_on", ()))}) for r in rows])
