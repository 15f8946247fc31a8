"""What the three SDK adapters share below their base class (:mod:`._sdk_model`): client
construction, SDK error mapping, stream plumbing and the emission rule.

**Emission rule** (streaming).  A call is handed to the caller as :class:`ToolCallDone` only
once the wire says its arguments are complete, and never twice:

* complete arguments that are a valid JSON value are emitted at once;
* complete-by-signal arguments that are *not* valid JSON are held until the next wire event:
  if that event reports a truncation (``length`` / ``max_tokens`` / ``incomplete``) the call
  was cut by the token limit and is dropped, otherwise it is emitted as written (the runtime
  answers it with an ``invalid_json`` error result);
* calls still open when the stream finishes with a truncation are dropped for the same reason,
  unless their arguments already form a complete JSON value;
* a stream that breaks, reports an error or ends without its terminal event raises a
  :class:`~asyncfc.ModelAPIError` subclass, and whatever was still open is never emitted.

The final :class:`StreamDone` response is built from the very :class:`ToolCall` objects that
were emitted, in order: ``StreamDone.response.message.tool_calls[i]`` is the call emitted with
``index=i`` (same id, same object).  A caller that dispatched calls early dedupes by id.

**Parse once.**  Deciding completeness means parsing a call's text arguments; when they parse
to a JSON object the emitted call carries that object as :attr:`ToolCall.decoded`, so the
runtime does not parse them again.  The parser is the runtime's own
(``pydantic_core.from_json``), so ``decoded`` is exactly what the runtime would have decoded.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pydantic_core

from asyncfc._calls import ToolCall
from asyncfc._errors import (
    ModelAPIError,
    ModelConnectionError,
    ModelRateLimitError,
    ModelResponseError,
    ModelTimeoutError,
)
from asyncfc._messages import StreamEvent, ToolCallDone

if TYPE_CHECKING:
    from openai import AsyncOpenAI

TRUNCATION_REASONS = frozenset(
    {"length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"}
)
"""Finish reasons meaning the token limit cut the turn (open calls are then incomplete)."""


def parsed(call: ToolCall) -> tuple[ToolCall, bool]:
    """``(call, complete)``: whether the call's text arguments are one whole JSON value (a
    cut-off text is not), and the call with :attr:`~ToolCall.decoded` set when that value is a
    JSON object.  Arguments that are already a mapping, or already decoded, are not parsed."""
    if not isinstance(call.arguments, str) or call.decoded is not None:
        return call, True
    try:
        value = pydantic_core.from_json(call.arguments)
    except ValueError:
        return call, False
    return (replace(call, decoded=value) if isinstance(value, dict) else call), True


def provider_message(exc: Any) -> str:
    """The provider's own error text from an SDK ``APIError``: ``error.message`` of the JSON
    body when there is one, else the SDK's message."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(getattr(exc, "message", None) or exc)


def map_sdk_error(exc: BaseException, sdk: ModuleType, provider: str) -> ModelAPIError | None:
    """Translate an exception raised by ``sdk`` (``openai`` or ``anthropic``, which share their
    exception names) or by its HTTP layer; ``None`` if it is not a provider failure."""
    import httpx2

    if isinstance(exc, ModelAPIError):
        return exc
    if isinstance(exc, sdk.APITimeoutError | httpx2.TimeoutException):
        return ModelTimeoutError(f"{provider} request timed out", provider=provider)
    if isinstance(exc, sdk.APIConnectionError | httpx2.TransportError):
        return ModelConnectionError(f"{provider} connection failed: {exc}", provider=provider)
    if isinstance(exc, sdk.APIResponseValidationError):
        return ModelResponseError(
            f"{provider} sent a response that does not match its schema: {exc}",
            status=exc.status_code,
            provider=provider,
        )
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code if exc.status_code >= 400 else None
        kind = ModelRateLimitError if status == 429 else ModelAPIError
        return kind(provider_message(exc), status=status, provider=provider)
    if isinstance(exc, sdk.APIError):
        return ModelAPIError(provider_message(exc), provider=provider)
    if isinstance(exc, ValueError):  # JSONDecodeError, pydantic ValidationError
        return ModelResponseError(f"{provider} sent a malformed response: {exc}", provider=provider)
    return None


@contextmanager
def translated_errors(sdk: ModuleType, provider: str) -> Iterator[None]:
    """Re-raise SDK and transport failures as asyncfc's typed errors (cause kept)."""
    try:
        yield
    except Exception as exc:
        mapped = map_sdk_error(exc, sdk, provider)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc


@dataclass
class OpenCall:
    """A call being streamed: what the fragments said so far."""

    id: str
    name: str = ""
    parts: list[str] = field(default_factory=list)

    def call(self) -> ToolCall:
        """The call as written so far (its argument text may be cut off)."""
        return ToolCall(id=self.id, name=self.name, arguments="".join(self.parts))


