"""End to end against a real LLM: SmolLM2-135M-Instruct behind llama-cpp-python's
OpenAI-compatible server, reached through the official ``openai`` SDK and
:class:`~asyncfc.models.OpenAIChatModel`.

The assertions are the runtime's contract, never the model's accuracy: every call id gets
exactly one outcome, results pair with their calls, the trace is consistent, turns are
bounded, nothing hangs and nothing is left running.  One server serves the whole module.

What the server does, and how :class:`Steered` (a test-only wrapper around the real adapter)
copes, request by request, without changing what the runtime does:

* The ``chatml-function-calling`` handler puts the tools in the prompt only when
  ``tool_choice`` is set, and only inside a system message (hence every agent here has a
  system prompt).  With ``"auto"`` it refuses to stream and ignores ``max_tokens`` while it
  writes arguments; a *named* tool choice streams and honours ``max_tokens``, and ``"none"``
  answers in text.  So each run names the tool for its first request(s) and then asks for
  text, which bounds it.  ``test_streaming_auto_tool_choice_is_a_typed_error`` records what
  ``"auto"`` does when streaming; ``test_a_bounded_schema_ends_the_argument_...`` shows that
  :class:`~asyncfc.models.BoundedModel`'s ``maxLength`` reaches the server's grammar (what
  bounds ``"auto"`` runs in ``--model local``).
* The server reads ``max_tokens`` but not ``max_completion_tokens`` (what the adapter sends
  for ``ModelSettings.max_tokens``), so the wrapper sends ``max_tokens`` too.
* The server refuses an assistant message whose ``content`` is ``null`` (its validation
  wants a string), so :mod:`asyncfc.wire` always sends a string;
  ``test_an_assistant_turn_with_only_calls_is_accepted`` guards that.
* llama-cpp-python's schema-to-grammar converter supports only simple patterns (it rejected
  the ``(?:`` group the future reference ``pattern`` once had, and then fell back to free JSON
  for the whole argument object), so the pattern is one character class; the async modes here
  send the runtime's widened schemas unchanged.
* The handler reports ``finish_reason="tool_calls"`` even when ``max_tokens`` cut the
  arguments, so the adapter cannot tell a truncation: the cut call is emitted and the runtime
  answers it with an ``invalid_json`` error result (``test_truncated_arguments_...``).

Runs on asyncio only (see ``tests/models/conftest.py``: the SDK's streams and trio).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from local_llm import alive, local_gguf
from runtime_support import check_pairing

import asyncfc as a
from asyncfc.models import ArgumentBounds, BoundedModel, LlamaServer, OpenAIChatModel

pytestmark = pytest.mark.anyio

RUN_LIMIT_S = 120.0
"""Upper bound of one agent run (a run takes a few seconds; 2 shared cores can be slow)."""
MAX_TURNS = 3
MAX_TOKENS = 24
SYSTEM = "You are a helpful assistant. Use the functions to answer."
WEATHER = "What is the weather in Paris?"
LONG_TEXT = "The quick brown fox jumps over the lazy dog while the band plays on."
MODES: tuple[a.AgentMode, ...] = ("sequential", "parallel", "async", "async_parallel")
NOT_RUN: frozenset[str] = frozenset(
    {"unknown_tool", "invalid_json", "invalid_arguments", "unknown_future"}
)
"""Error kinds of calls rejected before running (they have no tool interval)."""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# --- the server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    with LlamaServer(model_path=local_gguf()) as running:
        pid = running.pid
        yield running
    assert pid is not None
    assert not alive(pid), "the server process outlived its fixture"


@pytest.fixture
async def chat(server: LlamaServer) -> AsyncIterator[OpenAIChatModel]:
    model = OpenAIChatModel(
        server.model, base_url=server.base_url, api_key="local", max_retries=0, timeout=RUN_LIMIT_S
    )
    async with model.client:
        yield model


# --- tools ---------------------------------------------------------------------------------


@a.tool(reads=[], writes=[])
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@a.tool(reads=["weather"], writes=[])
async def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city name.
    """
    await anyio.sleep(0.05)
    return f"Sunny, 21 °C in {city}"


def toolset() -> a.Toolset:
    return a.Toolset([add, get_weather])


# --- the steering wrapper ------------------------------------------------------------------


@dataclass
class Sent:
    """One request as the wrapper sent it, and the turn that came back."""

    messages: tuple[a.Message, ...]
    tool_choice: str
    response: a.ModelResponse | None = None


