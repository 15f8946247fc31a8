"""asyncfc inside pydantic-ai and the OpenAI Agents SDK: overhead and side-by-side (a script).

Run: ``.venv/bin/python bench/scripts/bench_frameworks.py [--calls N] [--repeats R] [--part P]``

(1) Zero decode time: one model response with N no-op async tool calls, then a final
    answer.  Per framework: (a) the framework alone, its default parallel tool execution;
    (b) + ``asyncfc`` label-aware concurrency (the no-op tool is labelled pure, so all calls
    may run together, as in (a)); (c) + ``asyncfc`` futures.  asyncfc's own ``Agent``
    ("parallel" and "async_parallel") on its own ScriptedModel is the reference.  For
    pydantic-ai also (c') futures with the drain as an output validator
    (``AsyncFCToolset.drain_output``) instead of the ``AsyncFC`` capability.  Prints the
    median wall time and CPU time (``time.process_time``, which other jobs on a shared
    machine do not inflate), the CPU cost per call, and (b)/(a), (c)/(a) of both: the
    wrapper's added cost.  ``--part 1`` runs only this part.
(2) Side by side with scripted decode time (``ttft + per-call time``) and tool latency: two
    searches, two fetches, two summaries, two saves into the same notes (a write-write
    conflict the framework alone runs concurrently and asyncfc keeps apart), then an answer.
    (a) and (b) run the dependent script (one response per stage, 5 model requests); (c) the
    futures script (every call in the first response, passing ``future_N`` on; the drain
    shows the results before the final answer stands).  Prints wall time, model requests and
    input/output tokens.  Tokens: pydantic-ai's ``FunctionModel`` reports its own estimate
    (words of the messages sent and received) in ``result.usage()``; for the Agents SDK the
    scripted model sets each response's usage to ``ceil(chars / 4)`` of the JSON of the input
    items it receives and of the output items it returns.  Compare variants within one
    framework, not tokens across frameworks.

Setups are built by :func:`build` from plain tool functions, their labels and a scripted
turn function (``turn(index) -> Turn``), so a replay of recorded model turns can drive the
same setups.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from asyncfc import SessionMode

Framework = Literal["pydantic-ai", "openai-agents", "asyncfc"]
Variant = Literal["alone", "labels", "futures", "futures_validator", "alone_retry"]
"""``alone_retry``: the framework alone, its first final output rejected once (one more
request, as (c) makes at zero decode), the reference that tells (c)'s per-call cost from the
cost of its extra request.  ``futures_validator`` (pydantic-ai only): (c) with the drain as
an output validator (``AsyncFCToolset.drain_output``) instead of the ``AsyncFC``
capability."""


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One scripted model response: calls ``(name, arguments)``, or the final ``text``."""

    calls: Sequence[tuple[str, Mapping[str, Any]]] = ()
    text: str = ""
    decode_s: float = 0.0
    """Seconds the model takes to produce this response."""


TurnScript = Callable[[int], Turn]
"""``turn(i)``: the response to the i-th model request (0-based)."""


@dataclass(kw_only=True)
class Outcome:
    """What one run cost."""

    wall_s: float
    requests: int
    input_tokens: int
    output_tokens: int
    output: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    cpu_s: float = 0.0
    """CPU seconds of this process during the run (``time.process_time``): unlike wall time,
    not inflated by other jobs on a shared machine (every setup here runs on one thread)."""


def _chars_tokens(obj: Any) -> int:
    return math.ceil(len(json.dumps(obj, default=str)) / 4)


# -- pydantic-ai ----------------------------------------------------------------------------


