"""ComplexFuncBench under the replay model.

Each sequence becomes one user turn whose calls are the recorded calls; a ``$varK.path$``
argument becomes ``uses`` of call K, rendered as the future reference ``future_<n>.path`` in
the async modes and as the recorded value in the others.  Tools are mocks returning the
recorded responses, labelled pure (they read and write nothing), under the API specs' schemas.
Pure tools never conflict, so both batching policies play the same plan here.  A run is
*correct* when every call found its recorded counterpart (the mocks are strict: a call whose
resolved arguments match no recorded call is an error).

Two APIs have names no tool may carry (``Get_Hotel_Reviews(Tips)`` and
``Get_Hotel_Reviews(Tips)_Sort_Option``, 76 calls in 50 sequences; function-calling APIs
reject parentheses too): runs use :func:`tool_name` (``Get_Hotel_Reviews_Tips``,
``Get_Hotel_Reviews_Tips_Sort_Option``) in the plan and the toolset alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from asyncfc import AgentRun, Toolset, tool
from asyncfc.replay import (
    BatchingPolicy,
    DecodeModel,
    Environment,
    Latency,
    ModeOutcome,
    Plan,
    PlannedCall,
    SyncTools,
    replay_modes,
)

from ._complexfuncbench import (
    CfbSequence,
    convert_references,
    load_complexfuncbench_specs,
    make_mock_tools,
)

__all__ = ("cfb_plan", "run_cfb_sequence", "tool_name")

_VALID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_SEPARATORS = re.compile(r"[^A-Za-z0-9.\-]+")  # "_" included: runs collapse


def tool_name(api: str) -> str:
    """The tool name of ComplexFuncBench API ``api``: a valid name is kept as is; in any
    other, each run of underscores and characters a tool name may not contain becomes one
    ``_`` and a trailing ``_`` is dropped."""
    if _VALID.fullmatch(api):
        return api
    return _SEPARATORS.sub("_", api).rstrip("_")


def cfb_plan(sequence: CfbSequence) -> Plan:
    """The replay plan of ``sequence``: one user turn, references as ``uses``."""
    calls = [
        PlannedCall(
            name=tool_name(c.name),
            arguments=sequence.resolved_arguments(c.index),
            uses=c.depends_on,
        )
        for c in sequence.calls
    ]

    def arguments(index: int, futures: Mapping[int, str] | None) -> Mapping[str, Any]:
        if futures is None:
            return sequence.resolved_arguments(index)
        return convert_references(
            sequence,
            index,
            lambda producer, path: f"{futures[producer]}{_join(path)}",
            keep=futures.__contains__,
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
    sync_tools: SyncTools = "thread",
    **options: Any,
) -> dict[str, ModeOutcome]:
    """Replay ``sequence`` in every mode; each outcome's ``extra`` says whether every call
    found its recorded counterpart (``accurate``) and the first errors.  ``options`` go to
    :func:`asyncfc.replay.replay_modes` (``behaviour``, ``final_answer``, ``hold``)."""
    specs = load_complexfuncbench_specs()
    plan = cfb_plan(sequence)

    def make_env() -> Environment:
        mocks = make_mock_tools(sequence)
        names = {api: tool_name(api) for api in mocks}
        if len(set(names.values())) != len(names):
            raise ValueError(f"sequence {sequence.index}: two APIs share a tool name: {names}")
        toolset = Toolset.from_openai(
            [{**specs[api], "name": names[api]} for api in mocks if api in specs],
            {names[api]: m for api, m in mocks.items() if api in specs},
            labels={names[api]: {"reads": [], "writes": []} for api in mocks},
        )
        for api, fn in mocks.items():
            if api not in specs:
                toolset.add(tool(name=names[api], reads=(), writes=())(fn))

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
        sync_tools=sync_tools,
        **options,
    )
