"""Your own recorded conversations, replayed in every mode: "what would async save on my agent?"

Input is what an OpenAI-format agent loop already logs: per conversation, its messages
(``system``, ``user``, ``assistant`` with ``tool_calls``, ``tool`` with ``tool_call_id``),
optionally the tool definitions it offered, and optionally each call's measured latency.
:func:`plan_from_openai_messages` turns one conversation into a :class:`RecordedConversation`:
a :class:`~asyncfc.replay.Plan` (one user turn per user message; the calls of the assistant
messages that follow it), the recorded results, and a toolset of mock tools that return them.
:func:`~asyncfc.replay.replay_conversations` replays every conversation in every mode with
the same decode model and behaviour (:class:`~asyncfc.replay.Behaviour`), and returns the
per-mode summary rows (time, speed-up, model requests, input and output tokens).

How dependencies are found.  A call *needs* an earlier call of the same conversation when one
of its argument values (a string of at least :data:`MIN_MATCH` characters, or a number that
is not a small integer) occurs in that call's recorded result and not in any user or system
message so far: the model could only have written it after reading the result.  When the
result is JSON and the value sits at a path in it, the dependency is also *reachable by a
path*, and the async modes may pass it as a future reference with field selection
(``future_3.items[0].id``) with probability ``reference_rate``; otherwise the model awaits and
copies.  This is a heuristic over recorded text: a value the model derived (a sum, a
reformatted date) is not found, so the replay may overlap calls your model would have
serialised; say so when you report a figure.

Invariants:

* Every recorded call is replayed with its recorded arguments in the sync modes; a mock tool
  answers a call by its name and its resolved arguments, falling back to the next unused
  recorded result of that tool, so every call gets exactly one result.
* Latency per call: the tool message's ``"latency"`` (seconds; a non-standard key your logger
  adds), else the conversation's ``"latencies"`` map by call id, else ``default_latency``.
  Mock tools wait that long (× ``time_scale``) on the event loop, so a fake clock (trio's
  ``MockClock``) gives exact, machine-independent figures.
* Labels: tools you do not label are *unlabelled* and serialise, as in the library; pass
  ``labels`` (``{"name": {"reads": [...], "writes": [...]}}``), or ``assume_pure=True`` for
  the upper bound where every tool reads and writes nothing.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from asyncfc._tools import Tool
from asyncfc._toolset import Toolset

from ._plan import Plan, PlannedCall

__all__ = ("MIN_MATCH", "RecordedConversation", "plan_from_openai_messages")

MIN_MATCH = 4
"""Shortest string argument value that counts as copied from a result (shorter ones, such as
``"a"`` or ``"en"``, occur everywhere by chance)."""


@dataclass(frozen=True, kw_only=True)
class RecordedConversation:
    """One recorded conversation, ready to replay."""

    plan: Plan
    results: tuple[Any, ...]
    """Per plan call (flattened), the recorded result (parsed JSON when it parses)."""
    latencies: tuple[float, ...]
    """Per plan call, seconds (before the time scale)."""
    tools: Sequence[Mapping[str, Any]]
    """OpenAI-style tool definitions (given, or open schemas inferred from the calls)."""
    system_prompt: str | None = None

    def toolset(
        self,
        *,
        labels: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        assume_pure: bool = False,
        time_scale: float = 1.0,
    ) -> Toolset:
        """Fresh mock tools that return the recorded results after the recorded latency."""
        calls = self.plan.flat()
        used: set[int] = set()
        by_key: dict[str, list[int]] = {}
        for i, c in enumerate(calls):
            by_key.setdefault(_key(c.name, c.arguments), []).append(i)
        toolset = Toolset()
        for definition in self.tools:
            spec = definition.get("function", definition)
            name = str(spec["name"])
            lab = {"reads": (), "writes": ()} if assume_pure else (labels or {}).get(name)

            toolset.add(
                Tool.from_schema(
                    definition,
                    self._mock(name, spec, by_key, used, time_scale),
                    reads=None if lab is None else lab.get("reads", ()),
                    writes=None if lab is None else lab.get("writes", ()),
                )
            )
        return toolset

    def _mock(
        self,
        name: str,
        spec: Mapping[str, Any],
        by_key: Mapping[str, list[int]],
        used: set[int],
        time_scale: float,
    ) -> Any:
        calls = self.plan.flat()
        parameters = spec.get("parameters") or {}
        required = set(parameters.get("required") or ())

        async def mock(**given: Any) -> Any:
            arguments = {k: v for k, v in given.items() if v is not _UNSET}
            candidates = [i for i in by_key.get(_key(name, arguments), []) if i not in used]
            if not candidates:
                candidates = [i for i, c in enumerate(calls) if c.name == name and i not in used]
            if not candidates:
                raise LookupError(f"no recorded result left for {name}({arguments})")
            index = candidates[0]
            used.add(index)
            await anyio.sleep(self.latencies[index] * time_scale)
            return copy.deepcopy(self.results[index])

        mock.__name__ = name
        mock.__doc__ = f"Recorded results of {name}."
        mock.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    k,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=inspect.Parameter.empty if k in required else _UNSET,
                    annotation=Any,
                )
                for k in (parameters.get("properties") or {})
                if k.isidentifier()
            ]
        )
        return mock


_UNSET: Any = object()
"""Default of a recorded tool's optional parameters: left out of the matching key."""


def _key(name: str, arguments: Mapping[str, Any]) -> str:
    return name + json.dumps(dict(arguments), sort_keys=True, default=repr)


def _parse(content: Any) -> Any:
    if not isinstance(content, str):
        return content
    try:
        return json.loads(content)
    except ValueError:
        return content


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else json.dumps(content)


