"""Anthropic Messages adapter.

Streaming completion signal: ``content_block_stop`` of a ``tool_use`` block.  The block's
``input_json_delta`` fragments are joined and decoded at that moment: a JSON object becomes
the call's ``arguments`` mapping; anything else (possible with fine-grained tool streaming)
stays text and is held until the next event, which tells a cut by ``max_tokens`` (dropped)
from bad JSON the model finished (emitted; the runtime answers it with an error result).
``message_stop`` is the terminal event; an ``error`` event raises
:class:`~asyncfc.ModelAPIError` with the provider's message.

``max_tokens`` is required by the API: ``ModelSettings.max_tokens`` when set, else the
adapter's ``max_tokens`` (4096 by default).

``Usage.input_tokens`` is the whole prompt: Anthropic's ``input_tokens`` counts only the
uncached part, so ``cache_creation_input_tokens`` and ``cache_read_input_tokens`` are added
(OpenAI's prompt counts already include cached tokens).  In a stream, ``message_start``
reports the input and ``message_delta`` the cumulative counts; the last value given for each
field wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncfc import wire
from asyncfc._calls import ToolCall
from asyncfc._messages import (
    AssistantMessage,
    Message,
    ModelResponse,
    ModelSettings,
    StreamEvent,
    Usage,
)

from ._common import (
    TRUNCATION_REASONS,
    OpenCall,
    drop_trailing_truncated,
    make_client,
    set_if,
)
from ._sdk_model import SDKModel, TurnStream

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types import RawMessageStreamEvent

__all__ = ("AnthropicModel",)

PROVIDER = "anthropic"

_INPUT_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
"""The usage fields whose sum is the whole prompt."""


class AnthropicModel(SDKModel["AsyncAnthropic", "AnthropicMessage", "RawMessageStreamEvent"]):
    """:class:`~asyncfc.ChatModel` over ``client.messages.create``.

    Pass a ready ``client`` or the SDK settings (``base_url``, ``api_key``, ``max_retries``,
    ``timeout``); retries are the SDK's own.  ``max_tokens`` is sent when
    :attr:`ModelSettings.max_tokens` is not set (the API requires one).
    """

    provider = PROVIDER

    def __init__(
        self,
        model: str,
        *,
        client: AsyncAnthropic | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        max_tokens: int = 4096,
    ) -> None:
        import anthropic

        client = make_client(
            anthropic.AsyncAnthropic,
            client,
            base_url=base_url,
            api_key=api_key,
            max_retries=max_retries,
            timeout=timeout,
        )
        super().__init__(model, client, anthropic)
        self.max_tokens = max_tokens
        """The ``max_tokens`` sent when :attr:`ModelSettings.max_tokens` is not set."""

    def _fields(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> dict[str, Any]:
        system, wire_messages = wire.anthropic_request(messages)
        kwargs: dict[str, Any] = {
            "messages": wire_messages,
            "max_tokens": settings.max_tokens or self.max_tokens,
        }
        set_if(kwargs, "system", system)
        if tools:
            kwargs["tools"] = wire.anthropic_tools(tools)
            if settings.parallel_tool_calls is False:
                kwargs["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
        return kwargs

    async def _create(self, kwargs: dict[str, Any]) -> Any:
        return await self.client.messages.create(**kwargs)

    def _response(self, message: AnthropicMessage, /) -> ModelResponse:
        blocks = [b.model_dump() for b in message.content]
        calls = wire.anthropic_blocks_to_calls(blocks)
        truncated = message.stop_reason in TRUNCATION_REASONS
        last_is_call = bool(blocks) and blocks[-1].get("type") == "tool_use"
        calls = drop_trailing_truncated(calls, truncated, last_is_call)
        text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        usage = Usage(
            input_tokens=sum(_input_counts(message.usage).values()),
            output_tokens=message.usage.output_tokens or 0,
        )
        return ModelResponse(
            message=AssistantMessage(content=text, tool_calls=calls),
            usage=usage,
            finish_reason=message.stop_reason,
            model=message.model,
        )

    def _stream_state(self) -> _AnthropicStream:
        return _AnthropicStream()


def _input_counts(usage: Any) -> dict[str, int]:
    """The prompt-token fields that ``usage`` reports (a ``None`` one is not reported)."""
    return {name: n for name in _INPUT_FIELDS if isinstance(n := getattr(usage, name, None), int)}


def _decoded(started: OpenCall) -> ToolCall:
    """The call with its arguments decoded to a mapping when they are a JSON object."""
    text = "".join(started.parts) or "{}"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # bad JSON, or nested past the decoder's depth:
        value = None  # kept as text, so the call gets an invalid_json error result
    arguments: str | dict[str, Any] = value if isinstance(value, dict) else text
    return ToolCall(id=started.id, name=started.name, arguments=arguments)


@dataclass
class _AnthropicStream(TurnStream):
    provider = PROVIDER
    unterminated = "anthropic stream ended without message_stop (truncated stream)"

    open: dict[int, OpenCall] = field(default_factory=dict)
    stop_reason: str | None = None
    input_counts: dict[str, int] = field(default_factory=dict)
    """The last value reported for each of :data:`_INPUT_FIELDS`."""
    output_tokens: int = 0
    model: str | None = None

    def feed(self, event: RawMessageStreamEvent) -> list[StreamEvent]:
        cut = event.type == "message_delta" and event.delta.stop_reason in TRUNCATION_REASONS
        out = self.emitter.release(truncated=cut)
        if event.type == "message_start":
            self.model = event.message.model
            self.input_counts.update(_input_counts(event.message.usage))
        elif event.type == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self.open[event.index] = OpenCall(id=block.id, name=block.name)
            elif block.type == "text" and block.text:
                out.append(self.text_delta(block.text))
        elif event.type == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                out.append(self.text_delta(delta.text))
            elif delta.type == "input_json_delta" and event.index in self.open:
                self.open[event.index].parts.append(delta.partial_json)
        elif event.type == "content_block_stop" and event.index in self.open:
            call = _decoded(self.open.pop(event.index))
            out.extend(self.emitter.complete(call, proven=False))
        elif event.type == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self.input_counts.update(_input_counts(event.usage))
            self.output_tokens = event.usage.output_tokens or self.output_tokens
        elif event.type == "message_stop":
            out.extend(self._stop())
        return out

    def _stop(self) -> list[StreamEvent]:
        truncated = self.stop_reason in TRUNCATION_REASONS
        open_calls = [_decoded(self.open[i]) for i in sorted(self.open)]
        self.open.clear()
        out = self.emitter.finish(open_calls, truncated=truncated)
        usage = Usage(
            input_tokens=sum(self.input_counts.values()), output_tokens=self.output_tokens
        )
        self.finalize(usage=usage, finish_reason=self.stop_reason, model=self.model)
        return out
