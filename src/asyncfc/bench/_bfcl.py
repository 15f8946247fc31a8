"""BFCL multi-turn data, executable backends, labels and scoring, without the agent loop.

Everything here runs in-process on the data files of the installed ``bfcl-eval`` package
(tested with 2026.3.23, installed with ``--no-deps`` plus ``mpmath``).  Only modules that need
no third-party dependency are imported: ``constants.executable_backend_config``, the backend
classes and ``multi_turn_eval.multi_turn_checker``.

Invariants:

* Every :class:`BfclEnvironment` owns fresh backend instances built from the entry's
  ``initial_config`` exactly as BFCL builds them, so no state leaks between runs.
* :func:`parse_call` never evaluates code: it accepts one call of a plain name whose arguments
  are Python literals.
* :func:`score` gives each call a unique model name, because BFCL caches backend instances in
  module globals keyed by model name and entry id.
* ``BFCL_PROJECT_ROOT``: some ``bfcl_eval`` modules create ``result/``, ``score/`` and
  ``.file_locks/`` under it when imported.  Before importing any ``bfcl_eval`` module we set it,
  only if it is unset, to ``$XDG_CACHE_HOME/asyncfc/bfcl`` (``~/.cache/asyncfc/bfcl``), or to a
  directory under the system temporary directory when the home cache is not writable.
"""

from __future__ import annotations

import ast
import copy
import datetime
import decimal
import functools
import importlib
import inspect
import itertools
import json
import math
import os
import random
import re
import sys
import tempfile
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from asyncfc._labels import Access
from asyncfc._tools import ToolContext, Toolset

__all__ = (
    "BACKEND_CLASSES",
    "BfclEntry",
    "BfclEnvironment",
    "Replay",
    "ReplayedCall",
    "bfcl_labels",
    "ensure_bfcl_project_root",
    "ensure_model_config",
    "format_call",
    "function_docs",
    "information_dependencies",
    "label_state_map",
    "load_multi_turn",
    "make_environment",
    "make_instances",
    "parse_call",
    "replay_ground_truth",
    "score",
    "snapshot",
    "to_jsonable",
    "validate_labels",
)

BACKEND_CLASSES: tuple[str, ...] = (
    "GorillaFileSystem",
    "MathAPI",
    "MessageAPI",
    "TwitterAPI",
    "TicketAPI",
    "TradingBot",
    "TravelAPI",
    "VehicleControlAPI",
)
"""The classes of the multi-turn categories (the memory and web-search ones are not offline)."""

Category = Literal["multi_turn_base", "multi_turn_long_context"]
_CATEGORIES = ("multi_turn_base", "multi_turn_long_context")


# --------------------------------------------------------------------------- environment


def ensure_bfcl_project_root() -> str:
    """Set ``BFCL_PROJECT_ROOT`` if unset (see the module docstring); return its value."""
    current = os.environ.get("BFCL_PROJECT_ROOT")
    if current:
        return current
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates = [
        Path(base) / "asyncfc" / "bfcl",
        Path(tempfile.gettempdir()) / f"asyncfc-bfcl-{os.getuid() if hasattr(os, 'getuid') else 0}",
    ]
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            os.environ["BFCL_PROJECT_ROOT"] = str(path)
            return str(path)
    path = Path(tempfile.mkdtemp(prefix="asyncfc-bfcl-"))
    os.environ["BFCL_PROJECT_ROOT"] = str(path)
    return str(path)


def _bfcl_import(module: str) -> Any:
    ensure_bfcl_project_root()
    return importlib.import_module(module)


def _data_dir() -> Any:
    return files("bfcl_eval") / "data"


def _checker_module() -> Any:
    """Import BFCL's multi-turn checker, installing the ``model_config`` stub only if needed.

    In bfcl-eval 2026.3.23 the multi-turn checker does not import ``model_config`` at all; if a
    later version does and the import fails, :func:`ensure_model_config` is applied and the
    import retried.
    """
    name = "bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker"
    try:
        return _bfcl_import(name)
    except ImportError:
        ensure_model_config()
        return _bfcl_import(name)