def _pydantic_ai(
    tools: Sequence[Callable[..., Any]],
    labels: Mapping[str, Mapping[str, Sequence[str]]],
    script: TurnScript,
    variant: Variant,
) -> Callable[[], Awaitable[Outcome]]:
    from pydantic_ai import Agent, FunctionToolset, ModelRetry
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from asyncfc.integrations.pydantic_ai import AsyncFC, AsyncFCToolset

    async def run() -> Outcome:
        count = 0

        async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
            nonlocal count
            turn = script(count)
            count += 1
            if turn.decode_s:
                await asyncio.sleep(turn.decode_s)
            if not turn.calls:
                return ModelResponse(parts=[TextPart(turn.text)])
            return ModelResponse(
                parts=[
                    ToolCallPart(name, dict(args), tool_call_id=f"r{count}c{i}")
                    for i, (name, args) in enumerate(turn.calls)
                ]
            )

        toolset = FunctionToolset(list(tools))
        if variant == "alone":
            agent = Agent(FunctionModel(respond), toolsets=[toolset])
        elif variant == "alone_retry":
            agent = Agent(FunctionModel(respond), toolsets=[toolset], retries={"output": 3})
            rejected: list[str] = []

            @agent.output_validator
            def once(output: str) -> str:
                if not rejected:
                    rejected.append(output)
                    raise ModelRetry("answer again")
                return output

        elif variant == "labels":  # no drain needed: the toolset wrapper alone
            wrapped = AsyncFCToolset(toolset, mode="concurrent", labels=labels)
            agent = Agent(FunctionModel(respond), toolsets=[wrapped])
        elif variant == "futures_validator":
            wrapped = AsyncFCToolset(toolset, mode="async", labels=labels)
            agent = Agent(FunctionModel(respond), toolsets=[wrapped], retries={"output": 3})
            agent.output_validator(wrapped.drain_output)
        else:
            agent = Agent(
                FunctionModel(respond),
                capabilities=[AsyncFC(toolset, mode="async", labels=labels)],
                retries={"output": 3},
            )
        start, cpu = time.perf_counter(), time.process_time()
        result = await agent.run("go")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        usage = result.usage
        return Outcome(
            wall_s=wall,
            cpu_s=cpu,
            requests=usage.requests,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            output=str(result.output),
        )

    return run


# -- OpenAI Agents SDK ---------------------------------------------------------------------


def _openai_agents(
    tools: Sequence[Callable[..., Any]],
    labels: Mapping[str, Mapping[str, Sequence[str]]],
    script: TurnScript,
    variant: Variant,
) -> Callable[[], Awaitable[Outcome]]:
    from agents import (
        Agent,
        GuardrailFunctionOutput,
        OutputGuardrail,
        OutputGuardrailTripwireTriggered,
        RunConfig,
        Runner,
        function_tool,
    )
    from agents.testing import ModelStep, ScriptedModel
    from agents.testing.model import ModelCall, assistant_message, function_call
    from agents.usage import Usage

    from asyncfc.integrations.openai_agents import run as asyncfc_run

    function_tools = [function_tool(t) for t in tools]

    async def run() -> Outcome:
        tally = {"requests": 0, "input": 0, "output": 0}

        async def respond(call: ModelCall) -> Any:
            i = tally["requests"]
            tally["requests"] += 1
            turn = script(i)
            if turn.decode_s:
                await asyncio.sleep(turn.decode_s)
            if turn.calls:
                out = [
                    function_call(name, dict(args), call_id=f"r{i}c{k}")
                    for k, (name, args) in enumerate(turn.calls)
                ]
            else:
                out = [assistant_message(turn.text)]
            tokens_in = _chars_tokens(call.input) + _chars_tokens(
                [getattr(t, "params_json_schema", None) for t in call.tools]
            )
            tokens_out = _chars_tokens(out)
            tally["input"] += tokens_in
            tally["output"] += tokens_out
            return ModelStep(
                output=out,
                usage=Usage(requests=1, input_tokens=tokens_in, output_tokens=tokens_out),
            )

        # an endless script: every request is answered by ``respond``
        class Endless(ScriptedModel):
            def __init__(self) -> None:
                super().__init__([])

            async def get_response(self, *args: Any, **kwargs: Any) -> Any:
                self._steps.append(ModelStep.respond(respond))
                return await super().get_response(*args, **kwargs)

        agent = Agent(name="bench", model=Endless(), tools=list(function_tools))
        config = RunConfig(tracing_disabled=True)
        start, cpu = time.perf_counter(), time.process_time()
        if variant == "alone":
            result = await Runner.run(agent, "go", run_config=config, max_turns=50)
        elif variant == "alone_retry":  # as asyncfc's drain: trip once, continue the run
            tripped: list[bool] = []

            async def once(ctx: Any, agent: Any, output: Any) -> GuardrailFunctionOutput:
                trip = not tripped
                tripped.append(True)
                return GuardrailFunctionOutput(output_info=None, tripwire_triggered=trip)

            agent = agent.clone(output_guardrails=[OutputGuardrail(guardrail_function=once)])
            try:
                result = await Runner.run(agent, "go", run_config=config, max_turns=50)
            except OutputGuardrailTripwireTriggered as exc:
                if exc.run_data is None:  # the SDK always records it
                    raise
                history: list[Any] = [{"role": "user", "content": "go"}]
                history += [item.to_input_item() for item in exc.run_data.new_items]
                history.append({"role": "user", "content": "answer again"})
                result = await Runner.run(agent, history, run_config=config, max_turns=50)
        else:
            mode: SessionMode = "concurrent" if variant == "labels" else "async"
            result = await asyncfc_run(
                agent, "go", mode=mode, labels=labels, run_config=config, max_turns=50
            )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return Outcome(
            wall_s=wall,
            cpu_s=cpu,
            requests=tally["requests"],
            input_tokens=tally["input"],
            output_tokens=tally["output"],
            output=str(result.final_output),
        )

    return run


