"""Symbolic futures: their ids, how arguments reference them, and how references resolve.

The syntax, which the prompt addendum teaches the model:

* A future id is ``future_<n>``, numbered from 1 in issue order within one agent run.
* A *reference* is a future id optionally followed by a field path of ``.name`` and ``[i]``
  steps: ``future_2``, ``future_2.skyId``, ``future_2.items[0].id``.  An index may be
  negative and counts from the end, as in Python and JSONPath: ``future_2.items[-1]`` is the
  last item.
* A string argument value that is exactly one reference (at any depth inside lists and
  objects; surrounding whitespace is ignored) is replaced by the referenced value itself,
  with its type (a number stays a number, an object stays an object).
* A string argument value that is one token (no whitespace) *starting* like a reference
  (``future_<digits>`` followed by the end or by a character other than a letter, digit,
  ``_`` or ``-``) but not a valid reference as a whole (``future_1]``,
  ``future_1.items[0]x``, ``future_1['k']``) is an error naming the first character that
  does not fit.  It is never interpolated: the model meant a reference and would otherwise
  get a silently mangled argument.
* A reference *inside a longer string* to an already issued future is interpolated: it is
  replaced by the value's text, the same text the model would read as the call's result
  (``"total: future_3"`` → ``"total: 42"``).  Inside text, a reference must stand alone: it
  is not preceded by a letter, digit, ``_``, ``.``, ``-``, ``[`` or ``]``, and not followed by
  a character that could continue it (a letter, digit, ``_``, ``-``, ``[``, ``]``, or a ``.``
  followed by a letter).  So ``"see future_1."`` interpolates ``future_1`` and keeps the full
  stop, while ``"xfuture_1"`` or ``"future_1.items[0]x"`` inside a sentence stay text.  Text
  that merely looks like an id of a future never issued is left alone inside longer strings,
  because it may be ordinary text.
* A whole-value reference to a future that was never issued, or not issued *yet* (a later
  id), is an error; so is a path that does not exist in the value.  The call then gets a
  precise error result and never runs with a placeholder.

Only *arguments* are scanned.  Tool *results* are never scanned, so a tool's output cannot
inject references.

Paths are walked step by step over the *original* value: mappings by key, lists and tuples by
index.  A node of any other kind (a pydantic model, a dataclass, a set) is converted to JSON
data on its own (``pydantic_core.to_jsonable_python``), as the model saw it, before the step
is taken; attributes are never read and nothing is ever evaluated.  Walking the original value
means that a value the JSON encoder refuses as a whole (a cyclic dict, a value nested past the
encoder's depth limit) still serves any path that does not pass through the refused part.  The
selected part is returned as JSON data when it converts, and as the original object when it
does not (a whole-value reference without a path always returns the original object).

Nothing here recurses over argument data: arguments are walked with an explicit stack, so
nesting depth is bounded only by memory, and a container reached twice (a shared or cyclic
structure built in Python; decoded JSON never has one) is visited once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pydantic_core

__all__ = (
    "FUTURE_ID_PATTERN",
    "REFERENCE_PATTERN",
    "FutureReferenceError",
    "find_references",
    "format_future_id",
    "map_references",
    "parse_future_number",
    "resolve_references",
    "select_path",
)

_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"
_STEP = rf"(?:\.{_NAME}|\[-?\d+\])"
_STEPS = re.compile(rf"\.({_NAME})|\[(-?\d+)\]")
_VALID = re.compile(rf"future_(\d+)({_STEP}*)")
"""A reference; ``fullmatch`` for a whole value, ``match`` for the longest valid prefix."""
_STARTS = re.compile(r"future_\d+(?![A-Za-z0-9_\-])")
"""How a token that is meant as a reference begins: the id, then the end or a character that
cannot be part of a name (so ``future_2024_report.txt`` is ordinary text)."""
_IN_TEXT = re.compile(
    rf"(?<![A-Za-z0-9_.\-\[\]])future_(\d+)({_STEP}*)(?![A-Za-z0-9_\-\[\]]|\.[A-Za-z_])"
)
"""A reference standing alone inside longer text (see the module docstring)."""

REFERENCE_PATTERN = r"^future_[0-9]{1,9}[A-Za-z0-9_.\[\]-]{0,120}$"
"""JSON-schema ``pattern`` of a reference, used in the widened tool schemas.

