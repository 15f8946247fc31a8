"""Latency injection: recorded or benchmark tools are instantaneous, so a delay is added per call.

:func:`with_latency` returns a new toolset whose tools first wait, then call the original
function; schemas, labels and validation are unchanged.  Delays are drawn per call from a
:class:`Latency` model, already multiplied by the run's time scale, so scaling model time and
tool time by the same factor preserves every ratio.

Sync tools stay sync.  A user's sync tool runs in a worker thread (see
:mod:`asyncfc._invoke`), so by default (``sync_tools="thread"``) its wrapper is a sync
function that blocks its thread with :func:`time.sleep` and then calls the original: the run
takes the same worker-thread path, with the same thread limiter, as the user's tool would, and
a slow tool body never blocks the event loop while the model decodes.  Async tools get an async
wrapper that sleeps with :func:`anyio.sleep`.

``sync_tools="loop"`` wraps sync tools in async wrappers that sleep with :func:`anyio.sleep`
and call the body on the event loop.  It exists for fake clocks (trio's ``MockClock``):
such a clock advances only through the event loop's sleeps, never through ``time.sleep`` in a
thread, and it may jump while a thread works, so only the loop path keeps a fake-clock run
deterministic.  Benchmarks on the real clock use the default.

With the random kinds of :class:`Latency`, draws come from one generator in the order calls
start waiting; concurrent calls in worker threads may start in either order, so only
``"fixed"`` gives the same delay to the same call on every run.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from asyncfc._tools import Tool
from asyncfc._toolset import Toolset

__all__ = ("Latency", "LatencyKind", "SyncTools", "with_latency")

LatencyKind = Literal["fixed", "uniform", "exponential"]
"""How :class:`Latency` draws a delay: always ``seconds``, uniform on ``[0.5, 1.5] × seconds``,
or exponential with mean ``seconds``."""

SyncTools = Literal["thread", "loop"]
"""How :func:`with_latency` wraps sync tools (see the module docstring)."""


@dataclass(frozen=True, kw_only=True)
class Latency:
    """Per-call tool latency in seconds (before ``time_scale``)."""

    kind: LatencyKind = "fixed"
    seconds: float = 5.0
    """The fixed delay, or the mean of the distributions."""
    seed: int = 0

    def sampler(self, time_scale: float) -> Callable[[str], float]:
        """A function from tool name to the next delay, in seconds × ``time_scale``
        (thread-safe; one seeded generator per sampler)."""
        rng = random.Random(self.seed)
        lock = threading.Lock()

        def sample(_name: str) -> float:
            if self.kind == "fixed":
                d = self.seconds
            elif self.kind == "uniform":
                with lock:
                    d = rng.uniform(0.5 * self.seconds, 1.5 * self.seconds)
            else:
                with lock:
                    d = rng.expovariate(1.0 / self.seconds)
            return d * time_scale

        return sample


def _delayed(tool: Tool, delay: Callable[[str], float], sync_tools: SyncTools) -> Tool:
    original = tool.function

    if not tool.is_async and sync_tools == "thread":

        @functools.wraps(original)
        def blocking(*args: Any, **kwargs: Any) -> Any:
            time.sleep(delay(tool.name))
            return original(*args, **kwargs)

        return dataclasses.replace(tool, function=blocking)

    @functools.wraps(original)
    async def run(*args: Any, **kwargs: Any) -> Any:
        await anyio.sleep(delay(tool.name))
        value = original(*args, **kwargs)
        if inspect.isawaitable(value):
            value = await value
        return value

    return dataclasses.replace(tool, function=run, is_async=True)


def with_latency(
    toolset: Toolset, delay: Callable[[str], float], *, sync_tools: SyncTools = "thread"
) -> Toolset:
    """A copy of ``toolset`` whose every call first waits ``delay(tool_name)`` seconds.

    Sync tools stay sync and wait with :func:`time.sleep` in their worker thread; with
    ``sync_tools="loop"`` they become async and wait on the event loop (for fake clocks; see
    the module docstring).  Async tools wait with :func:`anyio.sleep`."""
    if sync_tools not in ("thread", "loop"):
        raise ValueError(f"sync_tools must be 'thread' or 'loop', got {sync_tools!r}")
    return Toolset(_delayed(t, delay, sync_tools) for t in toolset)
