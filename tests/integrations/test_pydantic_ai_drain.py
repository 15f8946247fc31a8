"""The drain as an output validator (``AsyncFCToolset.drain_output``) and the wrapper's
reuse of what it made of a tool definition, in pydantic-ai's own agent loop."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent, FunctionToolset, RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, RetryFeedbackPart, TextPart
from pydantic_ai.models.function import AgentInfo
from pydantic_ai.tools import ToolDefinition
from pydantic_ai_script import calls, outcomes, scripted, texts

from asyncfc.integrations.pydantic_ai import AsyncFCToolset

pytestmark = pytest.mark.anyio


async def test_the_output_validator_drains_before_the_output_stands() -> None:
    release = anyio.Event()
    stored: list[int] = []

    def fetch(x: int) -> int:
        """Fetch x."""
        return x * 10

    async def store(value: int) -> str:
        """Store a value."""
        await release.wait()
        stored.append(value)
        return f"stored {value}"

    def early(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        release.set()  # store is still running when the model answers
        return ModelResponse(parts=[TextPart("done")])

    model, infos = scripted(
        [
            calls(("fetch", {"x": 1}, "c1")),
            calls(("store", {"value": "future_1"}, "c2")),
            early,
            ModelResponse(parts=[TextPart("done, all stored")]),
        ]
    )
    fc = AsyncFCToolset(FunctionToolset([fetch, store]), final_answer="reask")
    agent = Agent(model, toolsets=[fc], retries={"output": 3})
    agent.output_validator(fc.drain_output)
    result = await agent.run("go")

    assert result.output == "done, all stored"
    assert stored == [10]
    assert [t.name for t in infos[0].function_tools] == ["fetch", "store", "await_future"]
    messages = result.all_messages()
    called, answered = outcomes(messages)
    assert called == answered == ["c1", "c2"]
    shown = texts(messages)
    for line in ("future_1 = 10", "future_2 = stored 10"):
        assert shown.count(line) == 1, line  # every result shown once
    assert isinstance(messages[-3], ModelResponse)
    assert messages[-3].text == "done"
    feedback = messages[-2].parts[0]
    assert isinstance(feedback, RetryFeedbackPart)
    assert "future_2 = stored 10" in feedback.content
    assert len(fc._runs) == 0  # the run's entry went with the run


async def test_the_output_validator_follows_final_answer() -> None:
    """``label_aware`` (the default) lets an answer stand whose only unseen result is a
    successful write; what it left is the conversation's next delivery."""
    release = anyio.Event()

    async def save(text: str) -> str:
        """Save a note."""
        await release.wait()
        return f"saved {text}"

    def early(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        release.set()
        return ModelResponse(parts=[TextPart("done")])

    model, infos = scripted([calls(("save", {"text": "a"}, "c1")), early])
    fc = AsyncFCToolset(FunctionToolset([save]), labels={"save": {"writes": ["notes"]}})
    agent = Agent(model, toolsets=[fc])
    agent.output_validator(fc.drain_output)
    async with fc:  # a conversation: one session for every run inside
        result = await agent.run("go")
        left = fc.take_delivery()
    assert result.output == "done"
    assert len(infos) == 2
    assert left == "Results of earlier calls:\nfuture_1 = saved a"


async def test_the_output_validator_of_a_wrapper_the_run_does_not_use_says_so() -> None:
    model, _ = scripted([ModelResponse(parts=[TextPart("hi")])])
    used = AsyncFCToolset(FunctionToolset([]))
    other = AsyncFCToolset(FunctionToolset([]))
    agent = Agent(model, toolsets=[used], retries={"output": 0})
    agent.output_validator(other.drain_output)
    with pytest.raises(RuntimeError, match="not in this run"):
        await agent.run("go")


async def test_the_output_validator_does_nothing_in_concurrent_mode() -> None:
    model, infos = scripted([ModelResponse(parts=[TextPart("hi")])])
    fc = AsyncFCToolset(FunctionToolset([]), mode="concurrent")
    agent = Agent(model)  # not even among the toolsets: concurrent mode has nothing to drain
    agent.output_validator(fc.drain_output)
    assert (await agent.run("go")).output == "hi"
    assert len(infos) == 1


async def test_a_definition_that_changes_between_steps_is_taken_again() -> None:
    """The wrapper keeps what it made of a definition (its labels, its widened schema) while
    the definition stays the same, and takes a changed one again: a ``prepare`` function
    that labels the tool differently at the second step changes how its calls are ordered."""
    log: list[str] = []

    async def step(n: int) -> int:
        """A step."""
        log.append(f"start {n}")
        await anyio.lowlevel.checkpoint()
        log.append(f"end {n}")
        return n

    async def prepare(ctx: RunContext[Any], definition: ToolDefinition) -> ToolDefinition:
        if ctx.run_step <= 1:  # unlabelled at the first step: the calls serialize
            return definition
        labels = {"asyncfc": {"reads": ["data"]}}  # then pure readers: they run together
        return ToolDefinition(
            name=definition.name,
            description=definition.description,
            parameters_json_schema=definition.parameters_json_schema,
            metadata=labels,
        )

    toolset = FunctionToolset[Any]()
    toolset.add_function(step, prepare=prepare)
    model, _ = scripted(
        [
            calls(("step", {"n": 1}, "a"), ("step", {"n": 2}, "b")),
            calls(("step", {"n": 3}, "c"), ("step", {"n": 4}, "d")),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    fc = AsyncFCToolset(toolset, mode="concurrent")
    await Agent(model, toolsets=[fc]).run("go")
    assert log[:4] == ["start 1", "end 1", "start 2", "end 2"]
    assert log[4:6] == ["start 3", "start 4"]  # relabelled as readers: together
    assert fc._known["step"].tool.access.read_only
