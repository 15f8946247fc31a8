"""The wrappers' overhead at zero decode time in executed instructions (a script).

Run: ``.venv/bin/python bench/scripts/bench_frameworks_instructions.py [VARIANT ...]``
(needs ``valgrind``; about four minutes per variant), or with ``--bfcl N [--framework F]``
for the first N BFCL multi_turn_base tasks through each setup of ``asyncfc-bench bench
frameworks-bfcl`` (``alone``, ``labels``, ``futures``; BFCL's call shapes, every wait free on
the virtual clock), counted the same way (one warm-up task; then the N tasks once and twice).

CPU time on a shared machine moves by ±5 % between runs of the same setup, as much as the
≤ 5 % target.  Instructions executed do not: each pydantic-ai setup of
``bench_frameworks.py`` part (1) (200 no-op calls in one response, then a final answer) is run
under ``valgrind --tool=callgrind`` twice, with two warm-up runs, what the process then
holds frozen out of the garbage collector (``gc.freeze``), and then 1 and 4 measured runs;
``(Ir(4) - Ir(1)) / 3`` is the instructions of one run, start-up and imports excluded.
``PYTHONHASHSEED=0`` fixes the one source of variation left.  Variants: those of
``bench_frameworks.build`` (``alone``, ``labels``, ``futures``, ``alone_retry``) and
``retry_cap``: ``alone_retry`` plus one capability that overrides no hook, the price
pydantic-ai itself puts on any capability (it copies the run context for every capability
at every tool hook of every call).
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).parent))

import bench_frameworks as bf

CALLS = 200


def _script(i: int) -> bf.Turn:
    if i > 0:
        return bf.Turn(text="ok")
    return bf.Turn(calls=[("noop", {"i": k}) for k in range(CALLS)])


def _retry_cap() -> Callable[[], Awaitable[Any]]:
    from pydantic_ai import Agent, FunctionToolset, ModelRetry
    from pydantic_ai.capabilities import AbstractCapability
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    @dataclass
    class NoHooks(AbstractCapability[Any]):
        """A capability that changes nothing."""

    async def run() -> None:
        count = 0

        async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
            nonlocal count
            turn = _script(count)
            count += 1
            if not turn.calls:
                return ModelResponse(parts=[TextPart(turn.text)])
            return ModelResponse(
                parts=[
                    ToolCallPart(n, dict(a), tool_call_id=f"r{count}c{i}")
                    for i, (n, a) in enumerate(turn.calls)
                ]
            )

        agent = Agent(
            FunctionModel(respond),
            toolsets=[FunctionToolset([bf.noop])],
            capabilities=[NoHooks()],
            retries={"output": 3},
        )
        rejected: list[str] = []

        @agent.output_validator
        def once(output: str) -> str:
            if not rejected:
                rejected.append(output)
                raise ModelRetry("answer again")
            return output

        await agent.run("go")

    return run


def _setup(variant: str) -> Callable[[], Awaitable[Any]]:
    if variant == "retry_cap":
        return _retry_cap()
    labels: dict[str, dict[str, list[str]]] = {"noop": {"reads": []}}
    return bf.build("pydantic-ai", cast(bf.Variant, variant), [bf.noop], labels, _script)


async def _runs(variant: str, measured: int) -> None:
    setup = _setup(variant)
    for _ in range(2):
        await setup()
    # What the process holds by now (modules, caches) is frozen out of the collector: a
    # full collection during a measured run would otherwise count all of it, and whether
    # one falls inside the window depends on how many objects the imports made, not on
    # the setup measured (it moved (a) alone by 5 % between two versions of asyncfc).
    gc.collect()
    gc.freeze()
    for _ in range(measured):
        gc.collect()
        await setup()


def _bfcl_runs(framework: str, variant: str, tasks: int, rounds: int) -> None:
    from asyncfc_bench._bfcl_bench import bfcl_plan
    from asyncfc_bench._bfcl_data import load_multi_turn
    from asyncfc_bench._fw_common import ReplayBridge, bfcl_tools
    from asyncfc_bench._fw_openai_agents import run_openai_agents
    from asyncfc_bench._fw_pydantic_ai import run_pydantic_ai
    from asyncfc_bench._virtual_clock import run_virtual

    from asyncfc.replay import Behaviour, DecodeModel, Latency

    runner = run_pydantic_ai if framework == "pydantic-ai" else run_openai_agents
    entries = load_multi_turn("multi_turn_base", limit=tasks + 1)

    async def one(entry: Any) -> None:
        plan, _ = bfcl_plan(entry)
        tools = bfcl_tools(entry, Latency())
        bridge = ReplayBridge.for_plan(
            plan,
            tools.toolset,
            futures=variant == "futures",
            decode=DecodeModel(),
            behaviour=Behaviour(),
        )
        await runner(cast(Any, variant), plan.prompts, bridge, tools.toolset, tools.labels)

    async def main() -> None:
        await one(entries[-1])  # warm-up: a task outside the measured ones
        gc.collect()
        gc.freeze()  # as in _runs
        for _ in range(rounds):
            for entry in entries[:tasks]:
                gc.collect()
                await one(entry)

    run_virtual(main())


def _instructions(variant: str, measured: int, *extra: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                variant,
                str(measured),
                *extra,
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        found = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
        assert found is not None, "callgrind wrote no summary"
        return int(found.group(1))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        variant, measured, *bfcl_args = sys.argv[2:]
        if bfcl_args:
            _bfcl_runs(bfcl_args[1], variant, int(bfcl_args[0]), int(measured))
        else:
            asyncio.run(_runs(variant, int(measured)))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("bench_frameworks_instructions.py needs valgrind on PATH (apt: valgrind)")
    args = sys.argv[1:]
    framework, bfcl = "pydantic-ai", ""
    if "--framework" in args:
        i = args.index("--framework")
        framework = args[i + 1]
        del args[i : i + 2]
    if "--bfcl" in args:
        i = args.index("--bfcl")
        bfcl = args[i + 1]
        del args[i : i + 2]
    if bfcl:
        variants = args or ["alone", "labels", "futures"]
        per = "task"
        counts = {
            v: _instructions(v, 2, bfcl, framework) - _instructions(v, 1, bfcl, framework)
            for v in variants
        }
        per_run = {v: n // int(bfcl) for v, n in counts.items()}
    else:
        variants = args or ["alone", "labels", "alone_retry", "retry_cap", "futures"]
        per = "run"
        per_run = {v: (_instructions(v, 4) - _instructions(v, 1)) // 3 for v in variants}
    for variant in variants:
        base = per_run.get("alone")
        ratio = f"{per_run[variant] / base:.3f}" if base else "-"
        print(
            f"{framework} {variant:<17} {per_run[variant]:>13,} instructions/{per} ÷ alone {ratio}"
        )


if __name__ == "__main__":
    main()
