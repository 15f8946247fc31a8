"""Small versions of the benchmark runs: structure and accuracy equality, no timing asserts.

They run on trio's MockClock, so every simulated second of decoding and tool latency passes
instantly and the traces are exact; a fake clock needs the sync backends on the event loop
(``sync_tools="loop"``, see :func:`asyncfc.replay.with_latency`).  The worker-thread path the
benchmarks take is run on the real clock by ``test_threads.py``.
"""

from __future__ import annotations

import pytest
from asyncfc_bench import load_multi_turn
from asyncfc_bench._bfcl_bench import executed_calls, run_bfcl_task
from asyncfc_bench._cfb_bench import run_cfb_sequence, tool_name
from asyncfc_bench._complexfuncbench import load_complexfuncbench
from trio.testing import MockClock

from asyncfc import AWAIT_TOOL_NAME, AssistantMessage
from asyncfc.replay import MODES, BatchingPolicy, DecodeModel, Latency, summarise

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return ("trio", {"clock": MockClock(autojump_threshold=0)})


@pytest.mark.parametrize("batching", ["independent", "greedy"])
async def test_bfcl_replay_every_mode_matches_sequential(batching: BatchingPolicy) -> None:
    tasks = []
    for entry in load_multi_turn("multi_turn_base", limit=3):
        outcomes, _ = await run_bfcl_task(
            entry,
            modes=list(MODES),
            decode=DecodeModel(),
            latency=Latency(),
            time_scale=1.0,
            batching=batching,
            sync_tools="loop",
        )
        tasks.append(outcomes)
        assert list(outcomes) == list(MODES)
        reference = outcomes["sequential"]
        assert reference.extra["accurate"], reference.extra["verdict"]
        for name, o in outcomes.items():
            assert o.extra["accurate"] == reference.extra["accurate"], name
            assert o.extra["state_matches_sequential"], name
            # every ground-truth call was executed exactly once, in its user turn
            got = executed_calls(o.run, [entry.user_text(t) for t in range(len(entry.turns))])
            assert [sum(len(step) for step in turn) for turn in got] == [
                len(turn) for turn in entry.ground_truth
            ], name
            assert len(o.run.results) == len(o.run.calls)
        bound = reference.bound
        assert bound is not None
        assert len(bound.ideal_turns) == len(entry.ground_truth)
        # on the mock clock the sequential wall is exactly T_LLM + T_tool, and the turn-aware
        # ideal is never shorter than max(T_LLM, T_cp), so R_turn <= R_task
        assert reference.wall == pytest.approx(bound.t_llm + bound.t_tool)
        assert 1.0 <= bound.r_turn <= bound.r_task + 1e-9
    rows = summarise(tasks)
    assert [r["mode"] for r in rows] == list(MODES)
    assert all(r["accuracy"] == 1.0 for r in rows)
    assert rows[0]["speedup_mean"] == pytest.approx(1.0)


async def test_complexfuncbench_replay_resolves_every_reference() -> None:
    for seq in load_complexfuncbench(limit=5):
        outcomes = await run_cfb_sequence(
            seq,
            modes=list(MODES),
            decode=DecodeModel(),
            latency=Latency(),
            time_scale=1.0,
            sync_tools="loop",
        )
        for name, o in outcomes.items():
            assert o.extra["accurate"], (seq.index, name, o.extra["errors"])
            executed = [i for i in o.run.trace.intervals if i.kind == "tool"]
            assert len(executed) == len(seq.calls), (seq.index, name)
        # In the async modes the references were passed as futures, never awaited; the only
        # awaits are for what the final answer reads, written in the response of the last
        # calls, so no request only waits and async_parallel asks no more than parallel.
        a_p = outcomes["async_parallel"].run
        for m in a_p.messages:
            if isinstance(m, AssistantMessage) and m.tool_calls:
                names = [c.name for c in m.tool_calls]
                assert names[0] != AWAIT_TOOL_NAME, (seq.index, names)
        assert a_p.model_requests <= outcomes["parallel"].run.model_requests
        uses_refs = any(c.depends_on for c in seq.calls)
        sent = [c.arguments for c in outcomes["async"].run.calls]
        assert any("future_" in str(a) for a in sent) == uses_refs


async def test_complexfuncbench_apis_with_invalid_tool_names_replay() -> None:
    sequences = load_complexfuncbench(limit=661)
    for seq in (sequences[570], sequences[660]):  # the first users of each such API
        names = {c.name for c in seq.calls}
        assert names & {"Get_Hotel_Reviews(Tips)", "Get_Hotel_Reviews(Tips)_Sort_Option"}
        outcomes = await run_cfb_sequence(
            seq,
            modes=list(MODES),
            decode=DecodeModel(),
            latency=Latency(),
            time_scale=1.0,
            sync_tools="loop",
        )
        for name, o in outcomes.items():
            assert o.extra["accurate"], (seq.index, name, o.extra["errors"])
        sent = {c.name for c in outcomes["sequential"].run.calls}
        assert sent == {tool_name(n) for n in names}
    assert tool_name("Get_Hotel_Reviews(Tips)") == "Get_Hotel_Reviews_Tips"
    assert tool_name("Get_Hotel_Reviews(Tips)_Sort_Option") == "Get_Hotel_Reviews_Tips_Sort_Option"
    assert tool_name("Search_Hotels") == "Search_Hotels"
