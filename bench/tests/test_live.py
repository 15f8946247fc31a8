"""The real-model path of ``asyncfc-bench bench bfcl``: model specs, and whole BFCL tasks
played by the official ``openai`` SDK against the loopback server (scripted answers, real
HTTP)."""

from __future__ import annotations

import pytest
from asyncfc_bench import BfclEntry, load_multi_turn, parse_call
from asyncfc_bench._live import NO_KEY, LiveSettings, ModelSpec, open_model, run_bfcl_live
from loopback import (
    Loopback,
    Reply,
    chat_completion,
    json_reply,
    scripted_turns,
)

from asyncfc.models import OpenAIChatModel
from asyncfc.replay import Latency

TASK = "multi_turn_base_100"  # two user turns, one call each: get_stock_info, fund_account


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """asyncio only, as for every SDK test (see tests/models/conftest.py)."""
    return "asyncio"


def _entry() -> BfclEntry:
    return next(e for e in load_multi_turn("multi_turn_base") if e.id == TASK)


def _ground_truth_replies(entry: BfclEntry, *, finals_per_turn: int) -> list[Reply]:
    """One reply per ground-truth call (a single-call message), then the final answer(s)."""
    turns = [[parse_call(text) for text in turn] for turn in entry.ground_truth]
    return scripted_turns(turns, finals_per_turn=finals_per_turn)


# --- model specs -------------------------------------------------------------------------


def test_spec_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert ModelSpec.parse("openai:gpt-4o") == ModelSpec(
        provider="openai", name="gpt-4o", api_key="sk-env"
    )
    spec = ModelSpec.parse("openai-responses:o4", api_key="k")
    assert (spec.provider, spec.name, spec.api_key) == ("openai-responses", "o4", "k")
    assert ModelSpec.parse("local").provider == "local"
    # a base_url server without a key gets a placeholder: the SDKs refuse an empty key
    spec = ModelSpec.parse("anthropic:claude", base_url="http://127.0.0.1:9/")
    assert spec.api_key == NO_KEY
    # names may contain colons (Ollama tags)
    assert ModelSpec.parse("openai:qwen3:0.6b", base_url="http://x").name == "qwen3:0.6b"


@pytest.mark.parametrize("text", ["gpt-4o", "openai:", "mistral:large", "local:x", ""])
def test_spec_rejects_unknown_forms(text: str) -> None:
    with pytest.raises(ValueError, match="openai:<name>"):
        ModelSpec.parse(text)


def test_spec_needs_a_key_without_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        ModelSpec.parse("anthropic:claude")
    with pytest.raises(ValueError, match="drop --base-url"):
        ModelSpec.parse("local", base_url="http://127.0.0.1:1/v1")


# --- whole tasks over HTTP -----------------------------------------------------------------


@pytest.mark.anyio
async def test_sequential_and_async_runs_are_scored(
    server: Loopback, chat: OpenAIChatModel
) -> None:
    entry = _entry()
    # sequential: one final answer per user turn; async: the early answer, then (for the
    # read, get_stock_info) the one request that shows the model its result; the early answer
    # after fund_account, a successful write, is kept (final_answer="label_aware", the
    # default), so the last scripted reply is left over
    server.add(*_ground_truth_replies(entry, finals_per_turn=1))
    server.add(*_ground_truth_replies(entry, finals_per_turn=2))
    task = await run_bfcl_live(
        entry, chat, modes=["sequential", "async"], latency=Latency(seconds=0.0)
    )
    assert task.errors == {}
    assert list(task.outcomes) == ["sequential", "async"]
    for name, outcome in task.outcomes.items():
        assert outcome.extra["accurate"], (name, outcome.extra["verdict"])
        assert [c.name for c in outcome.run.calls] == ["get_stock_info", "fund_account"]
    assert task.outcomes["sequential"].run.model_requests == 4
    assert task.outcomes["async"].run.model_requests == 5
    # the async run offered the futures protocol to the model
    tools = [t["function"]["name"] for t in server.requests[-1].body["tools"]]
    assert "await_future" in tools
    assert server.requests[0].body["temperature"] == 0.0


@pytest.mark.anyio
async def test_a_wrong_call_is_scored_not_fatal(server: Loopback, chat: OpenAIChatModel) -> None:
    entry = _entry()
    server.add(
        json_reply(chat_completion(tool_calls=[("c1", "get_stock_info", '{"symbol": "AMD"}')])),
        json_reply(chat_completion(tool_calls=[("c2", "no_such_tool", "{}")])),
        json_reply(chat_completion("Done.")),
        json_reply(chat_completion("Done.")),
    )
    task = await run_bfcl_live(entry, chat, modes=["sequential"], latency=Latency(seconds=0.0))
    outcome = task.outcomes["sequential"]
    assert not outcome.extra["accurate"]
    assert outcome.run.results["c2"].error_kind == "unknown_tool"


@pytest.mark.anyio
async def test_a_provider_error_ends_only_that_mode(
    server: Loopback, chat: OpenAIChatModel
) -> None:
    entry = _entry()
    server.add(json_reply({"error": {"message": "bad request", "type": "invalid"}}, status=400))
    server.add(*_ground_truth_replies(entry, finals_per_turn=1))
    task = await run_bfcl_live(
        entry, chat, modes=["parallel", "sequential"], latency=Latency(seconds=0.0)
    )
    assert list(task.errors) == ["parallel"]
    assert task.errors["parallel"] == "ModelAPIError: bad request"
    assert task.outcomes["sequential"].extra["accurate"]


@pytest.mark.anyio
async def test_run_timeout_is_recorded(server: Loopback, chat: OpenAIChatModel) -> None:
    entry = _entry()
    # the model keeps calling a tool; each call takes longer than the whole run may
    server.add(
        *[
            json_reply(chat_completion(tool_calls=[(f"c{i}", "get_stock_info", '{"symbol": "X"}')]))
            for i in range(3)
        ]
    )
    task = await run_bfcl_live(
        entry,
        chat,
        modes=["sequential"],
        latency=Latency(seconds=30.0),
        settings=LiveSettings(run_timeout=0.2),
    )
    assert task.outcomes == {}
    assert task.errors["sequential"].startswith("TimeoutError")


@pytest.mark.anyio
async def test_open_model_talks_to_a_base_url(server: Loopback) -> None:
    spec = ModelSpec.parse("openai:served-model", base_url=f"{server.url}/v1")
    server.add(*_ground_truth_replies(_entry(), finals_per_turn=1))
    async with open_model(spec) as model:
        task = await run_bfcl_live(
            _entry(), model, modes=["sequential"], latency=Latency(seconds=0.0)
        )
    assert task.outcomes["sequential"].extra["accurate"]
    assert server.requests[0].body["model"] == "served-model"
    headers = {k.lower(): v for k, v in server.requests[0].headers.items()}
    assert headers["authorization"] == f"Bearer {NO_KEY}"
