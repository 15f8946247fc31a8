"""What async mode costs: the final-answer policy, holding requests, tokens in the trace, and
call ids made unique (asyncfc._agent, asyncfc._delivery, asyncfc._callids).

Every scenario runs under trio's MockClock with a ScriptedModel (see tests/test_agent.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from runtime_support import run_mock, timed_tool
from test_agent import model_spans, run_agent

import asyncfc as a


def writer(name: str, seconds: float, **kw: Any) -> a.Tool:
    return timed_tool(name, seconds, reads=(), writes=["kv"], **kw)


def reader(name: str, seconds: float, **kw: Any) -> a.Tool:
    return timed_tool(name, seconds, reads=["kv"], writes=(), **kw)


def early_answer_script(tool: str) -> list[a.Reply]:
    """One call, then a final answer while it is still running, then (if asked) another."""
    return [a.Reply(calls=[(tool, {"x": 1})]), a.Reply(text="early"), a.Reply(text="again")]


@pytest.mark.parametrize(
    ("tools", "policy", "asked_again"),
    [
        pytest.param([writer("w", 5)], "reask", True, id="reask-write"),
        pytest.param([writer("w", 5)], "label_aware", False, id="label_aware-write"),
        pytest.param([reader("r", 5)], "label_aware", True, id="label_aware-read"),
        pytest.param([timed_tool("u", 5)], "label_aware", True, id="label_aware-unlabelled"),
        pytest.param([writer("w", 5, fail=True)], "label_aware", True, id="label_aware-error"),
    ],
)
def test_final_answer_policy(tools: list[a.Tool], policy: str, asked_again: bool) -> None:
    name = tools[0].name
    run, model = run_agent(
        early_answer_script(name), tools, ["go", "next"][:1], mode="async", final_answer=policy
    )
    assert run.outputs == ["again" if asked_again else "early"]
    assert run.model_requests == (3 if asked_again else 2)
    assert len(model.requests) == run.model_requests


def test_a_kept_answer_loses_nothing_the_outcome_reaches_the_next_user_turn() -> None:
    script = [
        a.Reply(calls=[("w", {"x": 1})]),
        a.Reply(text="saved"),  # w still running: kept under label_aware
        a.Reply(text="second turn"),
    ]
    run, model = run_agent(
        script, [writer("w", 5)], ["save", "next"], mode="async", final_answer="label_aware"
    )
    assert run.outputs == ["saved", "second turn"]
    assert run.results["call_1"].content == "1"
    first_of_turn_two = model.requests[2].messages[-1]
    assert isinstance(first_of_turn_two, a.UserMessage)
    assert first_of_turn_two.content.startswith("Results of earlier calls:\nfuture_1 = 1")
    assert first_of_turn_two.content.endswith("next")


def test_label_aware_is_the_same_as_reask_when_everything_was_seen() -> None:
    script = [
        a.Reply(calls=[("r", {"x": 1})]),
        a.Reply(calls=[("await_future", {"future_ids": ["future_1"]})]),
        a.Reply(text="done"),
    ]
    for policy in ("reask", "label_aware"):
        run, _ = run_agent(script, [reader("r", 5)], mode="async", final_answer=policy)
        assert run.model_requests == 3
        assert run.outputs == ["done"]


def test_hold_waits_for_a_result_instead_of_asking_with_nothing_new() -> None:
    # r0 [0,1] calls r (1 -> 4); r1 would start at 1 with nothing to read.  With hold=5 it
    # starts at 4, when r has settled, and reads the delivery.
    script = [a.Reply(calls=[("r", {"x": 1})]), a.Reply(text="done"), a.Reply(text="done")]
    held, model = run_agent(script, [reader("r", 3)], mode="async", hold=5)
    assert model_spans(held) == [(0, 1), (4, 5)]
    assert "future_1 = 1" in model.requests[1].messages[-1].content  # type: ignore[union-attr]
    assert held.model_requests == 2
    plain, _ = run_agent(script, [reader("r", 3)], mode="async")
    assert model_spans(plain) == [(0, 1), (1, 2), (4, 5)]  # the early answer was asked again
    assert plain.model_requests == 3


def test_hold_is_bounded_by_its_grace_period() -> None:
    script = [a.Reply(calls=[("r", {"x": 1})]), a.Reply(text="early"), a.Reply(text="done")]
    run, _ = run_agent(script, [reader("r", 10)], mode="async", hold=2)
    assert model_spans(run)[:2] == [(0, 1), (3, 4)]


def test_hold_for_reads_never_waits_for_a_pending_write() -> None:
    # r0 [0,1] calls w (write, 1 -> 4) and r (read, 1 -> 2).  r1 would start at 1.  With
    # hold_for="reads" it waits for r only (2), not for w.
    script = [
        a.Reply(calls=[("w", {"x": 1}), ("r", {"x": 2})]),
        a.Reply(text="done"),
        a.Reply(text="done"),
    ]
    tools = [writer("w", 3), timed_tool("r", 1, reads=["other"], writes=())]
    reads, _ = run_agent(script, tools, mode="async_parallel", hold=10, hold_for="reads")
    assert model_spans(reads)[:2] == [(0, 1), (2, 3)]
    # the answer at 3 leaves only w's successful write unseen: kept (label_aware default)
    assert reads.model_requests == 2
    anything, _ = run_agent(script, tools, mode="async_parallel", hold=10)
    assert model_spans(anything)[:2] == [(0, 1), (2, 3)]  # r settles first either way
    only_write = [a.Reply(calls=[("w", {"x": 1})]), a.Reply(text="done")]
    run, _ = run_agent(only_write, [writer("w", 3)], mode="async", hold=10, hold_for="reads")
    assert model_spans(run) == [(0, 1), (1, 2)]  # no read pending: asked at once
    held, _ = run_agent(only_write, [writer("w", 3)], mode="async", hold=10)
    assert model_spans(held) == [(0, 1), (4, 5)]  # hold_for="any" waits for the write


@pytest.mark.parametrize("bad", [{"final_answer": "maybe"}, {"hold": -1}, {"hold_for": "writes"}])
def test_invalid_policies_raise(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        a.Agent(model=a.ScriptedModel(script=[]), toolset=a.Toolset(), **bad)


def test_every_request_records_its_tokens_and_a_reread_prompt_counts_again() -> None:
    script = [a.Reply(calls=[("r", {"x": 1})]), a.Reply(text="done")]
    run, model = run_agent(script, [reader("r", 0.5)], mode="parallel")
    m = run.trace.of_kind("model")
    # r0 wrote one call: name "r" + '{"x": 1}' = 9 characters -> 3 tokens, plus the framing
    assert [i.output_tokens for i in m] == [3 + 4, 1]  # "done" = 4 characters = 1 token
    assert all(i.input_tokens > 0 for i in m)
    assert m[1].input_tokens > m[0].input_tokens  # the second request re-reads the first
    assert m[0].input_tokens == a.estimate_input_tokens(
        model.requests[0].messages, model.requests[0].tools
    )
    metrics = run.trace.metrics()
    assert metrics.input_tokens == sum(i.input_tokens for i in m)
    assert metrics.output_tokens == sum(i.output_tokens for i in m) > 0
    assert metrics.model_calls == run.model_requests == 2


# --- call ids ---------------------------------------------------------------------------------


class RepeatingIds:
    """A model whose server repeats one call id (and sends an empty one) in every response."""

    def __init__(self, inner: a.ScriptedModel) -> None:
        self.inner = inner

    async def request(self, messages: Any, tools: Any, settings: Any) -> a.ModelResponse:
        response = await self.inner.request(messages, tools, settings)
        return _rename(response)

    def stream(self, messages: Any, tools: Any, settings: Any) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def opened() -> Any:
            async with self.inner.stream(messages, tools, settings) as events:

                async def renamed() -> Any:
                    async for event in events:
                        if isinstance(event, a.ToolCallDone):
                            yield a.ToolCallDone(
                                call=_same_id(event.call, event.index), index=event.index
                            )
                        elif isinstance(event, a.StreamDone):
                            yield a.StreamDone(response=_rename(event.response))
                        else:
                            yield event

                gen = renamed()
                try:
                    yield gen
                finally:  # the agent stops reading at StreamDone
                    await gen.aclose()

        return opened()


def _same_id(call: a.ToolCall, index: int) -> a.ToolCall:
    import dataclasses

    return dataclasses.replace(call, id="" if index == 2 else "call_0")


def _rename(response: a.ModelResponse) -> a.ModelResponse:
    import dataclasses

    calls = tuple(_same_id(c, i) for i, c in enumerate(response.message.tool_calls))
    return dataclasses.replace(
        response, message=dataclasses.replace(response.message, tool_calls=calls)
    )


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("mode", ["parallel", "async_parallel"])
def test_repeated_and_empty_call_ids_get_fresh_ones_and_every_outcome_is_kept(
    streaming: bool, mode: a.AgentMode
) -> None:
    script = [
        a.Reply(calls=[("r", {"x": 1}), ("r", {"x": 2}), ("r", {"x": 3})]),
        a.Reply(calls=[("r", {"x": 4})]),
        a.Reply(text="done"),
        a.Reply(text="done"),
    ]
    model = RepeatingIds(a.ScriptedModel(script=script, ttft=1))
    agent = a.Agent(
        model=model, toolset=a.Toolset([reader("r", 1)]), mode=mode, streaming=streaming
    )
    run = run_mock(lambda: agent.run("go"))
    from runtime_support import check_pairing

    check_pairing(run)
    ids = [c.id for c in run.calls]
    assert ids == ["call_0", "call_0_2", "call_3", "call_0_3"]
    assert run.renamed_ids == {"call_0_2": "call_0", "call_3": "", "call_0_3": "call_0"}
    values = sorted(r.value for r in run.results.values())
    assert values == [1, 2, 3, 4]


# --- modes, decided once ----------------------------------------------------------------------


def test_mode_policies() -> None:
    table = {
        m: (p.futures, p.parallel_tool_calls, p.calls_together)
        for m in ("sequential", "parallel", "async", "async_parallel")
        if (p := a.ModePolicy.of(m))  # type: ignore[arg-type]
    }
    assert table == {
        "sequential": (False, False, False),
        "parallel": (False, True, True),
        "async": (True, False, True),
        "async_parallel": (True, True, True),
    }
    assert a.ModePolicy.of("parallel", respect_labels=False).label == "parallel_nolabels"
    with pytest.raises(ValueError, match="unknown mode 'turbo'"):
        a.ModePolicy.of("turbo")  # type: ignore[arg-type]


def test_the_agent_reads_its_policy() -> None:
    agent = a.Agent(model=a.ScriptedModel(script=[]), toolset=a.Toolset(), mode="async")
    assert agent.policy == a.ModePolicy.of("async")
    assert agent.model_settings().parallel_tool_calls is False
    assert [d["name"] for d in agent.tool_definitions()] == ["await_future"]
