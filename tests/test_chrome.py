"""asyncfc.chrome_trace: the document is valid trace-event JSON (required fields and types,
complete or matching begin/end slices, flows that pair up) and lays the run out as promised:
one model lane, concurrent executions on separate lanes, one arrow per recorded dependency."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

import pytest
from runtime_support import run_mock, timed_tool

import asyncfc as a

PHASES = {"X", "B", "E", "M", "s", "t", "f", "i", "I", "C"}


def check_trace_events(doc: dict[str, Any]) -> None:
    """The trace-event format's rules that Perfetto and chrome://tracing rely on."""
    json.loads(json.dumps(doc))  # plain JSON
    assert isinstance(doc["traceEvents"], list)
    assert doc.get("displayTimeUnit", "ms") in ("ms", "ns")
    open_slices: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    complete: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    flows: dict[tuple[str, Any], list[dict[str, Any]]] = defaultdict(list)
    for e in doc["traceEvents"]:
        assert isinstance(e["name"], str)
        assert e["ph"] in PHASES
        assert isinstance(e["pid"], int)
        assert isinstance(e["tid"], int)
        if "args" in e:
            assert isinstance(e["args"], dict)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "thread_sort_index")
            assert isinstance(e["args"]["name"], str)
            continue
        assert isinstance(e["ts"], int | float)
        assert e["ts"] >= 0
        lane = (e["pid"], e["tid"])
        if e["ph"] == "X":
            assert isinstance(e["dur"], int | float)
            assert e["dur"] >= 0
            complete[lane].append((e["ts"], e["ts"] + e["dur"]))
        elif e["ph"] == "B":
            open_slices[lane].append(e)
        elif e["ph"] == "E":
            begin = open_slices[lane].pop()
            assert begin["ts"] <= e["ts"]
        elif e["ph"] in ("s", "t", "f"):
            assert "id" in e
            flows[(e.get("cat", ""), e["id"])].append(e)
    assert all(not stack for stack in open_slices.values()), "a B event without its E"
    for spans in complete.values():  # slices on one lane nest or are disjoint
        spans.sort()
        for (s1, e1), (s2, e2) in itertools.pairwise(spans):
            assert s2 >= e1 or e2 <= e1, f"slices overlap on one lane: {(s1, e1)} {(s2, e2)}"
    for key, events in flows.items():
        phases = sorted(e["ph"] for e in events)
        assert phases == ["f", "s"], f"flow {key} does not pair up: {phases}"
        start = next(e for e in events if e["ph"] == "s")
        finish = next(e for e in events if e["ph"] == "f")
        assert start["name"] == finish["name"]
        assert start["ts"] <= finish["ts"]
        for e in (start, finish):  # each end is bound to a slice on its lane
            lane = (e["pid"], e["tid"])
            assert any(s <= e["ts"] <= end for s, end in complete[lane]), e


def agent_trace() -> a.AgentRun:
    """async_parallel: two independent reads run side by side, a call that uses one of them
    (a data dependency) and a write that conflicts with both reads."""
    tools = [
        timed_tool("read_a", 2.0, reads=["db"]),
        timed_tool("read_b", 3.0, reads=["db"]),
        timed_tool("use", 1.0, reads=(), writes=()),
        timed_tool("write", 1.0, writes=["db"]),
    ]
    script = [
        a.Reply(calls=[("read_a", {"x": 1}), ("read_b", {"x": 2})]),
        a.Reply(calls=[("use", {"x": "future_1"}), ("write", {"x": 3})]),
        a.Reply(text="done"),
        a.Reply(text="done"),
    ]
    agent = a.Agent(model=a.ScriptedModel(script=script, ttft=0.5), toolset=a.Toolset(tools))

    async def main() -> a.AgentRun:
        return await agent.run("go")

    return run_mock(main)


