"""OpenAI Responses adapter.

Streaming completion signal: ``response.function_call_arguments.done`` (or, for a server that
skips it, the call's ``response.output_item.done``).  The terminal events are
``response.completed`` and ``response.incomplete``; ``response.failed`` and ``error`` raise
:class:`~asyncfc.ModelAPIError` with the provider's message, and a stream without a terminal
event raises :class:`~asyncfc.ModelResponseError`.

``finish_reason`` is the response ``status`` (``"completed"``), or for an incomplete response
its ``incomplete_details.reason`` (``"max_output_tokens"`` …).  Reasoning items are not
carried between turns: the conversation is re-sent in full each turn (stateless).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncfc import wire
from asyncfc._calls import ToolCall
from asyncfc._errors import ModelAPIError
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
    make_openai_client,
    set_if,
)
from ._sdk_model import SDKModel, TurnStream

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.responses import Response, ResponseStreamEvent

__all__ = ("OpenAIResponsesModel",)

PROVIDER = "openai"


class OpenAIResponsesModel(SDKModel["AsyncOpenAI", "Response", "ResponseStreamEvent"]):
    """:class:`~asyncfc.ChatModel` over ``client.responses.create``.

    Pass a ready ``client`` or the SDK settings (``base_url``, ``api_key``, ``max_retries``,
    ``timeout``); retries are the SDK's own.
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
    ) -> None:
        import openai

        super().__init__(
            model, make_openai_client(client, base_url, api_key, max_retries, timeout), openai
        )

    def _fields(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> dict[str, Any]:
        instructions, items = wire.responses_request(messages)
        kwargs: dict[str, Any] = {"input": items}
        set_if(kwargs, "instructions", instructions)
        if tools:
            kwargs["tools"] = wire.responses_tools(tools)
            set_if(kwargs, "parallel_tool_calls", settings.parallel_tool_calls)
        set_if(kwargs, "max_output_tokens", settings.max_tokens)
        return kwargs

    async def _create(self, kwargs: dict[str, Any]) -> Any:
        return await self.client.responses.create(**kwargs)

    def _response(self, response: Response, /) -> ModelResponse:
        reason, truncated = _finish_reason(response)
        items = [
            item.model_dump()
            for item in response.output
            if item.type == "function_call" and item.status != "incomplete"
        ]
        calls = wire.responses_items_to_calls(items)
        # An item the server already marked incomplete was skipped above; otherwise a trailing
        # call of a truncated response is the one the limit cut.
        last = response.output[-1] if response.output else None
        last_is_call = (
            last is not None and last.type == "function_call" and last.status != "incomplete"
        )
        calls = drop_trailing_truncated(calls, truncated, last_is_call)
        return ModelResponse(
            message=AssistantMessage(content=_text(response), tool_calls=calls),
            usage=_usage(response),
            finish_reason=reason,
            model=response.model,
        )

    def _stream_state(self) -> _ResponsesStream:
        return _ResponsesStream()


def _finish_reason(response: Response) -> tuple[str | None, bool]:
    """``(finish_reason, truncated)``; raises for a failed response."""
    if response.status == "failed":
        error = response.error
        raise ModelAPIError(error.message if error else "response failed", provider=PROVIDER)
    if response.status == "incomplete":
        details = response.incomplete_details
        reason = (details.reason if details else None) or "incomplete"
        return reason, reason in TRUNCATION_REASONS
    return response.status, False


def _usage(response: Response) -> Usage:
    """Input and output tokens; cached input and reasoning tokens are counted inside them."""
    usage = response.usage
    if usage is None:
        return Usage()
    return Usage(input_tokens=usage.input_tokens or 0, output_tokens=usage.output_tokens or 0)


def _text(response: Response) -> str:
    parts: list[str] = []
    for item in response.output:
        if item.type == "message":
            parts.extend(c.text for c in item.content if c.type == "output_text")
    return "".join(parts)


def _is_cut(event: ResponseStreamEvent) -> bool:
    """Whether ``event`` reports that the token limit cut the output."""
    if event.type == "response.output_item.done":
        return getattr(event.item, "status", None) == "incomplete"
    return event.type == "response.incomplete"


@dataclass
class _ResponsesStream(TurnStream):
    provider = PROVIDER
    unterminated = "openai responses stream ended without response.completed (truncated stream)"

    open: dict[str, OpenCall] = field(default_factory=dict)
    """Calls by item id, from ``output_item.added`` until their arguments are done."""

    def feed(self, event: ResponseStreamEvent) -> list[StreamEvent]:
        out = self.emitter.release(truncated=_is_cut(event))
        if event.type == "response.output_text.delta":
            out.append(self.text_delta(event.delta))
        elif event.type == "response.output_item.added" and event.item.type == "function_call":
            item = event.item
            self.open[item.id or item.call_id] = OpenCall(
                id=item.call_id or wire.new_call_id(), name=item.name
            )
        elif event.type == "response.function_call_arguments.delta":
            if event.item_id in self.open:
                self.open[event.item_id].parts.append(event.delta)
        elif event.type == "response.function_call_arguments.done":
            out.extend(self._done(event.item_id, event.arguments, proven=False))
        elif event.type == "response.output_item.done" and event.item.type == "function_call":
            item = event.item
            if item.status != "incomplete":
                out.extend(self._done(item.id or item.call_id, item.arguments, proven=True))
            self.open.pop(item.id or item.call_id, None)
        elif event.type in ("response.completed", "response.incomplete", "response.failed"):
            out.extend(self._terminal(event.response))
        elif event.type == "error":
            raise ModelAPIError(event.message, provider=PROVIDER)
        return out

    def _done(self, item_id: str, arguments: str, *, proven: bool) -> list[StreamEvent]:
        started = self.open.pop(item_id, None)
        if started is None:
            return []  # already completed (``output_item.done`` after ``arguments.done``)
        call = ToolCall(id=started.id, name=started.name, arguments=arguments)
        return self.emitter.complete(call, proven=proven)

    def _terminal(self, response: Response) -> list[StreamEvent]:
        reason, truncated = _finish_reason(response)
        open_calls = [started.call() for started in self.open.values()]
        self.open.clear()
        out = self.emitter.finish(open_calls, truncated=truncated)
        self.finalize(usage=_usage(response), finish_reason=reason, model=response.model)
        return out
