"""What the framework replays share: the decode bridge, the tools, and one setup's outcome.

The same decode model drives every setup.  A framework's model interface (pydantic-ai's
``FunctionModel`` function, an Agents SDK ``Model``) converts what the framework sends into
asyncfc's neutral messages and asks a :class:`ReplayBridge`, which asks the replay's
:class:`~asyncfc.ScriptedModel` (:func:`asyncfc.replay.replay_script`) for the next reply
and converts it back.  The bridge therefore spends the same decode time as asyncfc's own
replay (``ttft + output tokens / tokens per second``, slept on the event loop) and its
script reacts to exactly what the framework delivered.

Invariants:

* Tokens: input tokens are :func:`asyncfc.estimate_input_tokens` over what the framework
  actually sends (its instructions, messages and tool definitions, converted faithfully);
  output tokens are the scripted model's count of the reply.  Compare setups within a
  framework: each framework frames messages and tools its own way.
* What the script reads: a futures session appends results settled since its previous
  answer to the next tool result (``future_7 (pending)`` + a blank line + the delivery
  text).  asyncfc's own loop delivers the same text as a user message after the tool
  results, which is where the replay script looks for it, so :func:`script_view` moves the
  appended text into a user message after its tool results; nothing is dropped.  Tool
  results are put in the order of the calls of the assistant message they answer (the
  script pairs results with the calls it emitted, in order).
* Tools: each setup gets fresh BFCL backends (:func:`bfcl_tools`) with the harness's latency
  model, as async functions (``sync_tools="loop"``): the virtual clock
  (:mod:`asyncfc_bench._virtual_clock`) cannot see work done in worker threads.  The
  frameworks' tools return the text asyncfc's runtime shows for the backend's value
  (:func:`asyncfc.render_value`): BFCL's math backend returns mpmath numbers, which
  pydantic-ai cannot serialize (the run fails), and with one text per result every setup
  shows the model the same bytes, so their tokens compare.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from asyncfc import (
    AssistantMessage,
    Message,
    ModelSettings,
    ScriptedModel,
    ToolResult,
    ToolResultsMessage,
    Toolset,
    UserMessage,
    estimate_input_tokens,
    render_value,
)
from asyncfc.replay import (
    BatchingPolicy,
    Behaviour,
    DecodeModel,
    Latency,
    Plan,
    label_conflicts,
    label_reads,
    replay_script,
    with_latency,
)

from ._bfcl_backends import BfclEnvironment, make_environment
from ._bfcl_data import BfclEntry
from ._bfcl_labels import bfcl_labels

__all__ = (
    "FRAMEWORK_FINAL_ANSWER",
    "SETUPS",
    "BfclTools",
    "ReplayBridge",
    "SetupOutcome",
    "Variant",
    "bfcl_tools",
    "script_view",
    "split_delivery",
)

Variant = Literal["alone", "labels", "futures"]
"""(a) the framework alone, (b) + asyncfc's label-aware concurrency, (c) + asyncfc futures."""
SETUPS: tuple[Variant, ...] = ("alone", "labels", "futures")
"""Every :data:`Variant`, in the order of the issue's (a), (b), (c)."""

_DELIVERY = re.compile(r"\n\n(?=[^\n]+\n(?:future_\d+ (?:=|failed:)))")
"""Where a session's answer ends and the delivery appended to it begins: a blank line, a
heading line, then a settled-future line (``future_3 = ...`` / ``future_3 failed: ...``)."""


def split_delivery(content: str) -> tuple[str, str]:
    """``(the tool's own answer, the delivery appended to it or "")``."""
    match = _DELIVERY.search(content)
    if match is None:
        return content, ""
    return content[: match.start()], content[match.end() :]


def script_view(messages: Sequence[Message]) -> list[Message]:
    """The messages as asyncfc's own loop would show them to the replay script (see the
    module docstring): appended deliveries become a user message after their tool results,
    and tool results follow the order of the calls they answer."""
    out: list[Message] = []
    order: dict[str, int] = {}
    for message in messages:
        if isinstance(message, AssistantMessage):
            order = {c.id: i for i, c in enumerate(message.tool_calls)}
        if not isinstance(message, ToolResultsMessage):
            out.append(message)
            continue
        results: list[ToolResult] = []
        deliveries: list[str] = []
        for r in sorted(message.results, key=lambda r: order.get(r.call_id, len(order))):
            own, delivery = split_delivery(r.content)
            results.append(
                ToolResult(call_id=r.call_id, name=r.name, content=own, is_error=r.is_error)
            )
            if delivery:
                deliveries.append(delivery)
        out.append(ToolResultsMessage(results=tuple(results)))
        out.extend(UserMessage(content=d) for d in deliveries)
    return out


