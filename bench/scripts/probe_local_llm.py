"""A real model in every mode: overlap with real decoding, accuracy sequential against async,
and whether the model reasons with futures.

    .venv/bin/python bench/scripts/probe_local_llm.py                 # SmolLM2 on a local server
    .venv/bin/python bench/scripts/probe_local_llm.py --model openai:gpt-4o-mini   # any endpoint

Three parts (``--parts``), all reported, none asserted:

1. ``overlap``: BFCL ``parallel`` and ``parallel_multiple`` prompts, mock tools with injected
   latency, in every mode.  Per run: wall time; the run's own synchronous equivalent
   ``T_LLM + T_tool``; the bound R of its own trace; efficiency = (sync equivalent ÷ wall) ÷ R.
   Each mode decodes for real, so modes may emit different calls; the per-run sync
   equivalent makes the figures comparable anyway.
2. ``accuracy``: the first ``--limit`` entries of ``simple_python``, ``parallel`` and
   ``parallel_multiple``, scored by BFCL's ``ast_checker`` on every call the model made
   (``await_future`` excluded), under sequential and async.
3. ``futures``: two-step tasks whose second call needs a value only the first call's result
   holds.  In the async modes we count how often the model passes the future id, calls
   ``await_future``, reuses a delivered value, invents a value, or never makes the second call.

Tool calls are constrained by the server: llama.cpp's ``chatml-function-calling`` format
compiles each offered tool's JSON schema into a grammar once the model opens a call.  ``local``
sends those schemas through :class:`~asyncfc.models.BoundedModel` (strings ≤ 128 characters,
arrays ≤ 16 items), because that grammar is the only thing that ends an argument there; and a
run that hits ``--run-timeout`` gets a fresh server for the next one (see :class:`Served`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from asyncfc_bench._live import LiveSettings, ModelSpec, open_model, run_live
from asyncfc_bench._single_turn import (
    ast_score,
    load_single_turn,
    mock_toolset,
    scored_calls,
)

from asyncfc import AgentRun, ChatModel, ModelSettings, ModePolicy, Toolset, UserMessage, tool
from asyncfc.replay import with_latency

ALL_MODES = ("sequential", "parallel", "async", "async_parallel")


class Served:
    """The model under test, and for ``local`` its server, restarted after a timed-out run.

    llama.cpp's server finishes a request whose client has gone (a non-streamed completion runs
    in a worker thread that nothing cancels), so after a run hits ``--run-timeout`` the next run
    would wait for the abandoned one.  A fresh server makes every run start on an idle one.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.restarts = 0
        self._stack = AsyncExitStack()
        self._model: ChatModel | None = None

    async def __aenter__(self) -> Served:
        self._model = await self._stack.enter_async_context(open_model(self.spec))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    @property
    def model(self) -> ChatModel:
        assert self._model is not None, "use Served in an async with block"
        return self._model

    async def run(
        self, toolset: Toolset, mode: str, prompt: str, opts: LiveSettings
    ) -> AgentRun | str:
        policy = ModePolicy.of(mode)  # type: ignore[arg-type]
        done = await run_live(self.model, toolset, prompt, policy=policy, settings=opts)
        if (
            isinstance(done, str)
            and done.startswith("TimeoutError")
            and self.spec.provider == "local"
        ):
            await self._stack.aclose()
            self._stack = AsyncExitStack()
            await self.__aenter__()
            self.restarts += 1
        return done if isinstance(done, str) else done[0]


async def decode_rate(model: ChatModel) -> float:
    """Output tokens per second of one plain request (prefill of a short prompt included)."""
    start = time.perf_counter()
    response = await model.request(
        [UserMessage(content="Count from 1 to 60, separated by commas.")],
        [],
        ModelSettings(max_tokens=160, temperature=0.0),
    )
    elapsed = time.perf_counter() - start
    return response.usage.output_tokens / elapsed if elapsed > 0 else float("nan")


# --- 1. overlap ------------------------------------------------------------------------------


