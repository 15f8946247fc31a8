"""Benchmark of asyncfc.ray against in-process execution (a script, not a test).

Run: ``RAY_USAGE_STATS_ENABLED=0 .venv/bin/python bench/scripts/bench_ray.py [--calls 40]``

Starts a local Ray (2 CPUs, no dashboard) and compares, side by side in one run:

(a) CPU-bound batch: ``--calls`` calls of about 0.2 s of pure-Python hashing each (FNV-1a
    in a Python loop, which holds the GIL), through ``ToolExecutor(mode="concurrent")``:
    in-process threads vs Ray tasks (``RayBackend(num_cpus=1)``).  Target: ≥ 1.7× on 2 cores.
(b) Per-call overhead of a no-op tool: a batch of ``--noops`` concurrent calls, and the same
    number one after another (round-trip latency), in process vs on Ray.
(c) A chain of calls that passes a large string by reference (make → copy → copy → size)
    through a ``Scheduler``: the driver's peak RSS above its RSS before the chain, sampled
    every 2 ms, with ``pass_through=True`` (the ObjectRef is passed on) and ``False`` (each
    value is fetched to the driver and shipped back), at two value sizes.

Ray's workers run at ``--worker-niceness`` (default 0 here; Ray's own default is 15).
Ray is warmed up first (workers started, functions exported); each figure is the median of
``--repeats`` runs.  Only the public API is used.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ray

import asyncfc as a
from asyncfc.ray import RayBackend, init

PAGE = os.sysconf("SC_PAGE_SIZE")


def fnv_rounds(rounds: int) -> int:
    """Pure-Python FNV-1a over ``rounds`` × 1 KiB: CPU-bound, holding the GIL throughout."""
    h = 0xCBF29CE484222325
    chunk = bytes(range(256)) * 4
    for _ in range(rounds):
        for byte in chunk:
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def noop() -> None:
    return None


def make(mb: int) -> str:
    return "x" * (mb * 2**20)


def copy(text: str) -> str:
    return text[:-1] + "y"


def size(text: str) -> int:
    return len(text)


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    gc.collect()
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


def calibrate(target: float = 0.2) -> int:
    """Rounds of :func:`fnv_rounds` that take about ``target`` seconds on an idle core (the
    fastest of three timings of at least 50 ms each)."""
    rounds = 16
    while True:
        start = time.perf_counter()
        fnv_rounds(rounds)
        if time.perf_counter() - start >= 0.05:
            break
        rounds *= 2
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fnv_rounds(rounds)
        best = min(best, time.perf_counter() - start)
    return max(1, round(rounds * target / best))


def _once(rounds: int) -> float:
    start = time.perf_counter()
    fnv_rounds(rounds)
    return time.perf_counter() - start


async def cpu_batch(calls: int, repeats: int, rounds: int | None) -> None:
    rounds = rounds or calibrate()
    local = a.ToolExecutor(toolset=a.Toolset([fnv_rounds]), mode="concurrent")
    remote = a.ToolExecutor(
        toolset=a.Toolset([fnv_rounds], backend=RayBackend(num_cpus=1)), mode="concurrent"
    )
    # The control: each call asks for both CPUs, so Ray runs one at a time.
    serial = a.ToolExecutor(
        toolset=a.Toolset([fnv_rounds], backend=RayBackend(num_cpus=2)), mode="concurrent"
    )
    batch = [
        a.ToolCall(id=f"c{i}", name="fnv_rounds", arguments={"rounds": rounds})
        for i in range(calls)
    ]
    one = min(_once(rounds) for _ in range(3))
    expected = [r.content for r in (await local.run(batch[:4])).results]
    for executor in (remote, serial):  # warm-up: workers started, the function exported
        assert [r.content for r in (await executor.run(batch[:4])).results] == expected
    t_local, t_ray, t_serial = [], [], []
    for _ in range(repeats):
        t_local.append(await timed(lambda: local.run(batch)))
        t_ray.append(await timed(lambda: remote.run(batch)))
        t_serial.append(await timed(lambda: serial.run(batch)))
    tl, tr, ts = (statistics.median(t) for t in (t_local, t_ray, t_serial))
    print(f"(a) CPU-bound batch: {calls} calls x {one:.3f} s (best of 3, alone) of pure-Python")
    print(f"    hashing, median of {repeats}; sum of the calls' work {calls * one:.2f} s")
    print(f"    in process, threads          {tl:7.2f} s")
    print(f"    Ray, 2 calls at a time       {tr:7.2f} s")
    print(f"    speed-up                     {tl / tr:7.2f} x   (target >= 1.7)")
    print(
        f"    control: Ray, 1 at a time    {ts:7.2f} s   (2 at a time / 1 at a time "
        f"{ts / tr:.2f} x: the parallelism this machine gave us)"
    )


async def overhead(n: int, repeats: int) -> None:
    local = a.ToolExecutor(toolset=a.Toolset([noop]), mode="concurrent")
    remote = a.ToolExecutor(toolset=a.Toolset([noop], backend=RayBackend()), mode="concurrent")
    batch = [a.ToolCall(id=f"c{i}", name="noop") for i in range(n)]
    await remote.run(batch)

    async def one_by_one(executor: a.ToolExecutor) -> None:
        for c in batch:
            await executor.run([c])

    rows: dict[str, list[float]] = {
        "local batch": [],
        "ray batch": [],
        "local serial": [],
        "ray serial": [],
    }
    for _ in range(repeats):
        rows["local batch"].append(await timed(lambda: local.run(batch)))
        rows["ray batch"].append(await timed(lambda: remote.run(batch)))
        rows["local serial"].append(await timed(lambda: one_by_one(local)))
        rows["ray serial"].append(await timed(lambda: one_by_one(remote)))
    m = {k: statistics.median(v) / n for k, v in rows.items()}
    print(f"(b) no-op overhead per call, {n} calls (median of {repeats})")
    print(
        f"    concurrent batch: in process {m['local batch'] * 1e6:8.1f} us   "
        f"Ray {m['ray batch'] * 1e6:8.1f} us   ({m['ray batch'] / m['local batch']:.0f} x)"
    )
    print(
        f"    one at a time:    in process {m['local serial'] * 1e6:8.1f} us   "
        f"Ray {m['ray serial'] * 1e6:8.1f} us   ({m['ray serial'] / m['local serial']:.0f} x)"
    )


def rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE


class PeakRSS:
    """Samples this process's RSS every 2 ms in a thread; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


