"""Cost of the observer hook and of OpenTelemetry tracing (a script, not a test).

Run: ``.venv/bin/python bench/scripts/bench_observe.py [--calls N] [--repeats R] [--baseline REF]``

(a) Zero cost when unused.  The package as it stands and the package at git ``REF`` (default
    ``HEAD``; give the commit before the hook to compare against the code without it), copied
    to a temporary directory under the name ``asyncfc_base``, run the same workloads in one
    process, interleaved, with no observer:
    * ``executor``: N no-op async calls through ``ToolExecutor(mode="concurrent")`` (the
      ``bench_executor.py`` overhead workload), also shown against a bare ``asyncio.gather``;
    * ``scheduler``: N no-op calls submitted to a ``Scheduler`` (futures, label ordering,
      pure tools, no trace) and drained;
    * ``agent``: one ``async_parallel`` agent run whose one response makes N/10 calls.
    Prints each median and current ÷ baseline (target: within 3 %).
(b) Tracing cost: the ``agent`` workload with ``OTelObserver`` over the OpenTelemetry SDK
    (``SimpleSpanProcessor`` into ``InMemorySpanExporter``, ``InMemoryMetricReader``) against
    the same run without observers; prints µs per tool call (target ≤ 30 µs).
Each figure is the median of R repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncfc

ROOT = Path(__file__).resolve().parents[2]  # bench/scripts/ -> the repository


def load_baseline(ref: str, into: Path) -> ModuleType:
    """``src/asyncfc`` at git ``ref``, importable as ``asyncfc_base``."""
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "src/asyncfc"], check=True, stdout=out
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    (into / "src" / "asyncfc").rename(into / "asyncfc_base")
    sys.path.insert(0, str(into))
    return importlib.import_module("asyncfc_base")


async def noop(x: int = 0) -> int:
    return x


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    gc.collect()
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def _cpu(fn: Callable[[], Awaitable[object]]) -> float:
    """CPU seconds of this process (less disturbed than wall time on a shared machine)."""
    gc.collect()
    start = time.process_time()
    await fn()
    return time.process_time() - start


async def _calls(fn: Callable[[], Awaitable[object]]) -> int:
    """Python and C function calls made (exact and repeatable: the interpreter's own count)."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        await fn()
    finally:
        sys.setprofile(None)
    return count


def workloads(pkg: Any, n: int) -> dict[str, Callable[[], Awaitable[object]]]:
    toolset = pkg.Toolset([pkg.tool(noop, reads=(), writes=())])
    calls = [pkg.ToolCall(id=f"call_{i}", name="noop", arguments="{}") for i in range(n)]
    executor = pkg.ToolExecutor(toolset=toolset, mode="concurrent")
    n_agent = max(n // 10, 1)
    reply = pkg.Reply(calls=[("noop", {"x": i}) for i in range(n_agent)])

    async def scheduler() -> None:
        async with pkg.Scheduler(toolset) as s:
            for c in calls:
                s.submit(c)
            await s.drain()

    async def agent() -> None:
        model = pkg.ScriptedModel(script=[reply, pkg.Reply(text="ok"), pkg.Reply(text="ok")])
        await pkg.Agent(model=model, toolset=toolset).run("go")

    return {"executor": lambda: executor.run(calls), "scheduler": scheduler, "agent": agent}


async def zero_cost(base: ModuleType, n: int, repeats: int) -> None:
    mine, theirs = workloads(asyncfc, n), workloads(base, n)

    async def bare() -> None:
        await asyncio.gather(*(noop() for _ in range(n)))

    times: dict[str, list[float]] = {}
    for fn in (*mine.values(), *theirs.values()):  # warm up
        await fn()
    for k in range(repeats):
        times.setdefault("gather", []).append(await _timed(bare))
        for name in mine:  # alternate which goes first, so drift in load cancels out
            order = [("base", theirs), ("new", mine)][:: 1 if k % 2 else -1]
            for label, pkg in order:
                times.setdefault(f"{label} {name}", []).append(await _timed(pkg[name]))
    cpu: dict[str, list[float]] = {}
    for k in range(repeats):
        for name in mine:
            order = [("base", theirs), ("new", mine)][:: 1 if k % 2 else -1]
            for label, pkg in order:
                cpu.setdefault(f"{label} {name}", []).append(await _cpu(pkg[name]))
    calls = {}
    for name in mine:
        calls[f"base {name}"] = await _calls(theirs[name])
        calls[f"new {name}"] = await _calls(mine[name])
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_min = {k: min(v) for k, v in cpu.items()}
    print(f"(a) no observer, current vs baseline (median of {repeats})")
    print(f"    bare asyncio.gather, {n:,} calls  {med['gather'] * 1e3:8.1f} ms")
    for name in mine:
        count = n if name != "agent" else max(n // 10, 1)
        b, c = med[f"base {name}"], med[f"new {name}"]
        print(
            f"    {name:9s} {count:6,} calls  baseline {b * 1e3:8.1f} ms  current {c * 1e3:8.1f} ms"
            f"  current/baseline {c / b:6.3f}"
        )
    print(
        f"    executor / gather: baseline {med['base executor'] / med['gather']:.2f} x,"
        f" current {med['new executor'] / med['gather']:.2f} x"
    )
    print("    CPU time (process_time, min of repeats) and function calls made (exact):")
    for name in mine:
        b, c = cpu_min[f"base {name}"], cpu_min[f"new {name}"]
        print(
            f"    {name:9s} cpu baseline {b * 1e3:8.1f} ms  current {c * 1e3:8.1f} ms"
            f"  ratio {c / b:6.3f};  calls baseline {calls[f'base {name}']:,}"
            f"  current {calls[f'new {name}']:,}"
        )


async def tracing_cost(n: int, repeats: int) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from asyncfc.otel import OTelObserver

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    observer = OTelObserver(tracer_provider=tracer_provider, meter_provider=meter_provider)
    toolset = asyncfc.Toolset([asyncfc.tool(noop, reads=(), writes=())])
    reply = asyncfc.Reply(calls=[("noop", {"x": i}) for i in range(n)])

    def run(observers: list[asyncfc.RunObserver]) -> Callable[[], Awaitable[object]]:
        async def go() -> None:
            model = asyncfc.ScriptedModel(
                script=[reply, asyncfc.Reply(text="ok"), asyncfc.Reply(text="ok")]
            )
            await asyncfc.Agent(model=model, toolset=toolset, observers=observers).run("go")

        return go

    plain, traced = run([]), run([observer])
    await plain()
    await traced()
    exporter.clear()
    off, on, cpu_off, cpu_on = [], [], [], []
    for _ in range(repeats):
        off.append(await _timed(plain))
        on.append(await _timed(traced))
        spans = len(exporter.get_finished_spans())
        exporter.clear()
        cpu_off.append(await _cpu(plain))
        cpu_on.append(await _cpu(traced))
        exporter.clear()
    a, b = statistics.median(off), statistics.median(on)
    # The unit of this machine: one SDK span with no attributes, started and ended.
    tracer = tracer_provider.get_tracer("reference")
    unit = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            tracer.start_span("x").end()
        unit.append((time.perf_counter() - start) / n)
        exporter.clear()
    bare_span = statistics.median(unit)
    # The SDK's floor for one tool call: a span with the attributes OTelObserver gives a tool
    # span, and one histogram value with the metric's attributes, nothing of asyncfc.
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "noop",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.type": "function",
        "asyncfc.future.id": "future_1",
        "asyncfc.mode": "async_parallel",
        "asyncfc.request": 0,
        "asyncfc.user_turn": 0,
        "asyncfc.wait_time": 0.0,
    }
    metric = {"gen_ai.tool.name": "noop", "gen_ai.tool.type": "function"}
    histogram = meter_provider.get_meter("reference").create_histogram("reference", unit="s")
    floor = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            tracer.start_span("execute_tool noop", attributes=attrs).end()
            histogram.record(0.001, metric)
        floor.append((time.perf_counter() - start) / n)
        exporter.clear()
    sdk_floor = statistics.median(floor)
    cpu_cost = (min(cpu_on) - min(cpu_off)) / n
    print(f"(b) OpenTelemetry SDK, in-memory exporter, one agent run of {n:,} calls")
    print(f"    spans per traced run       {spans:8d}")
    print(f"    untraced                   {a * 1e3:8.1f} ms  ({a / n * 1e6:5.1f} us/call)")
    print(f"    traced                     {b * 1e3:8.1f} ms  ({b / n * 1e6:5.1f} us/call)")
    print(
        f"    tracing cost               {(b - a) / n * 1e6:8.1f} us per tool call (target <= 30)"
    )
    print(f"    one bare SDK span          {bare_span * 1e6:8.1f} us (start + end, no attributes)")
    print(f"    tracing cost / bare span   {(b - a) / n / bare_span:8.2f}")
    print(
        f"    SDK floor per tool call    {sdk_floor * 1e6:8.1f} us (a span with a tool span's "
        "attributes + one histogram value, no asyncfc)"
    )
    print(f"    tracing cost, CPU time     {cpu_cost * 1e6:8.1f} us per tool call (min of repeats)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", default="HEAD", help="git ref of the baseline package")
    parser.add_argument("--skip-otel", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, asyncio event loop; baseline {args.baseline}")
    if not args.skip_baseline:
        with tempfile.TemporaryDirectory() as tmp:
            base = load_baseline(args.baseline, Path(tmp))
            asyncio.run(zero_cost(base, args.calls, args.repeats))
    if not args.skip_otel:
        asyncio.run(tracing_cost(args.calls // 10, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