FRAMEWORK_FINAL_ANSWER: Final = "label_aware"
"""The drain policy of setup (c) in both frameworks: the integrations' default, as asyncfc's
own ``Agent``'s (an answer whose only unseen results are successful writes stands)."""


@dataclass(kw_only=True)
class ReplayBridge:
    """The replay's scripted model behind a framework's model interface (one per run)."""

    model: ScriptedModel
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    decode_seconds: list[float] = field(default_factory=list)
    """Per request, the decode time the script asked for."""

    @classmethod
    def for_plan(
        cls,
        plan: Plan,
        toolset: Toolset,
        *,
        futures: bool,
        decode: DecodeModel,
        behaviour: Behaviour,
        batching: BatchingPolicy = "independent",
        time_scale: float = 1.0,
    ) -> ReplayBridge:
        """A bridge whose script plays ``plan`` as asyncfc's ``parallel`` replay does, or
        ``async_parallel`` with ``futures``; with the ``"independent"`` batching policy,
        batches are judged by ``toolset``'s labels (:mod:`asyncfc.replay`)."""
        script = replay_script(
            plan,
            "async_parallel" if futures else "parallel",
            batching=batching,
            conflicts=label_conflicts(toolset),
            behaviour=behaviour,
            reads=label_reads(toolset),
        )
        return cls(
            model=ScriptedModel(
                script=script,
                ttft=decode.ttft * time_scale,
                tokens_per_second=decode.tokens_per_second / time_scale,
            )
        )

    def outcome(
        self, framework: str, variant: Variant, wall: float, messages: list[Message]
    ) -> SetupOutcome:
        """One setup's run, with the requests and tokens this bridge counted."""
        return SetupOutcome(
            framework=framework,
            variant=variant,
            wall=wall,
            requests=self.requests,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            messages=messages,
        )

    async def respond(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> AssistantMessage:
        """The next reply to what the framework sent, after its simulated decode time."""
        self.requests += 1
        self.input_tokens += estimate_input_tokens(messages, tools)
        response = await self.model.request(script_view(messages), tools, ModelSettings())
        tokens = response.usage.output_tokens or 0
        self.output_tokens += tokens
        self.decode_seconds.append(self.model.ttft + self.model.decode_seconds(tokens))
        return response.message


@dataclass(eq=False, kw_only=True)
class BfclTools:
    """Fresh BFCL backends for one setup: their state, the delayed tools and the labels."""

    environment: BfclEnvironment
    toolset: Toolset
    """The backends' tools, each first waiting its latency on the event loop (async), then
    returning its value rendered as text (see the module docstring)."""
    labels: dict[str, dict[str, list[str]]]
    """Tool name → ``{"reads": [...], "writes": [...]}`` (``bfcl_labels.json``)."""


def bfcl_tools(entry: BfclEntry, latency: Latency, time_scale: float = 1.0) -> BfclTools:
    """Fresh backends for ``entry`` with ``latency`` (see the module docstring)."""
    environment = make_environment(entry)
    delayed = with_latency(environment.toolset, latency.sampler(time_scale), sync_tools="loop")
    toolset = Toolset(dataclasses.replace(t, function=_rendering(t.function)) for t in delayed)
    every = bfcl_labels()
    labels = {t.name: every[t.name] for t in toolset}
    return BfclTools(environment=environment, toolset=toolset, labels=labels)


def _rendering(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> str:
        return render_value(await function(*args, **kwargs))

    return run


@dataclass(kw_only=True)
class SetupOutcome:
    """One framework setup's run of one task."""

    framework: str
    variant: Variant
    wall: float
    """Seconds on the run's clock from the first prompt to the last final answer."""
    requests: int
    input_tokens: int
    output_tokens: int
    messages: list[Message]
    """The whole conversation as the framework kept it, converted to neutral messages."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Scoring: ``accurate``, ``verdict``, ``state``, ``state_matches_sequential``."""
    cpu: float = 0.0
    """CPU seconds this process spent in the run (``time.process_time``).  On the virtual
    clock every scripted wait is free, so this is what the run would take with zero decode
    and zero tool time: the framework's own cost, the wrapper's and the replayed model's."""
