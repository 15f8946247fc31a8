"""The path the benchmarks take: BFCL's sync backends in worker threads, on the real clock.

``test_runs.py`` plays whole tasks on a fake clock, which needs the backends on the event loop
(``sync_tools="loop"``).  Here one task runs as the commands run it (``sync_tools="thread"``,
the default) at a tiny time scale; only behaviour is asserted: every mode is as accurate as
the sequential run, ends in the same backend state, and runs every ground-truth call once.
"""

from __future__ import annotations

import pytest
from asyncfc_bench import load_multi_turn, make_environment
from asyncfc_bench._bfcl_bench import executed_calls, run_bfcl_task

from asyncfc.replay import MODES, DecodeModel, Latency, with_latency

pytestmark = pytest.mark.anyio


def test_the_backends_stay_sync() -> None:
    entry = load_multi_turn("multi_turn_base", limit=1)[0]
    toolset = make_environment(entry).toolset
    delayed = with_latency(toolset, Latency().sampler(0.001))
    assert all(not t.is_async for t in toolset)
    assert all(not t.is_async for t in delayed)


async def test_a_bfcl_task_in_worker_threads_matches_sequential() -> None:
    entry = load_multi_turn("multi_turn_base", limit=1)[0]
    outcomes, _ = await run_bfcl_task(
        entry, modes=list(MODES), decode=DecodeModel(), latency=Latency(), time_scale=0.0005
    )
    reference = outcomes["sequential"]
    assert reference.extra["accurate"], reference.extra["verdict"]
    prompts = [entry.user_text(t) for t in range(len(entry.turns))]
    for name, o in outcomes.items():
        assert o.extra["accurate"], name
        assert o.extra["state_matches_sequential"], name
        got = executed_calls(o.run, prompts)
        assert [sum(len(step) for step in turn) for turn in got] == [
            len(turn) for turn in entry.ground_truth
        ], name
