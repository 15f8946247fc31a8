"""asyncfc.otel: the span tree, links, attributes and the tool duration metric, read back from
the OpenTelemetry SDK's in-memory exporter and metric reader.

Every scenario runs under trio's MockClock (``runtime_support.run_mock``), so span durations
and wait times are exact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import anyio
import pytest
from runtime_support import run_mock, timed_tool

import asyncfc as a

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from asyncfc.otel import OTelObserver

MODES: list[a.AgentMode] = ["sequential", "parallel", "async", "async_parallel"]


@dataclass(kw_only=True)
class NamedModel(a.ScriptedModel):
    """The scripted model with a model and provider name, as the SDK adapters have."""

    model: ClassVar[str] = "scripted-1"
    provider: ClassVar[str] = "asyncfc.scripted"


class Telemetry:
    """An SDK tracer and meter provider writing to memory, and an observer over them."""

    def __init__(self, **options: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.observer = OTelObserver(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **options
        )

    def spans(self, prefix: str = "") -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(prefix)]

    def duration_points(self) -> list[HistogramDataPoint]:
        data = self.reader.get_metrics_data()
        assert data is not None
        points: list[HistogramDataPoint] = []
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == "gen_ai.execute_tool.duration":
                        assert metric.unit == "s"
                        points += [p for p in metric.data.data_points]  # type: ignore[misc]
        return points


def tools() -> list[a.Tool]:
    return [
        timed_tool("write", 2.0, writes=["db"]),
        timed_tool("read", 1.0, reads=["db"]),
        timed_tool("double", 3.0, reads=(), writes=()),
        timed_tool("boom", 0.5, reads=(), writes=(), fail=True),
    ]


def script(futures: bool) -> Any:
    """Request 0: write, then a read that conflicts with it; request 1: a call that uses the
    write's result (as ``future_1`` where futures exist) and one that raises; then answer."""

    def reply(view: a.ScriptView) -> a.Reply:
        if view.index == 0:
            return a.Reply(calls=[("write", {"x": 1}), ("read", {"x": 2})])
        if view.index == 1:
            return a.Reply(calls=[("double", {"x": "future_1" if futures else 1}), ("boom", {})])
        return a.Reply(text="done")

    return reply


def run_with(
    telemetry: Telemetry, mode: a.AgentMode, *, streaming: bool = False, tool_list: Any = None
) -> a.AgentRun:
    futures = mode in ("async", "async_parallel")
    agent = a.Agent(
        model=NamedModel(script=script(futures), ttft=1.0),
        toolset=a.Toolset(tool_list if tool_list is not None else tools()),
        mode=mode,
        streaming=streaming,
        observers=[telemetry.observer],
    )

    async def main() -> a.AgentRun:
        return await agent.run("go")

    return run_mock(main)


