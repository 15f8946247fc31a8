"""Streaming early dispatch: one streamed turn with 3 calls, early dispatch against dispatch
at message end, in `parallel` and `async_parallel`, measured side by side in one run.

    .venv/bin/python bench/scripts/bench_streaming.py [--time-scale 1.0]

Scenario (before --time-scale): a hosted-model decode of 0.8 s TTFT and 80 tokens/s; the
turn emits 3 independent read-only calls of ~60 tokens each (0.75 s of decoding per call;
the ScriptedModel counts ceil(chars / 4) + 4 tokens per call), tools take 1.0 s each, then a
short final answer.

Theory: with dispatch at message end all three calls start at TTFT + 3d (d = decode time
of one call); with early dispatch call k starts at TTFT + k·d.  The tool phase ends at
max_k(start_k + tool_k), so the theoretical saving is
(3d + max_k tool_k) - max_k((k + 1)·d + tool_k), printed next to the measured one.  The
slow first call is what early dispatch helps: with equal latencies the last call bounds the
turn either way.
"""

from __future__ import annotations

import argparse
import statistics

import anyio

from asyncfc import Agent, AgentMode, Reply, ScriptedModel, Toolset, tool

TTFT, TPS, DECODE_CALL_ARG = 0.8, 80.0, "x" * 200


def make_toolset(scale: float) -> Toolset:
    async def lookup(key: str, pad: str) -> str:
        await anyio.sleep((2.0 if key == "a" else 1.0) * scale)
        return f"value of {key}"

    return Toolset([tool(reads=["store"], writes=[])(lookup)])


def script(view) -> Reply:  # type: ignore[no-untyped-def]
    if view.index == 0:
        return Reply(
            calls=[("lookup", {"key": k, "pad": DECODE_CALL_ARG}) for k in ("a", "b", "c")]
        )
    return Reply(text="done")


async def once(mode: AgentMode, streaming: bool, scale: float) -> float:
    model = ScriptedModel(script=script, ttft=TTFT * scale, tokens_per_second=TPS / scale)
    agent = Agent(
        model=model, toolset=make_toolset(scale), mode=mode, streaming=streaming, final_requests=0
    )
    start = anyio.current_time()
    await agent.run("look up a, b and c")
    return anyio.current_time() - start


async def main(scale: float, repeats: int) -> None:
    per_call = (len('lookup{"key": "a", "pad": "' + DECODE_CALL_ARG + '"}') / 4 + 4) / TPS
    print(f"decode per call ≈ {per_call:.3f} s, TTFT {TTFT} s, tools 2.0/1.0/1.0 s, × {scale}")
    for mode in ("parallel", "async_parallel"):
        end = [await once(mode, False, scale) for _ in range(repeats)]
        early = [await once(mode, True, scale) for _ in range(repeats)]
        e, s = statistics.median(end), statistics.median(early)
        # Theory: the slow first call starts 2 × per_call earlier; the turn ends when the
        # slowest finishes: max(start_k + tool_k).
        t_end = max(3 * per_call + t for t in (2.0, 1.0, 1.0))
        t_early = max((k + 1) * per_call + t for k, t in enumerate((2.0, 1.0, 1.0)))
        print(
            f"{mode:15s} message-end {e:.3f} s   early {s:.3f} s   ratio {e / s:.3f}×   "
            f"theoretical saving in the tool phase {(t_end - t_early) * scale:.3f} s "
            f"(measured {e - s:.3f} s)"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    anyio.run(main, a.time_scale, a.repeats)
