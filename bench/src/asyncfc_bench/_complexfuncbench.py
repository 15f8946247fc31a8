"""ComplexFuncBench call sequences (from the ``nestful-wrapper`` package data) as replayable DAGs.

The data file ``data_v1/complexfuncbench/complexfuncbench-data.json`` (about 104 MB, 1,000
sequences, 5,070 calls) ships in the ``nestful-wrapper`` wheel as the top-level package
``data_v1``.  Each sequence has the user's ``input`` and an ordered ``output`` list of calls
``{"name", "arguments", "label": "varN", "response"}``; an argument whose value is the string
``"$varK.path$"`` refers to a field of call ``varK``'s response.

Invariants:

* The file is read at most once per process and parsed lazily: ``limit=`` decodes only the
  first sequences; the full list is cached after the first full load.
* A reference path is resolved like NESTFUL's data implies: keys step into objects and
  ``[i]`` into lists; a key applied to a *list* steps into its first element.  The canonical
  paths handed to ``to_ref`` make that ``[0]`` explicit, so the runtime needs no such rule.
* Mock tools return a deep copy of the recorded response; they never share state.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import keyword
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from ._cfb_paths import Reference, _canonical, format_path, parse_reference, resolve_path

__all__ = (
    "CfbCall",
    "CfbSequence",
    "convert_references",
    "ideal_parallelism_summary",
    "load_complexfuncbench",
    "load_complexfuncbench_specs",
    "make_mock_tools",
)


@dataclass(frozen=True)
class CfbCall:
    """One recorded call of a sequence."""

    index: int
    name: str
    label: str
    arguments: Mapping[str, Any]
    """As recorded, with ``"$varK.path$"`` reference strings."""
    response: Any = field(repr=False)
    references: tuple[tuple[Reference, int], ...]
    """Each reference in the arguments with the index of the call it refers to."""

    @property
    def depends_on(self) -> tuple[int, ...]:
        """Indices of the calls this call's arguments refer to (sorted, unique)."""
        return tuple(sorted({i for _, i in self.references}))


@dataclass(frozen=True)
class CfbSequence:
    """One ComplexFuncBench sample: a user request and its call DAG."""

    index: int
    input: str
    calls: tuple[CfbCall, ...]

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """``(producer, consumer)`` call-index pairs, one per referenced call."""
        return tuple((p, c.index) for c in self.calls for p in c.depends_on)

    @functools.cached_property
    def levels(self) -> tuple[int, ...]:
        """Per call, its DAG level: 1 for calls without references, else 1 + max of producers."""
        out: list[int] = []
        for call in self.calls:
            out.append(1 + max((out[p] for p in call.depends_on), default=0))
        return tuple(out)

    @property
    def depth(self) -> int:
        """Length (in calls) of the longest dependency chain."""
        return max(self.levels, default=0)

    @property
    def ideal_parallelism(self) -> float:
        """Calls ÷ depth: the speed-up of running every DAG level at once (1.0 if empty)."""
        return len(self.calls) / self.depth if self.depth else 1.0

    def call(self, label: str) -> CfbCall:
        for c in self.calls:
            if c.label == label:
                return c
        raise KeyError(f"sequence {self.index} has no call labelled {label!r}")

    def resolved_arguments(self, index: int) -> dict[str, Any]:
        """Call ``index``'s arguments with every reference replaced by the recorded value."""
        responses = {c.label: c.response for c in self.calls}

        def sub(value: Any) -> Any:
            if isinstance(value, str):
                ref = parse_reference(value)
                if ref is None:
                    return value
                return copy.deepcopy(resolve_path(responses[ref.label], ref.path))
            if isinstance(value, list):
                return [sub(v) for v in value]
            if isinstance(value, Mapping):
                return {k: sub(v) for k, v in value.items()}
            return value

        out: dict[str, Any] = sub(self.calls[index].arguments)
        return out


def _walk_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _walk_strings(v)]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _walk_strings(v)]
    return []


