"""OpenAI Chat Completions adapter (also any OpenAI-compatible server via ``base_url``).

Streaming completion signals: a call is complete when a chunk for another ``index`` arrives,
when a *different call id* arrives on the same index (Ollama and others reuse index 0 for
every call of a parallel batch), or when ``finish_reason`` is set.  Calls still open at a
``finish_reason`` of ``length`` are dropped unless their arguments already are complete JSON
(see :mod:`asyncfc.models._common` for the whole emission rule).  A stream that ends without
any ``finish_reason`` raises :class:`~asyncfc.ModelResponseError`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from asyncfc import wire
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
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionChunk
    from openai.types.completion_usage import CompletionUsage

__all__ = ("MaxTokensParam", "OpenAIChatModel")

MaxTokensParam = Literal["max_completion_tokens", "max_tokens"]

PROVIDER = "openai"


def make_openai_client(
    client: AsyncOpenAI | None,
    base_url: str | None,
    api_key: str | None,
    max_retries: int | None,
    timeout: float | None,
) -> AsyncOpenAI:
    """``client`` as given, or a new ``AsyncOpenAI`` with the given SDK settings."""
    import openai

    if client is not None:
        return client
    kwargs: dict[str, Any] = {}
    set_if(kwargs, "base_url", base_url)
    set_if(kwargs, "max_retries", max_retries)
    set_if(kwargs, "timeout", timeout)
    if api_key is None and base_url is not None and not os.environ.get("OPENAI_API_KEY"):
        api_key = "unused"  # local OpenAI-compatible servers usually take no key
    set_if(kwargs, "api_key", api_key)
    return openai.AsyncOpenAI(**kwargs)


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(input_tokens=usage.prompt_tokens or 0, output_tokens=usage.completion_tokens or 0)


class OpenAIChatModel:
    """:class:`~asyncfc.ChatModel` over ``client.chat.completions.create``.

    Pass a ready ``client`` or the SDK settings (``base_url``, ``api_key``, ``max_retries``,
    ``timeout``); retries are the SDK's own.  ``max_tokens_param`` names the request field that
    carries :attr:`ModelSettings.max_tokens`: OpenAI's current ``max_completion_tokens`` by
    default, or the older ``max_tokens`` that some compatible servers (llama.cpp's) still read
    instead.
    """

    def __init__(
        self,
        model: str,
        *,
        client: AsyncOpenAI | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        max_tokens_param: MaxTokensParam = "max_completion_tokens",
    ) -> None:
        import openai

        self.model = model
        self.max_tokens_param = max_tokens_param
        self._sdk = openai
        self.client = make_openai_client(client, base_url, api_key, max_retries, timeout)

    def _kwargs(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": wire.chat_messages(messages)}
        if tools:
            kwargs["tools"] = wire.chat_tools(tools)
            set_if(kwargs, "parallel_tool_calls", settings.parallel_tool_calls)
        set_if(kwargs, self.max_tokens_param, settings.max_tokens)
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
            completion: ChatCompletion = await self.client.chat.completions.create(**kwargs)
            return _response(completion)

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        kwargs = self._kwargs(messages, tools, settings)
        kwargs["stream"] = True
        kwargs.setdefault("stream_options", {"include_usage": True})

        async def start() -> Any:
            return await self.client.chat.completions.create(**kwargs)

        return open_stream(start, _events, self._sdk, PROVIDER)


def _response(completion: ChatCompletion) -> ModelResponse:
    if not completion.choices:
        raise ModelResponseError("openai response has no choices", provider=PROVIDER)
    choice = completion.choices[0]
    message = choice.message
    raw = [tc.model_dump() for tc in message.tool_calls or () if tc.type == "function"]
    calls = wire.chat_tool_calls_to_calls(raw)
    truncated = choice.finish_reason in TRUNCATION_REASONS
    calls = drop_trailing_truncated(calls, truncated, last_is_call=bool(calls))
    return ModelResponse(
        message=AssistantMessage(content=message.content or "", tool_calls=calls),
        usage=_usage(completion.usage),
        finish_reason=choice.finish_reason,
        model=completion.model,
    )


@dataclass
class _ChatStream:
    emitter: CallEmitter = field(default_factory=CallEmitter)
    open: dict[int, OpenCall] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    started: int = 0

    def feed(self, chunk: ChatCompletionChunk) -> list[StreamEvent]:
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        out: list[StreamEvent] = []
        for choice in chunk.choices:
            if choice.index != 0:
                continue  # n > 1 is not supported: one assistant turn per request
            delta = choice.delta
            if delta is not None and delta.content:
                self.text.append(delta.content)
                out.append(TextDelta(text=delta.content))
            for fragment in (delta.tool_calls if delta is not None else None) or ():
                out.extend(self._fragment(fragment.index or 0, fragment))
            if choice.finish_reason is not None:
                out.extend(self._finish(choice.finish_reason))
        return out

    def _fragment(self, index: int, fragment: Any) -> list[StreamEvent]:
        out = self._close(lambda i, _: i != index)
        call_id = fragment.id
        current = self.open.get(index)
        if current is not None and call_id and call_id != current.id:
            out.extend(self._close(lambda i, _: i == index))
            current = None
        if current is None:
            self.started += 1
            current = self.open[index] = OpenCall(id=call_id or f"call_{self.started}")
        function = fragment.function
        if function is not None:
            current.name = current.name or (function.name or "")
            current.parts.append(function.arguments or "")
        return out

    def _close(self, which: Any) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for index in sorted(self.open):
            if which(index, self.open[index]):
                out.extend(self.emitter.complete(self.open.pop(index).call()))
        return out

    def _finish(self, reason: str) -> list[StreamEvent]:
        self.finish_reason = reason
        open_calls = [self.open[i].call() for i in sorted(self.open)]
        self.open.clear()
        return self.emitter.finish(open_calls, truncated=reason in TRUNCATION_REASONS)

    def done(self) -> StreamDone:
        if self.finish_reason is None:
            raise ModelResponseError(
                "openai stream ended before a finish_reason (truncated stream)",
                provider=PROVIDER,
            )
        message = AssistantMessage(content="".join(self.text), tool_calls=tuple(self.emitter.calls))
        response = ModelResponse(
            message=message, usage=self.usage, finish_reason=self.finish_reason, model=self.model
        )
        return StreamDone(response=response)


async def _events(chunks: AsyncIterator[ChatCompletionChunk]) -> AsyncGenerator[StreamEvent, None]:
    state = _ChatStream()
    async for chunk in chunks:
        for event in state.feed(chunk):
            yield event
    yield state.done()