@dataclass
class Steered:
    """A :class:`~asyncfc.ChatModel` that sends each request through ``inner`` with the
    adjustments the module docstring explains, plus what a test asks for."""

    inner: OpenAIChatModel
    on_prompt: Mapping[str, str] = field(default_factory=dict)
    """User prompt → the tool forced in the first request that answers it."""
    choices: Sequence[str] = ()
    """``tool_choice`` by request index (after ``on_prompt``): a tool name forces that tool,
    ``"none"`` asks for text, ``"auto"`` lets the model choose."""
    then: str = "none"
    """``tool_choice`` of every other request."""
    decoys: Sequence[Mapping[str, Any]] = ()
    """Extra tool definitions sent to the server that the agent does not have."""
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Tool name → the parameters schema sent instead of the agent's."""
    max_tokens: Mapping[int, int] = field(default_factory=dict)
    """Request index → ``max_tokens`` for that request instead of the settings'."""
    sent: list[Sent] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)
    """Prompts whose first request was sent."""

    def _prepare(
        self,
        messages: Sequence[a.Message],
        tools: Sequence[Mapping[str, Any]],
        settings: a.ModelSettings,
    ) -> tuple[list[dict[str, Any]], a.ModelSettings, Sent]:
        index = len(self.sent)
        choice = self.choices[index] if index < len(self.choices) else self.then
        last = messages[-1] if messages else None
        for prompt, tool_name in self.on_prompt.items():
            starts_turn = isinstance(last, a.UserMessage) and last.content.endswith(prompt)
            if starts_turn and prompt not in self.answered:
                self.answered.add(prompt)
                choice = tool_name
        defs = [*(self._adapt(t) for t in tools), *(dict(d) for d in self.decoys)]
        tool_choice: Any = choice
        if choice not in ("none", "auto"):
            tool_choice = {"type": "function", "function": {"name": choice}}
        extra: dict[str, Any] = {**settings.extra, "tool_choice": tool_choice}
        max_tokens = self.max_tokens.get(index, settings.max_tokens)
        if max_tokens is not None:
            extra["max_tokens"] = max_tokens
        sent = Sent(messages=tuple(messages), tool_choice=choice)
        self.sent.append(sent)
        return defs, dataclasses.replace(settings, max_tokens=max_tokens, extra=extra), sent

    def _adapt(self, tool: Mapping[str, Any]) -> dict[str, Any]:
        params = self.schemas.get(tool["name"], tool.get("parameters") or {})
        return {**tool, "parameters": dict(params)}

    async def request(
        self,
        messages: Sequence[a.Message],
        tools: Sequence[Mapping[str, Any]],
        settings: a.ModelSettings,
    ) -> a.ModelResponse:
        defs, adjusted, sent = self._prepare(messages, tools, settings)
        sent.response = await self.inner.request(messages, defs, adjusted)
        return sent.response

    def stream(
        self,
        messages: Sequence[a.Message],
        tools: Sequence[Mapping[str, Any]],
        settings: a.ModelSettings,
    ) -> AbstractAsyncContextManager[AsyncIterator[a.StreamEvent]]:
        defs, adjusted, sent = self._prepare(messages, tools, settings)
        return _recorded(self.inner.stream(messages, defs, adjusted), sent)


class _Recorder:
    """Passes the events through and keeps the final response."""

    def __init__(self, events: AsyncIterator[a.StreamEvent], sent: Sent) -> None:
        self._events = events
        self._sent = sent

    def __aiter__(self) -> _Recorder:
        return self

    async def __anext__(self) -> a.StreamEvent:
        event = await self._events.__anext__()
        if isinstance(event, a.StreamDone):
            self._sent.response = event.response
        return event


@asynccontextmanager
async def _recorded(
    opened: AbstractAsyncContextManager[AsyncIterator[a.StreamEvent]], sent: Sent
) -> AsyncIterator[AsyncIterator[a.StreamEvent]]:
    async with opened as events:
        yield _Recorder(events, sent)


# --- running and checking ------------------------------------------------------------------


def make_agent(model: a.ChatModel, mode: a.AgentMode, *, streaming: bool) -> a.Agent:
    return a.Agent(
        model=model,
        toolset=toolset(),
        mode=mode,
        streaming=streaming,
        system_prompt=SYSTEM,
        max_requests=MAX_TURNS,
        settings=a.ModelSettings(max_tokens=MAX_TOKENS, temperature=0),
    )


SETTLE_S = 1.0
"""How long tasks started during a run may take to finish after it returns.  Streaming runs
leave a few async generators (the SDK's and the adapter's stream parsers) to asyncio's
finalizer, which closes each in a task of its own within a loop iteration or two."""


async def run_bounded(agent: a.Agent, prompts: str | Sequence[str]) -> a.AgentRun:
    """``agent.run`` under a deadline, checking that it leaves no task behind."""
    before = asyncio.all_tasks()
    with anyio.fail_after(RUN_LIMIT_S):
        run = await agent.run(prompts)
    for _ in range(int(SETTLE_S / 0.01)):
        if all(t.done() for t in asyncio.all_tasks() - before):
            break
        await anyio.sleep(0.01)
    left = {t for t in asyncio.all_tasks() - before if not t.done()}
    assert not left, f"tasks left running: {left}"
    return run


