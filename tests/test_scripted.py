"""ScriptedModel: scripted turns, simulated decode time and streaming."""

from __future__ import annotations

import json
import math

import anyio
import pytest
from runtime_support import run_mock

import asyncfc as a
from asyncfc._scripted import CALL_OVERHEAD_TOKENS

SETTINGS = a.ModelSettings()
MESSAGES = [a.UserMessage(content="hi")]


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def test_decode_time_is_ttft_plus_tokens_over_speed() -> None:
    turn = a.Reply(text="Here you go!", calls=[("search", {"q": "paris"}), ("fetch", "{}")])
    model = a.ScriptedModel(script=[turn], ttft=0.3, tokens_per_second=50)
    expected_tokens = (
        tokens("Here you go!")
        + tokens("search" + json.dumps({"q": "paris"}))
        + CALL_OVERHEAD_TOKENS
        + tokens("fetch{}")
        + CALL_OVERHEAD_TOKENS
    )

    async def main() -> tuple[a.ModelResponse, float]:
        t0 = anyio.current_time()
        response = await model.request(MESSAGES, [], SETTINGS)
        return response, anyio.current_time() - t0

    response, elapsed = run_mock(main)
    assert expected_tokens == 3 + 5 + 4 + 2 + 4  # 12, 20 and 7 characters
    assert elapsed == pytest.approx(0.3 + expected_tokens / 50, abs=1e-9)
    assert response.usage.output_tokens == expected_tokens
    assert response.finish_reason == "tool_calls"
    calls = response.message.tool_calls
    assert [c.id for c in calls] == ["call_1", "call_2"]
    assert calls[0].arguments == json.dumps({"q": "paris"})
    assert calls[1].arguments == "{}"
    assert response.message.content == "Here you go!"


def test_no_speed_means_instant_decode_and_text_turn_stops() -> None:
    model = a.ScriptedModel(script=[a.Reply(text="done")], ttft=0.25)

    async def main() -> tuple[a.ModelResponse, float]:
        response = await model.request(MESSAGES, [], SETTINGS)
        return response, anyio.current_time()

    response, elapsed = run_mock(main)
    assert elapsed == 0.25
    assert response.finish_reason == "stop"


def test_streaming_emits_each_call_when_decoded_then_done() -> None:
    turn = a.Reply(text="abcdefgh", calls=[("f", {"k": 1}), ("g", {"k": 22})])
    model = a.ScriptedModel(script=[turn], ttft=0.5, tokens_per_second=10)
    t_text = tokens("abcdefgh") / 10
    t_f = (tokens("f" + json.dumps({"k": 1})) + CALL_OVERHEAD_TOKENS) / 10
    t_g = (tokens("g" + json.dumps({"k": 22})) + CALL_OVERHEAD_TOKENS) / 10

    async def main() -> list[tuple[float, a.StreamEvent]]:
        seen: list[tuple[float, a.StreamEvent]] = []
        async with model.stream(MESSAGES, [], SETTINGS) as events:
            async for event in events:
                seen.append((anyio.current_time(), event))
        return seen

    seen = run_mock(main)
    kinds = [type(e).__name__ for _, e in seen]
    assert kinds == ["TextDelta", "ToolCallDone", "ToolCallDone", "StreamDone"]
    times = [t for t, _ in seen]
    assert times[0] == pytest.approx(0.5 + t_text)
    assert times[1] == pytest.approx(0.5 + t_text + t_f)
    assert times[2] == pytest.approx(0.5 + t_text + t_f + t_g)
    assert times[3] == pytest.approx(times[2])
    done = seen[3][1]
    assert isinstance(done, a.StreamDone)
    first, second = seen[1][1], seen[2][1]
    assert isinstance(first, a.ToolCallDone)
    assert isinstance(second, a.ToolCallDone)
    assert (first.index, second.index) == (0, 1)
    assert done.response.message.tool_calls == (first.call, second.call)


def test_streamed_and_requested_turns_take_the_same_time() -> None:
    turn = a.Reply(text="x" * 37, calls=[("f", {"a": "y" * 13})] * 3)

    async def main() -> tuple[float, float]:
        m1 = a.ScriptedModel(script=[turn], ttft=0.1, tokens_per_second=40)
        m2 = a.ScriptedModel(script=[turn], ttft=0.1, tokens_per_second=40)
        t0 = anyio.current_time()
        await m1.request(MESSAGES, [], SETTINGS)
        t1 = anyio.current_time()
        async with m2.stream(MESSAGES, [], SETTINGS) as events:
            async for _ in events:
                pass
        return t1 - t0, anyio.current_time() - t1

    plain, streamed = run_mock(main)
    assert streamed == pytest.approx(plain)


def test_script_exhausted() -> None:
    model = a.ScriptedModel(script=[a.Reply(text="one")])

    async def main() -> None:
        await model.request(MESSAGES, [], SETTINGS)
        await model.request(MESSAGES, [], SETTINGS)

    with pytest.raises(a.ScriptExhausted, match="script has 1 replies; reply 2 asked"):
        run_mock(main)


def test_callable_script_sees_what_the_model_was_shown() -> None:
    shown: list[a.ScriptView] = []

    def script(view: a.ScriptView) -> a.Reply:
        shown.append(view)
        if view.index == 0:
            return a.Reply(calls=[("f", {})])
        return a.Reply(text=str(view.result_for("call_1")))

    model = a.ScriptedModel(script=script)
    results = a.ToolResultsMessage(
        results=(a.ToolResult(call_id="call_1", name="f", content="future_1 (pending)"),)
    )

    async def main() -> list[a.ModelResponse]:
        tools = [{"name": "f", "description": "", "parameters": {}}]
        r1 = await model.request(MESSAGES, tools, SETTINGS)
        r2 = await model.request([*MESSAGES, r1.message, results], tools, SETTINGS)
        return [r1, r2]

    _, r2 = run_mock(main)
    assert r2.message.content == "future_1 (pending)"
    assert [v.index for v in shown] == [0, 1]
    assert shown[0].tool_names() == ["f"]
    assert shown[0].result_for("call_1") is None
    assert model.requests == shown
