"""Benchmark of the batch executor (a script, not a test).

Run: ``.venv/bin/python bench/scripts/bench_executor.py [--calls N] [--repeats R]``

(a) The seed's example: three independent calls of 2.5 s, 3.0 s and 2.5 s, scaled by 0.1.
    Prints sequential ÷ sum (about 1) and concurrent ÷ max (target ≤ 1.05).
(b) Overhead: N no-op async calls through the executor in concurrent mode, unbounded, against
    a bare ``asyncio.gather`` of the same coroutines, in the same process (target ≤ 1.5×).
    Also the figure for N sync no-op tools, which go through worker threads.
(c) Process isolation: P no-op calls of a tool built with ``isolation="process"`` against the
    same no-op run in a worker thread (``isolation="none"``), concurrent mode, after one warm-up
    batch has started the worker processes (one per CPU); and, separately, the first call of a
    fresh event loop, which includes starting a worker interpreter.
Each figure is the median of R repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from asyncfc import ToolCall, ToolExecutor, Toolset, tool

SCALE = 0.1
SEED_LATENCIES = (2.5, 3.0, 2.5)


async def sleep_for(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


async def noop() -> None:
    return None


def sync_noop() -> None:
    return None


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    gc.collect()
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def seed_example(repeats: int) -> None:
    latencies = [s * SCALE for s in SEED_LATENCIES]
    toolset = Toolset([sleep_for])
    calls = [
        ToolCall(id=f"call_{i}", name="sleep_for", arguments={"seconds": s})
        for i, s in enumerate(latencies)
    ]
    sequential = ToolExecutor(toolset=toolset)
    concurrent = ToolExecutor(toolset=toolset, mode="concurrent")
    seq_ratios, conc_ratios = [], []
    for _ in range(repeats):
        seq = await _timed(lambda: sequential.run(calls))
        conc = await _timed(lambda: concurrent.run(calls))
        seq_ratios.append(seq / sum(latencies))
        conc_ratios.append(conc / max(latencies))
    print(f"(a) seed example, latencies {', '.join(f'{s:g} s' for s in latencies)}")
    print(f"    sequential / sum = {statistics.median(seq_ratios):.3f}  (expected about 1)")
    print(f"    concurrent / max = {statistics.median(conc_ratios):.3f}  (target <= 1.05)")


async def overhead(n: int, repeats: int) -> tuple[float, float]:
    toolset = Toolset([noop, tool(name="sync_noop")(sync_noop)])
    executor = ToolExecutor(toolset=toolset, mode="concurrent")
    async_calls = [ToolCall(id=f"call_{i}", name="noop", arguments="{}") for i in range(n)]
    sync_calls = [ToolCall(id=f"call_{i}", name="sync_noop", arguments="{}") for i in range(n)]

    async def bare() -> None:
        await asyncio.gather(*(noop() for _ in range(n)))

    base, via_async, via_sync = [], [], []
    await executor.run(async_calls)  # warm up caches and the thread pool
    await executor.run(sync_calls[:100])
    for _ in range(repeats):
        base.append(await _timed(bare))
        via_async.append(await _timed(lambda: executor.run(async_calls)))
        via_sync.append(await _timed(lambda: executor.run(sync_calls)))
    b, a, s = (statistics.median(x) for x in (base, via_async, via_sync))
    print(f"(b) overhead, {n:,} no-op calls, concurrent mode, unbounded (median of {repeats})")
    print(f"    bare asyncio.gather        {b * 1e3:8.1f} ms  ({b / n * 1e6:5.1f} us/call)")
    print(f"    executor, async tools      {a * 1e3:8.1f} ms  ({a / n * 1e6:5.1f} us/call)")
    print(f"    executor / gather          {a / b:8.2f} x   (target <= 1.5)")
    print(
        f"    executor, sync tools       {s * 1e3:8.1f} ms  ({s / n * 1e6:5.1f} us/call, threads)"
    )
    print(f"    sync executor / gather     {s / b:8.2f} x")
    return a / b, s / b


async def process_isolation(n: int, repeats: int) -> None:
    isolated = tool(name="isolated_noop", isolation="process")(sync_noop)
    threaded = tool(name="threaded_noop")(sync_noop)
    executor = ToolExecutor(toolset=Toolset([isolated, threaded]), mode="concurrent")
    in_process = [ToolCall(id=f"t{i}", name="threaded_noop") for i in range(n)]
    in_worker = [ToolCall(id=f"p{i}", name="isolated_noop") for i in range(n)]
    first = await _timed(lambda: executor.run(in_worker[:1]))  # starts one worker process
    await executor.run(in_worker)  # warm up: as many workers as the process limiter allows
    threads, processes = [], []
    for _ in range(repeats):
        threads.append(await _timed(lambda: executor.run(in_process)))
        batch = await executor.run(in_worker)
        assert not any(r.is_error for r in batch.results), batch.results[0].content
        processes.append(await _timed(lambda: executor.run(in_worker)))
    t, p = statistics.median(threads), statistics.median(processes)
    print(f"(c) process isolation, {n:,} no-op sync calls, concurrent mode (median of {repeats})")
    print(f"    worker threads (default)   {t * 1e3:8.1f} ms  ({t / n * 1e6:7.1f} us/call)")
    print(f"    worker processes           {p * 1e3:8.1f} ms  ({p / n * 1e6:7.1f} us/call)")
    print(f"    processes / threads        {p / t:8.1f} x")
    print(f"    first call, cold worker    {first * 1e3:8.1f} ms  (starts an interpreter)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--process-calls", type=int, default=300)
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, asyncio event loop")
    asyncio.run(seed_example(args.repeats))
    asyncio.run(overhead(args.calls, args.repeats))
    asyncio.run(process_isolation(args.process_calls, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
