"""BFCL tasks through pydantic-ai's ``Agent`` and the Agents SDK's ``Runner`` (their own
loops, the real asyncfc integrations), on the virtual clock, scored like asyncfc's modes.

Everything runs under :func:`~asyncfc_bench._virtual_clock.run_virtual`, which fails a run
in which any thread the clock does not track called back into the loop: passing also says
the frameworks ran these tasks without worker threads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asyncfc_bench import load_multi_turn
from asyncfc_bench._bfcl_bench import bfcl_plan
from asyncfc_bench._fw_bench import FrameworkTask, row_name, run_framework_task
from asyncfc_bench._virtual_clock import run_virtual
from asyncfc_bench.cli import main

from asyncfc import AWAIT_TOOL_NAME, AssistantMessage, ToolResultsMessage
from asyncfc.replay import Behaviour, DecodeModel, Latency

# 3: three information dependencies; 28: the math backend (mpmath values) and two of them.
TASKS = ["multi_turn_base_3", "multi_turn_base_28"]


@pytest.fixture(scope="module")
def tasks() -> list[FrameworkTask]:
    entries = load_multi_turn("multi_turn_base", ids=TASKS)

    async def run() -> list[FrameworkTask]:
        return [
            await run_framework_task(
                entry, decode=DecodeModel(), latency=Latency(), behaviour=Behaviour()
            )
            for entry in entries
        ]

    return run_virtual(run())


def test_every_setup_scores_as_sequential(tasks: list[FrameworkTask]) -> None:
    for task in tasks:
        rows = task.rows()
        assert len(rows) == 4 + 2 * 3
        base = rows[row_name("asyncfc", "sequential")]
        assert base["accurate"]
        for name, figures in rows.items():
            assert figures["state_matches_sequential"], (task.entry_id, name)
            assert figures["accurate"] == base["accurate"], (task.entry_id, name)


def test_without_futures_the_frameworks_follow_asyncfcs_parallel_schedule(
    tasks: list[FrameworkTask],
) -> None:
    """The same script, decode model and tools: (a) and (b) take exactly asyncfc's parallel
    time and requests (their batches hold independent calls only), on the virtual clock."""
    for task in tasks:
        rows = task.rows()
        parallel = rows[row_name("asyncfc", "parallel")]
        for framework in ("pydantic-ai", "openai-agents"):
            for variant in ("alone", "labels"):
                figures = rows[row_name(framework, variant)]
                assert figures["wall"] == pytest.approx(parallel["wall"], abs=1e-9)
                assert figures["requests"] == parallel["requests"]
                assert figures["output_tokens"] == parallel["output_tokens"]


def test_futures_run_in_the_background_and_every_call_is_made_once(
    tasks: list[FrameworkTask],
) -> None:
    for task in tasks:
        entry = load_multi_turn("multi_turn_base", ids=[task.entry_id])[0]
        plan, _ = bfcl_plan(entry)
        planned = sorted(c.name for c in plan.flat())
        for framework in ("pydantic-ai", "openai-agents"):
            outcome = task.setups[(framework, "futures")]
            calls = [
                c.name
                for m in outcome.messages
                if isinstance(m, AssistantMessage)
                for c in m.tool_calls
                if c.name != AWAIT_TOOL_NAME
            ]
            assert sorted(calls) == planned
            contents = [
                r.content
                for m in outcome.messages
                if isinstance(m, ToolResultsMessage)
                for r in m.results
                if r.name != AWAIT_TOOL_NAME
            ]
            assert all(c.startswith("future_") for c in contents)
            sync = task.setups[(framework, "alone")]
            assert outcome.wall < sync.wall
            assert outcome.requests >= sync.requests


def test_the_command_writes_its_table(tmp_path: Path) -> None:
    argv = ["bench", "frameworks-bfcl", "--tasks", "multi_turn_base_1", "--out", str(tmp_path)]
    argv += ["--frameworks", "openai-agents", "--setups", "alone,futures", "--cpu-repeats", "2"]
    assert main(argv) == 0
    out = tmp_path / "frameworks_bfcl"
    summary = json.loads((out / "summary.json").read_text())
    assert [r["setup"] for r in summary["summary"]] == [
        "asyncfc Agent sequential",
        "asyncfc Agent parallel",
        "asyncfc Agent async_parallel",
        "asyncfc Agent async_parallel, reask",
        "openai-agents (a) alone",
        "openai-agents (c) + futures",
    ]
    assert all(r["state_mismatches"] == 0 for r in summary["summary"])
    # CPU time for the framework rows only (asyncfc's modes run together), as a ratio to
    # the framework alone
    cpu = {r["setup"]: (r["cpu_ms_mean"], r["cpu_vs_alone"]) for r in summary["summary"]}
    assert cpu["asyncfc Agent parallel"] == (None, None)
    assert cpu["openai-agents (a) alone"][0] > 0
    assert cpu["openai-agents (a) alone"][1] == 1.0
    assert cpu["openai-agents (c) + futures"][1] > 0
    assert "--cpu-repeats 2" in (out / "summary.md").read_text()
    assert "frameworks-bfcl" in (out / "summary.md").read_text()
    [line] = (out / "tasks.jsonl").read_text().splitlines()
    assert json.loads(line)["task"] == "multi_turn_base_1"


def test_unknown_framework_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="langgraph"):
        main(["bench", "frameworks-bfcl", "--frameworks", "langgraph", "--out", str(tmp_path)])
