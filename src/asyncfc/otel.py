"""OpenTelemetry for agent runs, after the GenAI semantic conventions (needs the ``otel`` extra).

``Agent(..., observers=[OTelObserver()])`` emits, per :meth:`Agent.run <asyncfc.Agent.run>`:

* one ``invoke_agent`` span (kind ``INTERNAL``) covering the run, with the run's token usage;
* one ``chat {model}`` span (kind ``CLIENT``) per model request, a child of the agent span,
  with ``gen_ai.usage.input_tokens`` / ``output_tokens``;
* one ``execute_tool {tool}`` span (kind ``INTERNAL``) per tool execution, a child of the
  agent span although the call runs in a background task, and *linked* to the spans of the
  calls it had to wait for (its data dependencies and label conflicts);
* the ``gen_ai.execute_tool.duration`` histogram, one value per execution, equal to the
  span's duration.

The names, kinds and attributes follow the GenAI conventions in Development status as
``docs/observability.md`` says (which version, and every attribute emitted).  asyncfc's own
attributes live under ``asyncfc.*``.  Arguments and results are recorded only with
``capture_content=True`` (they may hold sensitive data).

Invariants:

* Span times come from the run's clock (:func:`anyio.current_time`, mapped onto the wall
  clock once per run), the clock of :class:`~asyncfc.Trace`; so spans and the trace agree,
  and a fake clock gives exact, repeatable durations.
* The agent span is the current OpenTelemetry context for the whole run, so the call tasks,
  which copy the context when they are started, see it as their parent; each tool span is
  the current context while its tool runs, so spans a tool makes itself nest under it.
* A call that never ran (rejected, failed dependency, cancelled while waiting) gets no tool
  span: the conventions describe executions.  Its outcome is in ``AgentRun.results``.
* One observer may serve several runs at once: per-run state lives in a context variable,
  per-call state is keyed by the :class:`~asyncfc.Future`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import sys
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode

from ._observe import RunObserver

if typing.TYPE_CHECKING:
    from ._agent import Agent
    from ._future import Future
    from ._messages import ModelResponse
    from ._outcome import AgentRun
    from ._toolset import Toolset
    from ._trace import Interval

__all__ = ("TOOL_DURATION_BUCKETS", "OTelObserver")

TOOL_DURATION_BUCKETS: Sequence[float] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
"""The bucket boundaries the conventions advise for ``gen_ai.execute_tool.duration`` (s)."""


@dataclass(eq=False)
class _Run:
    """What one run's spans share."""

    span: Span
    mode: str
    toolset: Toolset | None
    model: str | None
    provider: str | None
    origin_ns: int
    origin: float
    clock: Callable[[], float]
    """:func:`anyio.current_time`, without looking the backend up on every call."""
    context: otel_context.Context | None = None
    """The OpenTelemetry context holding the agent span: every tool span's explicit parent."""
    spans: dict[int, SpanContext] = field(default_factory=dict)
    """Future number → the span context of its execution (for links)."""
    labels: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    tokens: tuple[Any, contextvars.Token[_Run | None]] | None = None

    def ns(self, t: float) -> int:
        """Wall-clock nanoseconds of run-clock time ``t``."""
        return self.origin_ns + round((t - self.origin) * 1e9)


@dataclass(eq=False)
class _Call:
    span: Span
    start: float
    token: Any
    run: _Run


