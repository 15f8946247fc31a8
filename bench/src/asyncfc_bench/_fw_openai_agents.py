"""The BFCL replay through the OpenAI Agents SDK's own ``Runner`` loop.

The model is a custom ``agents.Model`` (:class:`ReplayModel`): it converts the Responses
input items the SDK sends to asyncfc's neutral messages (:func:`to_neutral`), asks the
:class:`~asyncfc_bench._fw_common.ReplayBridge`, and answers with Responses output items
(:func:`to_output_items`).  The tools are ``FunctionTool`` objects with the BFCL schemas.
Setups:

* ``alone``: ``Runner.run``; the SDK runs a response's function calls concurrently.
* ``labels``: :func:`asyncfc.integrations.openai_agents.run` with one
  ``FuturesSession(mode="concurrent")`` for the whole task (``session=``), so the agent's
  tools are wrapped once, not at every turn.
* ``futures``: the same with ``mode="async"``, so future ids stay unique across user turns.
  When the drain guardrail trips, ``run`` continues the same conversation with the delivery
  as a user message.

Each user turn is one run whose input is the previous run's ``to_input_list()`` plus the
prompt.

No ``from __future__ import annotations``: the SDK resolves the annotations of a tool's
``on_invoke_tool`` on every call, and string annotations would be compiled each time.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from agents import (
    Agent,
    FunctionTool,
    Model,
    ModelResponse,
    RunConfig,
    Runner,
    Usage,
)
from agents.tool_context import ToolContext
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from asyncfc import (
    AssistantMessage,
    FuturesSession,
    Message,
    SessionMode,
    SystemMessage,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    Toolset,
    UserMessage,
)
from asyncfc.integrations.openai_agents import run as asyncfc_run

from ._fw_common import FRAMEWORK_FINAL_ANSWER, ReplayBridge, SetupOutcome, Variant

__all__ = ("ReplayModel", "function_tools", "run_openai_agents", "to_neutral", "to_output_items")


def _item(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else raw.model_dump(exclude_unset=True)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(_item(c).get("text", "")) for c in content or ())


def to_neutral(items: str | Sequence[Any], instructions: str | None = None) -> list[Message]:
    """Responses input items as asyncfc's messages: consecutive function calls join the
    assistant message before them, consecutive outputs make one tool-results message."""
    out: list[Message] = [SystemMessage(content=instructions)] if instructions else []
    if isinstance(items, str):
        return [*out, UserMessage(content=items)]
    names: dict[str, str] = {}
    for raw in items:
        item = _item(raw)
        kind = item.get("type", "message")
        last = out[-1] if out else None
        if kind == "function_call":
            call = ToolCall(id=item["call_id"], name=item["name"], arguments=item["arguments"])
            names[call.id] = call.name
            if isinstance(last, AssistantMessage):
                out[-1] = AssistantMessage(
                    content=last.content, tool_calls=(*last.tool_calls, call)
                )
            else:
                out.append(AssistantMessage(content="", tool_calls=(call,)))
        elif kind == "function_call_output":
            result = ToolResult(
                call_id=item["call_id"],
                name=names.get(item["call_id"], ""),
                content=_text(item["output"]),
            )
            if isinstance(last, ToolResultsMessage):
                out[-1] = ToolResultsMessage(results=(*last.results, result))
            else:
                out.append(ToolResultsMessage(results=(result,)))
        elif kind == "message":
            role, text = item.get("role"), _text(item.get("content"))
            if role == "assistant":
                out.append(AssistantMessage(content=text))
            elif role in ("system", "developer"):
                out.append(SystemMessage(content=text))
            else:
                out.append(UserMessage(content=text))
        else:
            raise TypeError(f"the replay does not convert input items of type {kind!r}")
    return out


def to_output_items(reply: AssistantMessage, message_id: str = "msg_1") -> list[Any]:
    """An asyncfc reply as Responses output items (a text message with ``message_id``, then
    the calls, each with its call id)."""
    out: list[Any] = []
    if reply.content:
        out.append(
            ResponseOutputMessage(
                id=message_id,
                type="message",
                role="assistant",
                status="completed",
                content=[
                    ResponseOutputText(type="output_text", text=reply.content, annotations=[])
                ],
            )
        )
    for c in reply.tool_calls:
        out.append(
            ResponseFunctionToolCall(
                type="function_call",
                id=f"fc_{c.id}",
                call_id=c.id,
                name=c.name,
                arguments=c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments),
                status="completed",
            )
        )
    return out


def _definitions(tools: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"name": t.name, "description": t.description, "parameters": t.params_json_schema}
        for t in tools
        if isinstance(t, FunctionTool)
    ]


class ReplayModel(Model):
    """An Agents SDK model that answers every request through a :class:`ReplayBridge`."""

    def __init__(self, bridge: ReplayBridge) -> None:
        self.bridge = bridge

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: Any,
        **_: Any,
    ) -> ModelResponse:
        """Convert, ask the bridge, convert back (with the bridge's token counts)."""
        bridge = self.bridge
        before = (bridge.input_tokens, bridge.output_tokens)
        reply = await bridge.respond(to_neutral(input, system_instructions), _definitions(tools))
        tokens_in = bridge.input_tokens - before[0]
        tokens_out = bridge.output_tokens - before[1]
        return ModelResponse(
            output=to_output_items(reply, f"msg_{bridge.requests}"),
            usage=Usage(
                requests=1,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                total_tokens=tokens_in + tokens_out,
            ),
            response_id=None,
        )

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """Not used: the replay runs ``Runner.run``."""
        raise NotImplementedError("the replay model does not stream")


def function_tools(toolset: Toolset) -> list[FunctionTool]:
    """asyncfc's tools as Agents SDK function tools with the same schemas."""

    def make(function: Any) -> Any:
        async def invoke(ctx: ToolContext[Any], raw: str) -> Any:
            return await function(**json.loads(raw or "{}"))

        return invoke

    return [
        FunctionTool(
            name=t.name,
            description=t.description,
            params_json_schema=dict(t.parameters),
            on_invoke_tool=make(t.function),
            strict_json_schema=False,
        )
        for t in toolset
    ]


async def run_openai_agents(
    variant: Variant,
    prompts: Sequence[str],
    bridge: ReplayBridge,
    toolset: Toolset,
    labels: Mapping[str, Mapping[str, Sequence[str]]],
    *,
    max_turns: int = 100,
) -> SetupOutcome:
    """Play the task's user turns through the SDK's ``Runner`` in one setup."""
    agent: Agent[Any] = Agent(
        name="bfcl", model=ReplayModel(bridge), tools=list(function_tools(toolset))
    )
    options: dict[str, Any] = {
        "run_config": RunConfig(tracing_disabled=True),
        "max_turns": max_turns,
    }
    loop = asyncio.get_running_loop()
    history: list[Any] = []
    start = loop.time()
    if variant in ("labels", "futures"):
        mode: SessionMode = "async" if variant == "futures" else "concurrent"
        async with FuturesSession(Toolset(), mode=mode) as session:
            for prompt in prompts:
                # What the last drain left unshown (successful writes) opens the next turn,
                # as asyncfc's Agent puts it before the next prompt.
                delivery = session.take_delivery()
                text = f"{delivery}\n\n{prompt}" if delivery else prompt
                turn = [*history, {"role": "user", "content": text}]
                result = await asyncfc_run(
                    agent,
                    turn,
                    session=session,
                    labels=labels,
                    final_answer=FRAMEWORK_FINAL_ANSWER,
                    **options,
                )
                history = result.to_input_list()
    else:
        for prompt in prompts:
            turn = [*history, {"role": "user", "content": prompt}]
            history = (await Runner.run(agent, turn, **options)).to_input_list()
    wall = loop.time() - start
    return bridge.outcome("openai-agents", variant, wall, to_neutral(history))
