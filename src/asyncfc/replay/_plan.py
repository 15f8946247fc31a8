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

Model behaviour (:class:`Behaviour`), explicit and seeded, the same for every mode:

* ``batching_rate`` (p): the share of batchable calls the model actually adds to the current
  response.  Each call that *could* join the batch (independent, needing nothing from it)
  joins it with probability p; otherwise the response ends before it.  p=1 is the
  ``independent`` batching above; p=0 is one call per response.  The draw is keyed by the
  seed, the plan's prompts and the call's plan index, so ``parallel`` and ``async_parallel``
  make the same choice for the same call, and different tasks draw independently.
* ``reference_rate`` (q): the share of ``uses`` (results reachable by a path, passed by
  reference) that the async modes express as a future reference with field selection; the
  rest are treated as ``needs``: the model awaits the producer and copies the value (the
  plan's ``arguments`` hook receives only the futures kept as references).  Keyed by seed,
  plan, call and producer.  A result the model has already read (delivered or awaited) is
  copied, whatever the draw: references are for values the model has not seen (the
  protocol's prompt says so), and a copied number is shorter to write than its reference.
  Sync modes always copy values.
* ``inline_await_rate`` (r): in ``async_parallel``, the share of awaits the model writes in
  the same response as the calls they wait for, as the protocol's prompt asks
  (``await_future`` without ids: the calls made before it in the response).  Where a batch
  ends because the next call needs a value from it, the response ends with such an await
  with probability r; where the turn's last batch leaves values the final answer reads (the
  ``reads`` test: a tool that declares no writes, as the ``label_aware`` final-answer policy
  decides), the response ends with awaits for them with probability r.  Otherwise the model
  sends the await in a response of its own, a request that only waits (r = 0, the paper's
  protocol).  ``async`` makes one call per response, so it always awaits on its own.
* ``await_first``: in the async modes, before its final answer the model calls
  ``await_future`` on every future of the turn it has not seen (the behaviour a prompt
  such as "await what you need before answering" asks for), so no answer is written while
  results are pending.

Every user turn ends with a fixed final answer; when the loop offers an extra request to show
late results, the replay answers with the same text.
"""

from __future__ import annotations

import json
import random
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
    "Behaviour",
    "ConflictTest",
    "Plan",
    "PlannedCall",
    "ReadTest",
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

ReadTest = Callable[["PlannedCall"], bool]
"""Whether a planned call returns something the final answer reads (not a write)."""

ArgumentsHook = Callable[[int, Mapping[int, str] | None], Mapping[str, Any]]
"""(plan index, future ids by plan index, or None in the sync modes) → the call's arguments."""


@dataclass(frozen=True, kw_only=True)
class Behaviour:
    """How the replayed model behaves, beyond what the mode allows (see the module docstring).

    The defaults are the replay's earlier behaviour: full batching, every ``uses`` passed by
    reference, final answers written whenever the plan is done."""

    batching_rate: float = 1.0
    """p: probability that a batchable call joins the current response."""
    reference_rate: float = 1.0
    """q: probability that a ``uses`` dependency is sent as a future reference (async modes)."""
    inline_await_rate: float = 1.0
    """r: probability that an await is written in the response of the calls it waits for."""
    await_first: bool = False
    """Async modes: await every unseen future of the turn before the final answer."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("batching_rate", "reference_rate", "inline_await_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value!r}")

    def draw(self, *key: object) -> float:
        """A uniform number in [0, 1) fixed by the seed and ``key``."""
        return random.Random(repr((self.seed, *key))).random()

    def batches(self, index: int, task: str = "") -> bool:
        """Whether batchable call ``index`` (of the plan identified by ``task``) joins the
        current response."""
        return self.batching_rate >= 1.0 or self.draw("batch", task, index) < self.batching_rate

    def inlines_await(self, index: int, task: str = "") -> bool:
        """Whether the await that the response ending before call ``index`` (or after the
        turn's last call, ``index`` = the next turn's first) needs is written inline."""
        if self.inline_await_rate >= 1.0:
            return True
        return self.draw("inline", task, index) < self.inline_await_rate

    def references(self, index: int, producer: int, task: str = "") -> bool:
        """Whether call ``index`` passes ``producer``'s result by reference."""
        return self.reference_rate >= 1.0 or self.draw("ref", task, index, producer) < (
            self.reference_rate
        )


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
    behaviour: Behaviour | None = None,
    reads: ReadTest | None = None,
) -> Callable[[ScriptView], Reply]:
    """A script that plays ``plan`` as a model would under ``policy`` (see the module
    docstring): with futures it awaits what it must read; with parallel calls it batches,
    as far as ``behaviour`` says.

    ``conflicts`` is required by the ``"independent"`` policy in the batching modes (there
    is no safe guess: treating every pair as independent is the ``"greedy"`` policy).
    ``reads`` tells which results a final answer reads (default: every call's)."""
    if batching not in BATCHING_POLICIES:
        raise ValueError(f"unknown batching policy {batching!r}")
    behaviour = behaviour or Behaviour()
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
    # Draws are keyed by the plan too (its prompts), so tasks do not share their choices.
    task = "\n".join(plan.prompts)
    # Per call: the uses passed by reference (async modes), and what it must have seen.
    refs = [
        {j for j in c.uses if is_async and behaviour.references(i, j, task)}
        for i, c in enumerate(calls)
    ]
    needs = [set(c.needs) | (set(c.uses) - refs[i]) for i, c in enumerate(calls)]
    awaited_turns: set[int] = set()
    inline = is_async and batches
    is_read = reads or (lambda _call: True)

    def awaits_before_answer(
        user_turn: int, in_batch: set[int], fid: Mapping[int, str], seen: set[int]
    ) -> list[tuple[str, str]]:
        """The awaits the turn's last batch ends with: the reads still unseen."""
        start = bounds[user_turn - 1] if user_turn > 0 else 0
        end = bounds[user_turn]
        earlier = [
            fid[i]
            for i in sorted(fid)
            if start <= i < end and i not in seen and i not in in_batch and is_read(calls[i])
        ]
        out = [(AWAIT_TOOL_NAME, json.dumps({"future_ids": earlier}))] if earlier else []
        if any(is_read(calls[i]) for i in in_batch):
            out.append((AWAIT_TOOL_NAME, "{}"))
        return out

    def arguments(index: int, fid: Mapping[int, str], seen: set[int]) -> str:
        if plan.arguments is None:
            return json.dumps(dict(calls[index].arguments))
        # A value the model has already read is copied, not referenced.
        kept = {j: fid[j] for j in refs[index] if j in fid and j not in seen}
        return json.dumps(dict(plan.arguments(index, kept if is_async else None)))

    def script(view: ScriptView) -> Reply:
        user_turn = _prompts_shown(view, plan.prompts) - 1
        end = bounds[user_turn] if user_turn >= 0 else 0
        fid, seen = _futures_of(view, state.emitted)
        if state.next_call >= end:
            if is_async and behaviour.await_first and user_turn not in awaited_turns:
                awaited_turns.add(user_turn)
                start = bounds[user_turn - 1] if user_turn > 0 else 0
                ids = [fid[i] for i in sorted(fid) if start <= i < end and i not in seen]
                if ids:
                    return Reply(calls=[(AWAIT_TOOL_NAME, json.dumps({"future_ids": ids}))])
            return Reply(text=plan.final_text)
        batch: list[tuple[str, str]] = []
        in_batch: set[int] = set()
        while state.next_call < end:
            index = state.next_call
            call = calls[index]
            if in_batch:
                if (needs[index] | refs[index]) & in_batch:
                    # The model must see this batch's results (or, for references, their
                    # future ids) first.  A value it needs it may await right here.
                    if inline and needs[index] & in_batch and behaviour.inlines_await(index, task):
                        batch.append((AWAIT_TOOL_NAME, "{}"))
                    break
                if conflict is not None and any(conflict(calls[j], call) for j in in_batch):
                    break  # not independent of the batch: the next request
                if not behaviour.batches(index, task):
                    break  # batchable, but the model sends it in a later response
            unseen = sorted(i for i in needs[index] if i not in seen)
            if is_async and unseen:
                ids = [fid[i] for i in unseen if i in fid]
                if ids:
                    if batch and not batches:
                        break
                    batch.append((AWAIT_TOOL_NAME, json.dumps({"future_ids": ids})))
                    break
            batch.append((call.name, arguments(index, fid, seen)))
            in_batch.add(index)
            state.emitted.append(index)
            state.next_call += 1
            if not batches:
                break
        if inline and in_batch and state.next_call >= end and behaviour.inlines_await(end, task):
            batch.extend(awaits_before_answer(user_turn, in_batch, fid, seen))
        return Reply(calls=batch)

    return script
