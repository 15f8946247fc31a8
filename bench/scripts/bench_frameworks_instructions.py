"""The wrappers' overhead at zero decode time in executed instructions (a script).

Run: ``.venv/bin/python bench/scripts/bench_frameworks_instructions.py [VARIANT ...]``
(needs ``valgrind``; about four minutes per variant).

CPU time on a shared machine moves by ±5 % between runs of the same setup, as much as the
≤ 5 % target.  Instructions executed do not: each pydantic-ai setup of
``bench_frameworks.py`` part (1) (200 no-op calls in one response, then a final answer) is run
under ``valgrind --tool=callgrind`` twice, with two warm-up runs and then 1 and 4 measured
runs; ``(Ir(4) - Ir(1)) / 3`` is the instructions of one run, start-up and imports excluded.
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
    for _ in range(measured):
        gc.collect()
        await setup()


def _instructions(variant: str, measured: int) -> int:
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
        asyncio.run(_runs(sys.argv[2], int(sys.argv[3])))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("bench_frameworks_instructions.py needs valgrind on PATH (apt: valgrind)")
    variants = sys.argv[1:] or ["alone", "labels", "alone_retry", "retry_cap", "futures"]
    per_run = {}
    for variant in variants:
        per_run[variant] = (_instructions(variant, 4) - _instructions(variant, 1)) // 3
        base = per_run.get("alone")
        ratio = f"{per_run[variant] / base:.3f}" if base else "-"
        print(f"pydantic-ai {variant:<12} {per_run[variant]:>13,} instructions/run ÷ alone {ratio}")


if __name__ == "__main__":
    main()