def ensure_model_config() -> None:
    """Make ``bfcl_eval.constants.model_config`` importable.

    The real module imports every provider handler, which the ``--no-deps`` install lacks.  The
    checkers only read ``MODEL_CONFIG_MAPPING[name].underscore_to_dot``; when the real module
    cannot be imported we register a stub that answers ``False`` for every model name.
    """
    name = "bfcl_eval.constants.model_config"
    if name in sys.modules:
        return
    try:
        _bfcl_import(name)
        return
    except Exception:  # any failure of the heavy import: fall back to the stub
        sys.modules.pop(name, None)

    class _Config:
        underscore_to_dot = False

    class _Mapping(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            return _Config()

    stub = types.ModuleType(name)
    stub.__dict__["MODEL_CONFIG_MAPPING"] = _Mapping()
    stub.__dict__["__asyncfc_stub__"] = True
    sys.modules[name] = stub


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class BfclEntry:
    """One multi-turn task with its ground truth."""

    id: str
    category: str
    turns: tuple[tuple[Mapping[str, Any], ...], ...]
    """Per turn, the messages the user adds (usually one ``{"role": "user", ...}``)."""
    initial_config: Mapping[str, Any]
    involved_classes: tuple[str, ...]
    excluded_functions: tuple[str, ...]
    ground_truth: tuple[tuple[str, ...], ...]
    """Per turn, the ground-truth calls as Python call strings."""
    raw: Mapping[str, Any] = field(repr=False)
    """The entry exactly as read, as BFCL's checker expects it."""

    @property
    def long_context(self) -> bool:
        """Whether backends load with ``long_context=True`` (as BFCL decides it)."""
        return "long_context" in self.category or "composite" in self.category

    def user_text(self, turn: int) -> str:
        """The user's text of one turn (all its user messages, joined by newlines)."""
        return "\n".join(
            str(m.get("content", "")) for m in self.turns[turn] if m.get("role") == "user"
        )


def _read_jsonl(relative: str) -> list[dict[str, Any]]:
    path = _data_dir().joinpath(*relative.split("/"))
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@functools.cache
def _load_category(category: str) -> tuple[BfclEntry, ...]:
    if category not in _CATEGORIES:
        raise ValueError(f"unsupported category {category!r}; use one of {', '.join(_CATEGORIES)}")
    questions = _read_jsonl(f"BFCL_v4_{category}.json")
    answers = {
        a["id"]: a["ground_truth"] for a in _read_jsonl(f"possible_answer/BFCL_v4_{category}.json")
    }
    out = []
    for q in questions:
        gt = answers[q["id"]]
        out.append(
            BfclEntry(
                id=q["id"],
                category=q["id"].rsplit("_", 1)[0],
                turns=tuple(tuple(turn) for turn in q["question"]),
                initial_config=q.get("initial_config", {}),
                involved_classes=tuple(q["involved_classes"]),
                excluded_functions=tuple(q.get("excluded_function", ())),
                ground_truth=tuple(tuple(turn) for turn in gt),
                raw=q,
            )
        )
    return tuple(out)


def load_multi_turn(
    category: Category = "multi_turn_base",
    *,
    limit: int | None = None,
    ids: Iterable[str] | None = None,
) -> list[BfclEntry]:
    """The entries of ``category`` in file order (cached per process; entries are shared,
    treat them as read-only).  ``ids`` selects entries by id, ``limit`` keeps the first ones."""
    entries: Iterable[BfclEntry] = _load_category(category)
    if ids is not None:
        wanted = set(ids)
        entries = [e for e in entries if e.id in wanted]
        missing = wanted - {e.id for e in entries}
        if missing:
            raise KeyError(f"no such {category} entries: {', '.join(sorted(missing))}")
    result = list(entries)
    return result if limit is None else result[:limit]


@functools.cache
def _class_docs(class_name: str) -> tuple[Mapping[str, Any], ...]:
    config = _bfcl_import("bfcl_eval.constants.executable_backend_config")
    filename = config.MULTI_TURN_FUNC_DOC_FILE_MAPPING[class_name]
    return tuple(_read_jsonl(f"multi_turn_func_doc/{filename}"))


def function_docs(entry: BfclEntry) -> list[dict[str, Any]]:
    """The function docs BFCL shows for ``entry``: its classes' docs minus excluded ones.

    Each doc is a fresh deep copy in BFCL's dialect (``"type": "dict"``)."""
    excluded = set(entry.excluded_functions)
    return [
        copy.deepcopy(dict(doc))
        for cls in entry.involved_classes
        for doc in _class_docs(cls)
        if doc["name"] not in excluded
    ]


# --------------------------------------------------------------------------- labels


@functools.cache
def _labels_file() -> Mapping[str, Any]:
    text = files("asyncfc.bench").joinpath("bfcl_labels.json").read_text(encoding="utf-8")
    data: Mapping[str, Any] = json.loads(text)
    return data


def bfcl_labels(class_name: str | None = None) -> dict[str, dict[str, list[str]]]:
    """Function name → ``{"reads": [...], "writes": [...]}`` from ``bfcl_labels.json``.

    With ``class_name``, only that class's functions; otherwise all 8 classes (function names
    are unique across them).  The labelling scheme is described in ``docs/bfcl-labels.md``.
    """
    classes: Mapping[str, Any] = _labels_file()["classes"]
    names = [class_name] if class_name is not None else list(classes)
    out: dict[str, dict[str, list[str]]] = {}
    for name in names:
        for fn, lab in classes[name]["functions"].items():
            if fn in out:
                raise ValueError(f"function {fn!r} is labelled by two classes")
            out[fn] = {"reads": list(lab["reads"]), "writes": list(lab["writes"])}
    return out


def label_state_map(class_name: str) -> dict[str, Any]:
    """Attribute → resource nodes of one class, as declared in ``bfcl_labels.json``."""
    return dict(_labels_file()["classes"][class_name]["state"])


def validate_labels(classes: Iterable[str] = BACKEND_CLASSES) -> None:
    """Check that the labels file covers exactly the documented functions of ``classes``
    and that every label parses; raise :class:`ValueError` listing every problem."""
    data = _labels_file()["classes"]
    problems: list[str] = []
    for cls in classes:
        documented = {d["name"] for d in _class_docs(cls)}
        if cls not in data:
            problems.append(f"{cls}: no labels at all")
            continue
        labelled = set(data[cls]["functions"])
        problems += [f"{cls}.{n}: not labelled" for n in sorted(documented - labelled)]
        problems += [
            f"{cls}.{n}: labelled but not documented" for n in sorted(labelled - documented)
        ]
        for fn, lab in data[cls]["functions"].items():
            if set(lab) != {"reads", "writes"}:
                problems.append(f"{cls}.{fn}: needs exactly 'reads' and 'writes'")
                continue
            try:
                Access.of(reads=lab["reads"], writes=lab["writes"])
            except (TypeError, ValueError) as exc:
                problems.append(f"{cls}.{fn}: {exc}")
    if problems:
        raise ValueError("bfcl_labels.json: " + "; ".join(problems))


# --------------------------------------------------------------------------- backends


def make_instances(entry: BfclEntry) -> dict[str, Any]:
    """Fresh backend instances for ``entry``, built the way BFCL's executor builds them."""
    config = _bfcl_import("bfcl_eval.constants.executable_backend_config")
    instances: dict[str, Any] = {}
    for cls_name in entry.involved_classes:
        module = _bfcl_import(config.CLASS_FILE_PATH_MAPPING[cls_name])
        instance = getattr(module, cls_name)()
        if cls_name not in config.STATELESS_CLASSES:
            scenario = copy.deepcopy(dict(entry.initial_config.get(cls_name, {})))
            instance._load_scenario(scenario, long_context=entry.long_context)
        instances[cls_name] = instance
    return instances


@dataclass(eq=False)
class BfclEnvironment:
    """Fresh backends for one entry and a :class:`Toolset` bound to their methods."""

    entry: BfclEntry
    instances: dict[str, Any]
    toolset: Toolset
    methods: dict[str, Callable[..., Any]]
    """Every documented, non-excluded function name → the bound backend method."""

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot of the backends' public state (see :func:`snapshot`)."""
        return snapshot(self.instances)

    def call(self, text: str) -> Any:
        """Parse and run one call string directly on the backends (no validation)."""
        name, kwargs = parse_call(text, functions=self.methods)
        return self.methods[name](**kwargs)


def _faithful(method: Callable[..., Any]) -> Callable[..., Any]:
    """A forwarder with ``method``'s parameter names and defaults but no annotations.

    BFCL runs calls without checking or coercing types (``close_ticket(ticket_id='t1')`` is
    valid data although the hint says ``int``), so the tool must not coerce either: its
    validator then only checks names and required arguments.
    """
    signature = inspect.signature(method)
    plain = signature.replace(
        parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
        return_annotation=signature.empty,
    )

    def forward(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    forward.__name__ = getattr(method, "__name__", "tool")
    forward.__qualname__ = getattr(method, "__qualname__", forward.__name__)
    forward.__doc__ = method.__doc__
    forward.__signature__ = plain  # type: ignore[attr-defined]
    return forward


def _bind_methods(entry: BfclEntry, instances: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    methods: dict[str, Callable[..., Any]] = {}
    for doc in function_docs(entry):
        name = doc["name"]
        for inst in instances.values():
            method = getattr(inst, name, None)
            if method is not None and callable(method):
                methods[name] = method
                break
        else:
            raise LookupError(f"{entry.id}: no backend method for documented function {name!r}")
    return methods


def make_environment(entry: BfclEntry, *, labelled: bool = True) -> BfclEnvironment:
    """Fresh instances for ``entry`` and a toolset over them.

    The tool schemas are BFCL's function docs (minus ``excluded_function``); each tool calls the
    bound method of its instance, with the arguments as given (no type coercion, as in BFCL).
    With ``labelled=True`` each tool carries the labels of ``bfcl_labels.json``; with ``False``
    the tools are unlabelled, so each call serializes against every other.
    """
    instances = make_instances(entry)
    methods = _bind_methods(entry, instances)
    labels = bfcl_labels() if labelled else None
    if labels is not None:
        missing = sorted(set(methods) - set(labels))
        if missing:
            raise LookupError(f"bfcl_labels.json lacks {', '.join(missing)}")
    toolset = Toolset.from_openai(
        function_docs(entry), {n: _faithful(m) for n, m in methods.items()}, labels=labels
    )
    return BfclEnvironment(entry=entry, instances=instances, toolset=toolset, methods=methods)


# --------------------------------------------------------------------------- snapshots


def to_jsonable(value: Any, *, _depth: int = 0) -> Any:
    """A JSON-able, comparable copy of a backend value.

    Dicts keep string keys and stringify others as ``"<type>:<repr>"``; sets become sorted lists;
    tuples become lists; BFCL's ``File``/``Directory`` become ``{"file": ...}`` /
    ``{"directory": ...}`` (parents omitted); ``random.Random`` becomes a digest of its state;
    ``Decimal``, mpmath numbers and other objects become their ``repr``.
    """
    if _depth > 200:
        raise ValueError("value nested too deeply to snapshot")
    d = _depth + 1
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {
            (k if isinstance(k, str) else f"{type(k).__name__}:{k!r}"): to_jsonable(v, _depth=d)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [to_jsonable(v, _depth=d) for v in value]
    if isinstance(value, set | frozenset):
        items = [to_jsonable(v, _depth=d) for v in value]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(value, random.Random):
        return {"random_state": hash(value.getstate())}
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    kind = type(value).__name__
    if kind == "File" and hasattr(value, "content"):
        return {"file": value.name, "content": value.content}
    if kind == "Directory" and hasattr(value, "contents"):
        return {"directory": value.name, "contents": to_jsonable(value.contents, _depth=d)}
    if isinstance(value, decimal.Decimal):
        return repr(value)
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict) and attrs and type(value).__module__ != "builtins":
        return {
            "object": kind,
            "attributes": {
                k: to_jsonable(v, _depth=d) for k, v in attrs.items() if not k.startswith("_")
            },
        }
    return repr(value)


def snapshot(instances: Mapping[str, Any]) -> dict[str, Any]:
    """Class name → JSON-able copy of the instance's public attributes.

    These are the attributes BFCL's state checker compares, so equal snapshots mean equal
    states for the checker (up to the conversions of :func:`to_jsonable`)."""
    return {
        cls: {k: to_jsonable(v) for k, v in sorted(vars(inst).items()) if not k.startswith("_")}
        for cls, inst in instances.items()
    }


# --------------------------------------------------------------------------- call strings


def parse_call(
    text: str, *, functions: Mapping[str, Callable[..., Any]] | None = None
) -> tuple[str, dict[str, Any]]:
    """Parse ``"mv(source='a', destination='b')"`` into ``("mv", {"source": "a", ...})``.

    Uses :mod:`ast` only: the callee must be a plain name and every argument a Python literal
    (strings, numbers, booleans, ``None``, and lists/tuples/dicts/sets of those, negative
    numbers included).  Positional arguments are mapped to parameter names through the
    signature of ``functions[name]``; without it they raise :class:`ValueError`.
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not a call: {text!r} ({exc.msg})") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"expected one call of a plain function name, got {text!r}")
    name = node.func.id
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise ValueError(f"**kwargs are not supported: {text!r}")
            if kw.arg in kwargs:
                raise ValueError(f"argument {kw.arg!r} given twice: {text!r}")
            kwargs[kw.arg] = ast.literal_eval(kw.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(("**kwargs", "argument")):
            raise
        raise ValueError(f"arguments of {text!r} are not all literals") from None
    if args:
        fn = (functions or {}).get(name)
        if fn is None:
            raise ValueError(f"{text!r} has positional arguments; pass functions= to name them")
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if len(args) > len(params):
            raise ValueError(f"{text!r}: {name} takes at most {len(params)} positional arguments")
        for param, value in zip(params, args, strict=False):
            if param.name in kwargs:
                raise ValueError(f"{text!r}: argument {param.name!r} given twice")
            kwargs[param.name] = value
        kwargs = {p.name: kwargs[p.name] for p in params if p.name in kwargs} | {
            k: v for k, v in kwargs.items() if k not in {p.name for p in params}
        }
    return name, kwargs


def format_call(name: str, arguments: Mapping[str, Any]) -> str:
    """The BFCL call string for a call: ``name(k=repr(v), ...)`` in argument order."""
    if not name.isidentifier():
        raise ValueError(f"not a Python identifier: {name!r}")
    for key in arguments:
        if not key.isidentifier():
            raise ValueError(f"argument name {key!r} of {name} is not a Python identifier")
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"


# --------------------------------------------------------------------------- scoring

_score_counter = itertools.count()


def score(
    entry: BfclEntry,
    model_calls: Sequence[Sequence[Sequence[str]]],
    *,
    model_name: str | None = None,
) -> dict[str, Any]:
    """Run BFCL's own ``multi_turn_checker`` and return its verdict dict.

    ``model_calls`` holds, per turn, the steps (model requests) of that turn, each a list of the
    call strings the model executed in that step (see :func:`format_call`).  The verdict has
    ``"valid": bool`` and, when invalid, ``"error_type"``/``"error_message"``/``"details"``.
    A fresh unique model name is used per call unless ``model_name`` is given.
    """
    if len(model_calls) != len(entry.ground_truth):
        raise ValueError(
            f"{entry.id}: {len(model_calls)} turns of model calls for "
            f"{len(entry.ground_truth)} ground-truth turns"
        )
    checker = _checker_module()
    name = model_name or f"asyncfc_score_{os.getpid()}_{next(_score_counter)}"
    decoded = [[list(step) for step in turn] for turn in model_calls]
    gt = [list(turn) for turn in entry.ground_truth]
    try:
        verdict: dict[str, Any] = checker.multi_turn_checker(
            decoded, gt, dict(entry.raw), entry.category, name
        )
    finally:
        _forget_cached_instances(name)
    return verdict


def _forget_cached_instances(model_name: str) -> None:
    """Drop the instances BFCL's executor cached in its module globals for ``model_name``."""
    utils = sys.modules.get("bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils")
    if utils is None:
        return
    prefix = re.sub(r"[-./:]", "_", model_name)
    for key in [k for k in vars(utils) if k.startswith(prefix) and k.endswith("_instance")]:
        del vars(utils)[key]


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
