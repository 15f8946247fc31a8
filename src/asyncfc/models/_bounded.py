"""Length bounds on tool arguments, for servers whose decoding grammar is the only stop.

llama.cpp's ``chatml-function-calling`` format (and other servers that compile a tool's JSON
schema into a decoding grammar) writes a call's arguments under that grammar and, with
``tool_choice="auto"``, without ``max_tokens``: a string or an array in the schema has no end
but the context window, and a small model that starts repeating itself keeps the server busy
for minutes.  A request the client abandons is not abandoned by the server, so one runaway call
delays every request after it.

:class:`BoundedModel` wraps any :class:`~asyncfc.ChatModel` and adds ``maxLength`` to string
schemas and ``maxItems`` to array schemas in the tool definitions it sends, so the grammar
itself ends every argument.

Invariants:

* Only the definitions sent to the model change; the tools validate and run the arguments
  they receive exactly as before, against their own schemas.
* A bound is only ever tightened, never loosened: an existing smaller ``maxLength`` or
  ``maxItems`` stays, and ``maxItems`` never drops below ``minItems``.
* Strings already bounded by ``enum``, ``const``, ``pattern`` or ``format`` are left alone
  (grammar converters use those instead of ``maxLength``).
* The caller's definitions are never mutated; every request gets fresh copies.

What it cannot bound: a free-form object (no ``properties``) or an untyped value, whose grammar
is JSON's own; and llama.cpp's converter ignores ``maxLength`` under a list of types
(``["string", "null"]``).  The future-reference strings the async modes add are bounded by
their own pattern (:data:`asyncfc._futures.REFERENCE_PATTERN`).  Nothing bounds how many calls
one response makes.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from asyncfc._messages import ChatModel, Message, ModelResponse, ModelSettings, StreamEvent

__all__ = ("ArgumentBounds", "BoundedModel")

_STRING_SHAPES = ("enum", "const", "pattern", "format")
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions"})
"""Keywords whose value maps names to schemas."""
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems", "items"})
"""Keywords whose value is a list of schemas (``items`` as a list: the older tuple form)."""
_SCHEMAS = frozenset(
    {"items", "additionalProperties", "additionalItems", "not", "contains", "propertyNames"}
)
"""Keywords whose value is one schema."""


@dataclass(frozen=True, kw_only=True)
class ArgumentBounds:
    """The longest string and the longest array a model may write in a call's arguments."""

    max_string_length: int = 128
    max_items: int = 16

    def __post_init__(self) -> None:
        if self.max_string_length < 1 or self.max_items < 1:
            raise ValueError("argument bounds must be at least 1")

    def schema(self, schema: Any) -> Any:
        """A bounded deep copy of a JSON schema.

        Only schema positions are walked (``properties``, ``items``, ``anyOf``…); values such
        as ``enum``, ``default`` or ``examples``, and property *names* (a parameter may be
        called ``type``), are copied untouched.
        """
        if not isinstance(schema, Mapping):
            return copy.deepcopy(schema)
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _SCHEMA_MAPS and isinstance(value, Mapping):
                out[key] = {name: self.schema(sub) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self.schema(sub) for sub in value]
            elif key in _SCHEMAS:
                out[key] = self.schema(value)
            else:
                out[key] = copy.deepcopy(value)
        kinds = out.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if "string" in kinds and not any(k in out for k in _STRING_SHAPES):
            out["maxLength"] = min(
                _int(out.get("maxLength"), self.max_string_length), self.max_string_length
            )
        if "array" in kinds:
            floor = _int(out.get("minItems"), 0)
            out["maxItems"] = max(
                floor, min(_int(out.get("maxItems"), self.max_items), self.max_items)
            )
        return out

    def tools(self, tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Neutral tool definitions with bounded ``parameters``."""
        return [
            {**tool, "parameters": self.schema(tool["parameters"])}
            if "parameters" in tool
            else dict(tool)
            for tool in tools
        ]


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True)
class BoundedModel:
    """``model``, offered tool definitions bounded by ``bounds`` (see the module docstring)."""

    model: ChatModel
    bounds: ArgumentBounds = field(default_factory=ArgumentBounds)

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> ModelResponse:
        """``model.request`` with the tool definitions bounded."""
        return await self.model.request(messages, self.bounds.tools(tools), settings)

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]],
        settings: ModelSettings,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        """``model.stream`` with the tool definitions bounded."""
        return self.model.stream(messages, self.bounds.tools(tools), settings)
