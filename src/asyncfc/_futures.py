"""Symbolic futures: their ids, how arguments reference them, and how references resolve.

The syntax, which the prompt addendum teaches the model:

* A future id is ``future_<n>``, numbered from 1 in issue order within one agent run.
* A *reference* is a future id optionally followed by a field path of ``.name`` and ``[i]``
  steps: ``future_2``, ``future_2.skyId``, ``future_2.items[0].id``.
* A string argument value that is exactly one reference (at any depth inside lists and
  objects) is replaced by the referenced value itself, with its type (a number stays a
  number, an object stays an object).
* A reference *inside a longer string* to an already issued future is interpolated: it is
  replaced by the value's text, the same text the model would read as the call's result
  (``"total: future_3"`` → ``"total: 42"``).  Text that merely looks like an id of a future
  never issued is left alone inside longer strings, because it may be ordinary text.
* A whole-value reference to a future that was never issued, or not issued *yet* (a later
  id), is an error; so is a path that does not exist in the value.  The call then gets a
  precise error result and never runs with a placeholder.

Only *arguments* are scanned.  Tool *results* are never scanned, so a tool's output cannot
inject references.  Paths are walked step by step over mappings and sequences (after
converting models and dataclasses to plain JSON data); nothing is ever evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pydantic_core

__all__ = (
    "FUTURE_ID_PATTERN",
    "REFERENCE_PATTERN",
    "FutureReferenceError",
    "find_references",
    "format_future_id",
    "parse_future_number",
    "resolve_references",
    "select_path",
)

_STEP = r"(?:\.[A-Za-z_][A-Za-z0-9_\-]*|\[\d+\])"
_REF = re.compile(rf"future_(\d+)({_STEP}*)")
_WHOLE = re.compile(rf"\s*future_(\d+)({_STEP}*)\s*")
_STEPS = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]")

REFERENCE_PATTERN = r"^future_[0-9]{1,9}[A-Za-z0-9_.\[\]-]{0,120}$"
"""JSON-schema ``pattern`` of a reference, used in the widened tool schemas.

Deliberately looser than the parser (one character class, no groups): servers that compile
schemas into decoding grammars support only a subset of regular expressions, and llama.cpp's
converter rejects ``(?:`` and mis-escapes an escaped dot, falling back to unconstrained output.  A
string that matches the pattern but is not a valid path (``future_2]``) is still rejected,
precisely, when the call is resolved.  Lengths are bounded (at most 9 digits, a path of at most
120 characters) because such a grammar is the only thing that ends an argument on some servers
(see :mod:`asyncfc.models._bounded`); no real reference comes near either bound."""

FUTURE_ID_PATTERN = r"^future_[0-9]{1,9}$"
"""JSON-schema ``pattern`` of a bare future id (``await_future``'s items), bounded likewise."""


class FutureReferenceError(Exception):
    """A reference cannot be resolved; the message is written for the model."""


def format_future_id(number: int) -> str:
    return f"future_{number}"


def parse_future_number(future_id: str) -> int | None:
    """The number of a bare id like ``future_3`` (``None`` if it is not one)."""
    m = re.fullmatch(r"\s*future_(\d+)\s*", future_id)
    return int(m.group(1)) if m else None


def _walk_strings(value: Any, visit: Callable[[str, bool], None]) -> None:
    if isinstance(value, str):
        visit(value, True)
    elif isinstance(value, Mapping):
        for v in value.values():
            _walk_strings(v, visit)
    elif isinstance(value, list | tuple):
        for v in value:
            _walk_strings(v, visit)


def find_references(arguments: Any, issued: int) -> tuple[set[int], list[str]]:
    """Future numbers the arguments depend on, and problems with whole-value references.

    ``issued`` is how many futures exist; a whole-value reference beyond it is a problem.
    """
    deps: set[int] = set()
    problems: list[str] = []

    def visit(text: str, _: bool) -> None:
        whole = _WHOLE.fullmatch(text)
        if whole:
            n = int(whole.group(1))
            if 1 <= n <= issued:
                deps.add(n)
            else:
                problems.append(
                    f"future_{n} does not exist (futures issued so far: {_issued_range(issued)})"
                )
            return
        for m in _REF.finditer(text):
            n = int(m.group(1))
            if 1 <= n <= issued:
                deps.add(n)

    _walk_strings(arguments, visit)
    return deps, problems


def _issued_range(issued: int) -> str:
    if issued == 0:
        return "none"
    if issued == 1:
        return "future_1"
    return f"future_1 … future_{issued}"


def select_path(value: Any, path: str, *, ref: str) -> Any:
    """Follow ``.name`` / ``[i]`` steps into ``value``; raise :class:`FutureReferenceError`."""
    if not path:
        return value
    current: Any = pydantic_core.to_jsonable_python(value, fallback=str)
    walked = ref.split(".")[0].split("[")[0]
    for m in _STEPS.finditer(path):
        key, index = m.group(1), m.group(2)
        if key is not None:
            if not isinstance(current, Mapping):
                raise FutureReferenceError(
                    f"{walked} is {_kind(current)}, so it has no field '{key}' (in {ref})"
                )
            if key not in current:
                fields = ", ".join(map(str, list(current)[:20])) or "none"
                raise FutureReferenceError(
                    f"{walked} has no field '{key}' (in {ref}); fields: {fields}"
                )
            current = current[key]
            walked += f".{key}"
        else:
            i = int(index)
            if not isinstance(current, list):
                raise FutureReferenceError(f"{walked} is {_kind(current)}, not a list (in {ref})")
            if i >= len(current):
                raise FutureReferenceError(
                    f"{walked} has {len(current)} items, so [{i}] does not exist (in {ref})"
                )
            current = current[i]
            walked += f"[{i}]"
    return current


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def resolve_references(
    arguments: Any,
    lookup: Callable[[int], Any],
    render: Callable[[Any], str],
) -> Any:
    """A copy of ``arguments`` with every reference replaced (see the module docstring).

    ``lookup(n)`` returns the resolved value of ``future_n`` (only called for numbers that
    :func:`find_references` accepted); ``render`` turns a value into interpolation text.
    """
    if isinstance(arguments, str):
        whole = _WHOLE.fullmatch(arguments)
        if whole:
            return select_path(lookup(int(whole.group(1))), whole.group(2), ref=arguments.strip())

        def sub(m: re.Match[str]) -> str:
            value = select_path(lookup(int(m.group(1))), m.group(2), ref=m.group(0))
            return render(value)

        return _REF.sub(
            lambda m: sub(m) if _known(lookup, int(m.group(1))) else m.group(0), arguments
        )
    if isinstance(arguments, Mapping):
        return {k: resolve_references(v, lookup, render) for k, v in arguments.items()}
    if isinstance(arguments, list | tuple):
        return [resolve_references(v, lookup, render) for v in arguments]
    return arguments


def _known(lookup: Callable[[int], Any], n: int) -> bool:
    try:
        lookup(n)
    except KeyError:
        return False
    return True
