"""OpenAI Chat Completions adapter (also any OpenAI-compatible server via ``base_url``).

Streaming completion signals: a call is complete when a chunk for another ``index`` arrives,
when a *different call id* arrives on the same index (Ollama and others reuse index 0 for
every call of a parallel batch), or when ``finish_reason`` is set.  Calls still open at a
``finish_reason`` of ``length`` are dropped unless their arguments already are complete JSON
(see :mod:`asyncfc.models._common` for the whole emission rule).  A stream that ends without
any ``finish_reason`` raises :class:`~asyncfc.ModelResponseError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    Usage,
)

from ._common import (
    TRUNCATION_REASONS,
    OpenCall,
    drop_trailing_truncated,
    make_openai_client,
    set_if,
)
from ._sdk_model import SDKModel, TurnStream

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionChunk
    from openai.types.completion_usage import CompletionUsage

__all__ = ("MaxTokensParam", "OpenAIChatModel")

MaxTokensParam = Literal["max_completion_tokens", "max_tokens"]
"""The request field that carries :attr:`ModelSettings.max_tokens`."""

PROVIDER = "openai"


def _usage(usage: CompletionUsage | None) -> Usage:
    """Prompt and completion tokens; OpenAI counts cached prompt tokens inside
    ``prompt_tokens`` and reasoning tokens inside ``completion_tokens``."""
    if usage is None:
        return Usage()
    return Usage(input_tokens=usage.prompt_tokens or 0, output_tokens=usage.completion_tokens or 0)


class OpenAIChatModel(SDKModel["AsyncOpenAI", "ChatCompletion", "ChatCompletionChunk"]):
    """:class:`~asyncfc.ChatModel` over ``client.chat.completions.create``.

    Pass a ready ``client`` or the SDK settings (``base_url``, ``api_key``, ``max_retries``,
    ``timeout``); retries are the SDK's own.  ``max_tokens_param`` names the request field that
    carries :attr:`ModelSettings.max_tokens`: OpenAI's current ``max_completion_tokens`` by
    default, or the older ``max_tokens`` that some compatible servers (llama.cpp's) still read
    instead.  Streams ask for usage (``stream_options.include_usage``) unless
    ``ModelSettings.extra`` says otherwise.
    """

    provider = PROVIDER

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

        super().__init__(
            model, make_openai_client(client, base_url, api_key, max_retries, timeout), openai
        )
        self.max_tokens_param = max_tokens_param
        """The request field that carries :attr:`ModelSettings.max_tokens`."""

    def _fields(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"messages": wire.chat_messages(messages)}
        if tools:
            kwargs["tools"] = wire.chat_tools(tools)
            set_if(kwargs, "parallel_tool_calls", settings.parallel_tool_calls)
        set_if(kwargs, self.max_tokens_param, settings.max_tokens)
        return kwargs

    def _streaming(self, kwargs: dict[str, Any]) -> None:
        # a stream reports usage (in a last chunk) only when asked to
        kwargs["stream_options"] = {"include_usage": True, **kwargs.get("stream_options", {})}

    async def _create(self, kwargs: dict[str, Any]) -> Any:
        return await self.client.chat.completions.create(**kwargs)

    def _response(self, completion: ChatCompletion, /) -> ModelResponse:
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

    def _stream_state(self) -> _ChatStream:
        return _ChatStream()


@dataclass
class _ChatStream(TurnStream):
    provider = PROVIDER
    unterminated = "openai stream ended before a finish_reason (truncated stream)"

    open: dict[int, OpenCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    started: int = 0

    @property
    def finished(self) -> bool:
        return False  # read to the end: the usage chunk comes after ``finish_reason``

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
                out.append(self.text_delta(delta.content))
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
            current = self.open[index] = OpenCall(id=call_id or wire.new_call_id())
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
        if self.finish_reason is not None:
            self.finalize(usage=self.usage, finish_reason=self.finish_reason, model=self.model)
        return super().done()
