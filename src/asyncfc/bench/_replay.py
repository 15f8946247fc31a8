"""The replay model: a :class:`~asyncfc.ScriptedModel` script that plays a recorded plan of
calls the way a model would under each mode.

A :class:`Plan` is the task's user prompts and, per prompt, the calls a correct model makes
(BFCL ground truth, or a ComplexFuncBench sequence).  Each call lists ``needs``: earlier
calls whose *results* the model must have seen before it could write this call (information
dependencies; see the benchmark's loader for how they are found).

How each mode plays the plan:

* ``sequential``: one call per request; then a final text answer.
* ``parallel``: one request per batch; a batch ends before a call that needs a result from
  the same batch.
* ``async``: one call per request; before a call that needs a result the model has not seen
  (not delivered, not awaited), the model first calls ``await_future`` on those futures.
* ``async_parallel``: batches as in ``parallel``, but a call that needs an unseen result ends
  the batch with an ``await_future`` call for it.
* Arguments that reference results directly (ComplexFuncBench's ``$var2.skyId$``) are given as
  future references in the async modes and as the concrete values in the others.

Every user turn ends with a fixed final answer; when the loop offers an extra request to show
late results, the replay answers with the same text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncfc._agent import AgentMode
from asyncfc._messages import ToolResultsMessage, UserMessage
from asyncfc._protocol import AWAIT_TOOL_NAME
from asyncfc._scripted import ScriptView, Turn

__all__ = ("Plan", "PlannedCall", "replay_script")

_SEEN_LINE = re.compile(r"^(future_\d+) (?:=|failed:)", re.MULTILINE)
_PENDING = re.compile(r"^(future_\d+) \(pending\)$")


@dataclass(frozen=True, kw_only=True)
class PlannedCall:
    name: str
    arguments: Mapping[str, Any]
    needs: tuple[int, ...] = ()
    """Indices (in the whole plan, flattened) of calls whose results this call needs."""
    references: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    """Argument name → (producer index, field path): arguments taken from a result."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    prompts: Sequence[str]
    turns: Sequence[Sequence[PlannedCall]]
    final_text: str = "All requested actions are complete."
    resolve: Callable[[int, str], Any] | None = None
    """For sync modes: the concrete value of (producer index, path) references."""

    def flat(self) -> list[PlannedCall]:
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
        m = _PENDING.match(content)
        if m:
            fid[index] = m.group(1)
        else:
            seen.add(index)  # a concrete result (sync modes) or an immediate error
    shown: set[str] = set()
    for msg in view.messages:
        if isinstance(msg, UserMessage):
            shown.update(_SEEN_LINE.findall(msg.content))
        elif isinstance(msg, ToolResultsMessage):
            for r in msg.results:
                if r.name == AWAIT_TOOL_NAME:
                    shown.update(_SEEN_LINE.findall(r.content))
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


def replay_script(plan: Plan, mode: AgentMode) -> Callable[[ScriptView], Turn]:
    """A script that plays ``plan`` under ``mode`` (see the module docstring)."""
    calls = plan.flat()
    bounds: list[int] = []
    total = 0
    for turn in plan.turns:
        total += len(turn)
        bounds.append(total)
    state = _State()
    is_async = mode in ("async", "async_parallel")
    batching = mode in ("parallel", "async_parallel")

    def arguments(index: int, fid: Mapping[int, str]) -> str:
        call = calls[index]
        args = dict(call.arguments)
        for name, (producer, path) in call.references.items():
            if is_async:
                args[name] = fid[producer] + path
            elif plan.resolve is not None:
                args[name] = plan.resolve(producer, path)
        return json.dumps(args)

    def script(view: ScriptView) -> Turn:
        user_turn = _prompts_shown(view, plan.prompts) - 1
        end = bounds[user_turn] if user_turn >= 0 else 0
        if state.next_call >= end:
            return Turn(text=plan.final_text)
        fid, seen = _futures_of(view, state.emitted)
        batch: list[tuple[str, str]] = []
        in_batch: set[int] = set()
        while state.next_call < end:
            index = state.next_call
            call = calls[index]
            needed = set(call.needs) | {p for p, _ in call.references.values()}
            if needed & in_batch:
                break  # the model must see this batch's results first
            unseen = sorted(
                i for i in needed if i not in seen and not (is_async and _is_ref_only(call, i))
            )
            if is_async and unseen:
                ids = [fid[i] for i in unseen if i in fid]
                if ids:
                    if batch and not batching:
                        break
                    batch.append((AWAIT_TOOL_NAME, json.dumps({"future_ids": ids})))
                    break
            batch.append((call.name, arguments(index, fid)))
            in_batch.add(index)
            state.emitted.append(index)
            state.next_call += 1
            if not batching:
                break
        return Turn(calls=batch)

    return script


def _is_ref_only(call: PlannedCall, producer: int) -> bool:
    """True when ``producer`` is only used through a future reference (no await needed)."""
    return producer not in call.needs and any(p == producer for p, _ in call.references.values())
