"""ScriptedModel: the library's own stand-in for a chat model, for tests and benchmarks.

It plays *replies*, one per model request.  A script is a list of :class:`Reply` values or a
function that builds the next reply from a :class:`ScriptView` of everything the model has
been shown, so a script can react to results the way a model would: read a
``future_3 (pending)`` result and pass ``"future_3"`` on, or call ``await_future``.

Decode time is simulated as ``ttft + output_tokens / tokens_per_second`` and spent in real
``anyio.sleep`` calls, so overlap with real tool execution is real (and a fake clock makes it
exact).  Output tokens are approximated as ``ceil(characters / chars_per_token)`` (default
4 characters per token, the usual rule of thumb for English text and JSON under BPE
tokenizers) over the text plus, per call, its name and JSON arguments, plus
``CALL_OVERHEAD_TOKENS`` for the call's framing.  Prompt processing takes no simulated time,
but its cost is estimated: the input tokens of a request are the same character rule over
everything sent (every message's text, calls and results, and the tool definitions as JSON)
plus ``MESSAGE_OVERHEAD_TOKENS`` per message, so a conversation re-read by a later request
is counted again, as providers bill it.

When streaming, the text comes first, then each call is emitted as a :class:`ToolCallDone`
the moment its simulated tokens are decoded, then :class:`StreamDone`.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from ._calls import ToolCall
from ._messages import (
    AssistantMessage,
    Message,
    ModelResponse,
    ModelSettings,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCallDone,
    ToolResultsMessage,
    Usage,
)

__all__ = (
    "CALL_OVERHEAD_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "Reply",
    "ScriptExhausted",
    "ScriptView",
    "ScriptedModel",
    "estimate_input_tokens",
)

CALL_OVERHEAD_TOKENS = 4
"""Output tokens counted for a call's framing, besides its name and arguments."""

MESSAGE_OVERHEAD_TOKENS = 4
"""Input tokens counted per message for its role and framing (chat formats spend 3-4)."""


class ScriptExhausted(RuntimeError):
    """The model was asked for more replies than its script has."""


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One scripted assistant reply: optional text, then calls as ``(name, arguments)``."""

    text: str = ""
    calls: Sequence[tuple[str, Mapping[str, Any] | str]] = ()


@dataclass(frozen=True, kw_only=True)
class ScriptView:
    """What the model is shown for one request."""

    messages: Sequence[Message]
    tools: Sequence[Mapping[str, Any]]
    settings: ModelSettings
    index: int
    """0 for the first request the model receives, then 1, 2, …"""

    def tool_names(self) -> list[str]:
        """The names of the tools offered in this request."""
        return [t["name"] for t in self.tools]

    def result_for(self, call_id: str) -> str | None:
        """The content the model was shown for ``call_id`` (``None`` if not yet)."""
        for m in self.messages:
            if isinstance(m, ToolResultsMessage):
                for r in m.results:
                    if r.call_id == call_id:
                        return r.content
        return None


Script = Sequence[Reply] | Callable[[ScriptView], Reply]


def count_tokens(text: str, chars_per_token: float) -> int:
    """``ceil(len(text) / chars_per_token)``: the module's rule of thumb."""
    return math.ceil(len(text) / chars_per_token) if text else 0


def estimate_input_tokens(
    messages: Sequence[Message],
    tools: Sequence[Mapping[str, Any]],
    chars_per_token: float = 4.0,
) -> int:
    """Estimated prompt tokens of one request (see the module docstring)."""
    chars = len(json.dumps(list(tools), default=str)) if tools else 0
    for m in messages:
        if isinstance(m, ToolResultsMessage):
            chars += sum(len(r.call_id) + len(r.content) for r in m.results)
            continue
        chars += len(m.content)
        if isinstance(m, AssistantMessage):
            for c in m.tool_calls:
                raw = c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments)
                chars += len(c.id) + len(c.name) + len(raw)
    count = math.ceil(chars / chars_per_token)
    results = sum(len(m.results) for m in messages if isinstance(m, ToolResultsMessage))
    return count + MESSAGE_OVERHEAD_TOKENS * (len(messages) + results)


@dataclass(kw_only=True)
class ScriptedModel:
    """A :class:`~asyncfc.ChatModel` that plays a script with simulated decode time."""

    script: Script
    ttft: float = 0.0
    """Seconds before the first output token."""
    tokens_per_second: float | None = None
    """Decode speed; ``None`` decodes instantly."""
    chars_per_token: float = 4.0
    requests: list[ScriptView] = field(default_factory=list)
    """Every request received, in order (for assertions)."""
    _calls_made: int = field(default=0, repr=False)

    def _next_reply(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> Reply:
        view = ScriptView(
            messages=list(messages), tools=list(tools), settings=settings, index=len(self.requests)
        )
        self.requests.append(view)
        if callable(self.script):
            return self.script(view)
        if view.index >= len(self.script):
            raise ScriptExhausted(
                f"script has {len(self.script)} replies; reply {view.index + 1} asked"
            )
        return self.script[view.index]

    def _materialise(self, reply: Reply) -> tuple[AssistantMessage, list[int]]:
        calls: list[ToolCall] = []
        tokens: list[int] = [count_tokens(reply.text, self.chars_per_token)]
        for name, args in reply.calls:
            self._calls_made += 1
            raw = args if isinstance(args, str) else json.dumps(dict(args))
            calls.append(ToolCall(id=f"call_{self._calls_made}", name=name, arguments=raw))
            tokens.append(count_tokens(name + raw, self.chars_per_token) + CALL_OVERHEAD_TOKENS)
        return AssistantMessage(content=reply.text, tool_calls=tuple(calls)), tokens

    def decode_seconds(self, tokens: int) -> float:
        """Simulated seconds to decode ``tokens`` output tokens (after ``ttft``)."""
        if not self.tokens_per_second:
            return 0.0
        return tokens / self.tokens_per_second

    def _response(
        self, message: AssistantMessage, tokens: Iterable[int], input_tokens: int
    ) -> ModelResponse:
        return ModelResponse(
            message=message,
            usage=Usage(input_tokens=input_tokens, output_tokens=sum(tokens)),
            finish_reason="tool_calls" if message.tool_calls else "stop",
            model="scripted",
        )

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> ModelResponse:
        """Play the next reply, after its simulated decode time."""
        message, tokens = self._materialise(self._next_reply(messages, tools, settings))
        prompt = estimate_input_tokens(messages, tools, self.chars_per_token)
        await anyio.sleep(self.ttft + self.decode_seconds(sum(tokens)))
        return self._response(message, tokens, prompt)

    @asynccontextmanager
    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> AsyncIterator[AsyncIterator[StreamEvent]]:
        """Play the next reply as a stream: text, each call once decoded, then the end."""
        message, tokens = self._materialise(self._next_reply(messages, tools, settings))
        prompt = estimate_input_tokens(messages, tools, self.chars_per_token)

        async def events() -> AsyncGenerator[StreamEvent, None]:
            await anyio.sleep(self.ttft + self.decode_seconds(tokens[0]))
            if message.content:
                yield TextDelta(text=message.content)
            for index, (call, n) in enumerate(zip(message.tool_calls, tokens[1:], strict=True)):
                await anyio.sleep(self.decode_seconds(n))
                yield ToolCallDone(call=call, index=index)
            yield StreamDone(response=self._response(message, tokens, prompt))

        iterator = events()
        try:
            yield iterator
        finally:  # the consumer may stop at StreamDone: close the generator here, not in GC
            await iterator.aclose()