def check_invariants(run: a.AgentRun, agent: a.Agent, model: Steered, prompts: int = 1) -> None:
    check_pairing(run)
    ids = [c.id for c in run.calls]
    messages = run.messages
    # The trace: known calls, each executed at most once, ordered ends, one M per request.
    trace = run.trace
    assert all(iv.start <= iv.end for iv in trace.intervals)
    executed = [iv.call_id for iv in trace.of_kind("tool")]
    assert len(executed) == len(set(executed))
    assert set(executed) <= set(ids)
    for call_id in executed:
        kind = run.results[str(call_id)].error_kind
        assert kind not in NOT_RUN, f"{call_id} was rejected ({kind}) but has a tool interval"
    assert len(trace.of_kind("model")) == run.model_requests == len(model.sent)
    metrics = trace.metrics()
    assert metrics.saving == pytest.approx(metrics.overlap_saving + metrics.parallel_saving)
    assert metrics.model_calls == run.model_requests
    # Bounded turns.
    assert len(run.stop_reasons) == len(run.outputs) == prompts
    assert set(run.stop_reasons) <= {"final", "max_requests", "return_direct"}
    assert run.model_requests <= prompts * (agent.max_requests + agent.final_requests)
    # In the async modes the model sees a future for every call that got one.
    if agent.is_async:
        shown = {
            r.call_id: r.content
            for m in messages
            if isinstance(m, a.ToolResultsMessage)
            for r in m.results
        }
        for call_id, future_id in run.futures.items():
            assert shown[call_id] == f"{future_id} (pending)"


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def result_of(run: a.AgentRun, name: str) -> a.ToolResult:
    [call] = [c for c in run.calls if c.name == name]
    return run.results[call.id]


def shown_to_model_after(model: Steered, call_id: str) -> a.ToolResult:
    """The result of ``call_id`` as a later request sent it to the server."""
    for sent in model.sent:
        for message in sent.messages:
            if isinstance(message, a.ToolResultsMessage):
                for result in message.results:
                    if result.call_id == call_id:
                        return result
    raise AssertionError(f"no later request showed the result of {call_id}")


# --- every mode, streaming on and off ------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["request", "stream"])
@pytest.mark.parametrize("mode", MODES)
async def test_every_mode_keeps_the_runtime_contract(
    chat: OpenAIChatModel, mode: a.AgentMode, streaming: bool
) -> None:
    model = Steered(chat, on_prompt={WEATHER: "get_weather"})
    agent = make_agent(model, mode, streaming=streaming)

    run = await run_bounded(agent, WEATHER)

    check_invariants(run, agent, model)
    assert run.calls[0].name == "get_weather"  # forced, so always there
    assert run.stop_reasons == ["final"]
    weather = result_of(run, "get_weather")
    if weather.is_error:  # the model may write arguments the tool refuses
        assert weather.error_kind in {"invalid_json", "invalid_arguments"}
    else:
        assert weather.content.startswith("Sunny")
        if agent.is_async:
            assert run.futures[run.calls[0].id] == "future_1"


async def test_two_user_turns_in_async_parallel(chat: OpenAIChatModel) -> None:
    rome, add_up = "What is the weather in Rome?", "And what is 2 + 3?"
    model = Steered(chat, on_prompt={rome: "get_weather", add_up: "add"})
    agent = make_agent(model, "async_parallel", streaming=True)

    run = await run_bounded(agent, [rome, add_up])

    check_invariants(run, agent, model, prompts=2)
    assert [c.name for c in run.calls] == ["get_weather", "add"]
    # Every call of the first user turn finished before the second turn's first request.
    at = next(
        i
        for i, m in enumerate(run.messages)
        if isinstance(m, a.UserMessage) and m.content.endswith(add_up)
    )
    first_of_second = sum(isinstance(m, a.AssistantMessage) for m in run.messages[:at])
    [request] = [iv for iv in run.trace.of_kind("model") if iv.request == first_of_second]
    ran_before = [iv for iv in run.trace.of_kind("tool") if iv.request < first_of_second]
    assert all(iv.end <= request.start for iv in ran_before)


# --- malformed model output, forced over HTTP ----------------------------------------------

DECOY = {
    "name": "delete_files",
    "description": "Delete the files of a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.mark.parametrize(
    ("mode", "streaming"), [("sequential", False), ("async_parallel", True)], ids=["seq", "async"]
)
async def test_a_call_to_a_tool_the_agent_lacks_gets_unknown_tool(
    chat: OpenAIChatModel, mode: a.AgentMode, streaming: bool
) -> None:
    model = Steered(chat, choices=[str(DECOY["name"])], decoys=[DECOY])
    agent = make_agent(model, mode, streaming=streaming)

    run = await run_bounded(agent, "Delete the files of Paris.")

    check_invariants(run, agent, model)
    [call] = run.calls
    assert call.name == "delete_files"
    result = run.results[call.id]
    assert result.error_kind == "unknown_tool"
    assert call.id not in run.futures  # rejected at once, never a future
    assert shown_to_model_after(model, call.id) == result  # the model was shown the error


