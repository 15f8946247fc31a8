"""Ground truth replayed on fresh backends, and the information dependencies it reveals.

A call depends on an earlier call when one of its literal argument values appears in that
call's result and not in the user's text so far (:func:`information_dependencies`); the replay
plans turn these into ``needs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from asyncfc import ToolContext, Toolset

from ._bfcl_backends import _bind_methods, make_environment, make_instances, snapshot, to_jsonable
from ._bfcl_calls import parse_call
from ._bfcl_data import BfclEntry

__all__ = (
    "Replay",
    "ReplayedCall",
    "information_dependencies",
    "replay_ground_truth",
)


# --------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class ReplayedCall:
    """One ground-truth call and what it returned in a sequential replay."""

    index: int
    """Position among all calls of the task (0-based, across turns)."""
    turn: int
    text: str
    name: str
    arguments: Mapping[str, Any]
    result: Any
    """JSON-able copy of the return value, taken right after the call."""


@dataclass(frozen=True)
class Replay:
    """A sequential replay of an entry's ground truth on fresh backends."""

    calls: tuple[ReplayedCall, ...]
    state: dict[str, Any]
    """The final :func:`snapshot` of the backends."""

    def per_turn(self) -> list[list[ReplayedCall]]:
        turns: dict[int, list[ReplayedCall]] = {}
        for call in self.calls:
            turns.setdefault(call.turn, []).append(call)
        return [turns.get(t, []) for t in range(max(turns, default=-1) + 1)]


def replay_ground_truth(entry: BfclEntry, *, via_toolset: bool = False) -> Replay:
    """Run the ground truth in order on fresh backends; return results and final state.

    Exceptions raised by a backend become ``{"error": "<exception>"}`` results, as BFCL's
    executor turns them into error strings.  With ``via_toolset`` each call goes through the
    asyncfc tool (argument validation included) instead of the bare method.
    """
    toolset: Toolset | None = None
    if via_toolset:
        env = make_environment(entry)
        instances, methods, toolset = env.instances, env.methods, env.toolset
    else:
        instances = make_instances(entry)
        methods = _bind_methods(entry, instances)
    calls: list[ReplayedCall] = []
    index = 0
    for turn, texts in enumerate(entry.ground_truth):
        for text in texts:
            name, kwargs = parse_call(text, functions=methods)
            try:
                if toolset is not None:
                    tool = toolset[name]
                    raw = tool.bind(tool.validate(kwargs), ToolContext())()
                else:
                    raw = methods[name](**kwargs)
            except Exception as exc:  # a backend error is a result, as in BFCL
                raw = {"error": f"{type(exc).__name__}: {exc}"}
            calls.append(
                ReplayedCall(
                    index=index,
                    turn=turn,
                    text=text,
                    name=name,
                    arguments=kwargs,
                    result=to_jsonable(raw),
                )
            )
            index += 1
    return Replay(calls=tuple(calls), state=snapshot(instances))


# --------------------------------------------------------------------------- information deps

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")
_MIN_SUBSTRING = 4


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _numbers_in(text: str) -> set[float]:
    out = set()
    for m in _NUMBER.finditer(text):
        try:
            out.add(float(m.group().replace(",", "")))
        except ValueError:
            continue
    return out


class _Knowledge:
    """What a body of text/values makes known, under the matching rules of
    :func:`information_dependencies`."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.strings: set[str] = set()
        self.numbers: set[float] = set()

    def add_text(self, text: str) -> None:
        self.texts.append(text)
        self.strings.add(text)
        self.numbers |= _numbers_in(text)

    def add_value(self, value: Any) -> None:
        for leaf in _leaves(value):
            if isinstance(leaf, bool) or leaf is None:
                continue
            if isinstance(leaf, int | float):
                self.numbers.add(float(leaf))
            elif isinstance(leaf, str):
                self.add_text(leaf)

    def knows(self, value: str | float) -> bool:
        if isinstance(value, str):
            if value in self.strings:
                return True
            return len(value) >= _MIN_SUBSTRING and any(value in t for t in self.texts)
        return value in self.numbers


def _argument_values(arguments: Mapping[str, Any]) -> list[str | float]:
    out: list[str | float] = []
    for leaf in _leaves(arguments):
        if isinstance(leaf, bool) or leaf is None:
            continue
        if isinstance(leaf, int | float):
            out.append(float(leaf))
        elif isinstance(leaf, str) and leaf.strip():
            out.append(leaf)
    return out


def information_dependencies(entry: BfclEntry, replay: Replay | None = None) -> list[int | None]:
    """For each ground-truth call (in :class:`Replay` order), the index of the earliest
    earlier call whose result reveals one of its literal argument values, or ``None``.

    The rule (issue 4, "The replay model"): a call depends on an earlier call when one of its
    literal argument values appears in that call's *result* and not in any user text so far
    (the user messages of this turn and all earlier turns).  Such a call could only be
    written after the model saw that result.  Details, all deliberately simple:

    * Argument values are the leaves of the arguments (list items, dict values; dict keys are
      ignored).  Booleans, ``None`` and blank strings are skipped: they carry no information.
    * Numbers (ints and floats alike) are compared as floats.  A number is in a text when a
      number token of the text (``-12``, ``1,000``, ``3.5``) has that value; it is in a result
      when a numeric leaf equals it or a number token of a string leaf does.
    * Strings are compared case-sensitively.  A string is in a text or result leaf when it
      equals it or, for strings of at least 4 characters, is a substring of it.  Short strings
      must match a whole leaf, so "a" or "l" is not found inside every sentence.
    * The earliest producing call is reported: the model could write the call as soon as it
      had seen that result.  A value in several argument leaves takes the earliest producer
      over all of them that are not in the user text.
    """
    replay = replay or replay_ground_truth(entry)
    deps: list[int | None] = []
    user = _Knowledge()
    seen_turn = -1
    for call in replay.calls:
        while seen_turn < call.turn:
            seen_turn += 1
            user.add_text(entry.user_text(seen_turn))
        earliest: int | None = None
        values = [v for v in _argument_values(call.arguments) if not user.knows(v)]
        if values:
            for earlier in replay.calls[: call.index]:
                produced = _Knowledge()
                produced.add_value(earlier.result)
                if any(produced.knows(v) for v in values):
                    earliest = earlier.index
                    break
        deps.append(earliest)
    return deps


def _describe_dependencies(entry: BfclEntry) -> dict[str, int]:  # pragma: no cover - reporting
    replay = replay_ground_truth(entry)
    deps = information_dependencies(entry, replay)
    same_turn = sum(
        1
        for call, dep in zip(replay.calls, deps, strict=True)
        if dep is not None and replay.calls[dep].turn == call.turn
    )
    return {
        "calls": len(deps),
        "dependent": sum(d is not None for d in deps),
        "same_turn": same_turn,
    }
