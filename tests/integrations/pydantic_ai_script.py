"""A scripted pydantic-ai model and readers of its messages, for the pydantic-ai tests.

The model is pydantic-ai's own ``FunctionModel``: the agent loop under test is the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio.lowlevel
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryFeedbackPart,
    RetryPromptPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

Step = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def scripted(steps: Sequence[ModelResponse | Step]) -> tuple[FunctionModel, list[AgentInfo]]:
    """A FunctionModel that answers the n-th request with ``steps[n]`` (a response, or a
    function of the messages making one); the list collects what each request offered."""
    seen: list[AgentInfo] = []

    async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        step = steps[len(seen)]
        seen.append(info)
        return step if isinstance(step, ModelResponse) else step(messages, info)

    return FunctionModel(respond), seen


def calls(*parts: tuple[str, dict[str, Any], str]) -> ModelResponse:
    """A response of tool calls ``(name, arguments, call id)``."""
    return ModelResponse(parts=[ToolCallPart(n, a, tool_call_id=i) for n, a, i in parts])


def outcomes(messages: list[ModelMessage]) -> tuple[list[str], list[str]]:
    """The call ids in call order, and the ids of the tool returns in answer order."""
    called = [
        p.tool_call_id
        for m in messages
        if isinstance(m, ModelResponse)
        for p in m.parts
        if isinstance(p, ToolCallPart)
    ]
    answered = [
        p.tool_call_id
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart | RetryPromptPart) and p.tool_call_id is not None
    ]
    return called, answered


def texts(messages: list[ModelMessage]) -> str:
    """Everything the model was shown as tool results and retry feedback."""
    return "\n".join(
        str(p.content)
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart | RetryPromptPart | RetryFeedbackPart)
    )


def logged_step(log: list[str]) -> Callable[[int], Any]:
    """A tool ``step(n)`` that logs its start and end around one checkpoint, so calls that
    run together interleave in ``log`` and calls that serialize do not."""

    async def step(n: int) -> int:
        """A step."""
        log.append(f"start {n}")
        await anyio.lowlevel.checkpoint()
        log.append(f"end {n}")
        return n

    return step