async def test_a_reference_to_a_future_never_issued_gets_unknown_future(
    chat: OpenAIChatModel,
) -> None:
    only_future_99 = {"type": "string", "enum": ["future_99"]}
    model = Steered(
        chat,
        choices=["get_weather", "await_future"],
        schemas={
            "get_weather": {
                "type": "object",
                "properties": {"city": only_future_99},
                "required": ["city"],
            },
            "await_future": {
                "type": "object",
                "properties": {"future_ids": {"type": "array", "items": only_future_99}},
                "required": ["future_ids"],
            },
        },
    )
    agent = make_agent(model, "async", streaming=False)

    run = await run_bounded(agent, WEATHER)

    check_invariants(run, agent, model)
    weather, wait = run.calls[:2]
    assert json.loads(str(weather.arguments)) == {"city": "future_99"}
    assert run.results[weather.id].error_kind == "unknown_future"
    assert run.trace.of_kind("tool") == []  # it never ran with a placeholder
    assert json.loads(str(wait.arguments))["future_ids"][0] == "future_99"
    assert run.results[wait.id].error_kind == "unknown_future"
    assert shown_to_model_after(model, weather.id).error_kind == "unknown_future"
    assert shown_to_model_after(model, wait.id).error_kind == "unknown_future"


@pytest.mark.parametrize("streaming", [False, True], ids=["request", "stream"])
async def test_truncated_arguments_reach_the_runtime_as_invalid_json(
    chat: OpenAIChatModel, streaming: bool
) -> None:
    model = Steered(chat, choices=["get_weather"], max_tokens={0: 3})
    agent = make_agent(model, "parallel", streaming=streaming)

    run = await run_bounded(agent, WEATHER)

    check_invariants(run, agent, model)
    first = model.sent[0].response
    assert first is not None
    # The server hides the cut: it reports tool_calls, not length ...
    assert first.finish_reason == "tool_calls"
    # ... so the cut call is emitted (not dropped) and answered with an error result.
    [call] = first.message.tool_calls
    assert not is_json(str(call.arguments))
    assert run.results[call.id].error_kind == "invalid_json"
    assert shown_to_model_after(model, call.id).error_kind == "invalid_json"


# --- server behaviour pinned ---------------------------------------------------------------


async def test_an_assistant_turn_with_only_calls_is_accepted(chat: OpenAIChatModel) -> None:
    """The request after a call carries an assistant message without text; the server
    refuses ``null`` there, so this run fails if :mod:`asyncfc.wire` sends it again."""
    model = Steered(chat, choices=["get_weather"])
    agent = make_agent(model, "sequential", streaming=False)
    run = await run_bounded(agent, WEATHER)
    assert run.model_requests >= 2


async def test_streaming_auto_tool_choice_is_a_typed_error(server: LlamaServer) -> None:
    """With ``tool_choice="auto"`` the server cannot stream a call: the stream ends with no
    finish reason, which the adapter raises as a typed error instead of hanging."""
    # A client of its own: the server drops the connection it failed on.
    model = OpenAIChatModel(server.model, base_url=server.base_url, api_key="local", max_retries=0)
    async with model.client:
        steered = Steered(model, choices=["auto"])
        agent = make_agent(steered, "parallel", streaming=True)
        with pytest.raises(a.ModelAPIError):
            await run_bounded(agent, WEATHER)
    assert server.running


async def test_a_bounded_schema_ends_the_argument_the_server_writes(chat: OpenAIChatModel) -> None:
    """The server writes arguments under the schema's grammar; :class:`BoundedModel`'s
    ``maxLength`` reaches that grammar, so the string ends there, whatever the model would
    have written (``max_tokens`` is far above what 12 characters need)."""
    echo = {
        "name": "echo",
        "description": "Repeat a text back.",
        "parameters": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "The text."}},
            "required": ["text"],
        },
    }
    model = BoundedModel(chat, ArgumentBounds(max_string_length=12))
    forced = {"type": "function", "function": {"name": "echo"}}
    with anyio.fail_after(RUN_LIMIT_S):
        response = await model.request(
            [
                a.SystemMessage(content=SYSTEM),
                a.UserMessage(content=f"Repeat this text: {LONG_TEXT}"),
            ],
            [echo],
            a.ModelSettings(max_tokens=200, temperature=0, extra={"tool_choice": forced}),
        )
    (call,) = response.message.tool_calls
    text = json.loads(str(call.arguments))["text"]
    assert 0 < len(text) <= 12
