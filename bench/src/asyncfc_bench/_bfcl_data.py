"""BFCL multi-turn tasks: entries with their ground truth, and the function docs shown.

Entries are loaded once per process per category and shared; treat them as read-only.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._bfcl_setup import (
    _bfcl_import,
    _read_jsonl,
)

__all__ = (
    "BfclEntry",
    "function_docs",
    "load_multi_turn",
)


Category = Literal["multi_turn_base", "multi_turn_long_context"]
_CATEGORIES = ("multi_turn_base", "multi_turn_long_context")


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
