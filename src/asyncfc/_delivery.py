"""What the model has been shown of the futures, and what it still has to be shown.

One :class:`Delivery` per conversation sits beside the scheduler.  It serves ``await_future``
and builds the delivery text of :mod:`asyncfc._protocol`, so every host of the futures
protocol (the agent loop, and sessions inside loops asyncfc does not own) tells the model
the same things in the same words.

Invariants:

* Every settled future is shown to the model exactly once by :meth:`Delivery.take`, unless
  ``await_future`` showed it first; either way it is then *seen*, and never delivered again.
* ``await_future`` shows each named future's outcome in the order asked; a future still
  pending when its timeout passes is said to be pending, and stays unseen.  Without ids it
  covers the calls made before it in its response where the host knows them (the agent
  loop), else every future not yet seen (a superset: never less than was asked for).
* :attr:`Delivery.awaited` lists the calls whose outcome ``await_future`` showed, so the
  trace can count the information dependencies the scheduler never sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio

from ._calls import ToolCall, ToolResult
from ._futures import parse_future_number
from ._invoke import decode_arguments
from ._labels import UNLABELLED
from ._outcome import FinalAnswerPolicy, HoldPolicy
from ._protocol import (
    await_text,
    delivery_text,
    parse_await,
    settled_line,
    still_pending_line,
    unknown_futures_text,
)
from ._results import ArgumentsError, error_result
from ._scheduler import Future, Scheduler

__all__ = ("Delivery",)


@dataclass(eq=False)
class Delivery:
    """The model's view of one scheduler's futures (see the module docstring)."""

    scheduler: Scheduler
    seen: set[int] = field(default_factory=set)
    """Numbers of the futures whose outcome the model has been shown."""
    awaited: list[str] = field(default_factory=list)
    """Call ids whose outcome ``await_future`` showed, since the last :meth:`forget_awaits`."""

    def unseen(self) -> list[Future]:
        """Settled futures the model has not been shown, in issue order."""
        return [
            f for f in self.scheduler.futures if f.result is not None and f.number not in self.seen
        ]

    def mark_seen(self, futures: list[Future]) -> None:
        """Record that the model was shown these futures' outcomes some other way."""
        self.seen.update(f.number for f in futures)

    def take(self) -> str:
        """The delivery text of every settled, unseen future (``""`` when there is none);
        they are seen from now on."""
        unseen = self.unseen()
        if not unseen:
            return ""
        self.mark_seen(unseen)
        return delivery_text(
            [(f.id, f.result.content, f.result.is_error) for f in unseen if f.result is not None]
        )

    def must_show(self, policy: FinalAnswerPolicy) -> bool:
        """After a final answer and a drain: must the model see what it has not seen before
        its answer stands?  ``"reask"``: whenever something is unseen.  ``"label_aware"``:
        only when an unseen outcome is an error, or a value a tool *read* (a tool that
        declares no writes, or no labels at all, may have returned what the answer needs);
        successful writes do not change the answer."""
        unseen = self.unseen()
        if not unseen or policy == "reask":
            return bool(unseen)
        return any(f.result is None or f.result.is_error or self.may_be_read(f) for f in unseen)

    def may_be_read(self, future: Future) -> bool:
        """Whether the model may need ``future``'s value: its tool reads (declares no
        writes), has no labels, or is unknown.  A tool that declares writes is called for its
        effect; only its failure is news."""
        tool = self.scheduler.toolset.get(future.call.name)
        return tool is None or tool.access is UNLABELLED or not tool.access.writes

    async def hold(self, seconds: float, policy: HoldPolicy = "any") -> None:
        """Wait up to ``seconds`` when futures are pending and the model has nothing unseen
        to read (a request now would bring it nothing new).  ``"any"``: until one future
        settles.  ``"reads"``: only while a future whose value the model may need
        (:meth:`may_be_read`) is pending, until one of those settles; pending writes never
        hold a request."""
        if self.unseen() or not self.scheduler.pending:
            return
        if policy == "any":
            with anyio.move_on_after(seconds):
                await self.scheduler.wait_progress()
            return
        waiting = [f for f in self.scheduler.pending if self.may_be_read(f)]
        if not waiting:
            return
        with anyio.move_on_after(seconds):
            while not any(f.result is not None for f in waiting):
                await self.scheduler.wait_progress()

    def _not_seen(self) -> list[Future]:
        return [f for f in self.scheduler.futures if f.number not in self.seen]

    def forget_awaits(self) -> None:
        """Start a new user turn: earlier awaits are covered by the user-turn barrier."""
        self.awaited = []

    async def serve_await(
        self, call: ToolCall, this_response: Sequence[Future] | None = None
    ) -> ToolResult:
        """The result of an ``await_future`` call: waits for the named futures (or the call's
        timeout), then shows their outcomes.

        Without ids it waits for ``this_response``: the futures of the calls made before it
        in the same model response, which a host that sees responses passes (the agent loop).
        A host that does not (a session inside a foreign loop) passes ``None``, and the await
        covers every future the model has not seen, a superset of what it asked for."""
        try:
            asked = parse_await(decode_arguments(call))
        except ArgumentsError as exc:
            return error_result(call, exc.kind, str(exc))
        except ValueError as exc:
            return error_result(call, "invalid_arguments", str(exc))
        futures: list[Future] = []
        unknown: list[str] = []
        issued = len(self.scheduler.futures)
        if not asked.future_ids:
            futures = list(this_response) if this_response is not None else self._not_seen()
        for fid in asked.future_ids:
            n = parse_future_number(fid)
            if n is None or not 1 <= n <= issued:
                unknown.append(fid)
            else:
                futures.append(self.scheduler.get(n))
        if unknown:
            return error_result(call, "unknown_future", unknown_futures_text(unknown, issued))
        with anyio.move_on_after(asked.timeout if asked.timeout is not None else float("inf")):
            await self.scheduler.wait(futures)
        lines = []
        for f in futures:
            if f.result is None:
                assert asked.timeout is not None  # without one, every future has settled
                lines.append(still_pending_line(f.id, asked.timeout))
            else:
                self.seen.add(f.number)
                if f.call.id not in self.awaited:
                    self.awaited.append(f.call.id)
                lines.append(settled_line(f.id, f.result.content, is_error=f.result.is_error))
        return ToolResult(call_id=call.id, name=call.name, content=await_text(lines))
