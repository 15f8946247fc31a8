"""The trace: every model call (M) and every function execution (E) as a time interval, and
the arithmetic that explains the time saved.

Definitions (AsyncFC, Eq. 1 and App. B.2), with S = summed length and D = union length:

* ``T_LLM = S(M)``, ``T_tool = S(E)``;
* ``T_cp``: function time on the critical path of the dependency DAG (see "Edges" below);
* bound ``R = (T_LLM + T_tool) / max(T_LLM, T_cp)``;
* saving against the synchronous equivalent ``S(M) + S(E) - D(M ∪ E)``, split exactly into
  decode/execute overlap ``D(M) + D(E) - D(M ∪ E)`` and inter-function parallelism
  ``S(E) - D(E)``.

Edges of the DAG.  A call ``c`` depends on a call ``d`` when

* ``d`` is in ``c.depends_on``: the scheduler made ``c`` wait for ``d`` (a future argument or
  a conflicting resource label);
* ``d`` is in ``c.awaited``: the model had read ``d``'s outcome through ``await_future``
  before it wrote ``c`` (an information dependency the scheduler cannot see, because the
  model copied a value instead of passing a future); or
* ``d`` belongs to an earlier *user* turn (``d.user_turn < c.user_turn``): the next user
  message only exists once the previous turn has finished, and the agent drains every call
  at the end of a user turn.

Without the last two, ``T_cp`` of a multi-turn conversation was far too short and R too
high.  ``turn`` (the model request that emitted a call) is *not* an edge: calls of one request
may run side by side.

Invariants:

* Times come from :func:`anyio.current_time`, so a fake clock gives exact, repeatable traces.
* Only executions that actually ran are E intervals: a call rejected before running (unknown
  tool, bad arguments, failed dependency) costs no function time.
* :func:`longest_path` is iterative and terminates on any input: an edge that would close a
  cycle (only a hand-made or corrupted trace has one) is ignored, and ids that name no
  recorded interval are skipped.
* ``to_dict``/``from_dict`` round-trip; rows of schema version 1 (without ``user_turn`` and
  ``awaited``) load with the defaults, i.e. one user turn and no awaits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import anyio

__all__ = ("Interval", "IntervalKind", "Trace", "TraceMetrics", "longest_path", "union_length")

IntervalKind = Literal["model", "tool"]
"""``"model"``: one model request (M); ``"tool"``: one function execution (E)."""

TRACE_SCHEMA_VERSION = 3
"""3 renamed ``turn`` to ``request`` and added ``input_tokens``, ``output_tokens`` and
``submitted``; 2 added ``user_turn`` and ``awaited``.  Rows of versions 1 and 2 still load."""


@dataclass(frozen=True, kw_only=True)
class Interval:
    """One model request or one function execution, with what the DAG needs to know of it."""

    kind: IntervalKind
    start: float
    end: float
    name: str
    """The tool name, or ``"model"`` for a model request."""
    call_id: str | None = None
    future_id: str | None = None
    depends_on: tuple[str, ...] = ()
    """Call ids this execution had to wait for (data dependencies and label conflicts)."""
    request: int = 0
    """Index of the model request that emitted the call (or, for M, the request itself),
    counted over the whole run."""
    ok: bool = True
    user_turn: int = 0
    """Index of the user turn (prompt) the call or model request belongs to."""
    awaited: tuple[str, ...] = ()
    """Call ids whose outcome the model read through ``await_future`` in this user turn, in
    requests before the one that emitted this call (earlier user turns are covered by the
    user-turn barrier, so they are not repeated here).  Empty for M intervals."""
    input_tokens: int = 0
    """M only: prompt tokens the request was charged (the whole conversation is re-read on
    every request), from the provider's usage or the scripted model's estimate."""
    output_tokens: int = 0
    """M only: tokens the model generated for the request."""
    submitted: float | None = None
    """E only: when the call was submitted; ``start - submitted`` is the time it waited for
    its dependencies, a conflicting call or a free slot."""

    @property
    def duration(self) -> float:
        """``end - start``."""
        return self.end - self.start


def longest_path(weights: Sequence[float], predecessors: Sequence[Iterable[int]]) -> list[float]:
    """Per node, the heaviest weighted path ending at it (its own weight included).

    ``predecessors[i]`` are the nodes ``i`` depends on.  Iterative depth-first search, so deep
    chains cannot overflow the stack; an edge to a node still on the search path (a cycle)
    and an index out of range are ignored, so every input terminates.
    """
    n = len(weights)
    preds = [[p for p in ps if 0 <= p < n] for ps in predecessors]
    best: list[float | None] = [None] * n
    on_path = [False] * n
    for root in range(n):
        if best[root] is not None:
            continue
        stack = [[root, 0]]  # frames of [node, next predecessor to look at]
        on_path[root] = True
        while stack:
            frame = stack[-1]
            node, cursor = frame
            mine = preds[node]
            while cursor < len(mine) and (best[mine[cursor]] is not None or on_path[mine[cursor]]):
                cursor += 1
            if cursor < len(mine):
                frame[1] = cursor + 1
                on_path[mine[cursor]] = True
                stack.append([mine[cursor], 0])
                continue
            stack.pop()
            on_path[node] = False
            done = [v for p in mine if (v := best[p]) is not None]
            best[node] = weights[node] + max(done, default=0.0)
    return [v if v is not None else 0.0 for v in best]


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
    """Time and cost of one trace (see the module docstring for the definitions)."""

    wall: float
    """From the first interval's start to the last one's end."""
    t_llm: float
    """Summed length of the model requests."""
    t_tool: float
    """Summed length of the function executions."""
    t_cp: float
    """Function time on the critical path of the dependency DAG."""
    bound: float
    """The paper's R: the best speed-up over synchronous calling this run's DAG allows."""
    saving: float
    overlap_saving: float
    """Δ_D‖E: time saved by executing while decoding."""
    parallel_saving: float
    """Δ_F‖F: time saved by running functions side by side."""
    model_calls: int
    """Model requests made: what a provider bills per request."""
    tool_calls: int
    """Function executions (calls rejected before running are not counted)."""
    input_tokens: int = 0
    """Prompt tokens over all model requests (a prompt re-read by a later request counts
    again)."""
    output_tokens: int = 0
    """Generated tokens over all model requests."""


@dataclass
class Trace:
    """Collects intervals; safe to share between concurrent tasks (one event loop)."""

    intervals: list[Interval] = field(default_factory=list)

    @staticmethod
    def now() -> float:
        """The trace's clock: :func:`anyio.current_time`."""
        return anyio.current_time()

    def add(self, interval: Interval) -> None:
        """Record one finished interval."""
        self.intervals.append(interval)

    def of_kind(self, kind: IntervalKind) -> list[Interval]:
        """The intervals of one kind, in the order they were added."""
        return [i for i in self.intervals if i.kind == kind]

    def critical_path(self) -> float:
        """Longest chain of function time through ``depends_on``, ``awaited`` and the user-turn
        barrier (see the module docstring)."""
        tools = self.of_kind("tool")
        index = {iv.call_id: k for k, iv in enumerate(tools) if iv.call_id is not None}
        # The barrier as one zero-weight node per user turn that has calls: it follows every
        # call of its turn and the previous barrier, and every call of the next turn that has
        # calls follows it.  That is linear in the calls instead of quadratic.
        members: dict[int, list[int]] = {}
        for k, iv in enumerate(tools):
            members.setdefault(iv.user_turn, []).append(k)
        turns = sorted(members)
        barrier = {t: len(tools) + k for k, t in enumerate(turns)}
        before = {t: [barrier[turns[k - 1]]] if k else [] for k, t in enumerate(turns)}
        weights = [iv.duration for iv in tools] + [0.0] * len(turns)
        preds = [
            [index[d] for d in (*iv.depends_on, *iv.awaited) if d in index] + before[iv.user_turn]
            for iv in tools
        ]
        preds += [members[t] + before[t] for t in turns]
        return max(longest_path(weights, preds)[: len(tools)], default=0.0)

    def metrics(self) -> TraceMetrics:
        """Time, bound, savings and cost of this trace (see the module docstring)."""
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
            input_tokens=sum(i.input_tokens for i in self.of_kind("model")),
            output_tokens=sum(i.output_tokens for i in self.of_kind("model")),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; see ``docs/trace.md`` for the schema."""
        origin = min((i.start for i in self.intervals), default=0.0)
        rows: list[dict[str, Any]] = []
        for iv in sorted(self.intervals, key=lambda i: (i.start, i.end)):
            row = asdict(iv)
            row["start"] = iv.start - origin
            row["end"] = iv.end - origin
            if iv.submitted is not None:
                row["submitted"] = iv.submitted - origin
            row["depends_on"] = list(iv.depends_on)
            row["awaited"] = list(iv.awaited)
            rows.append(row)
        return {
            "version": TRACE_SCHEMA_VERSION,
            "intervals": rows,
            "metrics": asdict(self.metrics()),
        }

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text; ``kwargs`` go to :func:`json.dumps`."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """The trace of a :meth:`to_dict` result (any schema version up to the current one)."""
        rows: Sequence[dict[str, Any]] = data["intervals"]
        return cls([_interval_of(r) for r in rows])


def _interval_of(row: dict[str, Any]) -> Interval:
    fields = dict(row)
    if "turn" in fields:  # versions 1 and 2 called the request index "turn"
        fields["request"] = fields.pop("turn")
    fields["depends_on"] = tuple(fields.get("depends_on", ()))
    fields["awaited"] = tuple(fields.get("awaited", ()))
    return Interval(**fields)