def _build(index: int, raw: Mapping[str, Any]) -> CfbSequence:
    calls: list[CfbCall] = []
    positions: dict[str, int] = {}
    for i, item in enumerate(raw["output"]):
        refs: list[tuple[Reference, int]] = []
        for text in _walk_strings(item["arguments"]):
            ref = parse_reference(text)
            if ref is None:
                if "$var" in text:
                    raise ValueError(f"sequence {index} call {i}: unparsed reference {text!r}")
                continue
            if ref.label not in positions:
                raise ValueError(f"sequence {index} call {i}: {text!r} refers to no earlier call")
            refs.append((ref, positions[ref.label]))
        calls.append(
            CfbCall(
                index=i,
                name=item["name"],
                label=item["label"],
                arguments=item["arguments"],
                response=item["response"],
                references=tuple(refs),
            )
        )
        positions[item["label"]] = i
    return CfbSequence(index=index, input=str(raw["input"]).strip(), calls=tuple(calls))


def _data_text() -> str:
    path = files("data_v1").joinpath("complexfuncbench", "complexfuncbench-data.json")
    return path.read_text(encoding="utf-8")


@functools.cache
def _all_sequences() -> tuple[CfbSequence, ...]:
    raw = json.loads(_data_text())
    return tuple(_build(i, item) for i, item in enumerate(raw))


def _first_sequences(limit: int) -> tuple[CfbSequence, ...]:
    text = _data_text()
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    out: list[CfbSequence] = []
    while len(out) < limit:
        while text[pos] in " \t\r\n,":
            pos += 1
        if text[pos] == "]":
            break
        item, pos = decoder.raw_decode(text, pos)
        out.append(_build(len(out), item))
    return tuple(out)


def load_complexfuncbench(limit: int | None = None) -> list[CfbSequence]:
    """The ComplexFuncBench sequences in file order; ``limit`` decodes only the first ones.

    The full set is cached per process after the first full load."""
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    if limit is None or _all_sequences.cache_info().currsize:
        seqs = _all_sequences()
        return list(seqs if limit is None else seqs[:limit])
    return list(_first_sequences(limit))


@functools.cache
def load_complexfuncbench_specs() -> dict[str, dict[str, Any]]:
    """API name → tool definition ``{"name", "description", "parameters"}`` (JSON schema)
    built from ``complexfuncbench-spec.json`` (40 APIs; the file is ~99 MB, loaded once)."""
    path = files("data_v1").joinpath("complexfuncbench", "complexfuncbench-spec.json")
    out: dict[str, dict[str, Any]] = {}
    for api in json.loads(path.read_text(encoding="utf-8")):
        props: dict[str, Any] = {}
        required: list[str] = []
        for pname, p in (api.get("query_parameters") or {}).items():
            prop: dict[str, Any] = {"type": p.get("type") or "string"}
            if p.get("description"):
                prop["description"] = p["description"]
            if p.get("enum"):
                prop["enum"] = list(p["enum"])
            if p.get("default") is not None:
                prop["default"] = p["default"]
            props[pname] = prop
            if p.get("required"):
                required.append(pname)
        out[api["name"]] = {
            "name": api["name"],
            "description": api.get("description") or "",
            "parameters": {"type": "object", "properties": props, "required": required},
        }
    return out


def convert_references(
    sequence: CfbSequence,
    index: int,
    to_ref: Callable[[int, str], str],
    *,
    keep: Callable[[int], bool] | None = None,
) -> dict[str, Any]:
    """Call ``index``'s arguments with every ``"$varK.path$"`` replaced by
    ``to_ref(producer_call_index, canonical_path)``; a reference whose producer ``keep``
    rejects is replaced by the recorded value instead (the model copied it).

    ``canonical_path`` is written with ``.key`` and ``[i]`` steps and no leading dot
    (``"data[0].id"``); where the recorded data applies a key to a list, the first element is
    made explicit (``"$var1.coordinates.latitude$"`` on a list response becomes
    ``"[0].coordinates.latitude"``).  Use :func:`parse_path` to split it.
    """
    call = sequence.calls[index]

    def sub(value: Any) -> Any:
        if isinstance(value, str):
            ref = parse_reference(value)
            if ref is None:
                return value
            producer = next(i for r, i in call.references if r == ref)
            if keep is not None and not keep(producer):
                return copy.deepcopy(resolve_path(sequence.calls[producer].response, ref.path))
            canonical, _ = _canonical(sequence.calls[producer].response, ref.path)
            return to_ref(producer, format_path(canonical))
        if isinstance(value, list):
            return [sub(v) for v in value]
        if isinstance(value, Mapping):
            return {k: sub(v) for k, v in value.items()}
        return value

    out: dict[str, Any] = sub(call.arguments)
    return out