class CallEmitter:
    """Applies the emission rule of this module and remembers every emitted call."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []
        self._held: ToolCall | None = None

    def complete(self, call: ToolCall, *, proven: bool = True) -> list[StreamEvent]:
        """The wire says ``call`` is complete.  ``proven``: the signal itself excludes a
        truncation (the model went on to something else), so the call is emitted even with
        bad JSON; otherwise a call with bad JSON is held until the next wire event."""
        out = self.release(truncated=False)
        call, complete = parsed(call)
        if not complete and not proven:
            self._held = call
            return out
        return [*out, self._emit(call)]

    def release(self, *, truncated: bool) -> list[StreamEvent]:
        """A further wire event arrived: emit the held call unless it reports truncation."""
        held, self._held = self._held, None
        if held is None or truncated:
            return []
        return [self._emit(held)]

    def finish(self, open_calls: list[ToolCall], *, truncated: bool) -> list[StreamEvent]:
        """The turn ended: decide for the held call and the calls no signal completed yet."""
        out = self.release(truncated=truncated)
        for started in open_calls:
            call, complete = parsed(started)
            if complete or not truncated:
                out.append(self._emit(call))
        return out

    def _emit(self, call: ToolCall) -> ToolCallDone:
        self.calls.append(call)
        return ToolCallDone(call=call, index=len(self.calls) - 1)


async def guarded(
    events: AsyncGenerator[StreamEvent, None], sdk: ModuleType, provider: str
) -> AsyncGenerator[StreamEvent, None]:
    """``events`` with SDK failures raised as asyncfc's typed errors; closing this closes
    ``events`` too, at once (not whenever the garbage collector finds it)."""
    with translated_errors(sdk, provider):
        async with aclosing(events):
            async for event in events:
                yield event


def drop_trailing_truncated(
    calls: tuple[ToolCall, ...], truncated: bool, last_is_call: bool
) -> tuple[ToolCall, ...]:
    """Non-streaming rule: a truncated turn's last output, when it is a call, was cut inside
    its arguments (output is generated in order), so it is not returned as runnable."""
    if truncated and last_is_call and calls:
        return calls[:-1]
    return calls


def set_if(kwargs: dict[str, Any], key: str, value: Any) -> None:
    """``kwargs[key] = value`` unless ``value`` is ``None`` (then the SDK default applies)."""
    if value is not None:
        kwargs[key] = value


class _Closable(Protocol):
    async def close(self) -> None: ...


S = TypeVar("S", bound=_Closable)


@asynccontextmanager
async def open_stream(
    start: Callable[[], Awaitable[S]],
    events: Callable[[S], AsyncGenerator[StreamEvent, None]],
    sdk: ModuleType,
    provider: str,
) -> AsyncIterator[AsyncIterator[StreamEvent]]:
    """Open an SDK stream, hand out its translated events, and always close it again."""
    with translated_errors(sdk, provider):
        raw = await start()
    iterator = guarded(events(raw), sdk, provider)
    try:
        yield iterator
    finally:
        try:
            await iterator.aclose()
        finally:
            with translated_errors(sdk, provider):
                await raw.close()


C = TypeVar("C")
"""An SDK client type."""


def make_client(
    factory: Callable[..., C],
    client: C | None,
    *,
    base_url: str | None,
    api_key: str | None,
    max_retries: int | None,
    timeout: float | None,
) -> C:
    """``client`` as given, or ``factory(...)`` with those of the SDK settings that are set."""
    if client is not None:
        return client
    kwargs: dict[str, Any] = {}
    set_if(kwargs, "base_url", base_url)
    set_if(kwargs, "api_key", api_key)
    set_if(kwargs, "max_retries", max_retries)
    set_if(kwargs, "timeout", timeout)
    return factory(**kwargs)


def make_openai_client(
    client: AsyncOpenAI | None,
    base_url: str | None,
    api_key: str | None,
    max_retries: int | None,
    timeout: float | None,
) -> AsyncOpenAI:
    """``client`` as given, or a new ``AsyncOpenAI`` with the given SDK settings.  A
    ``base_url`` without any key (argument or ``OPENAI_API_KEY``) gets a placeholder key: local
    OpenAI-compatible servers usually take none, and the SDK refuses to start without one."""
    import openai

    if api_key is None and base_url is not None and not os.environ.get("OPENAI_API_KEY"):
        api_key = "unused"
    return make_client(
        openai.AsyncOpenAI,
        client,
        base_url=base_url,
        api_key=api_key,
        max_retries=max_retries,
        timeout=timeout,
    )
