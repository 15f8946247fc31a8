"""The runtime benchmark of issue 3: 3 independent calls and 2 dependent calls, in all five
variants, on the real clock (asyncio), measured side by side in one run.

    .venv/bin/python bench/scripts/bench_runtime.py [--time-scale 1.0] [--ttft 0.8] [--tps 50]
                                                 [--tool 1.0] [--repeats 1]

Scenario: plan a trip.  ``search_flights``, ``search_hotels`` and ``get_weather`` are
independent reads; ``book_flight(flights.id)`` and ``book_hotel(hotels.id)`` depend on a
search's result and write their own booking node.  A ScriptedModel plays the same agent in
every mode: the sequential modes emit one call per turn, the parallel ones the 3 searches in
one turn and the 2 bookings in the next.  In the sync modes the model copies the ids out of
the results it read; in the async modes it passes ``future_1.id`` and, when all calls are
issued, awaits whatever it has not seen yet before its final answer.  ``async (no labels)``
is ``async`` with ``respect_labels=False`` (every call serializes in program order).

Metrics, per mode, from its trace (T_LLM = summed model intervals, T_tool = summed tool
intervals, T_cp = tool time on the critical path of the dependency DAG):

* ``×seq``: end-to-end time of sequential ÷ this mode's;
* ``R = (T_LLM + T_tool) / max(T_LLM, T_cp)``, the paper's bound on the speed-up over the
  synchronous execution of the same turns.  T_cp comes from the async_parallel trace (the DAG
  with the data dependencies: in the sync modes the model inlines values, so their traces
  have no data edges) except for ``async (no labels)``, whose own chain is what it enforces;
* ``speed-up = (T_LLM + T_tool) / wall``: against the synchronous execution of the very turns
  and calls this mode made, so modes that decode different turns are each held to their
  own bound;
* ``eff = speed-up / R`` (equivalently ``max(T_LLM, T_cp) / wall``): how much of the bound
  the runtime achieved.  Target: >= 0.95 in the async modes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

import asyncfc as a

DELIVERY = "Results of earlier calls:"


@dataclass(frozen=True)
class Setup:
    ttft: float
    tps: float
    tool: float
    scale: float


def make_toolset(setup: Setup) -> a.Toolset:
    seconds = setup.tool * setup.scale

    async def search_flights(origin: str, destination: str) -> dict[str, Any]:
        """Find the cheapest flight."""
        await anyio.sleep(seconds)
        return {"id": "FL-204", "price": 412, "from": origin, "to": destination}

    async def search_hotels(city: str) -> dict[str, Any]:
        """Find the best hotel."""
        await anyio.sleep(seconds)
        return {"id": "HT-77", "name": "Hotel Lumen", "city": city}

    async def get_weather(city: str) -> str:
        """Tomorrow's forecast."""
        await anyio.sleep(seconds)
        return f"sunny in {city}, 24 C"

    async def book_flight(flight_id: str) -> str:
        """Book a flight."""
        await anyio.sleep(seconds)
        return f"booked {flight_id}"

    async def book_hotel(hotel_id: str) -> str:
        """Book a hotel room."""
        await anyio.sleep(seconds)
        return f"booked {hotel_id}"

    return a.Toolset(
        [
            a.tool(reads=["flights"], writes=())(search_flights),
            a.tool(reads=["hotels"], writes=())(search_hotels),
            a.tool(reads=(), writes=())(get_weather),
            a.tool(reads=(), writes=["bookings:/flights"])(book_flight),
            a.tool(reads=(), writes=["bookings:/hotels"])(book_hotel),
        ]
    )


SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("search_flights", {"origin": "Zurich", "destination": "Lisbon"}),
    ("search_hotels", {"city": "Lisbon"}),
    ("get_weather", {"city": "Lisbon"}),
]
FINAL = "Booked flight FL-204 and Hotel Lumen; it will be sunny in Lisbon."


