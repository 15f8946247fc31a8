"""The BFCL replay through pydantic-ai's own ``Agent`` loop.

The model is a ``FunctionModel`` whose function converts pydantic-ai's messages to asyncfc's
neutral messages (:func:`to_neutral`), asks the :class:`~asyncfc_bench._fw_common.ReplayBridge`
and converts the reply back (:func:`to_pydantic_ai`).  The tools are pydantic-ai function
tools made from the BFCL schemas (``Tool.from_schema``), so pydantic-ai sends the same
definitions asyncfc does.  Setups:

* ``alone``: ``Agent(model, toolsets=[FunctionToolset(tools)])``, pydantic-ai's parallel calls.
* ``labels``: the toolset wrapped in ``AsyncFCToolset(mode="concurrent", labels=...)``.
* ``futures``: ``AsyncFCToolset(mode="async", labels=...)``, entered once around the task's
  user turns, so the whole conversation is one futures session (future ids stay unique
  across turns, as in asyncfc's own agent), with the drain as an output validator
  (``AsyncFCToolset.drain_output``): before a final answer stands, every call finishes, and
  results the model has not seen are sent back as a retry.  (The ``AsyncFC`` capability,
  entered around the turns, does the same, at pydantic-ai's cost of a capability's hooks
  at every tool call.)

Each user turn is one ``agent.run`` continuing the previous run's messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pydantic_ai import Agent, FunctionToolset, Tool
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    RetryFeedbackPart,
    RetryPromptPart,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from asyncfc import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    Toolset,
    UserMessage,
)
from asyncfc.integrations.pydantic_ai import AsyncFCToolset

from ._fw_common import FRAMEWORK_FINAL_ANSWER, ReplayBridge, SetupOutcome, Variant

__all__ = ("function_tools", "run_pydantic_ai", "to_neutral", "to_pydantic_ai")

OUTPUT_RETRIES = 100
"""Output retries per user turn: each drain that shows unseen results uses one."""


def to_neutral(messages: Sequence[ModelMessage], instructions: str | None = None) -> list[Message]:
    """pydantic-ai's messages as asyncfc's (instructions first, as a system message).

    A model receives retry feedback as a user prompt (pydantic-ai renders it in
    ``prepare_messages``); the stored history keeps it as a ``RetryFeedbackPart``, which
    becomes a user message with its rendered text."""
    out: list[Message] = [SystemMessage(content=instructions)] if instructions else []
    for message in messages:
        if isinstance(message, ModelResponse):
            text = "".join(p.content for p in message.parts if isinstance(p, TextPart))
            calls = tuple(
                ToolCall(id=p.tool_call_id, name=p.tool_name, arguments=p.args_as_json_str())
                for p in message.parts
                if isinstance(p, ToolCallPart)
            )
            out.append(AssistantMessage(content=text, tool_calls=calls))
            continue
        results: list[ToolResult] = []
        texts: list[Message] = []
        for part in message.parts:
            if isinstance(part, ToolReturnPart):
                results.append(
                    ToolResult(
                        call_id=part.tool_call_id,
                        name=part.tool_name,
                        content=part.model_response_str(),
                    )
                )
            elif isinstance(part, RetryPromptPart) and part.tool_name is not None:
                results.append(
                    ToolResult(
                        call_id=part.tool_call_id,
                        name=part.tool_name,
                        content=part.model_response(),
                        is_error=True,
                    )
                )
            elif isinstance(part, RetryPromptPart | RetryFeedbackPart):
                texts.append(UserMessage(content=part.model_response()))
            elif isinstance(part, SystemPromptPart):
                texts.append(SystemMessage(content=part.content))
            elif isinstance(part, UserPromptPart):
                if not isinstance(part.content, str):
                    raise TypeError("only text user prompts are replayed")
                texts.append(UserMessage(content=part.content))
        if results:
            out.append(ToolResultsMessage(results=tuple(results)))
        out.extend(texts)
    return out


def to_pydantic_ai(reply: AssistantMessage, input_tokens: int, output_tokens: int) -> ModelResponse:
    """An asyncfc reply as pydantic-ai's response, with the bridge's token counts."""
    parts: list[Any] = [TextPart(reply.content)] if reply.content else []
    parts += [
        ToolCallPart(
            c.name,
            c.arguments if isinstance(c.arguments, str) else dict(c.arguments),
            tool_call_id=c.id,
        )
        for c in reply.tool_calls
    ]
    return ModelResponse(
        parts=parts, usage=RequestUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    )


def _definitions(info: AgentInfo) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "description": t.description or "",
            "parameters": t.parameters_json_schema,
        }
        for t in [*info.function_tools, *info.output_tools]
    ]


def function_model(bridge: ReplayBridge) -> FunctionModel:
    """A ``FunctionModel`` that answers every request through ``bridge``."""

    async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        before = (bridge.input_tokens, bridge.output_tokens)
        reply = await bridge.respond(to_neutral(messages, info.instructions), _definitions(info))
        return to_pydantic_ai(
            reply, bridge.input_tokens - before[0], bridge.output_tokens - before[1]
        )

    return FunctionModel(respond)


def function_tools(toolset: Toolset) -> FunctionToolset[Any]:
    """asyncfc's tools as pydantic-ai function tools with the same schemas."""
    return FunctionToolset(
        [
            Tool.from_schema(
                t.function, name=t.name, description=t.description, json_schema=dict(t.parameters)
            )
            for t in toolset
        ]
    )


async def run_pydantic_ai(
    variant: Variant,
    prompts: Sequence[str],
    bridge: ReplayBridge,
    toolset: Toolset,
    labels: dict[str, dict[str, list[str]]],
) -> SetupOutcome:
    """Play the task's user turns through pydantic-ai's ``Agent`` in one setup."""
    tools = function_tools(toolset)
    model = function_model(bridge)
    loop = asyncio.get_running_loop()
    history: list[ModelMessage] = []
    start = loop.time()
    if variant == "futures":
        wrapper = AsyncFCToolset(
            tools, mode="async", labels=labels, final_answer=FRAMEWORK_FINAL_ANSWER
        )
        agent = Agent(model, toolsets=[wrapper], retries={"output": OUTPUT_RETRIES})
        agent.output_validator(wrapper.drain_output)
        async with wrapper:
            for prompt in prompts:
                # What the last drain left unshown (successful writes) opens the next turn,
                # as asyncfc's Agent puts it before the next prompt.
                delivery = wrapper.take_delivery()
                text = f"{delivery}\n\n{prompt}" if delivery else prompt
                history = (await agent.run(text, message_history=history)).all_messages()
    else:
        toolsets: list[Any] = [tools]
        if variant == "labels":
            toolsets = [AsyncFCToolset(tools, mode="concurrent", labels=labels)]
        agent = Agent(model, toolsets=toolsets)
        for prompt in prompts:
            history = (await agent.run(prompt, message_history=history)).all_messages()
    wall = loop.time() - start
    return bridge.outcome("pydantic-ai", variant, wall, to_neutral(history))
