"""Latency injection: the benchmark tools are instantaneous, so a delay is added per call.

:func:`with_latency` returns a new toolset whose tools first sleep, then call the original
function; schemas, labels and validation are unchanged.  Delays are drawn per call from a
:class:`Latency` model, already multiplied by the run's time scale, so scaling model time and
tool time by the same factor preserves every ratio.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from asyncfc._tools import Tool, Toolset

__all__ = ("Latency", "LatencyKind", "with_latency")

LatencyKind = Literal["fixed", "uniform", "exponential"]


@dataclass(frozen=True, kw_only=True)
class Latency:
    """Per-call tool latency in seconds (before ``time_scale``)."""

    kind: LatencyKind = "fixed"
    seconds: float = 5.0
    """The fixed delay, or the mean of the distributions."""
    seed: int = 0

    def sampler(self, time_scale: float) -> Callable[[str], float]:
        rng = random.Random(self.seed)

        def sample(_name: str) -> float:
            if self.kind == "fixed":
                d = self.seconds
            elif self.kind == "uniform":
                d = rng.uniform(0.5 * self.seconds, 1.5 * self.seconds)
            else:
                d = rng.expovariate(1.0 / self.seconds)
            return d * time_scale

        return sample


def _delayed(tool: Tool, delay: Callable[[str], float]) -> Tool:
    original = tool.function

    @functools.wraps(original)
    async def run(*args: Any, **kwargs: Any) -> Any:
        await anyio.sleep(delay(tool.name))
        value = original(*args, **kwargs)
        if inspect.isawaitable(value):
            value = await value
        return value

    return dataclasses.replace(tool, function=run, is_async=True)


def with_latency(toolset: Toolset, delay: Callable[[str], float]) -> Toolset:
    """A copy of ``toolset`` whose every call first sleeps ``delay(tool_name)`` seconds."""
    return Toolset(_delayed(t, delay) for t in toolset)
