"""The observer hook: one small protocol the agent loop and the scheduler report to.

Tracing (:mod:`asyncfc.otel`), the live view (:mod:`asyncfc.live`) and anything a user writes
are built on :class:`RunObserver`; the core knows nothing about any of them.

When each callback runs (and in which task):

* :meth:`~RunObserver.run_started` / :meth:`~RunObserver.run_finished`: at the start and the
  end of :meth:`Agent.run <asyncfc.Agent.run>`, in the task that called it.  ``run_finished``
  runs once per ``run_started``, also when the run raises (``error`` is then the exception).
  Every call of the run has its outcome by then.
* :meth:`~RunObserver.model_finished`: after each successful model request, in the agent's
  task, with the request's trace :class:`~asyncfc.Interval` (times and token usage).
* :meth:`~RunObserver.call_submitted`: when :meth:`Scheduler.submit <asyncfc.Scheduler.submit>`
  made a future, in the submitting task.  Calls rejected at submission (unknown tool, bad
  arguments) get no future and are not reported here; they are in ``AgentRun.results``.
* :meth:`~RunObserver.call_started`: in the call's own task, right before the tool function
  runs (its dependencies, conflicting calls and a free slot have been waited for).
* :meth:`~RunObserver.call_finished`: once per future, when it is settled.  A call that ran
  (or was cancelled while running) is reported in its own task, so a ``contextvars`` value
  set in ``call_started`` can be reset here; a call settled without having started
  (failed dependency, cancelled while waiting) may be reported from another task.

Invariants:

* Zero cost when unused: with no observer the scheduler takes the very paths it takes without
  this module (one truth test per submission and per batch), and the agent makes no calls.
* Callbacks are plain synchronous methods and must not block or raise: an exception raised by
  an observer inside a call's task stops the run like a bug in the engine would.
* Observers see the engine's own objects (:class:`~asyncfc.Future`, the
  :class:`~asyncfc.AgentRun` being built); they must treat them as read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._agent import Agent
    from ._future import Future
    from ._messages import ModelResponse
    from ._outcome import AgentRun
    from ._trace import Interval

__all__ = ("RunObserver",)


class RunObserver:
    """Receives the events of agent runs and scheduled calls; every method does nothing here.

    Subclass it and override what you need, then pass instances as
    ``Agent(observers=[...])`` (or ``Scheduler(observers=[...])`` for the call events alone).
    One observer may serve several runs, also at once.
    """

    def run_started(self, agent: Agent, run: AgentRun) -> None:
        """``agent.run()`` began; ``run`` is the (still empty) record it fills."""

    def run_finished(self, agent: Agent, run: AgentRun, error: BaseException | None) -> None:
        """``agent.run()`` ended, with ``error`` when it raised."""

    def model_finished(self, interval: Interval, response: ModelResponse) -> None:
        """A model request returned ``response``; ``interval`` is its trace record."""

    def call_submitted(self, future: Future) -> None:
        """A call was accepted and answered with ``future`` (state ``pending``)."""

    def call_started(self, future: Future) -> None:
        """``future``'s tool function is about to run (state ``running``)."""

    def call_finished(self, future: Future) -> None:
        """``future`` has its one result (state ``done`` or ``failed``)."""
