"""The read/write labels of BFCL's backend functions (``bfcl_labels.json``).

The labelling scheme is described in ``docs/bfcl-labels.md``; :func:`validate_labels` checks
the file covers exactly the documented functions.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from importlib.resources import files
from typing import Any

from asyncfc import Access

from ._bfcl_data import _class_docs
from ._bfcl_setup import (
    BACKEND_CLASSES,
)

__all__ = (
    "bfcl_labels",
    "label_state_map",
    "validate_labels",
)


# --------------------------------------------------------------------------- labels


@functools.cache
def _labels_file() -> Mapping[str, Any]:
    text = files("asyncfc_bench").joinpath("bfcl_labels.json").read_text(encoding="utf-8")
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
