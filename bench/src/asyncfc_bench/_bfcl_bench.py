"""BFCL multi-turn under the replay model: plans from ground truth, per-mode runs, scoring.

Each task's plan is its ground truth, call by call, with each call's information
dependency (see :func:`asyncfc_bench.information_dependencies`) as ``needs``; the batching
policy (:mod:`asyncfc.replay`) decides which calls the parallel modes send in one
request, judged by the labels of ``bfcl_labels.json``.  Every mode runs on fresh backends;
afterwards the calls the agent executed are scored by BFCL's own ``multi_turn_checker`` and
the final backend state is compared with the sequential run's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asyncfc import AWAIT_TOOL_NAME, AgentRun, AssistantMessage, Message, UserMessage
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

from ._arguments import call_arguments
from ._bfcl_backends import make_environment
from ._bfcl_calls import format_call
from ._bfcl_data import BfclEntry
from ._bfcl_dependencies import information_dependencies, replay_ground_truth
from ._bfcl_scoring import score

__all__ = ("bfcl_plan", "calls_by_turn", "executed_calls", "run_bfcl_task")


def bfcl_plan(entry: BfclEntry) -> tuple[Plan, int]:
    """The replay plan of ``entry`` and how many calls carry an information dependency."""
    replay = replay_ground_truth(entry)
    deps = information_dependencies(entry, replay)
    turns: list[list[PlannedCall]] = [[] for _ in entry.ground_truth]
    for call, dep in zip(replay.calls, deps, strict=True):
        turns[call.turn].append(
            PlannedCall(
                name=call.name,
                arguments=dict(call.arguments),
                needs=() if dep is None else (dep,),
            )
        )
    prompts = [entry.user_text(t) for t in range(len(entry.ground_truth))]
    return Plan(prompts=prompts, turns=turns), sum(d is not None for d in deps)


def executed_calls(run: AgentRun, prompts: Sequence[str]) -> list[list[list[str]]]:
    """The run's calls as BFCL's checker wants them: turns → model requests → call strings.

    ``await_future`` calls are the runtime's, not the task's, and are left out.
    """
    return calls_by_turn(run.messages, prompts)


def calls_by_turn(messages: Sequence[Message], prompts: Sequence[str]) -> list[list[list[str]]]:
    """The calls of a conversation as BFCL's checker wants them (see :func:`executed_calls`);
    a user turn starts at the user message that ends with its prompt."""
    turns: list[list[list[str]]] = []
    next_prompt = 0
    for message in messages:
        if (
            isinstance(message, UserMessage)
            and next_prompt < len(prompts)
            and message.content.endswith(prompts[next_prompt])
        ):
            turns.append([])
            next_prompt += 1
        elif isinstance(message, AssistantMessage) and message.tool_calls and turns:
            step = []
            for call in message.tool_calls:
                if call.name == AWAIT_TOOL_NAME:
                    continue
                args = call_arguments(call)
                if args is None:
                    continue
                step.append(format_call(call.name, args))
            if step:
                turns[-1].append(step)
    while len(turns) < len(prompts):
        turns.append([])
    return turns


async def run_bfcl_task(
    entry: BfclEntry,
    *,
    modes: Sequence[str],
    decode: DecodeModel,
    latency: Latency,
    time_scale: float,
    batching: BatchingPolicy = "independent",
    sync_tools: SyncTools = "thread",
    **options: Any,
) -> tuple[dict[str, ModeOutcome], int]:
    """Replay ``entry`` in every mode; each outcome's ``extra`` has the checker's verdict
    (``accurate``), the final state and whether it equals the sequential run's.
    ``sync_tools="loop"`` is for fake clocks only (:func:`asyncfc.replay.with_latency`);
    ``options`` go to :func:`asyncfc.replay.replay_modes` (``behaviour``, ``final_answer``,
    ``hold``)."""
    plan, dependent = bfcl_plan(entry)

    def make_env() -> Environment:
        env = make_environment(entry)

        def finish(run: AgentRun) -> Mapping[str, Any]:
            verdict = score(entry, executed_calls(run, plan.prompts))
            return {
                "accurate": bool(verdict.get("valid")),
                "verdict": verdict,
                "state": env.state(),
            }

        return Environment(toolset=env.toolset, finish=finish)

    outcomes = await replay_modes(
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
    reference = outcomes.get("sequential")
    for o in outcomes.values():
        same = reference is None or o.extra["state"] == reference.extra["state"]
        o.extra = {**o.extra, "state_matches_sequential": same}
    return outcomes, dependent