class OTelObserver(RunObserver):
    """A :class:`~asyncfc.RunObserver` that emits GenAI spans and the tool duration metric.

    ``tracer_provider`` / ``meter_provider``: where to emit (default: the global ones).
    ``capture_content``: also record tool arguments and results (opt-in in the conventions).
    ``agent_name``: ``gen_ai.agent.name``, also in the agent span's name.
    ``provider_name``: ``gen_ai.provider.name`` when the model does not say (the adapters of
    :mod:`asyncfc.models` do).

    Given to a :class:`~asyncfc.Scheduler` used on its own, it emits the tool spans (parented
    to whatever span is current when calls are submitted) and the metric; links then hold
    within one scheduler at a time (a scheduler's first future starts afresh).
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        capture_content: bool = False,
        agent_name: str | None = None,
        provider_name: str | None = None,
    ) -> None:
        self.capture_content = capture_content
        self.agent_name = agent_name
        self.provider_name = provider_name
        self._tracer = trace.get_tracer("asyncfc", tracer_provider=tracer_provider)
        meter = metrics.get_meter("asyncfc", meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "gen_ai.execute_tool.duration",
            unit="s",
            description="The duration of a single tool execution.",
            explicit_bucket_boundaries_advisory=TOOL_DURATION_BUCKETS,
        )
        self._run: contextvars.ContextVar[_Run | None] = contextvars.ContextVar(
            f"asyncfc_otel_run_{id(self)}", default=None
        )
        self._submitted: dict[Future, float] = {}
        self._calls: dict[Future, _Call] = {}
        self._standalone_run: _Run | None = None

    # -- the run ------------------------------------------------------------------------

    def run_started(self, agent: Agent, run: AgentRun) -> None:
        """Open the ``invoke_agent`` span and make it the current context."""
        model = getattr(agent.model, "model", None)
        provider = getattr(agent.model, "provider", None) or self.provider_name
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "asyncfc.mode": agent.mode,
        }
        if provider:
            attributes["gen_ai.provider.name"] = provider
        if isinstance(model, str):
            attributes["gen_ai.request.model"] = model
        if self.agent_name:
            attributes["gen_ai.agent.name"] = self.agent_name
        name = f"invoke_agent {self.agent_name}" if self.agent_name else "invoke_agent"
        clock = _clock()
        origin, origin_ns = clock(), time.time_ns()
        span = self._tracer.start_span(
            name, kind=SpanKind.INTERNAL, attributes=attributes, start_time=origin_ns
        )
        state = _Run(
            span=span,
            mode=agent.mode,
            toolset=agent.toolset,
            model=model if isinstance(model, str) else None,
            provider=provider,
            origin_ns=origin_ns,
            origin=origin,
            clock=clock,
        )
        state.context = trace.set_span_in_context(span)
        state.tokens = (otel_context.attach(state.context), self._run.set(state))

    def run_finished(self, agent: Agent, run: AgentRun, error: BaseException | None) -> None:
        """Close the agent span, with the run's usage and, on failure, ``error.type``."""
        state = self._run.get()
        if state is None:
            return
        span = state.span
        models = run.trace.of_kind("model")
        span.set_attribute("gen_ai.usage.input_tokens", sum(i.input_tokens for i in models))
        span.set_attribute("gen_ai.usage.output_tokens", sum(i.output_tokens for i in models))
        span.set_attribute("asyncfc.model_requests", run.model_requests)
        span.set_attribute("asyncfc.tool_calls", len(run.trace.of_kind("tool")))
        if error is not None:
            span.set_attribute("error.type", type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, str(error)))
        if state.tokens is not None:
            ctx_token, run_token = state.tokens
            otel_context.detach(ctx_token)
            self._run.reset(run_token)
        span.end(end_time=state.ns(state.clock()))

    def model_finished(self, interval: Interval, response: ModelResponse) -> None:
        """Record the request as a ``chat {model}`` span (it has just ended)."""
        state = self._run.get()
        if state is None:
            return
        model = state.model or response.model
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": interval.input_tokens,
            "gen_ai.usage.output_tokens": interval.output_tokens,
            "asyncfc.request": interval.request,
            "asyncfc.user_turn": interval.user_turn,
        }
        if state.provider:
            attributes["gen_ai.provider.name"] = state.provider
        if state.model:
            attributes["gen_ai.request.model"] = state.model
        if response.model:
            attributes["gen_ai.response.model"] = response.model
        if response.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = [response.finish_reason]
        span = self._tracer.start_span(
            f"chat {model}" if model else "chat",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=state.ns(interval.start),
        )
        span.end(end_time=state.ns(interval.end))

    # -- calls --------------------------------------------------------------------------

    def call_submitted(self, future: Future) -> None:
        """Note when the call was submitted (its wait for dependencies starts here)."""
        state = self._run.get()
        if state is None:
            if future.number == 1:  # a new Scheduler used on its own: a new implicit run
                self._standalone_run = None
            state = self._standalone()
        self._submitted[future] = state.clock()

    def call_started(self, future: Future) -> None:
        """Open the ``execute_tool`` span, linked to what the call waited for."""
        state = self._run.get()
        if state is None:  # a Scheduler used on its own (see the class docstring)
            state = self._standalone()
        now = state.clock()
        call = future.call
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
            "gen_ai.tool.type": "function",
            "asyncfc.future.id": future.id,
            "asyncfc.mode": state.mode,
            "asyncfc.request": future.request,
            "asyncfc.user_turn": future.user_turn,
            "asyncfc.wait_time": now - self._submitted.pop(future, now),
        }
        if state.toolset is not None:  # labels: only those the tool declares
            reads, writes = self._labels(state, call.name)
            if reads:
                attributes["asyncfc.labels.reads"] = reads
            if writes:
                attributes["asyncfc.labels.writes"] = writes
        links: list[Link] = []
        for kind, deps in (("data", future.data_deps), ("conflict", future.conflict_deps)):
            if deps:
                attributes[f"asyncfc.{kind}_deps"] = [f"future_{n}" for n in deps]
                links.extend(
                    Link(ctx, {"asyncfc.dependency": kind, "asyncfc.future.id": f"future_{n}"})
                    for n in deps
                    if (ctx := state.spans.get(n)) is not None
                )
        if self.agent_name:
            attributes["gen_ai.agent.name"] = self.agent_name
        if self.capture_content:
            attributes["gen_ai.tool.call.arguments"] = _json_text(call.arguments)
        span = self._tracer.start_span(
            f"execute_tool {call.name}",
            context=state.context,  # the agent span (None: the current context)
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            links=links,
            start_time=state.ns(now),
        )
        state.spans[future.number] = span.get_span_context()
        token = otel_context.attach(trace.set_span_in_context(span))
        self._calls[future] = _Call(span=span, start=now, token=token, run=state)

    def call_finished(self, future: Future) -> None:
        """Close the call's span (if it ran) and record its duration."""
        self._submitted.pop(future, None)
        entry = self._calls.pop(future, None)
        if entry is None:  # never ran: no execution to report
            return
        end = entry.run.clock()
        span, result = entry.span, future.result
        error_type: str | None = None
        if result is not None and result.is_error:
            error_type = result.error_kind or "_OTHER"
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, result.content))
        elif result is not None and self.capture_content:
            span.set_attribute("gen_ai.tool.call.result", result.content)
        otel_context.detach(entry.token)
        span.end(end_time=entry.run.ns(end))
        self._duration.record(
            end - entry.start, self._metric_attributes(future.call.name, error_type)
        )

    # -- helpers ------------------------------------------------------------------------

    def _metric_attributes(self, tool: str, error_type: str | None) -> Mapping[str, Any]:
        """The metric's attributes for one execution."""
        found: dict[str, Any] = {"gen_ai.tool.name": tool, "gen_ai.tool.type": "function"}
        if self.agent_name:
            found["gen_ai.agent.name"] = self.agent_name
        if error_type is not None:
            found["error.type"] = error_type
        return found

    def _labels(self, state: _Run, name: str) -> tuple[list[str], list[str]]:
        found = state.labels.get(name)
        if found is None:
            assert state.toolset is not None
            tool = state.toolset.get(name)
            labels = tool.access.labels() if tool is not None else {"reads": [], "writes": []}
            found = state.labels[name] = (labels["reads"], labels["writes"])
        return found

    def _standalone(self) -> _Run:
        state = self._standalone_run
        if state is None:
            state = _Run(
                span=trace.INVALID_SPAN,
                mode="scheduler",
                toolset=None,
                model=None,
                provider=None,
                origin_ns=time.time_ns(),
                origin=(clock := _clock())(),
                clock=clock,
            )
            self._standalone_run = state
        return state


def _clock() -> Callable[[], float]:
    """The running backend's clock (what :func:`anyio.current_time` returns), looked up once."""
    trio = sys.modules.get("trio")
    if trio is not None and trio.lowlevel.in_trio_run():
        return typing.cast("Callable[[], float]", trio.current_time)
    return asyncio.get_running_loop().time


def _json_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, default=str)