def test_an_agent_run_exports_valid_lanes_and_arrows() -> None:
    run = agent_trace()
    doc = a.chrome_trace(run.trace)
    check_trace_events(doc)
    events = doc["traceEvents"]
    lanes = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    slices = [e for e in events if e["ph"] == "X"]
    model_tids = {e["tid"] for e in slices if e["cat"] == "model"}
    assert model_tids == {0}
    assert lanes[0] == "model"
    assert len([e for e in slices if e["cat"] == "model"]) == run.model_requests
    tool_slices = {e["args"]["call_id"]: e for e in slices if e["cat"] == "tool"}
    assert len(tool_slices) == 4
    by_name = {e["name"]: e for e in tool_slices.values()}
    # The two reads ran at the same time, so they are on different lanes.
    assert by_name["read_a"]["tid"] != by_name["read_b"]["tid"]
    assert all(lanes[e["tid"]].startswith("tools") for e in tool_slices.values())
    # One arrow per recorded dependency, from the call waited for to the waiting call.
    arrows = {
        (s["tid"], f["tid"], s["cat"])
        for s in events
        if s["ph"] == "s"
        for f in events
        if f["ph"] == "f" and f["id"] == s["id"]
    }
    edges = sum(len(i.depends_on) + len(i.awaited) for i in run.trace.of_kind("tool"))
    assert len([e for e in events if e["ph"] == "s"]) == edges
    use = next(i for i in run.trace.of_kind("tool") if i.name == "use")
    read_a = next(i for i in run.trace.of_kind("tool") if i.name == "read_a")
    assert use.depends_on == (read_a.call_id,)
    assert (by_name["read_a"]["tid"], by_name["use"]["tid"], "dependency") in arrows
    write = next(i for i in run.trace.of_kind("tool") if i.name == "write")
    assert len(write.depends_on) == 2  # both reads
    assert (by_name["read_b"]["tid"], by_name["write"]["tid"], "dependency") in arrows
    assert by_name["use"]["args"]["future_id"] == "future_3"
    assert by_name["write"]["args"]["wait_ms"] > 0


def test_overlapping_requests_and_a_dependency_that_never_ran() -> None:
    """A hand-made trace (e.g. two runs merged): overlapping model requests get a second
    model lane; a dependency on a call with no interval draws no arrow."""
    trace = a.Trace(
        [
            a.Interval(kind="model", start=0.0, end=2.0, name="model"),
            a.Interval(kind="model", start=1.0, end=3.0, name="model", request=1),
            a.Interval(kind="tool", start=2.0, end=4.0, name="t", call_id="c1"),
            a.Interval(kind="tool", start=2.5, end=3.0, name="t", call_id="c2"),
            a.Interval(kind="tool", start=4.0, end=4.0, name="u", call_id="c3", depends_on=("c1",)),
            a.Interval(kind="tool", start=5.0, end=6.0, name="v", call_id="c4", depends_on=("x",)),
        ]
    )
    doc = a.chrome_trace(trace, name="merged")
    check_trace_events(doc)
    events = doc["traceEvents"]
    model_tids = sorted({e["tid"] for e in events if e.get("cat") == "model"})
    assert model_tids == [0, 1]
    assert len([e for e in events if e["ph"] == "s"]) == 1
    assert events[0]["args"]["name"] == "merged"
    tools = {e["args"]["call_id"]: e["tid"] for e in events if e.get("cat") == "tool"}
    assert tools["c1"] != tools["c2"]
    assert tools["c3"] == tools["c1"]  # c1's lane is free again at 4.0


def test_the_checker_rejects_broken_documents() -> None:
    """The validator above can fail: an unpaired flow and overlapping slices on one lane."""
    good = a.chrome_trace(agent_trace().trace)
    unpaired = {"traceEvents": [e for e in good["traceEvents"] if e["ph"] != "f"]}
    with pytest.raises(AssertionError):
        check_trace_events(unpaired)
    xs = [dict(e) for e in good["traceEvents"] if e["ph"] == "X"]
    for e in xs:
        e["tid"] = 0
    with pytest.raises(AssertionError):
        check_trace_events({"traceEvents": xs})