async def overlap(model: Served, args: argparse.Namespace, opts: LiveSettings) -> dict[str, Any]:
    entries = load_single_turn("parallel", limit=args.overlap_limit) + load_single_turn(
        "parallel_multiple", limit=args.overlap_limit
    )
    rows: dict[str, list[dict[str, Any]]] = {m: [] for m in args.modes}
    errors: dict[str, int] = dict.fromkeys(args.modes, 0)
    for entry in entries:
        for mode in args.modes:
            toolset, _ = mock_toolset(entry)
            run = await model.run(
                with_latency(toolset, lambda _n: args.latency), mode, entry.question, opts
            )
            if isinstance(run, str):
                errors[mode] += 1
                continue
            m = run.trace.metrics()
            sync = m.t_llm + m.t_tool
            rows[mode].append(
                {
                    "task": entry.id,
                    "wall": m.wall,
                    "t_llm": m.t_llm,
                    "t_tool": m.t_tool,
                    "bound": m.bound,
                    "speedup_own": sync / m.wall if m.wall > 0 else 1.0,
                    "overlap_saved": m.overlap_saving,
                    "parallel_saved": m.parallel_saving,
                    "calls": sum(1 for c in run.calls if c.name != "await_future"),
                    "requests": run.model_requests,
                }
            )
    summary = {}
    seq = {r["task"]: r["wall"] for r in rows.get("sequential", [])}
    for mode, rs in rows.items():
        if not rs:
            continue
        vs_seq = [seq[r["task"]] / r["wall"] for r in rs if r["task"] in seq and r["wall"] > 0]
        summary[mode] = {
            "runs": len(rs),
            "errors": errors[mode],
            "wall_mean": statistics.fmean(r["wall"] for r in rs),
            "speedup_vs_sequential_mean": statistics.fmean(vs_seq) if vs_seq else None,
            "t_llm_mean": statistics.fmean(r["t_llm"] for r in rs),
            "t_tool_mean": statistics.fmean(r["t_tool"] for r in rs),
            "bound_mean": statistics.fmean(r["bound"] for r in rs),
            "speedup_own_mean": statistics.fmean(r["speedup_own"] for r in rs),
            "efficiency_mean": statistics.fmean(r["speedup_own"] / r["bound"] for r in rs),
            "overlap_saved_mean": statistics.fmean(r["overlap_saved"] for r in rs),
            "parallel_saved_mean": statistics.fmean(r["parallel_saved"] for r in rs),
            "calls_mean": statistics.fmean(r["calls"] for r in rs),
            "requests_mean": statistics.fmean(r["requests"] for r in rs),
        }
    return {"summary": summary, "runs": rows}


# --- 2. accuracy -------------------------------------------------------------------------------


async def accuracy(model: Served, args: argparse.Namespace, opts: LiveSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for category in ("simple_python", "parallel", "parallel_multiple"):
        entries = load_single_turn(category, limit=args.limit)
        for mode in args.accuracy_modes:
            valid = made = errors = 0
            seconds: list[float] = []
            details: list[dict[str, Any]] = []
            for entry in entries:
                toolset, names = mock_toolset(entry)
                started = time.perf_counter()
                run = await model.run(toolset, mode, entry.question, opts)
                seconds.append(time.perf_counter() - started)
                if isinstance(run, str):
                    errors += 1
                    details.append({"id": entry.id, "error": run})
                    continue
                calls = scored_calls(run.calls, names)
                verdict = ast_score(entry, calls)
                made += bool(calls)
                valid += bool(verdict["valid"])
                details.append(
                    {
                        "id": entry.id,
                        "valid": bool(verdict["valid"]),
                        "calls": calls,
                        "error_type": verdict.get("error_type"),
                    }
                )
            out[f"{category}/{mode}"] = {
                "entries": len(entries),
                "valid": valid,
                "with_calls": made,
                "errors": errors,
                "seconds_median": statistics.median(seconds) if seconds else None,
                "details": details,
            }
            shown = {k: v for k, v in out[f"{category}/{mode}"].items() if k != "details"}
            print(f"accuracy {category}/{mode}: {shown}", flush=True)
    return out


# --- 3. futures --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TwoStep:
    prompt: str
    first: Callable[..., Any]
    second: Callable[..., Any]
    value: str
    """The value only the first call's result holds, which the second call needs."""


def _two_step_tasks() -> list[tuple[TwoStep, list[dict[str, Any]]]]:
    """Each task with a log that records what the second tool received."""
    tasks: list[tuple[TwoStep, list[dict[str, Any]]]] = []

    def make(
        prompt: str,
        first_name: str,
        first_param: str,
        key: str,
        value: str,
        second_name: str,
        second_param: str,
    ) -> None:
        log: list[dict[str, Any]] = []

        def first(**kwargs: Any) -> dict[str, str]:
            return {key: value}

        def second(**kwargs: Any) -> dict[str, Any]:
            log.append(kwargs)
            ok = kwargs.get(second_param) == value
            return {"status": "ok" if ok else f"not found: {kwargs.get(second_param)!r}"}

        import inspect

        first.__name__ = first_name
        first.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(first_param, inspect.Parameter.KEYWORD_ONLY, annotation=str)]
        )
        second.__name__ = second_name
        second.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(second_param, inspect.Parameter.KEYWORD_ONLY, annotation=str)]
        )
        tasks.append((TwoStep(prompt=prompt, first=first, second=second, value=value), log))

    make(
        "Look up the user named Alice Smith, then list her orders.",
        "lookup_user",
        "name",
        "user_id",
        "u_4821",
        "get_orders",
        "user_id",
    )
    make(
        "Find the airport code for Paris, then get the departures from that airport.",
        "find_airport",
        "city",
        "code",
        "CDG7",
        "get_departures",
        "airport_code",
    )
    make(
        "Create a folder named reports, then open that folder.",
        "create_folder",
        "name",
        "folder_id",
        "f_77x",
        "open_folder",
        "folder_id",
    )
    make(
        "Find the ticker symbol of Nvidia, then get the stock price for that symbol.",
        "get_stock_symbol",
        "company",
        "symbol",
        "NVDQ",
        "get_stock_price",
        "symbol",
    )
    make(
        "Find which city my phone is in, then get the weather in that city.",
        "locate_device",
        "device",
        "city",
        "Lyonville",
        "get_weather",
        "city",
    )
    make(
        "Search the catalogue for a blue umbrella, then show the product page of the result.",
        "search_product",
        "query",
        "product_id",
        "p_311",
        "show_product",
        "product_id",
    )
    return tasks


