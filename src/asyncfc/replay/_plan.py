"""The replay model: a :class:`~asyncfc.ScriptedModel` script that plays a recorded plan of
calls the way a model would under each mode.

A :class:`Plan` is the task's user prompts and, per prompt, the calls a correct model makes
(BFCL ground truth, or a ComplexFuncBench sequence).  Each call lists ``needs``: earlier
calls whose *results* the model must have seen before it could write this call (information
dependencies; see the benchmark's loader for how they are found).

How each mode plays the plan:

* ``sequential``: one call per request; then a final text answer.
* ``parallel``: one request per batch; a batch ends before a call that needs a result from
  the same batch, and (batching policy ``"independent"``, the default) before a call that
  conflicts with a call already in the batch.
* ``async``: one call per request; before a call that needs a result the model has not seen
  (not delivered, not awaited), the model first calls ``await_future`` on those futures.
* ``async_parallel``: batches as in ``parallel``, but a call that needs an unseen result ends
  the batch with an ``await_future`` call for it.

Batching policy.  Under standard parallel function calling a client may run the calls of one
message in any order or all at once, so a correct model only puts *independent* calls in one
message: ``cd`` then ``mkdir`` then ``mv`` are three requests, not one.  ``"independent"``
models that model; whether two calls are independent is decided by the ``conflicts`` test,
which the runner derives from the tools' resource labels (:class:`~asyncfc.Access`).  The
test stands for the *model's* judgement, so the ``respect_labels=False`` ablation is given the
same test and batches exactly like its labelled counterpart.  ``"greedy"`` is the earlier,
optimistic replay: a batch ends only at an information dependency, as if the model knew the
runtime would order conflicting calls for it.
* Arguments that take results directly (``uses``; ComplexFuncBench's ``$var2.skyId$``) are
  rendered by the plan's ``arguments`` hook: future references in the async modes, the
  concrete values in the others.

Every user turn ends with a fixed final answer; when the loop offers an extra request to show
late results, the replay answers with the same text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from asyncfc._messages import ToolResultsMessage, UserMessage
from asyncfc._modes import AgentMode, ModePolicy
from asyncfc._protocol import AWAIT_TOOL_NAME, parse_delivery, parse_pending
from asyncfc._scripted import Reply, ScriptView

__all__ = (
    "BATCHING_POLICIES",
    "ArgumentsHook",
    "BatchingPolicy",
    "ConflictTest",
    "Plan",
    "PlannedCall",
    "replay_script",
)


@dataclass(frozen=True, kw_only=True)
class PlannedCall:
    """One call of a :class:`Plan`: the tool, its arguments, and what it must wait for."""

    name: str
    arguments: Mapping[str, Any]
    needs: tuple[int, ...] = ()
    """Indices (in the whole plan, flattened) of calls whose results the model must have seen
    before writing this call (it needs them as literal values)."""
    uses: tuple[int, ...] = ()
    """Indices of calls whose results this call takes as arguments by reference; the async
    modes pass future references for them instead of awaiting."""


BatchingPolicy = Literal["independent", "greedy"]
"""Which calls a replayed model puts in one parallel request (see the module docstring)."""
BATCHING_POLICIES: tuple[BatchingPolicy, ...] = ("independent", "greedy")
"""Every :data:`BatchingPolicy`."""

ConflictTest = Callable[["PlannedCall", "PlannedCall"], bool]
"""Whether two planned calls must not share one parallel batch (symmetric)."""

ArgumentsHook = Callable[[int, Mapping[int, str] | None], Mapping[str, Any]]
"""(plan index, future ids by plan index, or None in the sync modes) → the call's arguments."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A recorded conversation to replay: the user prompts and, per prompt, its calls."""

    prompts: Sequence[str]
    """One user message per turn, in order."""
    turns: Sequence[Sequence[PlannedCall]]
    """Per user turn, the calls a correct model makes in it, in order."""
    final_text: str = "All requested actions are complete."
    arguments: ArgumentsHook | None = None
    """Renders arguments for calls with ``uses``; without it ``PlannedCall.arguments`` is sent."""

    def flat(self) -> list[PlannedCall]:
        """Every call of every turn, in order (plan indices refer to this list)."""
        return [c for turn in self.turns for c in turn]


