"""BFCL single-turn categories (``simple_python``, ``multiple``, ``parallel``,
``parallel_multiple``) as tasks for a real model, scored by BFCL's own ``ast_checker``.

These categories ship no executable backend, so each function becomes a mock tool that
returns a small acknowledgement; what is scored is the calls the model made, exactly as BFCL
scores them.

Decisions:

* BFCL's schemas are in its own dialect (``"dict"``, ``"float"``, ``"tuple"``, ``"any"``, at
  any depth).  :func:`openai_parameters` rewrites them to JSON Schema the way BFCL's
  function-calling handlers do, so servers that compile schemas to grammars accept them.
* OpenAI-style tool names allow only letters, digits, ``_`` and ``-``, so ``spotify.play`` is
  offered as ``spotify_play``; calls are mapped back to BFCL's names before scoring.
* Mock tools have no side effects and are labelled pure (no reads, no writes), so the
  scheduler may run them side by side.
* ``await_future`` is the runtime's call, not the task's: it is never scored.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from asyncfc import AWAIT_TOOL_NAME, ToolCall, Toolset

from ._arguments import call_arguments
from ._bfcl_setup import _bfcl_import, _read_jsonl, ensure_model_config

__all__ = (
    "SingleTurnCategory",
    "SingleTurnEntry",
    "ast_score",
    "load_single_turn",
    "mock_toolset",
    "openai_parameters",
    "scored_calls",
    "tool_name",
)

SingleTurnCategory = Literal["simple_python", "multiple", "parallel", "parallel_multiple"]

_TYPES: Mapping[str, str] = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "int": "integer",
    "bool": "boolean",
    "list": "array",
    "str": "string",
}


@dataclass(frozen=True, kw_only=True)
class SingleTurnEntry:
    id: str
    category: str
    question: str
    """The user's text (all user messages of the single turn, joined by newlines)."""
    functions: tuple[Mapping[str, Any], ...]
    """BFCL's function docs, as shipped."""
    ground_truth: tuple[Mapping[str, Any], ...] = field(repr=False)


@functools.cache
def _load(category: str) -> tuple[SingleTurnEntry, ...]:
    questions = _read_jsonl(f"BFCL_v4_{category}.json")
    answers = {
        a["id"]: a["ground_truth"] for a in _read_jsonl(f"possible_answer/BFCL_v4_{category}.json")
    }
    return tuple(
        SingleTurnEntry(
            id=q["id"],
            category=category,
            question="\n".join(
                str(m.get("content", "")) for m in q["question"][0] if m.get("role") == "user"
            ),
            functions=tuple(q["function"]),
            ground_truth=tuple(answers[q["id"]]),
        )
        for q in questions
    )


def load_single_turn(
    category: SingleTurnCategory, *, limit: int | None = None
) -> list[SingleTurnEntry]:
    """The entries of ``category`` in file order (cached; treat them as read-only)."""
    entries = list(_load(category))
    return entries if limit is None else entries[:limit]


def openai_parameters(schema: Any) -> Any:
    """A deep copy of a BFCL schema with its type names rewritten to JSON Schema's."""
    if isinstance(schema, list):
        return [openai_parameters(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            if value == "any":
                continue  # no constraint
            out[key] = _TYPES.get(value, value)
        elif key in ("properties",) and isinstance(value, Mapping):
            out[key] = {k: openai_parameters(v) for k, v in value.items()}
        else:
            out[key] = openai_parameters(value)
    return out


def tool_name(name: str) -> str:
    """``spotify.play`` → ``spotify_play`` (see the module docstring)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _mock(name: str, parameters: Mapping[str, Any]) -> Callable[..., Any]:
    required = set(parameters.get("required", ()))
    params = [
        inspect.Parameter(
            p,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if p in required else None,
        )
        for p in parameters.get("properties", {})
        if p.isidentifier()
    ]

    def acknowledge(**kwargs: Any) -> dict[str, Any]:
        return {"status": "done", "function": name, "arguments": kwargs}

    acknowledge.__name__ = tool_name(name)
    acknowledge.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return acknowledge


def mock_toolset(entry: SingleTurnEntry) -> tuple[Toolset, dict[str, str]]:
    """Pure mock tools for ``entry``'s functions, and offered name → BFCL name."""
    schemas: list[dict[str, Any]] = []
    functions: dict[str, Callable[..., Any]] = {}
    names: dict[str, str] = {}
    for doc in entry.functions:
        offered = tool_name(str(doc["name"]))
        if offered in names:
            raise ValueError(f"{entry.id}: two functions map to the tool name {offered!r}")
        parameters = openai_parameters(doc.get("parameters") or {"type": "object"})
        names[offered] = str(doc["name"])
        schemas.append(
            {"name": offered, "description": doc.get("description", ""), "parameters": parameters}
        )
        functions[offered] = _mock(str(doc["name"]), parameters)
    labels: dict[str, dict[str, list[str]]] = {n: {"reads": [], "writes": []} for n in names}
    return Toolset.from_openai(schemas, functions, labels=labels), names


def scored_calls(calls: Sequence[ToolCall], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The model's calls in BFCL's answer format: ``[{bfcl_name: {param: value}}, ...]``.

    ``await_future`` is left out; a call whose arguments are not a JSON object is kept with
    empty arguments, so the checker counts it (and rejects it) instead of losing it.
    """
    out: list[dict[str, Any]] = []
    for call in calls:
        if call.name == AWAIT_TOOL_NAME:
            continue
        args = call_arguments(call)
        if args is None:
            args = {}
        out.append({names.get(call.name, call.name): args})
    return out


def ast_score(entry: SingleTurnEntry, calls: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """BFCL's ``ast_checker`` verdict (``{"valid": bool, "error": [...]}``) for ``calls``."""
    ensure_model_config()
    checker = _bfcl_import("bfcl_eval.eval_checker.ast_eval.ast_checker")
    language = _bfcl_import("bfcl_eval.constants.enums").Language.PYTHON
    if not calls:
        return {"valid": False, "error": ["the model made no call"], "error_type": "no_call"}
    verdict: dict[str, Any] = checker.ast_checker(
        list(entry.functions),
        [dict(c) for c in calls],
        list(entry.ground_truth),
        language,
        entry.category,
        "asyncfc-probe",
    )
    return verdict
