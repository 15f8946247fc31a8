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
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncfc import wire
from asyncfc._calls import ToolCall
from asyncfc._errors import ModelResponseError
from asyncfc._messages import (
    AssistantMessage,
    Message,
    ModelResponse,
    ModelSettings,
    StreamDone,
    StreamEvent,
    TextDelta,
    Usage,
)

from ._common import (
    TRUNCATION_REASONS,
    CallEmitter,
    OpenCall,
    drop_trailing_truncated,
    open_stream,
    set_if,
    translated_errors,
)

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types import RawMessageStreamEvent

__all__ = ("AnthropicModel",)

PROVIDER = "anthropic"


class AnthropicModel:
    """:class:`~asyncfc.ChatModel` over ``client.messages.create``.

    Pass a ready ``client`` or the SDK settings (``base_url``, ``api_key``, ``max_retries``,
    ``timeout``); retries are the SDK's own.
    """

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

        self.model = model
        self.max_tokens = max_tokens
        self._sdk = anthropic
        if client is None:
            kwargs: dict[str, Any] = {}
            set_if(kwargs, "base_url", base_url)
            set_if(kwargs, "api_key", api_key)
            set_if(kwargs, "max_retries", max_retries)
            set_if(kwargs, "timeout", timeout)
            client = anthropic.AsyncAnthropic(**kwargs)
        self.client = client

    def _kwargs(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> dict[str, Any]:
        system, wire_messages = wire.anthropic_request(messages)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": wire_messages,
            "max_tokens": settings.max_tokens or self.max_tokens,
        }
        set_if(kwargs, "system", system)
        if tools:
            kwargs["tools"] = wire.anthropic_tools(tools)
            if settings.parallel_tool_calls is False:
                kwargs["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
        set_if(kwargs, "temperature", settings.temperature)
        kwargs.update(settings.extra)
        return kwargs

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> ModelResponse:
        kwargs = self._kwargs(messages, tools, settings)
        with translated_errors(self._sdk, PROVIDER):
            message: AnthropicMessage = await self.client.messages.create(**kwargs)
            return _response(message)

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        kwargs = self._kwargs(messages, tools, settings)
        kwargs["stream"] = True

        async def start() -> Any:
            return await self.client.messages.create(**kwargs)

        return open_stream(start, _events, self._sdk, PROVIDER)


def _response(message: AnthropicMessage) -> ModelResponse:
    blocks = [b.model_dump() for b in message.content]
    calls = wire.anthropic_blocks_to_calls(blocks)
    truncated = message.stop_reason in TRUNCATION_REASONS
    last_is_call = bool(blocks) and blocks[-1].get("type") == "tool_use"
    calls = drop_trailing_truncated(calls, truncated, last_is_call)
    text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
    usage = Usage(
        input_tokens=message.usage.input_tokens or 0,
        output_tokens=message.usage.output_tokens or 0,
    )
    return ModelResponse(
        message=AssistantMessage(content=text, tool_calls=calls),
        usage=usage,
        finish_reason=message.stop_reason,
        model=message.model,
    )


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
class _AnthropicStream:
    emitter: CallEmitter = field(default_factory=CallEmitter)
    open: dict[int, OpenCall] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None
    final: ModelResponse | None = None

    def feed(self, event: RawMessageStreamEvent) -> list[StreamEvent]:
        cut = event.type == "message_delta" and event.delta.stop_reason in TRUNCATION_REASONS
        out = self.emitter.release(truncated=cut)
        if event.type == "message_start":
            self.model = event.message.model
            self.input_tokens = event.message.usage.input_tokens or 0
        elif event.type == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self.open[event.index] = OpenCall(id=block.id, name=block.name)
            elif block.type == "text" and block.text:
                out.append(self._text(block.text))
        elif event.type == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                out.append(self._text(delta.text))
            elif delta.type == "input_json_delta" and event.index in self.open:
                self.open[event.index].parts.append(delta.partial_json)
        elif event.type == "content_block_stop" and event.index in self.open:
            call = _decoded(self.open.pop(event.index))
            out.extend(self.emitter.complete(call, proven=False))
        elif event.type == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self.output_tokens = event.usage.output_tokens or self.output_tokens
        elif event.type == "message_stop":
            out.extend(self._stop())
        return out

    def _text(self, text: str) -> TextDelta:
        self.text.append(text)
        return TextDelta(text=text)

    def _stop(self) -> list[StreamEvent]:
        truncated = self.stop_reason in TRUNCATION_REASONS
        open_calls = [_decoded(self.open[i]) for i in sorted(self.open)]
        self.open.clear()
        out = self.emitter.finish(open_calls, truncated=truncated)
        message = AssistantMessage(content="".join(self.text), tool_calls=tuple(self.emitter.calls))
        usage = Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens)
        self.final = ModelResponse(
            message=message, usage=usage, finish_reason=self.stop_reason, model=self.model
        )
        return out

    def done(self) -> StreamDone:
        if self.final is None:
            raise ModelResponseError(
                "anthropic stream ended without message_stop (truncated stream)",
                provider=PROVIDER,
            )
        return StreamDone(response=self.final)


async def _events(
    events: AsyncIterator[RawMessageStreamEvent],
) -> AsyncGenerator[StreamEvent, None]:
    state = _AnthropicStream()
    async for event in events:
        for out in state.feed(event):
            yield out
        if state.final is not None:
            break
    yield state.done()
