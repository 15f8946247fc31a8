"""Provider-neutral conversation messages and the chat-model interface.

The agent loop speaks only these types; each model adapter translates them to and from its
provider's wire format (see :mod:`asyncfc.wire` for the pure transforms).

Invariants:

* An :class:`AssistantMessage` with ``tool_calls`` is always followed, before the next
  assistant message, by exactly one :class:`ToolResultsMessage` holding one result per call,
  in the same order.  Every provider requires this pairing.
* A :class:`UserMessage` may directly follow a :class:`ToolResultsMessage`; adapters for
  providers that want results and text in one message (Anthropic) merge them, results first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ._calls import ToolCall, ToolResult

__all__ = (
    "AssistantMessage",
    "ChatModel",
    "Message",
    "ModelResponse",
    "ModelSettings",
    "StreamDone",
    "StreamEvent",
    "SystemMessage",
    "TextDelta",
    "ToolCallDone",
    "ToolResultsMessage",
    "Usage",
    "UserMessage",
)


@dataclass(frozen=True, kw_only=True)
class SystemMessage:
    """The system prompt: instructions the model reads before the conversation."""

    content: str
    role: Literal["system"] = "system"


@dataclass(frozen=True, kw_only=True)
class UserMessage:
    """A user's prompt, or the runtime's delivery of settled futures (async modes)."""

    content: str
    role: Literal["user"] = "user"


@dataclass(frozen=True, kw_only=True)
class AssistantMessage:
    """One model reply: text, tool calls, or both."""

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True, kw_only=True)
class ToolResultsMessage:
    """The results of one assistant message's tool calls, in call order."""

    results: tuple[ToolResult, ...]
    role: Literal["tool"] = "tool"


Message = SystemMessage | UserMessage | AssistantMessage | ToolResultsMessage


@dataclass(frozen=True, kw_only=True)
class Usage:
    """What one model request cost, in tokens, as the provider reported it."""

    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class ModelResponse:
    """One assistant turn."""

    message: AssistantMessage
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    """The provider's reason, verbatim (``"tool_calls"``, ``"end_turn"``, ``"length"`` …)."""
    model: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """Per-request options every adapter understands."""

    parallel_tool_calls: bool | None = None
    """Whether the model may emit several calls in one turn (``None``: provider default)."""
    max_tokens: int | None = None
    temperature: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Passed through to the provider SDK call as keyword arguments."""


@dataclass(frozen=True, kw_only=True)
class TextDelta:
    """A piece of streamed reply text."""

    text: str


@dataclass(frozen=True, kw_only=True)
class ToolCallDone:
    """A tool call whose arguments are complete, emitted while the response still streams."""

    call: ToolCall
    index: int


@dataclass(frozen=True, kw_only=True)
class StreamDone:
    """The end of a streamed turn: the whole response, as :meth:`ChatModel.request` returns."""

    response: ModelResponse


StreamEvent = TextDelta | ToolCallDone | StreamDone


@runtime_checkable
class ChatModel(Protocol):
    """What the agent loop needs from a model: one assistant turn per request."""

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> ModelResponse:
        """Produce one assistant turn.  ``tools`` are neutral definitions
        (``{"name", "description", "parameters"}``)."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        """The same turn as a stream: deltas, each call as soon as it is complete, and a final
        :class:`StreamDone`.  A stream that ends without :class:`StreamDone` raises."""
        ...
