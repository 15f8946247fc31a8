"""The futures of one scheduler and the order between them: issued, ordered, settled,
waited for.  No call runs here; :class:`~asyncfc.Scheduler` (which is a ledger) runs them.

Ordering rules, besides data dependencies (a call that references ``future_k`` waits for it):

* ``ordering="labels"``: resource conflicts come from labels (:mod:`asyncfc._labels`,
  :class:`~asyncfc._labels.StateTree`).  Unlabelled tools write the root, so they keep
  program order with everything.
* ``ordering="program"``: every call waits for the previous one (the paper's "no annotation"
  ablation, and the sequential executor).
* ``ordering="none"``: no ordering at all; the caller asserts the calls are independent (the
  concurrent executor's default, as the concurrent-execution request asks).

A call that only *conflicts* with a failed call still runs, after it.

Invariants:

* ``futures[n - 1]`` is ``future_n``: futures are numbered in issue order, from 1.
* Each future's conflicts with earlier ones are fixed when it is issued (:meth:`_issue`), in
  issue order, which is the calls' program order: the ordering's claims
  (:class:`~asyncfc._labels.StateTree` for labels) are made there and nowhere else.
* Every issued future is settled exactly once, through :meth:`_settle` (or
  :meth:`_settle_cancelled` when the scheduler closes under it), which also wakes whoever
  waits for progress or for idleness, and tells the observers.

Why apart from the scheduler: the scheduler runs calls three ways (in tasks of its own, in
the caller's task, or by the host itself, :mod:`asyncfc._hosted`), and all three must keep
the same books.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import anyio

from ._calls import ToolCall, ToolResult
from ._future import Future
from ._labels import Access, StateTree
from ._observe import RunObserver
from ._results import error_result
from ._trace import Interval, Trace

__all__ = ("FutureLedger", "Ordering")

Ordering = Literal["labels", "program", "none"]
"""How submitted calls are ordered besides their data dependencies (see the module
docstring)."""


class FutureLedger:
    """The books of one scheduler's futures (see the module docstring)."""

    def __init__(
        self,
        *,
        ordering: Ordering,
        uses_futures: bool,
        trace: Trace | None,
        observers: Sequence[RunObserver],
    ) -> None:
        if ordering not in ("labels", "program", "none"):
            raise ValueError(f"ordering must be 'labels', 'program' or 'none', got {ordering!r}")
        self.ordering: Ordering = ordering
        self.uses_futures = uses_futures
        self.trace = trace
        self.observers: tuple[RunObserver, ...] = tuple(observers)
        self.futures: list[Future] = []
        """Every future issued, in issue order (``futures[n - 1]`` is ``future_n``)."""
        self.settled = 0
        """How many submitted calls have their result (for :meth:`wait_progress`)."""
        self._tree: StateTree[Future] = StateTree()
        self._unsettled = 0
        self._idle: anyio.Event | None = None
        self._progress: anyio.Event | None = None

    def get(self, number: int) -> Future:
        """``future_<number>``; raises :class:`KeyError` if it was never issued."""
        if not 1 <= number <= len(self.futures):
            raise KeyError(number)
        return self.futures[number - 1]

    # -- issuing --------------------------------------------------------------------------

    def _issue(
        self,
        call: ToolCall,
        access: Access,
        references: tuple[int, ...],
        request: int,
        user_turn: int,
        awaited: Sequence[str],
    ) -> Future:
        """The next future, for ``call``, ordered after the calls it conflicts with."""
        future = Future(
            number=len(self.futures) + 1,
            call=call,
            request=request,
            user_turn=user_turn,
            awaited=tuple(awaited),
            submitted=anyio.current_time() if self.trace is not None else 0.0,
        )
        future.data_deps = references
        future.conflict_deps = self._conflicts(access, references, future)
        self.futures.append(future)
        self._unsettled += 1
        if self.observers:
            for o in self.observers:
                o.call_submitted(future)
        return future

    def _conflicts(
        self, access: Access, references: tuple[int, ...], future: Future
    ) -> tuple[int, ...]:
        if self.ordering == "none":
            return ()
        if self.ordering == "labels" and not (access.reads or access.writes):
            return ()  # a pure call conflicts with nothing, and nothing with it: no claim
        if self.ordering == "program":
            previous = self.futures[-1].number if self.futures else None
            if previous is None or previous in references:
                return ()
            return (previous,)
        waits = self._tree.claim(access, future)
        if not waits:
            return ()
        deps = set(references)
        return tuple(sorted({f.number for f in waits if f.number not in deps}))

    # -- settling -------------------------------------------------------------------------

    def _settle(self, future: Future, result: ToolResult) -> None:
        """Give ``future`` its one result and wake whoever waits for progress or idleness."""
        future._settle(result)
        self._unsettled -= 1
        if self.observers:
            for o in self.observers:
                o.call_finished(future)
        self.settled += 1
        if self._progress is not None:
            self._progress.set()
            self._progress = None
        if self._unsettled == 0:
            self._wake_idle()

    def _settle_cancelled(self, future: Future) -> None:
        """Settle ``future`` as cancelled: the scheduler closed before it finished."""
        future._settle(
            error_result(
                future.call, "cancelled", "the run was cancelled before this call finished"
            )
        )
        self._unsettled -= 1
        for o in self.observers:
            o.call_finished(future)

    def _settle_caller_cancelled(self, future: Future) -> None:
        """Settle ``future``, which ran in its caller's task, as cancelled with its caller
        (unless the scheduler closed meanwhile and settled it already)."""
        if future.result is None:
            self._settle(
                future,
                error_result(future.call, "cancelled", "the call was cancelled before it finished"),
            )

    def _record(self, future: Future, start: float, *, ok: bool) -> None:
        """Add ``future``'s run, from ``start`` until now, to the trace."""
        assert self.trace is not None
        deps = sorted((*future.data_deps, *future.conflict_deps))
        self.trace.add(
            Interval(
                kind="tool",
                start=start,
                end=anyio.current_time(),
                name=future.call.name,
                call_id=future.call.id,
                future_id=future.id if self.uses_futures else None,
                depends_on=tuple(self.futures[n - 1].call.id for n in deps),
                request=future.request,
                ok=ok,
                user_turn=future.user_turn,
                awaited=future.awaited,
                submitted=future.submitted,
            )
        )

    # -- waiting ------------------------------------------------------------------------

    def _wake_idle(self) -> None:
        if self._idle is not None:
            self._idle.set()
            self._idle = None

    async def wait(self, futures: Iterable[Future]) -> None:
        """Return once every future in ``futures`` has its result."""
        for f in futures:
            await f.wait()

    async def wait_progress(self) -> None:
        """Return once one more call has its result (at once when none is pending)."""
        if not self._unsettled:
            return
        if self._progress is None:
            self._progress = anyio.Event()
        await self._progress.wait()

    async def drain(self) -> None:
        """Return once every submitted call has finished."""
        while self._unsettled:
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    @property
    def pending(self) -> list[Future]:
        """The futures without a result yet, in issue order."""
        return [f for f in self.futures if f.result is None]
