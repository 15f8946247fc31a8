"""Recorded OpenAI-format conversations replayed in every mode (asyncfc.replay._recorded).

Everything runs on trio's MockClock with a decode of exactly 1 s per request (first token at
1 s, output tokens free), so each mode's wall time is a sum of scripted durations and
recorded latencies, computed by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from trio.testing import MockClock

from asyncfc.replay import (
    Behaviour,
    DecodeModel,
    load_conversations,
    plan_from_openai_messages,
    replay_conversations,
)
from asyncfc.replay._command import main

FIXTURE = Path(__file__).parent / "data" / "recorded_conversation.json"
DECODE = DecodeModel(ttft=1.0, tokens_per_second=1e12)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> Any:
    return ("trio", {"clock": MockClock(autojump_threshold=0)})


def conversation() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def test_plan_finds_turns_latencies_and_a_reachable_dependency() -> None:
    recorded = plan_from_openai_messages(conversation()["messages"])
    plan = recorded.plan
    assert plan.prompts[0].startswith("Find a flight")
    assert [c.name for c in plan.flat()] == ["search_flights", "get_weather", "book_flight"]
    book = plan.flat()[2]
    assert book.uses == (0,)  # AF1234 sits at .flights[0].id
    assert book.needs == ()
    assert plan.flat()[1].uses == ()  # "Paris" is in the prompt
    assert plan.flat()[1].needs == ()
    assert recorded.latencies == (2.0, 1.0, 3.0)
    assert recorded.system_prompt == "You are a travel agent."
    assert plan.arguments is not None
    assert plan.arguments(2, {0: "future_1"}) == {"flight_id": "future_1.flights[0].id"}
    assert plan.arguments(2, None) == {"flight_id": "AF1234"}


async def test_every_mode_side_by_side_on_a_fake_clock() -> None:
    report = await replay_conversations([conversation()], decode=DECODE, assume_pure=True)
    rows = {r["mode"]: r for r in report.rows}
    # sequential: 4 requests (3 calls + answer) + 2 + 1 + 3 s of tools.
    assert rows["sequential"]["wall_mean"] == pytest.approx(10.0)
    assert rows["sequential"]["model_requests_mean"] == 4
    # parallel: [search, weather] together (2 s), then book (3 s), then the answer.
    assert rows["parallel"]["wall_mean"] == pytest.approx(8.0)
    assert rows["parallel"]["model_requests_mean"] == 3
    # async_parallel: book is written at once with future_1.flights[0].id and awaited in
    # the same response; it runs from 3 s to 6 s, and the answer is written once: as many
    # requests as parallel, 1 s sooner.
    assert rows["async_parallel"]["wall_mean"] == pytest.approx(7.0)
    assert rows["async_parallel"]["model_requests_mean"] == 3
    for r in rows.values():
        assert r["input_tokens_mean"] > 0
        assert r["output_tokens_mean"] > 0
    # Every call found its recorded result, with the reference resolved to AF1234.
    for outcomes in report.outcomes:
        for o in outcomes.values():
            assert not any(res.is_error for res in o.run.results.values()), o.mode


async def test_reference_rate_zero_awaits_and_copies() -> None:
    report = await replay_conversations(
        [conversation()],
        modes=["async_parallel"],
        decode=DECODE,
        assume_pure=True,
        behaviour=Behaviour(reference_rate=0.0),
    )
    outcome = report.outcomes[0]["async_parallel"]
    # Both awaits end a response that made calls (book needs search's value; the answer
    # reads book's): none is a request of its own.
    assert outcome.run.awaits == 2
    assert outcome.run.model_requests == 3
    book = next(c for c in outcome.run.calls if c.name == "book_flight")
    assert json.loads(book.arguments) == {"flight_id": "AF1234"}


async def test_separate_awaits_cost_a_request_each() -> None:
    """r = 0 (the paper's protocol): the answer written while book runs is asked again."""
    report = await replay_conversations(
        [conversation()],
        modes=["async_parallel"],
        decode=DECODE,
        assume_pure=True,
        behaviour=Behaviour(inline_await_rate=0.0),
    )
    outcome = report.outcomes[0]["async_parallel"]
    assert outcome.run.model_requests == 4
    assert outcome.wall == pytest.approx(7.0)


async def test_unlabelled_tools_serialise() -> None:
    report = await replay_conversations([conversation()], modes=["parallel"], decode=DECODE)
    # Unlabelled tools conflict, so the replayed model sends one call per request and the
    # runtime serialises them: 4 requests + 6 s of tools.
    assert report.rows[0]["wall_mean"] == pytest.approx(10.0)


def test_bad_conversations_are_rejected_precisely() -> None:
    messages = conversation()["messages"]
    orphan = [m for m in messages if m.get("tool_call_id") != "call_c"]
    with pytest.raises(ValueError, match=r"call_c .*no recorded result"):
        plan_from_openai_messages(orphan)
    with pytest.raises(ValueError, match="before any user message"):
        plan_from_openai_messages([messages[2]])
    with pytest.raises(ValueError, match="expected a list of messages"):
        load_conversations('[{"no": "messages"}]')


def test_load_json_jsonl_and_bare_message_lists() -> None:
    one = conversation()
    assert len(load_conversations(json.dumps(one))) == 1
    assert len(load_conversations(json.dumps(one["messages"]))) == 1
    jsonl = "\n".join(json.dumps(one) for _ in range(3))
    assert len(load_conversations(jsonl)) == 3


def test_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rows.json"
    assert (
        main(
            [
                str(FIXTURE),
                "--assume-pure",
                "--clock",
                "fake",
                "--ttft",
                "1",
                "--tps",
                "1e12",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    rows = {r["mode"]: r for r in json.loads(out.read_text())}
    assert rows["parallel"]["wall_mean"] == pytest.approx(8.0)
    assert "async_parallel" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.json")]) == 2
