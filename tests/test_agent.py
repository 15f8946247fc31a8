"""The agent loop (asyncfc._agent) and its trace: one scripted scenario per rule.

Every scenario runs under trio's MockClock with a ScriptedModel, so model and tool intervals
have exact times; timings are chosen so that no two events ever fall on the same instant.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from runtime_support import check_pairing, intervals_by_call, run_mock, timed_tool

import asyncfc as a
from asyncfc._protocol import NOTHING_TO_AWAIT

MODES: list[a.AgentMode] = ["sequential", "parallel", "async", "async_parallel"]
DELIVERY = "Results of earlier calls:"


def run_agent(
    script: Any,
    tools: Sequence[a.Tool],
    prompts: str | Sequence[str] = "go",
    *,
    ttft: float = 1.0,
    tps: float | None = None,
    **options: Any,
) -> tuple[a.AgentRun, a.ScriptedModel]:
    model = a.ScriptedModel(script=script, ttft=ttft, tokens_per_second=tps)
    agent = a.Agent(model=model, toolset=a.Toolset(tools), **options)

    async def main() -> a.AgentRun:
        return await agent.run(prompts)

    run = run_mock(main)
    check_invariants(run)
    return run, model


def check_invariants(run: a.AgentRun) -> None:
    """The shared contract (:func:`runtime_support.check_pairing`) and every future delivered at
    most once."""
    check_pairing(run)
    msgs = run.messages
    delivered: list[str] = []
    for m in msgs:
        if isinstance(m, a.UserMessage) and m.content.startswith(DELIVERY):
            block = m.content.split("\n\n")[0]
            delivered += [line.split(" ")[0] for line in block.splitlines()[1:]]
    assert len(delivered) == len(set(delivered)), f"delivered twice: {delivered}"


def deliveries(messages: Sequence[a.Message]) -> list[str]:
    return [m.content for m in messages if isinstance(m, a.UserMessage) and DELIVERY in m.content]


def model_spans(run: a.AgentRun) -> list[tuple[float, float]]:
    return [(i.start, i.end) for i in run.trace.of_kind("model")]


def tool_spans(run: a.AgentRun) -> dict[str, tuple[float, float]]:
    return {k: (v.start, v.end) for k, v in intervals_by_call(run.trace).items()}


def pure(name: str, seconds: float, **kw: Any) -> a.Tool:
    return timed_tool(name, seconds, reads=(), writes=(), **kw)


# -- delivery and await_future ----------------------------------------------------------


def test_delivery_before_each_request_exactly_once() -> None:
    script = [
        a.Reply(calls=[("A", {"x": 1}), ("B", {"x": 2})]),  # r0 [0,1]; A [1,1.9], B [1,3.5]
        a.Reply(calls=[("C", {"x": 3})]),  # r1 [1,2]; nothing settled at 1; C [2,2.5]
        a.Reply(calls=[("await_future", {"future_ids": ["future_2"]})]),  # r2 [2,3]: gets A
        a.Reply(text="done"),  # r3 from 3.5: gets C only (B was awaited)
    ]
    run, model = run_agent(
        script,
        [pure("A", 0.9), pure("B", 2.5), pure("C", 0.5)],
        mode="async_parallel",
    )
    assert run.model_requests == 4
    assert run.stop_reasons == ["final"]
    shown = [v.messages[-1] for v in model.requests]
    assert not isinstance(shown[1], a.UserMessage)
    assert isinstance(shown[2], a.UserMessage)
    assert shown[2].content == f"{DELIVERY}\nfuture_1 = 1"
    assert isinstance(shown[3], a.UserMessage)
    assert shown[3].content == f"{DELIVERY}\nfuture_3 = 3"
    # the await result comes back as the await call's own tool result
    await_result = run.results["call_4"]
    assert await_result.content == "future_2 = 2"
    assert run.awaits == 1
    assert model_spans(run) == [(0, 1), (1, 2), (2, 3), (3.5, 4.5)]
    # the placeholders the model saw
    first_results = run.messages[3]
    assert isinstance(first_results, a.ToolResultsMessage)
    assert [r.content for r in first_results.results] == [
        "future_1 (pending)",
        "future_2 (pending)",
    ]
    assert run.futures == {"call_1": "future_1", "call_2": "future_2", "call_3": "future_3"}
    assert run.results["call_2"].value == 2


def test_delivery_lists_errors_and_several_futures_in_one_message() -> None:
    script = [
        a.Reply(calls=[("ok", {"x": "v"}), ("bad", {})]),
        a.Reply(text="waiting"),
        a.Reply(text="final"),
    ]
    run, model = run_agent(script, [pure("ok", 3), pure("bad", 2, fail=True)], mode="async")
    assert deliveries(model.requests[2].messages) == [
        f"{DELIVERY}\nfuture_1 = v\nfuture_2 failed: tool 'bad' raised RuntimeError: bad broke"
    ]
    assert run.outputs == ["final"]


def test_await_future_errors_and_timeout() -> None:
    script = [
        a.Reply(calls=[("slow", {"x": 1}), ("bad", {})]),
        a.Reply(
            calls=[
                ("await_future", {"future_ids": ["future_9"]}),
                ("await_future", {"future_ids": [1]}),
                ("await_future", {"future_ids": ["future_1"], "timeout": -1}),
                ("await_future", {"future_ids": ["future_2", "future_1"], "timeout": 2}),
                ("await_future", {"future_ids": "future_1"}),
            ]
        ),
        a.Reply(text="done"),
    ]
    run, _ = run_agent(script, [pure("slow", 10), pure("bad", 1, fail=True)], mode="async")
    r = [run.results[f"call_{i}"] for i in range(3, 8)]
    assert r[0].error_kind == "unknown_future"
    assert r[0].content == "Error: unknown future id(s): future_9 (futures issued so far: 2)"
    assert r[1].error_kind == "invalid_arguments"
    assert r[2].content == "Error: timeout must be a positive number"
    # r1 ends at 2 (decode 1 + 1); the timed await waits 2 s: bad is done, slow is not.
    assert r[3].content == (
        "future_2 failed: tool 'bad' raised RuntimeError: bad broke\n"
        "future_1 still pending after 2 s"
    )
    assert r[4].content == "future_1 = 1"
    assert run.awaits == 5
    # slow was awaited in full: it is not delivered again before the last request
    assert deliveries(run.messages) == []


def test_await_future_without_ids_waits_for_the_calls_before_it_in_its_response() -> None:
    script = [
        a.Reply(calls=[("await_future", {})]),  # nothing before it: nothing to wait for
        a.Reply(calls=[("fast", {"x": 1}), ("slow", {"x": 2}), ("await_future", {})]),
        a.Reply(calls=[("fast", {"x": 3}), ("await_future", {})]),  # has seen both values
        a.Reply(text="done"),
    ]
    run, _ = run_agent(script, [pure("fast", 1), pure("slow", 10)], mode="async_parallel")
    assert run.results["call_1"].content == NOTHING_TO_AWAIT
    assert not run.results["call_1"].is_error
    assert run.results["call_4"].content == "future_1 = 1\nfuture_2 = 2"
    assert run.awaits == 3
    assert run.model_requests == 4  # no answer is asked again
    assert run.wait_only_responses == 1  # the first: an await alone, with nothing to wait for
    # Both values were shown by the await, so no delivery repeats them.
    assert not any("future_1" in d or "future_2" in d for d in deliveries(run.messages))
    # The await held the next request until slow (10 s) had settled.
    requests = model_spans(run)
    assert requests[2][0] == pytest.approx(requests[1][1] + 10.0)


def test_await_future_is_an_unknown_tool_in_sync_modes() -> None:
    script = [a.Reply(calls=[("await_future", {"future_ids": ["future_1"]})]), a.Reply(text="ok")]
    run, _ = run_agent(script, [pure("p", 1)], mode="parallel")
    assert run.results["call_1"].error_kind == "unknown_tool"
    assert run.awaits == 0


def test_unknown_future_is_reported_at_once_in_async_mode() -> None:
    script = [a.Reply(calls=[("p", {"x": "future_5"})]), a.Reply(text="ok")]
    run, model = run_agent(script, [pure("p", 1)], mode="async")
    results = model.requests[1].messages[-1]
    assert isinstance(results, a.ToolResultsMessage)
    (only,) = results.results
    assert only.error_kind == "unknown_future"
    assert only.content == "Error: future_5 does not exist (futures issued so far: none)"
    assert run.trace.of_kind("tool") == []


# -- final answers and user turns -------------------------------------------------------


def test_final_answer_waits_for_pending_futures_and_gets_one_more_turn() -> None:
    script = [a.Reply(calls=[("p", {"x": 7})]), a.Reply(text="too early"), a.Reply(text="7!")]
    run, model = run_agent(script, [pure("p", 5)], mode="async")
    # r0 [0,1], p [1,6], r1 [1,2] answers while p pends: wait until 6, then r2 [6,7]
    assert model_spans(run) == [(0, 1), (1, 2), (6, 7)]
    assert run.model_requests == 3
    assert run.outputs == ["7!"]
    assert run.stop_reasons == ["final"]
    assert deliveries(model.requests[2].messages) == [f"{DELIVERY}\nfuture_1 = 7"]


def test_final_turns_bounds_the_extra_requests() -> None:
    script = [a.Reply(calls=[("p", {"x": 7})]), a.Reply(text="too early")]
    run, _ = run_agent(script, [pure("p", 5)], mode="async", final_requests=0)
    assert run.model_requests == 2
    assert run.outputs == ["too early"]
    assert run.results["call_1"].value == 7  # waited for: the run still finishes the call
    assert tool_spans(run) == {"call_1": (1, 6)}


def test_final_turns_is_a_per_turn_budget() -> None:
    # Each extra turn the model answers early again while a new call pends.
    script = [
        a.Reply(calls=[("p", {"x": 1})]),
        a.Reply(text="early"),  # waits, then one more request
        a.Reply(calls=[("p", {"x": 2})]),
        a.Reply(text="early again"),  # pending again, but final_requests=1 is spent
    ]
    run, _ = run_agent(script, [pure("p", 5)], mode="async", final_requests=1)
    assert run.model_requests == 4
    assert run.outputs == ["early again"]


def test_no_extra_turn_when_everything_was_seen() -> None:
    script = [
        a.Reply(calls=[("p", {"x": 1})]),  # r0 [0,1]; p [1,1.5]
        a.Reply(calls=[("nope", {})]),  # r1 [1,2]: an unknown tool, answered at once
        a.Reply(text="done"),  # r2 [2,3] was shown p's result: no extra request
    ]
    run, model = run_agent(script, [pure("p", 0.5)], mode="async")
    assert run.model_requests == 3
    assert run.outputs == ["done"]
    assert deliveries(model.requests[2].messages) == [f"{DELIVERY}\nfuture_1 = 1"]


def test_user_turns_wait_for_previous_calls_and_carry_leftover_results() -> None:
    script = [
        a.Reply(calls=[("put", {"x": "v1"})]),  # r0 [0,1]; put [1,4]
        a.Reply(text="saved"),  # r1 [1,2]; drain to 4 (final_requests=0: no extra turn)
        a.Reply(calls=[("get", {"x": "k"})]),  # r2: first request of user turn 2
        a.Reply(text="got"),
    ]
    tools = [
        timed_tool("put", 3, reads=(), writes=["kv"]),
        timed_tool("get", 1, reads=["kv"], writes=()),
    ]
    run, model = run_agent(
        script, tools, ["save it", "read it"], mode="async_parallel", final_requests=0
    )
    assert run.outputs == ["saved", "got"]
    put_end = tool_spans(run)["call_1"][1]
    turn2_first = model_spans(run)[2][0]
    assert put_end == 4
    assert turn2_first >= put_end
    second_user = model.requests[2].messages[-1]
    assert isinstance(second_user, a.UserMessage)
    assert second_user.content == f"{DELIVERY}\nfuture_1 = v1\n\nread it"


# -- modes ------------------------------------------------------------------------------


def two_call_script() -> list[a.Reply]:
    # the async modes answer early at the second request and get one more
    return [
        a.Reply(calls=[("A", {"x": 1}), ("B", {"x": 2})]),
        a.Reply(text="done"),
        a.Reply(text="final"),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_settings_sent_per_mode(mode: a.AgentMode) -> None:
    _, model = run_agent(two_call_script(), [pure("A", 1), pure("B", 1)], mode=mode)
    expected = mode in ("parallel", "async_parallel")
    assert all(v.settings.parallel_tool_calls is expected for v in model.requests)


def test_sequential_runs_calls_one_at_a_time() -> None:
    run, model = run_agent(two_call_script(), [pure("A", 1), pure("B", 2)], mode="sequential")
    assert tool_spans(run) == {"call_1": (1, 2), "call_2": (2, 4)}
    assert model_spans(run) == [(0, 1), (4, 5)]
    # sync modes show real results, never placeholders or deliveries
    results = model.requests[1].messages[-1]
    assert isinstance(results, a.ToolResultsMessage)
    assert [r.content for r in results.results] == ["1", "2"]
    assert deliveries(run.messages) == []


def test_parallel_overlaps_a_turns_calls_but_waits_before_the_next_request() -> None:
    run, _ = run_agent(two_call_script(), [pure("A", 1), pure("B", 2)], mode="parallel")
    assert tool_spans(run) == {"call_1": (1, 2), "call_2": (1, 3)}
    assert model_spans(run) == [(0, 1), (3, 4)]


@pytest.mark.parametrize("mode", ["async", "async_parallel"])
def test_async_overlaps_decoding_with_execution(mode: a.AgentMode) -> None:
    script = [
        a.Reply(calls=[("A", {"x": 1})]),
        a.Reply(calls=[("B", {"x": 2})]),
        a.Reply(calls=[("await_future", {"future_ids": ["future_1", "future_2"]})]),
        a.Reply(text="done"),
    ]
    run, _ = run_agent(script, [pure("A", 1.5), pure("B", 1.5)], mode=mode)
    spans = tool_spans(run)
    models = model_spans(run)
    assert spans["call_1"] == (1, 2.5)
    assert models[1] == (1, 2)  # decoding B overlaps A's execution
    assert any(s < me and ms < e for s, e in spans.values() for ms, me in models if ms >= s), (
        "a tool interval overlaps a later model interval"
    )
    assert run.trace.metrics().overlap_saving > 0


def test_labels_hold_back_conflicting_async_calls_and_the_ablation_serializes() -> None:
    script = [
        a.Reply(calls=[("put", {"x": 1}), ("put2", {"x": 2}), ("get", {"x": 3})]),
        a.Reply(text="done"),
        a.Reply(text="final"),
    ]
    tools = [
        timed_tool("put", 1, reads=(), writes=["kv:/a"]),
        timed_tool("put2", 1, reads=(), writes=["kv:/b"]),
        timed_tool("get", 1, reads=["kv:/a"], writes=()),
    ]
    run, _ = run_agent(script, tools, mode="async_parallel")
    assert tool_spans(run) == {"call_1": (1, 2), "call_2": (1, 2), "call_3": (2, 3)}
    run, _ = run_agent(script, tools, mode="async_parallel", respect_labels=False)
    assert tool_spans(run) == {"call_1": (1, 2), "call_2": (2, 3), "call_3": (3, 4)}


def test_max_turns_stops_the_turn() -> None:
    def script(view: a.ScriptView) -> a.Reply:
        return a.Reply(calls=[("p", {"x": view.index})])

    run, _ = run_agent(script, [pure("p", 0.1)], mode="parallel", max_requests=3)
    assert run.model_requests == 3
    assert run.stop_reasons == ["max_requests"]


def test_return_direct_stops_sync_modes() -> None:
    async def answer(x: str) -> str:
        return f"direct {x}"

    tools = [a.tool(answer, reads=(), writes=(), return_direct=True)]
    script = [a.Reply(calls=[("answer", {"x": "42"})])]
    run, _ = run_agent(script, tools, mode="parallel")
    assert run.stop_reasons == ["return_direct"]
    assert run.outputs == ["direct 42"]


def test_provider_error_lets_running_calls_finish_then_propagates() -> None:
    finished: list[float] = []

    class Failing:
        def __init__(self) -> None:
            self.inner = a.ScriptedModel(script=[a.Reply(calls=[("p", {"x": 1})])], ttft=1)

        async def request(self, *args: Any) -> a.ModelResponse:
            if self.inner.requests:
                raise a.ModelRateLimitError("slow down", status=429)
            return await self.inner.request(*args)

    async def p(x: int) -> int:
        import anyio

        await anyio.sleep(3)
        finished.append(anyio.current_time())
        return x

    agent = a.Agent(
        model=Failing(),  # type: ignore[arg-type]
        toolset=a.Toolset([a.tool(p, reads=(), writes=())]),
        mode="async",
    )

    async def main() -> None:
        await agent.run("go")

    with pytest.raises(a.ModelRateLimitError, match="slow down"):
        run_mock(main)
    assert finished == [4]


def test_cancelling_a_run_leaves_nothing_running() -> None:
    import anyio

    log: list[str] = []

    async def p(x: int) -> int:
        await anyio.sleep(10)
        log.append("finished")
        return x

    script = [
        a.Reply(calls=[("p", {"x": 1})]),
        a.Reply(calls=[("p", {"x": 2})]),
        a.Reply(text="done"),
    ]
    model = a.ScriptedModel(script=script, ttft=1)
    agent = a.Agent(model=model, toolset=a.Toolset([a.tool(p, reads=(), writes=())]), mode="async")

    async def main() -> None:
        with anyio.move_on_after(3):
            await agent.run("go")
        await anyio.sleep(60)

    run_mock(main)
    assert log == []


# -- streaming and early dispatch --------------------------------------------------------


def stream_script() -> list[a.Reply]:
    return [
        a.Reply(calls=[("get", {"x": "a"}), ("put", {"x": "bb"}), ("get", {"x": "c"})]),
        a.Reply(text="done"),
        a.Reply(text="final"),
    ]


def stream_tools(log: list[tuple[str, Any]]) -> list[a.Tool]:
    return [
        timed_tool("get", 1, reads=["kv:/r"], writes=(), log=log),
        timed_tool("put", 1, reads=(), writes=["kv:/w"], log=log),
    ]


@pytest.mark.parametrize("mode", ["async", "async_parallel", "parallel"])
def test_streaming_dispatches_each_call_when_complete(mode: a.AgentMode) -> None:
    log: list[tuple[str, Any]] = []
    run, _ = run_agent(
        stream_script(), stream_tools(log), mode=mode, streaming=True, ttft=0.5, tps=10
    )
    first_model = model_spans(run)[0]
    spans = tool_spans(run)
    # the last call is complete only when the stream ends
    assert spans["call_1"][0] < spans["call_2"][0] < spans["call_3"][0] == first_model[1]
    assert sorted(x for _, x in log) == ["a", "bb", "c"]  # no call dispatched twice
    assert len(run.trace.of_kind("tool")) == 3
    if mode == "parallel":
        # sync modes still wait for every result before the next request
        assert model_spans(run)[1][0] >= max(e for _, e in spans.values())


def test_read_only_early_dispatch_holds_back_a_writer_and_everything_after() -> None:
    log: list[tuple[str, Any]] = []
    run, _ = run_agent(
        stream_script(),
        stream_tools(log),
        mode="async_parallel",
        streaming=True,
        early_dispatch="read_only",
        ttft=0.5,
        tps=10,
    )
    end = model_spans(run)[0][1]
    spans = tool_spans(run)
    assert spans["call_1"][0] < end
    assert spans["call_2"][0] == end
    assert spans["call_3"][0] == end
    assert sorted(x for _, x in log) == ["a", "bb", "c"]


def test_streaming_without_labels_holds_back_everything_in_read_only_mode() -> None:
    log: list[tuple[str, Any]] = []
    run, _ = run_agent(
        stream_script(),
        stream_tools(log),
        mode="async",
        streaming=True,
        early_dispatch="read_only",
        respect_labels=False,
        ttft=0.5,
        tps=10,
    )
    end = model_spans(run)[0][1]
    assert tool_spans(run)["call_1"][0] >= end


# -- the trace ---------------------------------------------------------------------------


def metrics_scenario() -> a.AgentRun:
    script = [
        a.Reply(calls=[("A", {"x": 1}), ("B", {"x": 2})]),  # r0 [0,1]; A [1,3]; B [1,1.5]
        a.Reply(calls=[("C", {"x": "future_1"})]),  # r1 [1,2]; C waits for A: [3,4]
        a.Reply(text="early"),  # r2 [2,3]: B delivered; answers early, waits until 4
        a.Reply(text="done"),  # r3 [4,5]
    ]
    run, _ = run_agent(script, [pure("A", 2), pure("B", 0.5), pure("C", 1)], mode="async_parallel")
    return run


def test_trace_metrics_match_hand_computation() -> None:
    run = metrics_scenario()
    assert model_spans(run) == [(0, 1), (1, 2), (2, 3), (4, 5)]
    assert tool_spans(run) == {"call_1": (1, 3), "call_2": (1, 1.5), "call_3": (3, 4)}
    assert intervals_by_call(run.trace)["call_3"].depends_on == ("call_1",)
    m = run.trace.metrics()
    assert m.wall == 5
    assert m.t_llm == 4
    assert m.t_tool == 3.5
    assert m.t_cp == 3  # A then C
    assert m.bound == pytest.approx(7.5 / 4)
    assert m.saving == pytest.approx(2.5)  # 4 + 3.5 - 5
    assert m.overlap_saving == pytest.approx(2.0)  # D(M)=4 + D(E)=3 - D(M∪E)=5
    assert m.parallel_saving == pytest.approx(0.5)  # S(E)=3.5 - D(E)=3
    assert m.saving == pytest.approx(m.overlap_saving + m.parallel_saving)
    assert (m.model_calls, m.tool_calls) == (4, 3)


def test_critical_path_follows_label_conflict_edges() -> None:
    script = [a.Reply(calls=[("w", {"x": 1}), ("w", {"x": 2})]), a.Reply(text="done")]
    run, _ = run_agent(script, [timed_tool("w", 2, reads=(), writes=["kv"])], mode="parallel")
    m = run.trace.metrics()
    assert m.t_cp == 4
    assert m.t_tool == 4


def test_trace_json_round_trip() -> None:
    run = metrics_scenario()
    data = run.trace.to_dict()
    assert data["version"] == 3
    assert json.loads(run.trace.to_json()) == json.loads(json.dumps(data))
    row = next(r for r in data["intervals"] if r["call_id"] == "call_3")
    assert row == {
        "kind": "tool",
        "start": 3,
        "end": 4,
        "name": "C",
        "call_id": "call_3",
        "future_id": "future_3",
        "depends_on": ["call_1"],
        "request": 1,
        "ok": True,
        "user_turn": 0,
        "awaited": [],
        "input_tokens": 0,
        "output_tokens": 0,
        "submitted": 2,
    }
    assert set(data["metrics"]) == {
        "wall",
        "t_llm",
        "t_tool",
        "t_cp",
        "bound",
        "saving",
        "overlap_saving",
        "parallel_saving",
        "model_calls",
        "tool_calls",
        "input_tokens",
        "output_tokens",
    }
    again = a.Trace.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    assert again.metrics() == run.trace.metrics()


@pytest.mark.parametrize("streaming", [False, True])
def test_trace_records_user_turns_and_what_the_model_awaited(streaming: bool) -> None:
    script = [
        a.Reply(calls=[("A", {"x": 1})]),
        # B is written in the same message as the await, i.e. before its result was shown
        a.Reply(calls=[("await_future", {"future_ids": ["future_1"]}), ("B", {"x": 2})]),
        a.Reply(calls=[("C", {"x": 1})]),  # written after reading A's outcome
        a.Reply(text="done"),
        a.Reply(calls=[("D", {"x": 3})]),  # a new user turn starts with nothing awaited
        a.Reply(text="done again"),
    ]
    tools = [pure("A", 2), pure("B", 0.5), pure("C", 1), pure("D", 1.5)]
    run, _ = run_agent(
        script, tools, ["one", "two"], mode="async", final_requests=0, streaming=streaming
    )
    assert run.outputs == ["done", "done again"]
    by_call = intervals_by_call(run.trace)
    assert {k: (v.name, v.user_turn, v.awaited) for k, v in by_call.items()} == {
        "call_1": ("A", 0, ()),
        "call_3": ("B", 0, ()),
        "call_4": ("C", 0, ("call_1",)),
        "call_5": ("D", 1, ()),
    }
    assert [(m.request, m.user_turn) for m in run.trace.of_kind("model")] == [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 0),
        (4, 1),
        (5, 1),
    ]
    assert all(not v.depends_on for v in by_call.values())  # the scheduler enforced nothing
    # ... but the bound counts A -> C (awaited) and turn 0 -> D (the user-turn barrier)
    assert run.trace.critical_path() == pytest.approx(2 + 1 + 1.5)


def test_a_timed_out_await_is_not_an_edge() -> None:
    script = [
        a.Reply(calls=[("slow", {"x": 1})]),
        a.Reply(calls=[("await_future", {"future_ids": ["future_1"], "timeout": 1})]),
        a.Reply(calls=[("next", {"x": 2})]),
        a.Reply(text="done"),
    ]
    run, _ = run_agent(script, [pure("slow", 10), pure("next", 1)], mode="async", final_requests=0)
    assert "still pending" in run.results["call_2"].content
    assert intervals_by_call(run.trace)["call_3"].awaited == ()


def test_sequential_conversation_critical_path_spans_every_user_turn() -> None:
    script = [
        a.Reply(calls=[("A", {"x": 1})]),
        a.Reply(text="one done"),
        a.Reply(calls=[("B", {"x": 2})]),
        a.Reply(text="two done"),
    ]
    run, _ = run_agent(script, [pure("A", 2), pure("B", 3)], ["one", "two"], mode="sequential")
    assert [i.user_turn for i in run.trace.intervals] == [0, 0, 0, 1, 1, 1]
    m = run.trace.metrics()
    assert m.t_cp == pytest.approx(5)  # was 3 (the longest call) before the barrier counted
    assert m.bound == pytest.approx((m.t_llm + m.t_tool) / max(m.t_llm, 5))
