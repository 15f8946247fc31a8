"""Hierarchical read/write resource labels, the input of the scheduler's conflict analysis.

A label names one node of a resource tree.  ``"fs:/home/docs"`` names the node
``("fs", "home", "docs")``; ``"fs"`` and ``"fs:/"`` both name ``("fs",)``; ``"*"`` names
the root ``()``, the ancestor of every node.

Invariants:

* Two accesses *conflict* when one of them writes a node that lies on the same root-to-leaf
  path as a node the other reads or writes (an ancestor, a descendant or the node itself).
  Two reads never conflict.
* A tool that declares no labels at all is :data:`UNLABELLED`: it writes the root and so
  conflicts with every other call.  Forgetting to label a tool can cost speed, never
  correctness.  This is the paper's conservative default ("missing annotations become root
  read/write sets and serialize tool execution").
* A tool that declares empty label sets (``reads=(), writes=()``) is pure: it conflicts with
  nothing.  Being pure is a claim the developer makes explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ("ROOT", "UNLABELLED", "Access", "ResourcePath", "StateTree", "parse_label")

T = TypeVar("T")

ResourcePath = tuple[str, ...]
"""A node of the resource tree, from the root down; ``()`` is the root."""

ROOT: ResourcePath = ()

_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]+")


def parse_label(label: str) -> ResourcePath:
    """Parse ``"namespace:/a/b"`` (or ``"namespace"``, or ``"*"``) into a resource path.

    Raises :class:`ValueError` with the offending label for anything else.
    """
    if not isinstance(label, str):
        raise TypeError(f"resource label must be a str, got {type(label).__name__}: {label!r}")
    text = label.strip()
    if text in ("*", "/"):
        return ROOT
    namespace, sep, path = text.partition(":")
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f"invalid resource label {label!r}: expected 'namespace' or 'namespace:/path', "
            "with a namespace of letters, digits, '_', '.' or '-' (or '*' for the root)"
        )
    if not sep:
        return (namespace,)
    parts = path.split("/")
    # A leading slash and a single trailing slash are allowed; empty inner segments are not.
    if parts and parts[0] == "":
        parts = parts[1:]
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if any(p == "" or p != p.strip() for p in parts):
        raise ValueError(f"invalid resource label {label!r}: empty or padded path segment")
    return (namespace, *parts)


def _format(path: ResourcePath) -> str:
    if not path:
        return "*"
    if len(path) == 1:
        return path[0]
    return f"{path[0]}:/{'/'.join(path[1:])}"


def _on_one_path(a: ResourcePath, b: ResourcePath) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


@dataclass(frozen=True, kw_only=True)
class Access:
    """The resources one tool call reads and writes."""

    reads: frozenset[ResourcePath] = frozenset()
    writes: frozenset[ResourcePath] = frozenset()

    @classmethod
    def of(
        cls, *, reads: Iterable[str] | None = None, writes: Iterable[str] | None = None
    ) -> Access:
        """Build from label strings.  With neither argument given the result is
        :data:`UNLABELLED` (writes the root); give ``reads=()`` and ``writes=()`` for a pure tool.
        """
        if reads is None and writes is None:
            return UNLABELLED
        for given in (reads, writes):
            if isinstance(given, str):
                raise TypeError(f"labels must be a collection of strings, not the string {given!r}")
        return cls(
            reads=frozenset(parse_label(x) for x in reads or ()),
            writes=frozenset(parse_label(x) for x in writes or ()),
        )

    @property
    def read_only(self) -> bool:
        """True when the call writes nothing (pure functions and getters)."""
        return not self.writes

    def conflicts_with(self, other: Access) -> bool:
        """Whether the two calls must not overlap (see the module docstring)."""
        for w in self.writes:
            for node in (*other.reads, *other.writes):
                if _on_one_path(w, node):
                    return True
        for w in other.writes:
            for node in self.reads:
                if _on_one_path(w, node):
                    return True
        return False

    def labels(self) -> dict[str, list[str]]:
        """The labels as sorted strings, for display and JSON."""
        return {
            "reads": sorted(_format(p) for p in self.reads),
            "writes": sorted(_format(p) for p in self.writes),
        }


UNLABELLED = Access(writes=frozenset({ROOT}))
"""The access of a tool that declared no labels: it writes the root."""


@dataclass
class _Node(Generic[T]):
    writer: T | None = None
    readers: list[T] = field(default_factory=list)


class StateTree(Generic[T]):
    """The paper's State Tree: for each resource node, the last call that wrote it and the
    calls that read it since.

    :meth:`claim` records a new call's access, in program order, and returns the earlier calls
    it must wait for: the last writer of every node on one path with a node it touches, and,
    for a writer, the readers recorded on those nodes.  Exactly the conflicts of
    :meth:`Access.conflicts_with` against the earlier calls, without comparing every pair.
    """

    def __init__(self) -> None:
        self._nodes: dict[ResourcePath, _Node[T]] = {}

    def claim(self, access: Access, call: T) -> list[T]:
        """Record ``call``'s ``access``; return the earlier calls it conflicts with."""
        waits: list[T] = []
        for node_path, node in self._nodes.items():
            for r in access.reads:
                if node.writer is not None and _on_one_path(r, node_path):
                    waits.append(node.writer)
            for w in access.writes:
                if _on_one_path(w, node_path):
                    if node.writer is not None:
                        waits.append(node.writer)
                    waits.extend(node.readers)
        for w in access.writes:
            node = self._nodes.setdefault(w, _Node())
            node.writer, node.readers = call, []
        for r in access.reads:
            self._nodes.setdefault(r, _Node()).readers.append(call)
        return waits