def by_call_id(spans: Sequence[ReadableSpan]) -> dict[str, ReadableSpan]:
    out: dict[str, ReadableSpan] = {}
    for s in spans:
        assert s.attributes is not None
        out[str(s.attributes["gen_ai.tool.call.id"])] = s
    return out


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
@pytest.mark.parametrize("mode", MODES)
def test_span_tree_links_and_attributes(mode: a.AgentMode, streaming: bool) -> None:
    tel = Telemetry()
    run = run_with(tel, mode, streaming=streaming)

    (agent_span,) = tel.spans("invoke_agent")
    assert agent_span.parent is None
    assert agent_span.kind is SpanKind.INTERNAL
    attrs = dict(agent_span.attributes or {})
    models = run.trace.of_kind("model")
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.provider.name"] == "asyncfc.scripted"
    assert attrs["gen_ai.request.model"] == "scripted-1"
    assert attrs["asyncfc.mode"] == mode
    assert attrs["gen_ai.usage.input_tokens"] == sum(i.input_tokens for i in models) > 0
    assert attrs["gen_ai.usage.output_tokens"] == sum(i.output_tokens for i in models) > 0
    agent_ctx = agent_span.context
    assert agent_ctx is not None

    # One chat span per model request, children of the agent span, with the request's usage.
    chats = sorted(tel.spans("chat"), key=lambda s: s.start_time or 0)
    assert len(chats) == run.model_requests == len(models)
    for span, interval in zip(chats, models, strict=True):
        assert span.name == "chat scripted-1"
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == agent_ctx.span_id
        sa = dict(span.attributes or {})
        assert sa["gen_ai.operation.name"] == "chat"
        assert sa["gen_ai.usage.input_tokens"] == interval.input_tokens
        assert sa["gen_ai.usage.output_tokens"] == interval.output_tokens
        assert sa["asyncfc.request"] == interval.request
        assert (span.end_time or 0) - (span.start_time or 0) == round(interval.duration * 1e9)

    # One execute_tool span per execution, every one directly under the run's agent span.
    tool_spans = by_call_id(tel.spans("execute_tool"))
    executions = run.trace.of_kind("tool")
    assert sorted(tool_spans) == sorted(i.call_id for i in executions if i.call_id)
    assert len(executions) == 4
    for interval in executions:
        assert interval.call_id is not None
        span = tool_spans[interval.call_id]
        assert span.name == f"execute_tool {interval.name}"
        assert span.kind is SpanKind.INTERNAL
        assert span.parent is not None
        assert span.parent.span_id == agent_ctx.span_id
        assert span.context is not None
        assert span.context.trace_id == agent_ctx.trace_id
        sa = dict(span.attributes or {})
        assert sa["gen_ai.operation.name"] == "execute_tool"
        assert sa["gen_ai.tool.name"] == interval.name
        assert sa["gen_ai.tool.call.id"] == interval.call_id
        assert sa["gen_ai.tool.type"] == "function"
        assert sa["asyncfc.mode"] == mode
        assert sa["asyncfc.future.id"] == run.futures[interval.call_id]
        assert interval.submitted is not None
        assert sa["asyncfc.wait_time"] == pytest.approx(interval.start - interval.submitted)
        assert (span.end_time or 0) - (span.start_time or 0) == round(interval.duration * 1e9)
        assert "gen_ai.tool.call.arguments" not in sa  # opt-in only
        assert "gen_ai.tool.call.result" not in sa
        # Links: exactly the spans of the calls the scheduler made it wait for.
        linked = {link.context.span_id for link in span.links}
        expected = {tool_spans[d].context.span_id for d in interval.depends_on}  # type: ignore[union-attr]
        assert linked == expected
        if interval.name == "boom":
            assert sa["error.type"] == "exception"
            assert span.status.status_code is StatusCode.ERROR
        else:
            assert "error.type" not in sa
            assert span.status.status_code is not StatusCode.ERROR

    names = {dict(s.attributes or {})["gen_ai.tool.name"]: s for s in tool_spans.values()}
    assert dict(names["write"].attributes or {})["asyncfc.labels.writes"] == ("db",)
    assert dict(names["read"].attributes or {})["asyncfc.labels.reads"] == ("db",)
    write_ctx = names["write"].context
    assert write_ctx is not None
    if mode in ("parallel", "async_parallel"):  # the read was written beside the write
        (link,) = names["read"].links
        assert link.context.span_id == write_ctx.span_id
        assert dict(link.attributes or {})["asyncfc.dependency"] == "conflict"
    if mode in ("async", "async_parallel"):  # double(x=future_1) waits for the write's value
        (link,) = names["double"].links
        assert link.context.span_id == write_ctx.span_id
        assert dict(link.attributes or {})["asyncfc.dependency"] == "data"
        assert dict(names["double"].attributes or {})["asyncfc.data_deps"] == ("future_1",)

    # The metric: one value per execution, equal to the span's duration.
    points = {tuple(sorted((p.attributes or {}).items())): p for p in tel.duration_points()}
    assert sum(p.count for p in points.values()) == 4
    boom_key = (
        ("error.type", "exception"),
        ("gen_ai.tool.name", "boom"),
        ("gen_ai.tool.type", "function"),
    )
    assert points[boom_key].count == 1
    assert points[boom_key].sum == pytest.approx(0.5)
    write_key = (("gen_ai.tool.name", "write"), ("gen_ai.tool.type", "function"))
    assert points[write_key].sum == pytest.approx(2.0)


def test_content_is_recorded_only_on_opt_in() -> None:
    tel = Telemetry(capture_content=True, agent_name="helper")
    run_with(tel, "async_parallel")
    (agent_span,) = tel.spans("invoke_agent")
    assert agent_span.name == "invoke_agent helper"
    names = {dict(s.attributes or {})["gen_ai.tool.name"]: s for s in tel.spans("execute_tool")}
    write = dict(names["write"].attributes or {})
    assert json.loads(str(write["gen_ai.tool.call.arguments"])) == {"x": 1}
    assert write["gen_ai.tool.call.result"] == "1"
    assert write["gen_ai.agent.name"] == "helper"
    boom = dict(names["boom"].attributes or {})
    assert "gen_ai.tool.call.result" not in boom  # results of successful executions only


def test_spans_a_tool_makes_nest_under_its_execute_tool_span() -> None:
    tel = Telemetry()
    tracer = tel.tracer_provider.get_tracer("test")

    async def fetch(x: int) -> int:
        with tracer.start_as_current_span("inner"):
            await anyio.sleep(1)
        return x

    agent = a.Agent(
        model=NamedModel(
            script=[a.Reply(calls=[("fetch", {"x": 1}), ("fetch", {"x": 2})])]
            + [a.Reply(text="ok")] * 2
        ),
        toolset=a.Toolset([a.tool(fetch, reads=(), writes=())]),
        mode="async_parallel",
        observers=[tel.observer],
    )

    async def main() -> a.AgentRun:
        return await agent.run("go")

    run_mock(main)
    inner = tel.spans("inner")
    tool_ids = {s.context.span_id for s in tel.spans("execute_tool") if s.context}
    assert len(inner) == 2
    assert {s.parent.span_id for s in inner if s.parent} == tool_ids


