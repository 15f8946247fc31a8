"""What an agent run produces, and the small vocabularies that describe it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ._calls import ToolCall, ToolResult
from ._messages import AssistantMessage, Message
from ._protocol import AWAIT_TOOL_NAME
from ._trace import Trace

__all__ = ("AgentRun", "EarlyDispatch", "FinalAnswerPolicy", "HoldPolicy", "StopReason")

EarlyDispatch = Literal["all", "read_only"]
"""Which streamed calls start before the response ends: all of them, or read-only ones up to
the first call that writes."""

FinalAnswerPolicy = Literal["reask", "label_aware"]
"""What a final answer given while futures were pending costs (see the module docstring)."""

HoldPolicy = Literal["any", "reads"]
"""Which pending futures ``Agent(hold=...)`` waits for: any of them, or only those whose
value the model may need (a tool that reads, or has no labels)."""

StopReason = Literal["final", "max_requests", "return_direct"]
"""Why a user turn ended: a final answer, the request bound, or a ``return_direct`` batch."""


@dataclass(kw_only=True)
class AgentRun:
    """Everything one :meth:`Agent.run` produced."""

    messages: list[Message]
    """The whole conversation, as the model was shown it."""
    outputs: list[str] = field(default_factory=list)
    """The final text of each user turn."""
    stop_reasons: list[StopReason] = field(default_factory=list)
    """Why each user turn ended."""
    calls: list[ToolCall] = field(default_factory=list)
    """Every tool call the model made, in order (``await_future`` included), with the ids the
    conversation uses."""
    results: dict[str, ToolResult] = field(default_factory=dict)
    """The final outcome of every call id (the real value, not the placeholder)."""
    futures: dict[str, str] = field(default_factory=dict)
    """Call id → future id, for calls answered with a future."""
    trace: Trace = field(default_factory=Trace)
    """Every model request and function execution as a time interval."""
    model_requests: int = 0
    """Model requests made (what a provider bills per request)."""
    awaits: int = 0
    """``await_future`` calls made."""
    renamed_ids: dict[str, str] = field(default_factory=dict)
    """New call id → the id the model wrote, for calls whose id was empty or repeated."""

    @property
    def wait_only_responses(self) -> int:
        """Responses whose only calls were ``await_future``: model requests that did nothing
        but wait.  The protocol asks the model to await in the response of the calls it
        waits for; a model that does not pays one such request per value it reads, and
        ``Agent(hold=..., hold_for="reads")`` is the remedy (docs/modes.md)."""
        return sum(
            1
            for m in self.messages
            if isinstance(m, AssistantMessage)
            and m.tool_calls
            and all(c.name == AWAIT_TOOL_NAME for c in m.tool_calls)
        )
