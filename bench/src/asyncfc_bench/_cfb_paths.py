"""ComplexFuncBench's ``$varK.path$`` references and the paths inside them.

A reference path is resolved like NESTFUL's data implies: keys step into objects and ``[i]``
into lists; a key applied to a *list* steps into its first element.  :func:`_canonical` makes
that ``[0]`` explicit, so the paths handed to the runtime need no such rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = (
    "PathSegment",
    "Reference",
    "format_path",
    "parse_path",
    "parse_reference",
    "resolve_path",
)

_REF = re.compile(r"\$(var\d+)((?:\.[^.\[\]$]+|\[\d+\])*)\$")
_SEGMENT = re.compile(r"\.([^.\[\]$]+)|\[(\d+)\]")

PathSegment = str | int
"""A key (str) or a list index (int) of a reference path."""


@dataclass(frozen=True)
class Reference:
    """A parsed ``$varK.path$`` reference."""

    label: str
    """The referenced call's label, e.g. ``"var2"``."""
    path: tuple[PathSegment, ...]
    """Keys (str) and list indices (int) as written, e.g. ``("data", 0, "id")``."""


def parse_reference(text: str) -> Reference | None:
    """Parse a whole-string reference such as ``"$var3.data[0].id$"``; ``None`` if ``text`` is
    not one (references embedded in longer strings do not occur in the data)."""
    m = _REF.fullmatch(text)
    if m is None:
        return None
    return Reference(label=m.group(1), path=parse_path(m.group(2)))


def parse_path(path: str) -> tuple[PathSegment, ...]:
    """``".data[0].id"`` or ``"data[0].id"`` → ``("data", 0, "id")``."""
    text = path if path.startswith((".", "[")) or not path else "." + path
    segments: list[PathSegment] = []
    pos = 0
    for m in _SEGMENT.finditer(text):
        if m.start() != pos:
            raise ValueError(f"malformed path {path!r}")
        segments.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(text):
        raise ValueError(f"malformed path {path!r}")
    return tuple(segments)


def format_path(path: Sequence[PathSegment]) -> str:
    """``("data", 0, "id")`` → ``"data[0].id"``; ``(0, "id")`` → ``"[0].id"``."""
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def _canonical(value: Any, path: Sequence[PathSegment]) -> tuple[tuple[PathSegment, ...], Any]:
    """Make list steps explicit (a key on a list means its first element); also resolve."""
    out: list[PathSegment] = []
    cur = value
    for seg in path:
        if isinstance(seg, str):
            while isinstance(cur, list):
                if not cur:
                    raise LookupError(f"empty list before key {seg!r}")
                out.append(0)
                cur = cur[0]
            if not isinstance(cur, Mapping) or seg not in cur:
                raise LookupError(f"no key {seg!r}")
            out.append(seg)
            cur = cur[seg]
        else:
            if not isinstance(cur, list) or not -len(cur) <= seg < len(cur):
                raise LookupError(f"no index [{seg}]")
            out.append(seg)
            cur = cur[seg]
    return tuple(out), cur


def resolve_path(value: Any, path: Sequence[PathSegment] | str) -> Any:
    """The field of ``value`` at ``path`` (keys on lists step into the first element).

    Raises :class:`LookupError` when the path does not exist."""
    segments = parse_path(path) if isinstance(path, str) else tuple(path)
    return _canonical(value, segments)[1]