def test_concurrent_runs_keep_their_own_trees() -> None:
    tel = Telemetry()

    def make() -> a.Agent:
        return a.Agent(
            model=NamedModel(script=script(True), ttft=1.0),
            toolset=a.Toolset(tools()),
            observers=[tel.observer],
        )

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(make().run, "one")
            tg.start_soon(make().run, "two")

    run_mock(main)
    agents = tel.spans("invoke_agent")
    assert len(agents) == 2
    for agent_span in agents:
        assert agent_span.context is not None
        mine = [
            s
            for s in tel.spans("execute_tool")
            if s.context and s.context.trace_id == agent_span.context.trace_id
        ]
        assert len(mine) == 4
        assert all(s.parent and s.parent.span_id == agent_span.context.span_id for s in mine)
        for s in mine:  # links never cross runs
            assert all(link.context.trace_id == agent_span.context.trace_id for link in s.links)


class Broken(a.ScriptedModel):
    async def request(self, *args: Any, **kwargs: Any) -> a.ModelResponse:
        raise a.ModelAPIError("server on fire", provider="test")


def test_a_failed_run_closes_its_span_with_the_error() -> None:
    tel = Telemetry()
    agent = a.Agent(model=Broken(script=[]), toolset=a.Toolset([]), observers=[tel.observer])

    async def main() -> a.AgentRun:
        return await agent.run("go")

    with pytest.raises(a.ModelAPIError):
        run_mock(main)
    (span,) = tel.spans("invoke_agent")
    assert dict(span.attributes or {})["error.type"] == "ModelAPIError"
    assert span.status.status_code is StatusCode.ERROR


def test_a_scheduler_on_its_own_emits_tool_spans_and_links() -> None:
    tel = Telemetry()
    toolset = a.Toolset(tools())

    async def main() -> None:
        async with a.Scheduler(toolset, observers=[tel.observer]) as s:
            s.submit(a.ToolCall(id="c1", name="write", arguments={"x": 1}))
            s.submit(a.ToolCall(id="c2", name="double", arguments={"x": "future_1"}))
            await s.drain()

    run_mock(main)
    spans = by_call_id(tel.spans("execute_tool"))
    assert sorted(spans) == ["c1", "c2"]
    (link,) = spans["c2"].links
    assert spans["c1"].context is not None
    assert link.context.span_id == spans["c1"].context.span_id


def test_a_cancelled_run_ends_every_span_it_started(caplog: pytest.LogCaptureFixture) -> None:
    """The run is cancelled while one tool runs and another waits for it: the running one's
    span ends with error.type "cancelled" in its own task; the waiting one never ran, so it
    has no span; the agent span ends too, with the cancellation."""
    tel = Telemetry()
    hang = timed_tool("hang", 100.0, writes=["db"])
    after = timed_tool("after", 1.0, writes=["db"])
    agent = a.Agent(
        model=NamedModel(
            script=[a.Reply(calls=[("hang", {"x": 1}), ("after", {"x": 2})]), a.Reply(text="ok")],
            ttft=1.0,
        ),
        toolset=a.Toolset([hang, after]),
        observers=[tel.observer],
    )

    async def main() -> None:
        with anyio.move_on_after(10):
            await agent.run("go")

    run_mock(main)
    (agent_span,) = tel.spans("invoke_agent")
    assert agent_span.status.status_code is StatusCode.ERROR
    (span,) = tel.spans("execute_tool")
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.tool.name"] == "hang"
    assert attrs["error.type"] == "cancelled"
    assert (span.end_time or 0) - (span.start_time or 0) == 9_000_000_000  # 1 s of decoding
    assert not tel.observer._calls  # nothing left open
    assert not tel.observer._submitted
    # the span's context was detached in the task that attached it
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.anyio
async def test_on_asyncio_too(anyio_backend: str) -> None:
    tel = Telemetry()
    agent = a.Agent(
        model=NamedModel(script=script(True)),
        toolset=a.Toolset(
            [timed_tool(n, 0, reads=(), writes=()) for n in ("write", "read")]
            + [timed_tool("double", 0, reads=(), writes=()), timed_tool("boom", 0, fail=True)]
        ),
        observers=[tel.observer],
    )
    await agent.run("go")
    (agent_span,) = tel.spans("invoke_agent")
    assert agent_span.context is not None
    spans = tel.spans("execute_tool")
    assert len(spans) == 4
    assert all(s.parent and s.parent.span_id == agent_span.context.span_id for s in spans)
