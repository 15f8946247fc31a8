"""Trace arithmetic: union lengths, critical path, the bound R and the split of the saving."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncfc import Interval, Trace, TraceMetrics
from asyncfc._trace import TRACE_SCHEMA_VERSION, longest_path, union_length


@pytest.mark.parametrize(
    ("intervals", "length"),
    [
        ([], 0.0),
        ([(1.0, 3.0)], 2.0),
        ([(0.0, 1.0), (2.0, 4.0)], 3.0),  # disjoint
        ([(0.0, 3.0), (1.0, 2.0)], 3.0),  # nested
        ([(2.0, 5.0), (0.0, 3.0)], 5.0),  # overlapping, unsorted
        ([(0.0, 1.0), (1.0, 2.0)], 2.0),  # touching
        ([(0.0, 1.0), (0.0, 1.0), (0.0, 1.0)], 1.0),  # identical
        ([(5.0, 5.0)], 0.0),  # empty interval
        ([(0.0, 2.0), (3.0, 4.0), (1.0, 3.5)], 4.0),  # a bridge joins two runs
    ],
)
def test_union_length(intervals: list[tuple[float, float]], length: float) -> None:
    assert union_length(intervals) == pytest.approx(length)


def _m(start: float, end: float, request: int = 0) -> Interval:
    return Interval(kind="model", start=start, end=end, name="model", request=request)


def _e(
    cid: str,
    start: float,
    end: float,
    *deps: str,
    user_turn: int = 0,
    awaited: tuple[str, ...] = (),
) -> Interval:
    return Interval(
        kind="tool",
        start=start,
        end=end,
        name=f"t_{cid}",
        call_id=cid,
        depends_on=deps,
        user_turn=user_turn,
        awaited=awaited,
    )


def test_metrics_on_a_hand_built_trace() -> None:
    # M1 [0,2]; a [1,4] and b [1,3] run while M1 decodes and beside each other;
    # M2 [4,5]; c [5,7] had to wait for a.
    trace = Trace([_m(0, 2), _e("a", 1, 4), _e("b", 1, 3), _m(4, 5, request=1), _e("c", 5, 7, "a")])
    m = trace.metrics()
    assert m == TraceMetrics(
        wall=7.0,
        t_llm=3.0,  # 2 + 1
        t_tool=7.0,  # 3 + 2 + 2
        t_cp=5.0,  # a then c
        bound=2.0,  # (3 + 7) / max(3, 5)
        saving=3.0,  # S(M) + S(E) - D(M ∪ E) = 3 + 7 - 7
        overlap_saving=1.0,  # D(M) + D(E) - D(M ∪ E) = 3 + 5 - 7
        parallel_saving=2.0,  # S(E) - D(E) = 7 - 5
        model_calls=2,
        tool_calls=3,
    )
    assert m.saving == m.overlap_saving + m.parallel_saving


def test_critical_path_follows_dependency_edges() -> None:
    # Diamond: a -> (b, c) -> d; the longer branch (c) counts, unknown ids are ignored.
    trace = Trace(
        [
            _e("a", 0, 1),
            _e("b", 1, 2, "a"),
            _e("c", 1, 4, "a"),
            _e("d", 4, 4.5, "b", "c", "not-recorded"),
            _e("lonely", 0, 3),
        ]
    )
    assert trace.critical_path() == pytest.approx(1 + 3 + 0.5)


def test_without_edges_the_critical_path_is_the_longest_call() -> None:
    trace = Trace([_e("a", 0, 2.5), _e("b", 0, 3.0), _e("c", 0, 2.5)])
    m = trace.metrics()
    assert m.t_cp == 3.0
    assert m.bound == pytest.approx(8.0 / 3.0)
    assert m.parallel_saving == pytest.approx(5.0)
    assert m.overlap_saving == 0.0
    assert m.wall == 3.0


def test_sequential_trace_saves_nothing() -> None:
    trace = Trace([_m(0, 1), _e("a", 1, 2), _m(2, 3), _e("b", 3, 5, "a")])
    m = trace.metrics()
    assert (m.saving, m.overlap_saving, m.parallel_saving) == (0.0, 0.0, 0.0)
    assert m.t_cp == 3.0
    assert m.bound == pytest.approx(5.0 / 3.0)


def test_empty_trace() -> None:
    m = Trace().metrics()
    assert m == TraceMetrics(
        wall=0.0,
        t_llm=0.0,
        t_tool=0.0,
        t_cp=0.0,
        bound=1.0,
        saving=0.0,
        overlap_saving=0.0,
        parallel_saving=0.0,
        model_calls=0,
        tool_calls=0,
    )


def test_model_only_trace_bound_is_one() -> None:
    assert Trace([_m(0, 2), _m(3, 4)]).metrics().bound == 1.0


def test_of_kind_duration_and_add() -> None:
    trace = Trace()
    trace.add(_m(0, 2))
    trace.add(_e("a", 1, 1.5))
    assert [i.kind for i in trace.of_kind("model")] == ["model"]
    assert [i.call_id for i in trace.of_kind("tool")] == ["a"]
    assert trace.of_kind("tool")[0].duration == 0.5


def test_dict_and_json_round_trip_relative_to_the_first_start() -> None:
    trace = Trace([_e("b", 12, 13, "a"), _m(10, 11), _e("a", 10.5, 12)])
    data = trace.to_dict()
    assert data["version"] == TRACE_SCHEMA_VERSION == 3
    assert [(r["kind"], r["start"], r["end"]) for r in data["intervals"]] == [
        ("model", 0.0, 1.0),
        ("tool", 0.5, 2.0),
        ("tool", 2.0, 3.0),
    ]
    assert data["intervals"][2]["depends_on"] == ["a"]
    assert data["intervals"][2]["awaited"] == []
    assert data["intervals"][2]["user_turn"] == 0
    assert data["metrics"]["t_cp"] == 2.5
    again = Trace.from_dict(json.loads(trace.to_json()))
    assert again.metrics() == trace.metrics()
    assert again.intervals[2] == _e("b", 2, 3, "a")


def test_awaited_outcomes_are_edges() -> None:
    # b ran beside a in the schedule, but the model wrote b after reading a's outcome.
    trace = Trace([_e("a", 0, 2), _e("b", 1, 2, awaited=("a",)), _e("c", 0, 2.5)])
    assert trace.critical_path() == pytest.approx(3.0)


def test_every_call_of_an_earlier_user_turn_precedes_the_next_turn() -> None:
    # Turn 0: a (2) and b (3) beside each other; turn 1: c (1) and d (0.5); turn 3 (no turn 2
    # has calls): e (1).  No recorded edges at all, yet the barrier chains the turns.
    trace = Trace(
        [
            _e("a", 0, 2),
            _e("b", 0, 3),
            _e("c", 4, 5, user_turn=1),
            _e("d", 4, 4.5, user_turn=1),
            _e("e", 6, 7, user_turn=3),
        ]
    )
    assert trace.critical_path() == pytest.approx(3 + 1 + 1)


def test_edges_inside_a_turn_combine_with_the_barrier() -> None:
    trace = Trace(
        [
            _e("a", 0, 1),
            _e("b", 1, 3, "a"),
            _e("c", 3, 4, user_turn=1),
            _e("d", 4, 6, user_turn=1, awaited=("c",)),
        ]
    )
    assert trace.critical_path() == pytest.approx(1 + 2 + 1 + 2)


def test_a_cyclic_trace_terminates() -> None:
    # Only a corrupted or hand-made trace has a cycle; the closing edge is ignored.
    trace = Trace([_e("a", 0, 1, "b"), _e("b", 1, 3, "a"), _e("self", 0, 0.5, "self")])
    assert trace.critical_path() == pytest.approx(3.0)
    assert longest_path([1.0, 2.0], [[1], [0]]) == [3.0, 2.0]


def test_longest_path_is_iterative_and_skips_unknown_nodes() -> None:
    n = 20_000  # far deeper than the recursion limit
    weights = [1.0] * n
    preds = [[i - 1, n + 5, -1] if i else [] for i in range(n)]
    assert longest_path(weights, preds)[-1] == float(n)
    assert longest_path([], []) == []


def test_round_trip_keeps_user_turns_and_awaits() -> None:
    trace = Trace([_e("a", 0, 1), _e("b", 2, 3, user_turn=1, awaited=("a",)), _m(1, 2, request=1)])
    again = Trace.from_dict(json.loads(trace.to_json()))
    assert again.to_dict() == trace.to_dict()
    assert again.intervals[-1] == trace.intervals[1]


def test_version_1_rows_load_with_defaults() -> None:
    old = {
        "version": 1,
        "intervals": [
            {"kind": "model", "start": 0.0, "end": 1.0, "name": "model", "call_id": None,
             "future_id": None, "depends_on": [], "turn": 0, "ok": True},
            {"kind": "tool", "start": 1.0, "end": 3.0, "name": "t", "call_id": "c1",
             "future_id": "future_1", "depends_on": [], "turn": 0, "ok": True},
        ],
    }  # fmt: skip
    trace = Trace.from_dict(old)
    tool = trace.of_kind("tool")[0]
    assert (tool.user_turn, tool.awaited) == (0, ())
    assert trace.metrics().t_cp == 2.0


_span = st.tuples(st.integers(0, 20), st.integers(0, 6)).map(lambda p: (p[0], p[0] + p[1]))


def _back_to_back(steps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Model requests of one agent never overlap: each starts after a gap behind the last."""
    spans, t = [], 0
    for gap, length in steps:
        spans.append((t + gap, t + gap + length))
        t += gap + length
    return spans


_models = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), max_size=5).map(_back_to_back)


@given(_models, st.lists(_span, max_size=6))
def test_saving_splits_exactly_into_overlap_and_parallelism(
    models: list[tuple[int, int]], tools: list[tuple[int, int]]
) -> None:
    trace = Trace(
        [_m(a, b) for a, b in models] + [_e(str(i), a, b) for i, (a, b) in enumerate(tools)]
    )
    m = trace.metrics()
    covered = {t for a, b in models + tools for t in range(a, b)}  # unit cells: integer ends
    assert m.saving == pytest.approx(m.overlap_saving + m.parallel_saving)
    assert m.saving == pytest.approx(sum(b - a for a, b in models + tools) - len(covered))
    assert m.parallel_saving >= 0
    assert m.overlap_saving >= 0
