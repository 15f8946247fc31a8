"""The base of the adapters over an official SDK, and of their stream states.

:class:`SDKModel` owns what is the same for every SDK adapter: the constructor's ``model`` /
``client``, the request fields every provider names alike (``model``, ``temperature``, and
``ModelSettings.extra`` last so that it can override anything), ``request`` and ``stream``
with their error translation, the stream's lifetime and its event loop.  Each adapter module
keeps only its provider's translation: the request fields that differ, the SDK call, the
conversion of a response, and a :class:`TurnStream` that turns the stream's events into
asyncfc's under the emission rule of :mod:`._common`.

Invariant: a streamed turn's :class:`StreamDone` carries exactly the calls that were emitted,
in order (:meth:`TurnStream.finalize`), and a stream that ends without its terminal event
raises :class:`~asyncfc.ModelResponseError` instead of returning a partial turn.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

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

from ._common import CallEmitter, open_stream, set_if, translated_errors

C = TypeVar("C")
"""An SDK client type."""
R = TypeVar("R")
"""What an SDK returns for a request without streaming."""
E = TypeVar("E")
"""One event of an SDK stream."""
E_contra = TypeVar("E_contra", contravariant=True)


@dataclass
class TurnStream:
    """Base of the adapters' stream states: the emitter, the text so far, and the response
    that the terminal event completes (see :class:`StreamState`)."""

    provider: ClassVar[str]
    unterminated: ClassVar[str]
    """The error message for a stream that ended without its terminal event."""

    emitter: CallEmitter = field(default_factory=CallEmitter)
    text: list[str] = field(default_factory=list)
    final: ModelResponse | None = None

    @property
    def finished(self) -> bool:
        """Whether the terminal event arrived (the rest of the stream is not read)."""
        return self.final is not None

    def text_delta(self, text: str) -> TextDelta:
        """Record ``text`` as part of the message and hand it on."""
        self.text.append(text)
        return TextDelta(text=text)

    def finalize(self, *, usage: Usage, finish_reason: str | None, model: str | None) -> None:
        """The turn is over: its message is the text and exactly the emitted calls, in order."""
        message = AssistantMessage(content="".join(self.text), tool_calls=tuple(self.emitter.calls))
        self.final = ModelResponse(
            message=message, usage=usage, finish_reason=finish_reason, model=model
        )

    def done(self) -> StreamDone:
        """The whole turn, or :class:`~asyncfc.ModelResponseError` if it never finished."""
        if self.final is None:
            raise ModelResponseError(self.unterminated, provider=self.provider)
        return StreamDone(response=self.final)


class StreamState(Protocol[E_contra]):
    """One streamed turn being translated: the adapter feeds it the SDK's events in order."""

    def feed(self, event: E_contra) -> list[StreamEvent]:
        """The events (text, completed calls) that ``event`` lets the caller have now."""
        ...

    @property
    def finished(self) -> bool:
        """Whether the terminal event arrived (the rest of the stream is not read)."""
        ...

    def done(self) -> StreamDone:
        """The whole turn; raises :class:`~asyncfc.ModelResponseError` when the stream ended
        without its terminal event."""
        ...


class SDKModel(ABC, Generic[C, R, E]):
    """Base of the adapters over an official SDK: a :class:`~asyncfc.ChatModel` whose
    ``request`` and ``stream`` send one SDK ``create`` call per turn.

    Subclasses give the provider's name (``provider``) and translation: :meth:`_fields`,
    :meth:`_create`, :meth:`_response` and :meth:`_stream_state` (see the module docstring).
    """

    provider: ClassVar[str]
    """The provider name carried by the typed errors (``"openai"``, ``"anthropic"``)."""

    def __init__(self, model: str, client: C, sdk: ModuleType) -> None:
        self.model = model
        """The model name sent with every request."""
        self.client = client
        """The SDK client the requests go through (its retries and timeouts apply)."""
        self._sdk = sdk

    @abstractmethod
    def _fields(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> dict[str, Any]:
        """The request fields in the provider's own terms: conversation, tools, token limit."""

    @abstractmethod
    async def _create(self, kwargs: dict[str, Any]) -> Any:
        """The SDK's ``create(**kwargs)``: a response, or with ``stream=True`` a stream."""

    @abstractmethod
    def _response(self, result: R, /) -> ModelResponse:
        """The turn in a non-streaming SDK result."""

    @abstractmethod
    def _stream_state(self) -> StreamState[E]:
        """A fresh translation state for one streamed turn."""

    def _kwargs(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
        *,
        stream: bool,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, **self._fields(messages, tools, settings)}
        set_if(kwargs, "temperature", settings.temperature)
        kwargs.update(settings.extra)
        if stream:
            kwargs["stream"] = True
            self._streaming(kwargs)
        return kwargs

    def _streaming(self, kwargs: dict[str, Any]) -> None:
        """Add what a streamed request needs beyond ``stream=True`` (nothing by default)."""

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> ModelResponse:
        """One whole assistant turn; SDK and transport failures raise
        :class:`~asyncfc.ModelAPIError` subclasses."""
        kwargs = self._kwargs(messages, tools, settings, stream=False)
        with translated_errors(self._sdk, self.provider):
            result: R = await self._create(kwargs)
            return self._response(result)

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        """One assistant turn as events, under the emission rule of
        :mod:`asyncfc.models._common`; the stream is closed when the context exits."""
        kwargs = self._kwargs(messages, tools, settings, stream=True)

        async def start() -> Any:
            return await self._create(kwargs)

        return open_stream(start, self._events, self._sdk, self.provider)

    async def _events(self, events: AsyncIterator[E]) -> AsyncGenerator[StreamEvent, None]:
        state = self._stream_state()
        async for event in events:
            for out in state.feed(event):
                yield out
            if state.finished:
                break
        yield state.done()
