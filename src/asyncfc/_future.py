"""The handle of one submitted call: a :class:`Future` and its states.

A future is created by :meth:`~asyncfc.Scheduler.submit` and settled exactly once, by the
scheduler, with the call's one :class:`~asyncfc.ToolResult`.  Its event is created only when
somebody waits, so a batch of thousands of calls that nobody awaits one by one pays for no
events.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio

from ._calls import ToolCall, ToolResult
from ._futures import format_future_id

__all__ = ("Future", "FutureState")

FutureState = Literal["pending", "running", "done", "failed"]
"""``pending`` (waiting to run), ``running``, ``done`` (a value) or ``failed`` (an error)."""


class Future:
    """The handle of one submitted call: its id, what it waits for and, once settled, its
    one :class:`~asyncfc.ToolResult`."""

    __slots__ = (
        "_event",
        "_id",
        "awaited",
        "call",
        "conflict_deps",
        "data_deps",
        "number",
        "request",
        "result",
        "state",
        "submitted",
        "user_turn",
    )

    def __init__(
        self,
        *,
        number: int,
        call: ToolCall,
        request: int = 0,
        user_turn: int = 0,
        awaited: tuple[str, ...] = (),
        submitted: float = 0.0,
    ) -> None:
        self._id: str | None = None
        self.number = number
        self.call = call
        self.request = request
        """Index of the model request that emitted the call."""
        self.user_turn = user_turn
        """Index of the user turn the call belongs to."""
        self.awaited = awaited
        """Call ids whose outcome the model had read through ``await_future`` when it wrote
        this call (see :attr:`~asyncfc.Interval.awaited`)."""
        self.submitted = submitted
        self.data_deps: tuple[int, ...] = ()
        """Numbers of the futures the arguments reference."""
        self.conflict_deps: tuple[int, ...] = ()
        """Numbers of the earlier futures it waits for because of the ordering."""
        self.state: FutureState = "pending"
        self.result: ToolResult | None = None
        self._event: anyio.Event | None = None

    @property
    def id(self) -> str:
        """``future_<number>``, the id the model sees (made when first asked for: a
        concurrent-mode call never shows it)."""
        if self._id is None:
            self._id = format_future_id(self.number)
        return self._id

    def __repr__(self) -> str:
        return f"Future({self.id}, {self.call.name}, {self.state})"

    @property
    def ok(self) -> bool:
        """True when the call ran and returned a value."""
        return self.state == "done"

    @property
    def value(self) -> Any:
        """The value the tool returned (``None`` until then, and for errors)."""
        return self.result.value if self.result is not None else None

    @property
    def done(self) -> anyio.Event:
        """An event set once the call has its result (created on first use)."""
        if self._event is None:
            self._event = anyio.Event()
            if self.result is not None:
                self._event.set()
        return self._event

    async def wait(self) -> None:
        """Return once the call has its result."""
        if self.result is None:
            await self.done.wait()

    def _settle(self, result: ToolResult) -> None:
        self.result = result
        self.state = "failed" if result.is_error else "done"
        if self._event is not None:
            self._event.set()
