"""A model for the hostile-input tests: it emits calls whose arguments are already-decoded
objects (as Anthropic's adapter does), so arguments of any depth reach the runtime as they are
(``ScriptedModel`` encodes arguments as JSON text, which cannot hold them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio

import asyncfc as a


class DecodedModel:
    """A model that emits calls whose arguments are already-decoded objects (as Anthropic's
    adapter does), one scripted turn per request, then a final text."""

    def __init__(self, turns: Sequence[Sequence[tuple[str, Any]]]) -> None:
        self.turns = list(turns)
        self.requests = 0
        self.made = 0

    def _response(self) -> a.ModelResponse:
        index, self.requests = self.requests, self.requests + 1
        calls = []
        for name, arguments in self.turns[index] if index < len(self.turns) else ():
            self.made += 1
            calls.append(a.ToolCall(id=f"call_{self.made}", name=name, arguments=arguments))
        text = "" if calls else "done"
        return a.ModelResponse(message=a.AssistantMessage(content=text, tool_calls=tuple(calls)))

    async def request(self, messages: Any, tools: Any, settings: Any) -> a.ModelResponse:
        await anyio.sleep(1)
        return self._response()

    @asynccontextmanager
    async def stream(self, messages: Any, tools: Any, settings: Any) -> AsyncIterator[Any]:
        response = self._response()

        async def events() -> AsyncIterator[Any]:
            await anyio.sleep(1)
            for index, call in enumerate(response.message.tool_calls):
                yield a.ToolCallDone(call=call, index=index)
            yield a.StreamDone(response=response)

        iterator = events()
        try:
            yield iterator
        finally:
            await iterator.aclose()  # type: ignore[attr-defined]
