"""Call ids unique within a conversation, whatever the server sends.

Some OpenAI-compatible servers send empty call ids, or repeat one (``call_0`` in every
response).  Two calls with one id cannot both be paired with their results: providers would
reject the next request, and one outcome would overwrite the other.  So before anything runs,
:class:`CallIds` gives such a call a fresh id (``<id>_2``, ``<id>_3`` …, or ``call_<n>`` for
an empty one) and the conversation carries the new id from then on: the assistant message
sent back to the provider holds it, and so does the call's result, which keeps the pairing
valid on every wire format.  Nothing is rejected and nothing is lost; the renaming is
recorded so a caller can map a new id back to the one the model wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ._calls import ToolCall
from ._messages import AssistantMessage

__all__ = ("CallIds",)


class CallIds:
    """The ids used so far in one conversation, and the renamings made."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.renamed: dict[str, str] = {}
        """New id → the id the model wrote (``""`` for an empty one)."""

    def unique(self, call: ToolCall) -> ToolCall:
        """``call`` itself when its id is new, else a copy with a fresh id."""
        if call.id and call.id not in self.used:
            self.used.add(call.id)
            return call
        base = call.id or f"call_{len(self.used) + 1}"
        new_id, k = base, 2
        while not new_id or new_id in self.used:
            new_id, k = f"{base}_{k}", k + 1
        self.used.add(new_id)
        self.renamed[new_id] = call.id
        return dataclasses.replace(call, id=new_id)

    def message(
        self, message: AssistantMessage, already: Mapping[int, ToolCall] | None = None
    ) -> AssistantMessage:
        """``message`` with unique call ids; ``already`` holds the calls (by index) that were
        made unique while the message streamed."""
        done = already or {}
        calls = tuple(
            done[i] if i in done else self.unique(c) for i, c in enumerate(message.tool_calls)
        )
        if all(a is b for a, b in zip(calls, message.tool_calls, strict=True)):
            return message
        return dataclasses.replace(message, tool_calls=calls)