def _futures_seen(view: a.ScriptView) -> tuple[list[str], set[str]]:
    """Future ids the model was given, and those whose outcome it has read."""
    issued: list[str] = []
    seen: set[str] = set()
    for m in view.messages:
        if isinstance(m, a.ToolResultsMessage):
            for r in m.results:
                if r.content.endswith(" (pending)"):
                    issued.append(r.content.split(" ")[0])
                elif r.name == a.AWAIT_TOOL_NAME:
                    seen.update(line.split(" ")[0] for line in r.content.splitlines())
        elif isinstance(m, a.UserMessage) and m.content.startswith(DELIVERY):
            block = m.content.split("\n\n")[0]
            seen.update(line.split(" ")[0] for line in block.splitlines()[1:])
    return issued, seen


def make_script(mode: a.AgentMode) -> Callable[[a.ScriptView], a.Reply]:
    is_async = mode in ("async", "async_parallel")
    one_per_turn = mode in ("sequential", "async")

    def bookings(view: a.ScriptView) -> list[tuple[str, dict[str, Any]]]:
        if is_async:
            flight, hotel = "future_1.id", "future_2.id"
        else:  # copy the ids out of the results the model read
            flight = json.loads(view.result_for("call_1") or "{}")["id"]
            hotel = json.loads(view.result_for("call_2") or "{}")["id"]
        return [("book_flight", {"flight_id": flight}), ("book_hotel", {"hotel_id": hotel})]

    def script(view: a.ScriptView) -> a.Reply:
        i = view.index
        if one_per_turn:
            if i < 3:
                return a.Reply(calls=[SEARCHES[i]])
            if i < 5:
                return a.Reply(calls=[bookings(view)[i - 3]])
        else:
            if i == 0:
                return a.Reply(calls=SEARCHES)
            if i == 1:
                return a.Reply(calls=bookings(view))
        if is_async:
            issued, seen = _futures_seen(view)
            missing = [f for f in issued if f not in seen]
            if missing:
                return a.Reply(calls=[(a.AWAIT_TOOL_NAME, {"future_ids": missing})])
        return a.Reply(text=FINAL)

    return script


VARIANTS: list[tuple[str, a.AgentMode, bool]] = [
    ("sequential", "sequential", True),
    ("parallel", "parallel", True),
    ("async", "async", True),
    ("async_parallel", "async_parallel", True),
    ("async (no labels)", "async", False),
]


@dataclass
class Measured:
    wall: float
    metrics: a.TraceMetrics
    requests: int


async def measure(setup: Setup, mode: a.AgentMode, labels: bool) -> Measured:
    model = a.ScriptedModel(
        script=make_script(mode),
        ttft=setup.ttft * setup.scale,
        tokens_per_second=setup.tps / setup.scale,
    )
    agent = a.Agent(model=model, toolset=make_toolset(setup), mode=mode, respect_labels=labels)
    start = anyio.current_time()
    run = await agent.run("Book me a trip to Lisbon tomorrow and tell me the weather.")
    wall = anyio.current_time() - start
    assert run.outputs == [FINAL], run.outputs
    assert all(not r.is_error for r in run.results.values()), run.results
    return Measured(wall, run.trace.metrics(), run.model_requests)


def ideal_walls(setup: Setup) -> dict[str, float]:
    """The same runs on trio's MockClock: sleeps are exact and the runtime costs no time, so
    the difference to the real wall is the runtime's own overhead."""
    try:
        from trio.testing import MockClock
    except ImportError:  # trio is a dev extra
        return {}
    walls: dict[str, float] = {}
    for name, mode, labels in VARIANTS:

        async def one(mode: a.AgentMode = mode, labels: bool = labels) -> Measured:
            return await measure(setup, mode, labels)

        clock = MockClock(autojump_threshold=0)
        walls[name] = anyio.run(one, backend="trio", backend_options={"clock": clock}).wall
    return walls