def _leaves(value: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str) and k.isidentifier():
                yield from _leaves(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def _matters(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return len(value) >= MIN_MATCH
    if isinstance(value, int):
        return abs(value) >= 1000
    return isinstance(value, float)


def _argument_values(arguments: Any) -> Iterable[Any]:
    if isinstance(arguments, Mapping):
        for v in arguments.values():
            yield from _argument_values(v)
    elif isinstance(arguments, list):
        for v in arguments:
            yield from _argument_values(v)
    elif _matters(arguments):
        yield arguments


def _path_to(result: Any, value: Any) -> str | None:
    """The path of ``value`` in ``result`` (``""`` when it is the whole result), or None."""
    for path, leaf in _leaves(result):
        if leaf == value and type(leaf) is type(value):
            return path
    return None


def plan_from_openai_messages(
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    latencies: Mapping[str, float] | None = None,
    default_latency: float = 1.0,
) -> RecordedConversation:
    """One recorded OpenAI-format conversation as a replay (see the module docstring).

    Raises :class:`ValueError` for a conversation that cannot be replayed: a tool call
    before the first user message, a call without a recorded result, or a malformed call."""
    prompts: list[str] = []
    turns: list[list[PlannedCall]] = []
    results: list[Any] = []
    lat: list[float] = []
    raw: list[tuple[str, dict[str, Any]]] = []
    system: list[str] = []
    index_of: dict[str, int] = {}
    answers: dict[str, Any] = {}
    known_text: list[str] = []
    for m in messages:
        if m.get("role") == "tool":
            answers[str(m.get("tool_call_id"))] = m
    seen_text: list[str] = []  # user/system text before each call
    for m in messages:
        role = m.get("role")
        if role in ("system", "developer"):
            system.append(_text(m.get("content")))
            known_text.append(_text(m.get("content")))
        elif role == "user":
            prompts.append(_text(m.get("content")))
            known_text.append(prompts[-1])
            turns.append([])
        elif role == "assistant":
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                name, call_id = fn.get("name"), str(call.get("id"))
                if not turns:
                    raise ValueError(f"tool call {call_id} comes before any user message")
                if not isinstance(name, str) or not name:
                    raise ValueError(f"tool call {call_id} has no function name")
                try:
                    arguments = json.loads(fn.get("arguments") or "{}")
                except ValueError as exc:
                    raise ValueError(
                        f"tool call {call_id}: arguments are not JSON: {exc}"
                    ) from None
                if not isinstance(arguments, dict):
                    raise ValueError(f"tool call {call_id}: arguments are not a JSON object")
                answer = answers.get(call_id)
                if answer is None:
                    raise ValueError(f"tool call {call_id} ({name}) has no recorded result")
                index_of[call_id] = len(results)
                results.append(_parse(answer.get("content")))
                seconds = answer.get("latency")
                if seconds is None and latencies is not None:
                    seconds = latencies.get(call_id)
                lat.append(float(default_latency if seconds is None else seconds))
                raw.append((name, arguments))
                seen_text.append("\n".join(known_text))
                turns[-1].append(PlannedCall(name=name, arguments=arguments))
    # Dependencies: the latest earlier call whose result holds an argument value.
    flat: list[PlannedCall] = []
    paths: dict[tuple[int, int], dict[str, str]] = {}
    for i, (name, arguments) in enumerate(raw):
        needs: set[int] = set()
        uses: set[int] = set()
        for value in _argument_values(arguments):
            if str(value) in seen_text[i]:
                continue
            for j in range(i - 1, -1, -1):
                path = _path_to(results[j], value)
                if path is not None:
                    uses.add(j)
                    paths.setdefault((i, j), {})[json.dumps(value)] = path
                    break
                if str(value) in _text(results[j]) or str(value) in json.dumps(results[j]):
                    needs.add(j)
                    break
        flat.append(
            PlannedCall(
                name=name, arguments=arguments, needs=tuple(sorted(needs)), uses=tuple(sorted(uses))
            )
        )
    it = iter(flat)
    turns = [[next(it) for _ in turn] for turn in turns]

    def render(index: int, futures: Mapping[int, str] | None) -> Mapping[str, Any]:
        arguments = flat[index].arguments
        if not futures:
            return arguments

        def sub(value: Any) -> Any:
            if isinstance(value, Mapping):
                return {k: sub(v) for k, v in value.items()}
            if isinstance(value, list):
                return [sub(v) for v in value]
            for j, ref in futures.items():
                path = paths.get((index, j), {}).get(json.dumps(value))
                if path is not None:
                    return f"{ref}{path}"
            return value

        out: Mapping[str, Any] = sub(arguments)
        return out

    definitions = list(tools) if tools else _open_definitions(raw)
    return RecordedConversation(
        plan=Plan(prompts=prompts, turns=turns, arguments=render),
        results=tuple(results),
        latencies=tuple(lat),
        tools=definitions,
        system_prompt="\n\n".join(system) or None,
    )


def _open_definitions(calls: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Tool definitions inferred from the recorded calls: each argument seen, typed by JSON
    type where every call agrees, nothing required."""
    props: dict[str, dict[str, set[str]]] = {}
    for name, arguments in calls:
        mine = props.setdefault(name, {})
        for k, v in arguments.items():
            mine.setdefault(k, set()).add(_json_type(v))
    out = []
    for name, mine in props.items():
        out.append(
            {
                "name": name,
                "description": f"Recorded tool {name}.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        k: ({"type": next(iter(t))} if len(t) == 1 else {}) for k, t in mine.items()
                    },
                },
            }
        )
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"