Deliberately looser than the parser (one character class, no groups): servers that compile
schemas into decoding grammars support only a subset of regular expressions, and llama.cpp's
converter rejects ``(?:`` and mis-escapes an escaped dot, falling back to unconstrained output.  A
string that matches the pattern but is not a valid path (``future_2]``) is still rejected,
precisely, when the call is submitted.  Lengths are bounded (at most 9 digits, a path of at most
120 characters) because such a grammar is the only thing that ends an argument on some servers
(see :mod:`asyncfc.models._bounded`); no real reference comes near either bound."""

FUTURE_ID_PATTERN = r"^future_[0-9]{1,9}$"
"""JSON-schema ``pattern`` of a bare future id (``await_future``'s items), bounded likewise."""


class FutureReferenceError(Exception):
    """A reference cannot be resolved; the message is written for the model."""


def format_future_id(number: int) -> str:
    """``future_<number>``."""
    return f"future_{number}"


def parse_future_number(future_id: str) -> int | None:
    """The number of a bare id like ``future_3`` (``None`` if it is not one)."""
    m = re.fullmatch(r"\s*future_(\d+)\s*", future_id)
    return int(m.group(1)) if m else None


def _strings(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (mappings' values, lists, tuples), without recursion."""
    if isinstance(value, Mapping) and all(
        isinstance(v, str | int | float | bool) or v is None for v in value.values()
    ):  # the common flat case, without the stack
        yield from (v for v in value.values() if isinstance(v, str))
        return
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping | list | tuple):
            if id(item) in seen:
                continue
            seen.add(id(item))
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend(reversed(list(children)))


def _malformed(text: str) -> str | None:
    """Why ``text``, a whole argument value meant as a reference, is not a valid one (``None``
    when it is valid or not meant as a reference: empty, several words, or not starting with
    ``future_<digit>``)."""
    token = text.strip()
    if not _STARTS.match(token) or any(c.isspace() for c in token):
        return None
    prefix = _VALID.match(token)
    assert prefix is not None  # _STARTS matched
    if prefix.end() == len(token):
        return None
    good, bad = token[: prefix.end()], token[prefix.end()]
    return (
        f"'{token}' is not a valid future reference: unexpected {bad!r} after '{good}' "
        "(a reference is future_<n> followed by .field and [index] steps, "
        "e.g. future_3.items[0].id)"
    )


def find_references(arguments: Any, issued: int) -> tuple[set[int], list[str]]:
    """Future numbers the arguments depend on, and problems with whole-value references.

    ``issued`` is how many futures exist; a whole-value reference beyond it is a problem, and
    so is a whole value that starts like a reference but is not a valid one.
    """
    deps: set[int] = set()
    problems: list[str] = []
    for text in _strings(arguments):
        if "future_" not in text:  # the common case: no reference of any kind
            continue
        whole = _VALID.fullmatch(text.strip())
        if whole:
            n = int(whole.group(1))
            if 1 <= n <= issued:
                deps.add(n)
            else:
                problems.append(
                    f"future_{n} does not exist (futures issued so far: {_issued_range(issued)})"
                )
            continue
        problem = _malformed(text)
        if problem is not None:
            problems.append(problem)
            continue
        for m in _IN_TEXT.finditer(text):
            n = int(m.group(1))
            if 1 <= n <= issued:
                deps.add(n)
    return deps, problems


def _issued_range(issued: int) -> str:
    if issued == 0:
        return "none"
    if issued == 1:
        return "future_1"
    return f"future_1 … future_{issued}"


def _plain(node: Any, walked: str, ref: str) -> Any:
    """``node`` as something a step can be taken in: mappings, lists and tuples as they are,
    anything else converted to JSON data on its own."""
    if isinstance(node, Mapping | list | tuple | str | int | float | bool) or node is None:
        return node
    try:
        return pydantic_core.to_jsonable_python(node, fallback=str)
    except Exception as exc:  # a cycle, excessive depth, a raising __str__ ...
        raise FutureReferenceError(
            f"{walked} cannot be read as JSON data ({type(exc).__name__}: "
            f"{_safe_text(exc)}), so {ref} cannot be selected"
        ) from None


def _safe_text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "(no message)"


def select_path(value: Any, path: str, *, ref: str) -> Any:
    """Follow ``.name`` / ``[i]`` steps into ``value``; raise :class:`FutureReferenceError`.

    The value is walked as it is (see the module docstring); the selected part is returned as
    JSON data when it converts, else as it is.
    """
    if not path:
        return value
    current: Any = value
    walked = ref.split(".")[0].split("[")[0]
    for m in _STEPS.finditer(path):
        key, index = m.group(1), m.group(2)
        current = _plain(current, walked, ref)
        if key is not None:
            if not isinstance(current, Mapping):
                raise FutureReferenceError(
                    f"{walked} is {_kind(current)}, so it has no field '{key}' (in {ref})"
                )
            if key not in current:
                fields = ", ".join(str(k) for _, k in zip(range(20), current, strict=False))
                raise FutureReferenceError(
                    f"{walked} has no field '{key}' (in {ref}); fields: {fields or 'none'}"
                )
            current = current[key]
            walked += f".{key}"
        else:
            i = int(index)
            if not isinstance(current, list | tuple):
                raise FutureReferenceError(f"{walked} is {_kind(current)}, not a list (in {ref})")
            if not -len(current) <= i < len(current):
                raise FutureReferenceError(
                    f"{walked} has {len(current)} items, so [{i}] does not exist (in {ref})"
                )
            current = current[i]
            walked += f"[{i}]"
    try:
        return pydantic_core.to_jsonable_python(current, fallback=str)
    except Exception:  # e.g. a cyclic part: hand it over as it is, like a whole reference
        return current


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
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
    Raises :class:`FutureReferenceError` for a reference that cannot be resolved.  Containers
    are copied with an explicit stack (no recursion); a container reached twice is copied
    once, so shared and cyclic structures keep their shape.
    """

    def text(value: str) -> Any:
        if "future_" not in value:
            return value
        whole = _VALID.fullmatch(value.strip())
        if whole:
            return select_path(lookup(int(whole.group(1))), whole.group(2), ref=value.strip())
        problem = _malformed(value)
        if problem is not None:
            raise FutureReferenceError(problem)

        def sub(m: re.Match[str]) -> str:
            n = int(m.group(1))
            if not _known(lookup, n):
                return m.group(0)
            return render(select_path(lookup(n), m.group(2), ref=m.group(0)))

        return _IN_TEXT.sub(sub, value)

    return _copy_strings(arguments, text)


def map_references(arguments: Any, replace: Callable[[int, str, str], str]) -> Any:
    """A copy of ``arguments`` in which every reference in a string (a whole value, or one
    standing alone in longer text) is replaced by ``replace(number, path, reference)``.

    For backends that rewrite references instead of resolving them (a remote step that selects
    a field, see :mod:`asyncfc.ray`).  Walks containers with :func:`resolve_references`'s own
    explicit stack, so no depth of nesting can overflow it."""

    def in_text(m: re.Match[str]) -> str:
        return replace(int(m.group(1)), m.group(2), m.group(0))

    def rewrite(text: str) -> str:
        whole = _VALID.fullmatch(text.strip())
        if whole:
            return replace(int(whole.group(1)), whole.group(2), text.strip())
        return _IN_TEXT.sub(in_text, text)

    return _copy_strings(arguments, rewrite)


def _copy_strings(arguments: Any, text: Callable[[str], Any]) -> Any:
    """A copy of ``arguments`` with ``text`` applied to every string, containers copied with
    an explicit stack (a container reached twice is copied once)."""
    if isinstance(arguments, str):
        return text(arguments)
    if not isinstance(arguments, Mapping | list | tuple):
        return arguments
    copies: dict[int, Any] = {id(arguments): {} if isinstance(arguments, Mapping) else []}
    stack: list[Any] = [arguments]
    while stack:
        source = stack.pop()
        target = copies[id(source)]
        items = source.items() if isinstance(source, Mapping) else enumerate(source)
        for key, child in items:
            if isinstance(child, str):
                new: Any = text(child)
            elif isinstance(child, Mapping | list | tuple):
                if id(child) not in copies:
                    copies[id(child)] = {} if isinstance(child, Mapping) else []
                    stack.append(child)
                new = copies[id(child)]
            else:
                new = child
            if isinstance(target, dict):
                target[key] = new
            else:
                target.append(new)
    return copies[id(arguments)]


def _known(lookup: Callable[[int], Any], n: int) -> bool:
    try:
        lookup(n)
    except KeyError:
        return False
    return True