# -- asyncfc's own agent (the reference) ----------------------------------------------------


def _asyncfc(
    tools: Sequence[Callable[..., Any]],
    labels: Mapping[str, Mapping[str, Sequence[str]]],
    script: TurnScript,
    variant: Variant,
) -> Callable[[], Awaitable[Outcome]]:
    from asyncfc import Agent, AgentMode, Reply, ScriptedModel, ScriptView, Tool, Toolset

    def labelled(t: Callable[..., Any]) -> Tool:
        own = labels.get(t.__name__, {})
        return Tool.from_function(t, reads=own.get("reads"), writes=own.get("writes"))

    toolset = Toolset(labelled(t) for t in tools)

    async def run() -> Outcome:
        def reply(view: ScriptView) -> Reply:
            turn = script(view.index)
            return Reply(text=turn.text, calls=[(n, dict(a)) for n, a in turn.calls])

        model = ScriptedModel(script=reply)
        mode: AgentMode = "parallel" if variant in ("alone", "labels") else "async_parallel"
        agent = Agent(model=model, toolset=toolset, mode=mode)
        start, cpu = time.perf_counter(), time.process_time()
        result = await agent.run("go")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        metrics = result.trace.metrics()
        return Outcome(
            wall_s=wall,
            cpu_s=cpu,
            requests=result.model_requests,
            input_tokens=metrics.input_tokens,
            output_tokens=metrics.output_tokens,
        )

    return run


def build(
    framework: Framework,
    variant: Variant,
    tools: Sequence[Callable[..., Any]],
    labels: Mapping[str, Mapping[str, Sequence[str]]],
    script: TurnScript,
) -> Callable[[], Awaitable[Outcome]]:
    """One setup: a coroutine function that runs the script once and returns its cost."""
    return {"pydantic-ai": _pydantic_ai, "openai-agents": _openai_agents, "asyncfc": _asyncfc}[
        framework
    ](tools, labels, script, variant)