async def chain(mb: int, pass_through: bool) -> tuple[float, float]:
    backend = RayBackend(pass_through=pass_through)
    toolset = a.Toolset([make, copy, size], backend=backend)
    calls = [
        a.ToolCall(id="c1", name="make", arguments={"mb": mb}),
        a.ToolCall(id="c2", name="copy", arguments={"text": "future_1"}),
        a.ToolCall(id="c3", name="copy", arguments={"text": "future_2"}),
        a.ToolCall(id="c4", name="size", arguments={"text": "future_3"}),
    ]
    gc.collect()
    before = rss()
    start = time.perf_counter()
    with PeakRSS() as peak:
        async with a.Scheduler(toolset) as s:
            futures = [s.submit(c) for c in calls]
            await s.drain()
    wall = time.perf_counter() - start
    last = futures[-1]
    assert isinstance(last, a.Future)
    assert last.result is not None
    assert last.result.content == str(mb * 2**20), last.result.content
    del futures, s
    gc.collect()
    return (peak.peak - before) / 2**20, wall


async def memory(sizes: list[int], repeats: int) -> None:
    await chain(1, True)  # warm-up
    await chain(1, False)
    print(
        f"(c) chain make -> copy -> copy -> size, driver peak RSS above start (median of {repeats})"
    )
    for mb in sizes:
        for through in (True, False):
            runs = [await chain(mb, through) for _ in range(repeats)]
            peak = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            label = "pass-through   " if through else "via the driver "
            print(f"    {mb:4d} MB value, {label} peak +{peak:7.1f} MB   wall {wall:6.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument(
        "--rounds", type=int, help="KiB hashed per call (default: about 0.2 s, calibrated)"
    )
    parser.add_argument("--noops", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 50])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--worker-niceness",
        type=int,
        default=0,
        help="nice value of Ray's workers (Ray's own default is 15, which starves them on a "
        "machine where other processes compete at 0; 0 competes as the driver's threads do)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    start = time.perf_counter()
    init(
        num_cpus=2,
        object_store_memory=1024 * 2**20,
        _system_config={"worker_niceness": args.worker_niceness},
    )
    print(
        f"Python {sys.version.split()[0]}, Ray {ray.__version__}, {os.cpu_count()} cores; "
        f"ray.init took {time.perf_counter() - start:.1f} s; worker niceness "
        f"{args.worker_niceness}; load average {os.getloadavg()[0]:.1f}"
    )
    try:
        asyncio.run(cpu_batch(args.calls, args.repeats, args.rounds))
        asyncio.run(overhead(args.noops, args.repeats))
        asyncio.run(memory(args.sizes, args.repeats))
    finally:
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