@dataclass
class _State:
    emitted: list[int] = field(default_factory=list)
    """Plan indices in the order their calls were emitted (awaits excluded)."""
    next_call: int = 0


def _futures_of(view: ScriptView, emitted: Sequence[int]) -> tuple[dict[int, str], set[int]]:
    """Map plan index → future id, and the plan indices whose result the model has seen."""
    contents = [
        r.content
        for m in view.messages
        if isinstance(m, ToolResultsMessage)
        for r in m.results
        if r.name != AWAIT_TOOL_NAME
    ]
    fid: dict[int, str] = {}
    seen: set[int] = set()
    for index, content in zip(emitted, contents, strict=False):
        pending = parse_pending(content)
        if pending is not None:
            fid[index] = pending
        else:
            seen.add(index)  # a concrete result (sync modes) or an immediate error
    shown: set[str] = set()
    for msg in view.messages:
        if isinstance(msg, UserMessage):
            shown.update(parse_delivery(msg.content))
        elif isinstance(msg, ToolResultsMessage):
            for r in msg.results:
                if r.name == AWAIT_TOOL_NAME:
                    shown.update(parse_delivery(r.content))
    seen.update(i for i, f in fid.items() if f in shown)
    return fid, seen


def _prompts_shown(view: ScriptView, prompts: Sequence[str]) -> int:
    texts = [m.content for m in view.messages if isinstance(m, UserMessage)]
    count = 0
    for p in prompts:
        if any(t.endswith(p) for t in texts):
            count += 1
        else:
            break
    return count


def replay_script(
    plan: Plan,
    policy: ModePolicy | AgentMode,
    *,
    batching: BatchingPolicy = "independent",
    conflicts: ConflictTest | None = None,
) -> Callable[[ScriptView], Reply]:
    """A script that plays ``plan`` as a model would under ``policy`` (see the module
    docstring): with futures it awaits what it must read; with parallel calls it batches.

    ``conflicts`` is required by the ``"independent"`` policy in the batching modes (there
    is no safe guess: treating every pair as independent is the ``"greedy"`` policy)."""
    if batching not in BATCHING_POLICIES:
        raise ValueError(f"unknown batching policy {batching!r}")
    calls = plan.flat()
    bounds: list[int] = []
    total = 0
    for turn in plan.turns:
        total += len(turn)
        bounds.append(total)
    state = _State()
    if not isinstance(policy, ModePolicy):
        policy = ModePolicy.of(policy)
    is_async = policy.futures
    batches = policy.parallel_tool_calls
    if batches and batching == "independent" and conflicts is None:
        raise ValueError("batching='independent' needs a conflicts test")
    conflict = conflicts if batching == "independent" and batches else None

    def arguments(index: int, fid: Mapping[int, str]) -> str:
        if plan.arguments is None:
            return json.dumps(dict(calls[index].arguments))
        return json.dumps(dict(plan.arguments(index, fid if is_async else None)))

    def script(view: ScriptView) -> Reply:
        user_turn = _prompts_shown(view, plan.prompts) - 1
        end = bounds[user_turn] if user_turn >= 0 else 0
        if state.next_call >= end:
            return Reply(text=plan.final_text)
        fid, seen = _futures_of(view, state.emitted)
        batch: list[tuple[str, str]] = []
        in_batch: set[int] = set()
        while state.next_call < end:
            index = state.next_call
            call = calls[index]
            needed = set(call.needs) | set(call.uses)
            if needed & in_batch:
                break  # the model must see this batch's results first
            if conflict is not None and any(conflict(calls[j], call) for j in in_batch):
                break  # not independent of the batch: the next request
            unseen = sorted(i for i in call.needs if i not in seen)
            if is_async and unseen:
                ids = [fid[i] for i in unseen if i in fid]
                if ids:
                    if batch and not batches:
                        break
                    batch.append((AWAIT_TOOL_NAME, json.dumps({"future_ids": ids})))
                    break
            batch.append((call.name, arguments(index, fid)))
            in_batch.add(index)
            state.emitted.append(index)
            state.next_call += 1
            if not batches:
                break
        return Reply(calls=batch)

    return script