async def _medians(
    setups: Mapping[str, Callable[[], Awaitable[Outcome]]], repeats: int
) -> dict[str, Outcome]:
    """The median run of each setup; the setups take turns, so a change in the machine's
    load hits all of them alike."""
    for setup in setups.values():
        await setup()  # warm-up (imports, caches)
    runs: dict[str, list[Outcome]] = {name: [] for name in setups}
    for _ in range(repeats):
        for name, setup in setups.items():
            runs[name].append(await setup())
    return {
        name: sorted(outcomes, key=lambda o: o.wall_s)[len(outcomes) // 2]
        for name, outcomes in runs.items()
    }


# -- (1) overhead at zero decode -----------------------------------------------------------


async def noop(i: int) -> int:
    """Do nothing."""
    return i


async def _samples(
    setups: Mapping[str, Callable[[], Awaitable[Outcome]]], repeats: int
) -> dict[str, list[Outcome]]:
    """Every run of each setup after one warm-up; the setups take turns within a repeat, and
    the garbage of one run is collected before the next starts, outside the timing."""
    for setup in setups.values():
        await setup()
    runs: dict[str, list[Outcome]] = {name: [] for name in setups}
    for _ in range(repeats):
        for name, setup in setups.items():
            gc.collect()
            runs[name].append(await setup())
    return runs


def _paired(runs: Mapping[str, Sequence[Outcome]], variant: str, base: str, cpu: bool) -> float:
    """The median over repeats of ``variant / base`` within one repeat (the setups took turns,
    so a change in the machine's speed between repeats cancels out)."""

    def of(o: Outcome) -> float:
        return o.cpu_s if cpu else o.wall_s

    return statistics.median(of(v) / of(b) for v, b in zip(runs[variant], runs[base], strict=True))


async def overhead(calls: int, repeats: int) -> None:
    """(1): median wall and CPU time of each setup, and the ratios to the framework alone
    (medians of the ratios within a repeat); CPU time is the figure a shared machine
    inflates least.  (a') is the framework alone with one more request, as (c) makes: (c)
    over (a') is the futures' cost per call without the cost of that request."""

    def plain(i: int) -> Turn:
        return Turn(calls=[("noop", {"i": k}) for k in range(calls)]) if i == 0 else Turn(text="ok")

    labels: dict[str, dict[str, list[str]]] = {"noop": {"reads": []}}
    print(f"(1) {calls} no-op calls in one response, zero decode time; median of {repeats}")
    print(
        f"{'setup':<40}{'wall ms':>9}{'cpu ms':>9}{'cpu µs/call':>12}"
        f"{'wall ÷ a':>10}{'cpu ÷ a':>9}{'requests':>9}"
    )
    names = {
        "alone": "(a) alone (parallel)",
        "labels": "(b) + asyncfc labels",
        "futures": "(c) + asyncfc futures",
        "futures_validator": "(c') futures, drain validator",
        "alone_retry": "(a') alone + 1 output retry",
    }
    for framework in ("pydantic-ai", "openai-agents", "asyncfc"):
        variants: tuple[Variant, ...] = ("alone", "labels", "futures", "alone_retry")
        if framework == "pydantic-ai":
            variants = ("alone", "labels", "futures", "futures_validator", "alone_retry")
        if framework == "asyncfc":
            variants = ("alone", "futures")
        runs = await _samples(
            {v: build(framework, v, [noop], labels, plain) for v in variants}, repeats
        )
        for variant in variants:
            name = names[variant]
            if framework == "asyncfc":
                name = "Agent parallel" if variant == "alone" else "Agent async_parallel"
            wall = statistics.median(o.wall_s for o in runs[variant])
            cpu = statistics.median(o.cpu_s for o in runs[variant])
            print(
                f"{framework + ' ' + name:<40}{wall * 1e3:>9.1f}{cpu * 1e3:>9.1f}"
                f"{cpu / calls * 1e6:>12.1f}{_paired(runs, variant, 'alone', False):>10.3f}"
                f"{_paired(runs, variant, 'alone', True):>9.3f}{runs[variant][0].requests:>9}"
            )
        for futures in ("futures", "futures_validator"):
            if "alone_retry" in runs and futures in runs:
                letter = "(c')" if futures == "futures_validator" else "(c)"
                print(
                    f"{framework + f' {letter} ÷ (a′), same requests':<40}{'':>30}"
                    f"{_paired(runs, futures, 'alone_retry', False):>10.3f}"
                    f"{_paired(runs, futures, 'alone_retry', True):>9.3f}"
                )


# -- (2) side by side with decode time ------------------------------------------------------

TTFT = 0.05
PER_CALL = 0.02
LATENCY = {"search": 0.2, "fetch": 0.3, "summarize": 0.1, "save": 0.05}


async def search(query: str) -> str:
    """Search the web."""
    await asyncio.sleep(LATENCY["search"])
    return f"https://example.org/{query}"


async def fetch(url: str) -> str:
    """Fetch a page."""
    await asyncio.sleep(LATENCY["fetch"])
    return f"the page at {url} " * 5


async def summarize(text: str) -> str:
    """Summarize a text."""
    await asyncio.sleep(LATENCY["summarize"])
    return text[:40]


async def save(text: str) -> str:
    """Append to the notes."""
    await asyncio.sleep(LATENCY["save"])
    return "saved"


WORKFLOW_LABELS: dict[str, dict[str, list[str]]] = {
    "search": {"reads": ["web"]},
    "fetch": {"reads": ["web"]},
    "summarize": {"reads": []},
    "save": {"writes": ["notes"]},
}


def _turn(calls: list[tuple[str, dict[str, Any]]] | None = None, text: str = "") -> Turn:
    calls = calls or []
    return Turn(calls=calls, text=text, decode_s=TTFT + PER_CALL * max(1, len(calls)))


def staged(i: int) -> Turn:
    stages = [
        [("search", {"query": q}) for q in ("a", "b")],
        [("fetch", {"url": f"https://example.org/{q}"}) for q in ("a", "b")],
        [("summarize", {"text": f"the page at https://example.org/{q}"}) for q in ("a", "b")],
        [("save", {"text": f"summary {q}"}) for q in ("a", "b")],
    ]
    return _turn(stages[i]) if i < len(stages) else _turn(text="Saved both summaries.")


def with_futures(i: int) -> Turn:
    if i > 0:
        return _turn(text="Saved both summaries.")
    return _turn(
        [
            ("search", {"query": "a"}),
            ("search", {"query": "b"}),
            ("fetch", {"url": "future_1"}),
            ("fetch", {"url": "future_2"}),
            ("summarize", {"text": "future_3"}),
            ("summarize", {"text": "future_4"}),
            ("save", {"text": "future_5"}),
            ("save", {"text": "future_6"}),
        ]
    )


async def side_by_side(repeats: int) -> None:
    tools = [search, fetch, summarize, save]
    print(
        f"\n(2) search → fetch → summarize → save ×2, decode {TTFT}s + {PER_CALL}s/call, "
        f"tools {LATENCY}; median of {repeats}"
    )
    print(f"{'setup':<40}{'wall s':>8}{'requests':>10}{'in tok':>9}{'out tok':>9}")
    plan: tuple[tuple[Variant, TurnScript], ...] = (
        ("alone", staged),
        ("labels", staged),
        ("futures", with_futures),
    )
    for framework in ("pydantic-ai", "openai-agents"):
        results = await _medians(
            {v: build(framework, v, tools, WORKFLOW_LABELS, script) for v, script in plan},
            repeats,
        )
        for letter, (variant, o) in zip("abc", results.items(), strict=True):
            name = f"{framework} ({letter}) {variant}"
            print(
                f"{name:<40}{o.wall_s:>8.3f}{o.requests:>10}{o.input_tokens:>9}{o.output_tokens:>9}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--part", type=int, choices=(1, 2), help="run only this part")
    args = parser.parse_args()
    if args.part in (None, 1):
        asyncio.run(overhead(args.calls, args.repeats))
    if args.part in (None, 2):
        asyncio.run(side_by_side(max(3, args.repeats // 2)))


if __name__ == "__main__":
    main()
