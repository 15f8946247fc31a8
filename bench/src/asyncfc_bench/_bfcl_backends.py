"""BFCL's executable backends as asyncfc tools, and JSON snapshots of their state.

Invariants:

* Every :class:`BfclEnvironment` owns fresh backend instances built from the entry's
  ``initial_config`` exactly as BFCL builds them, so no state leaks between runs.
* Tools are sync, as the backend methods are: the library runs them in worker threads.
* :func:`snapshot` covers exactly the public attributes BFCL's state checker compares.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import inspect
import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from asyncfc import Toolset

from ._bfcl_calls import parse_call
from ._bfcl_data import BfclEntry, function_docs
from ._bfcl_labels import bfcl_labels
from ._bfcl_setup import (
    _bfcl_import,
)

__all__ = (
    "BfclEnvironment",
    "make_environment",
    "make_instances",
    "snapshot",
    "to_jsonable",
)


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
