"""Loading recorded conversations and replaying many of them in every mode.

:func:`load_conversations` reads JSON or JSONL; :func:`replay_conversations` turns each
conversation into a replay (:func:`~asyncfc.replay.plan_from_openai_messages`), runs it in
every mode on fresh mock tools (:func:`~asyncfc.replay.replay_modes`) and summarises
(:func:`~asyncfc.replay.summarise`).  A conversation without tool calls has nothing to
replay and is skipped; one that cannot be replayed raises :class:`ValueError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncfc._outcome import FinalAnswerPolicy, HoldPolicy

from ._latency import Latency
from ._plan import Behaviour
from ._recorded import RecordedConversation, plan_from_openai_messages
from ._runner import MODES, DecodeModel, Environment, ModeOutcome, replay_modes
from ._summary import summarise

__all__ = ("ReplayReport", "load_conversations", "replay_conversations")


def load_conversations(text: str) -> list[dict[str, Any]]:
    """Conversations from JSON (a list of conversations, or one) or JSONL (one a line).

    A conversation is a list of messages or an object with ``messages`` and optionally
    ``tools`` and ``latencies``."""
    text = text.strip()
    if not text:
        return []
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        if isinstance(data, Mapping) or (
            isinstance(data, list) and data and isinstance(data[0], Mapping) and "role" in data[0]
        ):
            data = [data]
    out = []
    for i, c in enumerate(data):
        if isinstance(c, list):
            c = {"messages": c}
        if not isinstance(c, Mapping) or not isinstance(c.get("messages"), list):
            raise ValueError(
                f"conversation {i}: expected a list of messages or {{'messages': [...]}}"
            )
        out.append(dict(c))
    return out


@dataclass(kw_only=True)
class ReplayReport:
    """Every conversation's per-mode outcomes and the summary rows over them."""

    outcomes: list[dict[str, ModeOutcome]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """:func:`~asyncfc.replay.summarise` rows: time, speed-up, requests, tokens per mode."""


async def replay_conversations(
    conversations: Sequence[Mapping[str, Any]],
    *,
    modes: Sequence[str] = ("sequential", "parallel", "async", "async_parallel"),
    decode: DecodeModel | None = None,
    behaviour: Behaviour | None = None,
    final_answer: FinalAnswerPolicy = "label_aware",
    hold: float = 0.0,
    hold_for: HoldPolicy = "any",
    default_latency: float = 1.0,
    time_scale: float = 1.0,
    labels: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    assume_pure: bool = False,
) -> ReplayReport:
    """Replay each conversation (see :func:`load_conversations` for the shape) in every mode
    of ``modes`` and summarise.  Run it under a fake clock for exact figures (see the module
    docstring)."""
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    report = ReplayReport()
    for conversation in conversations:
        recorded = plan_from_openai_messages(
            conversation["messages"],
            tools=conversation.get("tools"),
            latencies=conversation.get("latencies"),
            default_latency=default_latency,
        )
        if not recorded.plan.flat():
            continue

        def make_env(r: RecordedConversation = recorded) -> Environment:
            toolset = r.toolset(labels=labels, assume_pure=assume_pure, time_scale=time_scale)
            return Environment(toolset=toolset)

        report.outcomes.append(
            await replay_modes(
                recorded.plan,
                make_env,
                modes=modes,
                decode=decode,
                latency=Latency(seconds=0.0),
                time_scale=time_scale,
                batching="independent",
                behaviour=behaviour,
                final_answer=final_answer,
                hold=hold,
                hold_for=hold_for,
                system_prompt=recorded.system_prompt,
            )
        )
    report.rows = summarise(report.outcomes)
    return report