async def main(setup: Setup, repeats: int, ideal: dict[str, float]) -> None:
    print(
        f"scenario: 3 independent + 2 dependent calls; TTFT {setup.ttft} s, {setup.tps:g} tok/s "
        f"(ceil(chars/4) tokens, +{4} per call), every tool {setup.tool} s; "
        f"time scale x{setup.scale:g}; asyncio, real clock; median of {repeats}"
    )
    results: dict[str, Measured] = {}
    for name, mode, labels in VARIANTS:
        runs = [await measure(setup, mode, labels) for _ in range(repeats)]
        results[name] = sorted(runs, key=lambda m: m.wall)[len(runs) // 2]
    seq_wall = results["sequential"].wall
    dag_cp = results["async_parallel"].metrics.t_cp
    header = (
        f"{'mode':<18} {'wall s':>7} {'×seq':>6} {'req':>4} {'T_LLM':>6} {'T_tool':>6} "
        f"{'T_cp':>5} {'R':>5} {'speed-up':>8} {'eff':>5} {'ideal s':>7} {'overhead':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, _, labels in VARIANTS:
        m = results[name]
        t_llm, t_tool = m.metrics.t_llm, m.metrics.t_tool
        t_cp = dag_cp if labels else m.metrics.t_cp
        bound = (t_llm + t_tool) / max(t_llm, t_cp)
        speed_up = (t_llm + t_tool) / m.wall
        print(
            f"{name:<18} {m.wall:7.3f} {seq_wall / m.wall:6.2f} {m.requests:4d} {t_llm:6.3f} "
            f"{t_tool:6.3f} {t_cp:5.2f} {bound:5.2f} {speed_up:8.2f} {speed_up / bound:5.2f} "
            + (f"{ideal[name]:7.3f} {(m.wall - ideal[name]) * 1000:6.1f}ms" if ideal else "")
        )
    ap = results["async_parallel"].metrics
    print(
        f"\nR uses T_cp = {dag_cp:.3f} s from the async_parallel trace: the DAG with data "
        "dependencies (search -> book) and label conflicts; 'async (no labels)' uses its own "
        "trace, where every call waits for the one before."
    )
    print(
        "speed-up = (T_LLM + T_tool) / wall, i.e. against the synchronous execution of the "
        "same turns and calls; eff = speed-up / R = max(T_LLM, T_cp) / wall."
    )
    print(
        f"async_parallel saving: {ap.saving:.3f} s = decode/execute overlap "
        f"{ap.overlap_saving:.3f} s + parallel functions {ap.parallel_saving:.3f} s"
    )
    effs = {
        name: max(results[name].metrics.t_llm, dag_cp if labels else results[name].metrics.t_cp)
        / results[name].wall
        for name, mode, labels in VARIANTS
        if mode in ("async", "async_parallel")
    }
    target = {n: e for n, e in effs.items() if n in ("async", "async_parallel")}
    verdict = "met" if min(target.values()) >= 0.95 else "MISSED"
    print(
        f"target eff >= 0.95 in async and async_parallel: {verdict} "
        f"(min {min(target.values()):.3f}; the no-labels ablation is shown, not targeted)"
    )
    ap_bound = (ap.t_llm + ap.t_tool) / max(ap.t_llm, dag_cp)
    print(
        f"for reference, ×seq / R(async_parallel trace) = {ap_bound:.2f}: "
        + ", ".join(f"{n} {seq_wall / results[n].wall / ap_bound:.2f}" for n in effs)
        + "  (not a like-for-like ratio: the modes decode different numbers of turns)"
    )
    if ideal:
        print(
            "ideal = the same runs on a mock clock (no runtime cost); overhead = wall - ideal, "
            "the runtime's own cost on the real clock."
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiply every duration")
    parser.add_argument("--ttft", type=float, default=0.8, help="time to first token, s")
    parser.add_argument("--tps", type=float, default=50.0, help="decode speed, tokens/s")
    parser.add_argument("--tool", type=float, default=1.0, help="seconds per tool call")
    parser.add_argument("--repeats", type=int, default=1, help="runs per mode (median kept)")
    args = parser.parse_args()
    setup = Setup(args.ttft, args.tps, args.tool, args.time_scale)
    anyio.run(main, setup, args.repeats, ideal_walls(setup), backend="asyncio")