def classify(run: AgentRun, step: TwoStep) -> str:
    names = [c.name for c in run.calls]
    second = step.second.__name__
    if second not in names:
        return "no_second_call"
    index = names.index(second)
    raw = run.calls[index].arguments
    text = raw if isinstance(raw, str) else json.dumps(raw)
    if "future_" in text:
        return "future_reference"
    if "await_future" in names[:index]:
        return "await_future"
    if step.value in text:
        return "delivered_value"
    return "invented_value"


async def futures(model: Served, args: argparse.Namespace, opts: LiveSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in args.futures_modes:
        counts: dict[str, int] = {}
        correct = 0
        details = []
        for step, log in _two_step_tasks():
            toolset = Toolset([tool(reads=[])(step.first), tool(reads=[])(step.second)])
            run = await model.run(toolset, mode, step.prompt, opts)
            kind = "error" if isinstance(run, str) else classify(run, step)
            counts[kind] = counts.get(kind, 0) + 1
            ok = any(step.value in received.values() for received in log)
            correct += ok
            details.append(
                {
                    "prompt": step.prompt,
                    "outcome": kind,
                    "error": run if isinstance(run, str) else None,
                    "second_call_got_the_value": ok,
                    "calls": []
                    if isinstance(run, str)
                    else [(c.name, c.arguments) for c in run.calls],
                }
            )
        out[mode] = {
            "tasks": len(details),
            "outcomes": counts,
            "correct": correct,
            "details": details,
        }
    return out


# --- main ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="local", help="local, openai:<name>, anthropic:<name>...")
    p.add_argument("--base-url", default=None)
    p.add_argument("--parts", default="overlap,accuracy,futures")
    p.add_argument("--modes", default=",".join(ALL_MODES), help="modes of the overlap part")
    p.add_argument("--accuracy-modes", default="sequential,async")
    p.add_argument("--futures-modes", default="sequential,async,async_parallel")
    p.add_argument("--limit", type=int, default=50, help="entries per accuracy category")
    p.add_argument("--overlap-limit", type=int, default=10, help="entries per overlap category")
    p.add_argument("--latency", type=float, default=1.0, help="seconds per tool call (overlap)")
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--max-requests", type=int, default=4)
    p.add_argument("--run-timeout", type=float, default=180.0)
    p.add_argument(
        "--system-prompt",
        default=None,
        help="default: none, or for local the one llama.cpp needs to show tools at all",
    )
    p.add_argument("--out", type=Path, default=Path("results/probe_local_llm.json"))
    return p


async def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for key in ("modes", "accuracy_modes", "futures_modes", "parts"):
        setattr(args, key, [m.strip() for m in getattr(args, key).split(",") if m.strip()])
    spec = ModelSpec.parse(args.model, base_url=args.base_url)
    opts = LiveSettings.for_provider(
        spec.provider,
        max_tokens=args.max_tokens,
        max_requests=args.max_requests,
        run_timeout=args.run_timeout,
        **({"system_prompt": args.system_prompt} if args.system_prompt else {}),
    )
    report: dict[str, Any] = {"model": args.model, "argv": sys.argv[1:]}
    started = time.perf_counter()
    async with Served(spec) as model:
        report["decode_tokens_per_second"] = await decode_rate(model.model)
        print(f"decode rate: {report['decode_tokens_per_second']:.1f} tok/s", flush=True)
        for part, fn in (("overlap", overlap), ("accuracy", accuracy), ("futures", futures)):
            if part in args.parts:
                t0 = time.perf_counter()
                report[part] = await fn(model, args, opts)
                shown = report[part].get("summary", report[part])
                if part in ("accuracy", "futures"):
                    shown = {
                        m: {k: v for k, v in r.items() if k != "details"} for m, r in shown.items()
                    }
                print(f"== {part} ({time.perf_counter() - t0:.0f} s)")
                print(json.dumps(shown, indent=1), flush=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(report, indent=1, default=str))  # so far
        report["server_restarts"] = model.restarts
    report["seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {args.out} ({report['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(anyio.run(main))
