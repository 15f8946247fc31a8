"""A live terminal view of a run's futures (needs the ``cli`` extra, which brings ``rich``).

``Agent(..., observers=[LiveFutures()])`` shows, while each run goes on, a table of every
future: pending, running, done or failed, with its age (since it was submitted) and how long
its tool has run; a line above counts each state.  The table is redrawn by
:class:`rich.live.Live` a few times a second, so the run itself only updates a dictionary per
event.  For a :class:`~asyncfc.Scheduler` used on its own, pass the view as an observer and
open it yourself: ``with LiveFutures() as view: async with Scheduler(..., observers=[view])``.

Invariants:

* Built on :class:`~asyncfc.RunObserver` alone; the observer callbacks never draw, they only
  record times from ``clock`` (so a fake clock makes the table exact).
* The view is open from the first run's start to the last run's end (runs may overlap), and
  always closed again, also when a run raises.
* :meth:`LiveFutures.render` reads a snapshot of the rows, so the refresh thread never sees a
  dictionary change size under it.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ._future import FutureState
from ._observe import RunObserver

if typing.TYPE_CHECKING:
    from ._agent import Agent
    from ._future import Future
    from ._outcome import AgentRun

__all__ = ("LiveFutures",)

_STYLE: dict[FutureState, str] = {
    "pending": "yellow",
    "running": "cyan",
    "done": "green",
    "failed": "red",
}


@dataclass(eq=False)
class _Row:
    future: Future
    submitted: float
    started: float | None = None
    finished: float | None = None


class LiveFutures(RunObserver):
    """A :class:`~asyncfc.RunObserver` that draws the futures of the runs it observes.

    ``console``: where to draw (default: a new :class:`rich.console.Console`); ``clock``: the
    time source for ages (default :func:`time.monotonic`); ``max_rows``: rows shown at most
    (unfinished futures first, then the most recently finished); ``auto_refresh`` /
    ``refresh_per_second``: as :class:`rich.live.Live` takes them; ``transient``: erase the
    table when the view closes.
    """

    def __init__(
        self,
        *,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_rows: int = 20,
        auto_refresh: bool = True,
        refresh_per_second: float = 4,
        transient: bool = False,
    ) -> None:
        self.console = console or Console()
        self.clock = clock
        self.max_rows = max_rows
        self._auto_refresh = auto_refresh
        self._refresh_per_second = refresh_per_second
        self._transient = transient
        self._rows: dict[Future, _Row] = {}
        self._live: Live | None = None
        self._open_runs = 0

    # -- opening and closing ------------------------------------------------------------

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _open(self) -> None:
        self._open_runs += 1
        if self._live is None:
            self._live = Live(
                get_renderable=self.render,
                console=self.console,
                auto_refresh=self._auto_refresh,
                refresh_per_second=self._refresh_per_second,
                transient=self._transient,
            )
            self._live.start()

    def _close(self) -> None:
        self._open_runs -= 1
        if self._open_runs <= 0 and self._live is not None:
            live, self._live = self._live, None
            self._open_runs = 0
            live.refresh()
            live.stop()
            if not self._transient and not self.console.is_terminal:
                self.console.line()  # Live leaves the last line open off a terminal

    @property
    def is_open(self) -> bool:
        """True while the live table is on screen."""
        return self._live is not None

    # -- observer callbacks -------------------------------------------------------------

    def run_started(self, agent: Agent, run: AgentRun) -> None:
        """Open the view (if no other run holds it open)."""
        self._open()

    def run_finished(self, agent: Agent, run: AgentRun, error: BaseException | None) -> None:
        """Draw the final table and close the view once no run holds it open."""
        self._close()

    def call_submitted(self, future: Future) -> None:
        """Add a pending row."""
        self._rows[future] = _Row(future=future, submitted=self.clock())

    def call_started(self, future: Future) -> None:
        """The row is running from now."""
        row = self._rows.get(future)
        if row is not None:
            row.started = self.clock()

    def call_finished(self, future: Future) -> None:
        """The row is done or failed from now."""
        row = self._rows.get(future)
        if row is not None:
            row.finished = self.clock()

    # -- drawing ------------------------------------------------------------------------

    def counts(self) -> dict[FutureState, int]:
        """How many futures are in each state."""
        counts: dict[FutureState, int] = dict.fromkeys(_STYLE, 0)
        for row in list(self._rows.values()):
            counts[row.future.state] += 1
        return counts

    def render(self) -> Group:
        """What the live view draws now: a line of counts per state, then the table."""
        now = self.clock()
        rows = list(self._rows.values())
        active = [r for r in rows if r.finished is None]
        finished = sorted((r for r in rows if r.finished is not None), key=_finish_key)
        room = max(self.max_rows - len(active), 0)
        shown = (active + (finished[-room:] if room else []))[: self.max_rows]
        shown.sort(key=lambda r: r.future.number)
        summary = "futures: " + "  ".join(f"{s} {n}" for s, n in self.counts().items())
        hidden = len(rows) - len(shown)
        if hidden:
            summary += f"  ({hidden} more not shown)"
        table = Table(expand=False)
        for column in ("future", "tool", "state"):
            table.add_column(column)
        table.add_column("age", justify="right")
        table.add_column("ran", justify="right")
        for row in shown:
            state = row.future.state
            end = row.finished if row.finished is not None else now
            ran = f"{end - row.started:.1f}s" if row.started is not None else "-"
            table.add_row(
                row.future.id,
                row.future.call.name,
                f"[{_STYLE[state]}]{state}[/]",
                f"{end - row.submitted:.1f}s",
                ran,
            )
        return Group(Text(summary), table)


def _finish_key(row: _Row) -> float:
    return row.finished if row.finished is not None else 0.0
