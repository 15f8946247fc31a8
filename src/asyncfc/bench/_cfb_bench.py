"""ComplexFuncBench under the replay model.

Each sequence becomes one user turn whose calls are the recorded calls; a ``$varK.path$``
argument becomes ``uses`` of call K, rendered as the future reference ``future_<n>.path`` in
the async modes and as the recorded value in the others.  Tools are mocks returning the
recorded responses, labelled pure (they read and write nothing), under the API specs' schemas.
Pure tools never conflict, so both batching policies play the same plan here.  A run is
*correct* when every call found its recorded counterpart (the mocks are strict: a call whose
resolved arguments match no recorded call is an error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asyncfc._agent import AgentRun
from asyncfc._tools import Toolset
from asyncfc.bench._complexfuncbench import (
    CfbSequence,
    convert_references,
    load_complexfuncbench_specs,
    make_mock_tools,
)
from asyncfc.bench._latency import Latency
from asyncfc.bench._replay import BatchingPolicy, Plan, PlannedCall
from asyncfc.bench._runner import DecodeModel, Environment, ModeOutcome, replay_modes

__all__ = ("cfb_plan", "run_cfb_sequence")


def cfb_plan(sequence: CfbSequence) -> Plan:
    calls = [
        PlannedCall(name=c.name, arguments=sequence.resolved_arguments(c.index), uses=c.depends_on)
        for c in sequence.calls
    ]

    def arguments(index: int, futures: Mapping[int, str] | None) -> Mapping[str, Any]:
        if futures is None:
            return sequence.resolved_arguments(index)
        return convert_references(
            sequence, index, lambda producer, path: f"{futures[producer]}{_join(path)}"
        )

    return Plan(prompts=[sequence.input], turns=[calls], arguments=arguments)


def _join(path: str) -> str:
    return path if path.startswith("[") or not path else f".{path}"


async def run_cfb_sequence(
    sequence: CfbSequence,
    *,
    modes: Sequence[str],
    decode: DecodeModel,
    latency: Latency,
    time_scale: float,
    batching: BatchingPolicy = "independent",
) -> dict[str, ModeOutcome]:
    specs = load_complexfuncbench_specs()
    plan = cfb_plan(sequence)

    def make_env() -> Environment:
        mocks = make_mock_tools(sequence)
        schemas = [specs[name] for name in mocks if name in specs]
        missing = {n: m for n, m in mocks.items() if n not in specs}
        toolset = Toolset.from_openai(
            schemas,
            {n: m for n, m in mocks.items() if n in specs},
            labels={n: {"reads": [], "writes": []} for n in mocks},
        )
        for fn in missing.values():
            toolset.add(fn)
            toolset.replace(fn.__name__, reads=[], writes=[])

        def finish(run: AgentRun) -> Mapping[str, Any]:
            real = [r for r in run.results.values() if r.name != "await_future"]
            ok = len(real) == len(sequence.calls) and not any(r.is_error for r in real)
            return {"accurate": ok, "errors": [r.content for r in real if r.is_error][:3]}

        return Environment(toolset=toolset, finish=finish)

    return await replay_modes(
        plan,
        make_env,
        modes=modes,
        decode=decode,
        latency=latency,
        time_scale=time_scale,
        batching=batching,
    )