def _key(name: str, arguments: Mapping[str, Any]) -> str:
    cleaned = {k: v for k, v in arguments.items() if v is not None}
    return name + json.dumps(cleaned, sort_keys=True, default=repr)


def make_mock_tools(sequence: CfbSequence, *, strict: bool = True) -> dict[str, Callable[..., Any]]:
    """Tool name → function returning the recorded response of the matching call.

    A call is identified by its tool name and its arguments after reference resolution
    (:meth:`CfbSequence.resolved_arguments`; ``None`` arguments are ignored).  When the same
    tool is called more than once (e.g. one search per date), the arguments tell the calls
    apart; calls with identical name and arguments are answered in recorded order.  An
    unmatched call raises :class:`LookupError` when ``strict``; otherwise it gets the next
    unanswered recorded call of that tool, in order.

    Each function has keyword-only parameters (default ``None``) named after every argument
    the sequence passes to that tool, so it can be wrapped with ``Tool.from_function`` or
    ``Toolset.from_openai``; the returned value is a deep copy.
    """
    pending: dict[str, list[int]] = {}
    by_tool: dict[str, list[int]] = {}
    params: dict[str, list[str]] = {}
    for call in sequence.calls:
        pending.setdefault(_key(call.name, sequence.resolved_arguments(call.index)), []).append(
            call.index
        )
        by_tool.setdefault(call.name, []).append(call.index)
        names = params.setdefault(call.name, [])
        for arg in call.arguments:
            if not arg.isidentifier() or keyword.iskeyword(arg):
                raise ValueError(f"{call.name}: argument {arg!r} cannot be a Python parameter")
            if arg not in names:
                names.append(arg)
    answered: set[int] = set()

    def make(name: str) -> Callable[..., Any]:
        def mock(**kwargs: Any) -> Any:
            queue = pending.get(_key(name, kwargs), [])
            choice = next((i for i in queue if i not in answered), None)
            if choice is None:
                if strict:
                    raise LookupError(
                        f"sequence {sequence.index}: no recorded {name} call with arguments "
                        f"{kwargs!r}"
                    )
                choice = next((i for i in by_tool[name] if i not in answered), None)
                if choice is None:
                    raise LookupError(f"sequence {sequence.index}: every {name} call answered")
            answered.add(choice)
            return copy.deepcopy(sequence.calls[choice].response)

        mock.__name__ = name
        mock.__qualname__ = name
        mock.__doc__ = f"Recorded responses of {name} (ComplexFuncBench sequence {sequence.index})."
        mock.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, default=None)
                for p in params[name]
            ]
        )
        return mock

    return {name: make(name) for name in params}


def ideal_parallelism_summary(sequences: Sequence[CfbSequence]) -> dict[str, float]:
    """Mean calls, mean depth, mean of per-sequence calls÷depth, and their ratio of means."""
    if not sequences:
        raise ValueError("no sequences")
    n = len(sequences)
    calls = sum(len(s.calls) for s in sequences) / n
    depth = sum(s.depth for s in sequences) / n
    return {
        "sequences": float(n),
        "mean_calls": calls,
        "mean_depth": depth,
        "mean_ideal_parallelism": sum(s.ideal_parallelism for s in sequences) / n,
        "ratio_of_means": calls / depth,
        "with_independent_calls": float(sum(s.depth < len(s.calls) for s in sequences)),
    }
