"""The drain as an output validator (``AsyncFCToolset.drain_output``; its main path is tested
beside the capability's in ``test_pydantic_ai.py``) and the wrapper's reuse of what it made
of a tool definition, in pydantic-ai's own agent loop."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent, FunctionToolset, RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo
from pydantic_ai.tools import ToolDefinition
from pydantic_ai_script import calls, logged_step, scripted

from asyncfc.integrations.pydantic_ai import AsyncFCToolset

pytestmark = pytest.mark.anyio


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

    step = logged_step(log)

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
