"""A toolset: the ordered, name-unique collection of tools an agent or executor offers.

Invariants: tool names are unique within a toolset; :meth:`Toolset.definitions` lists the
tools in the order they were added, which is the order the model sees them in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._context import spec_of
from ._labels import Access
from ._tools import Isolation, Tool

if TYPE_CHECKING:
    from ._backends import ExecutionBackend

__all__ = ("Toolset",)


class Toolset:
    """An ordered, name-unique collection of tools."""

    def __init__(
        self,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        backend: ExecutionBackend | None = None,
    ) -> None:
        """``backend`` becomes the backend of every tool added without one of its own."""
        self.backend = backend
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, item: Tool | Callable[..., Any]) -> Tool:
        """Add a tool (plain callables are wrapped with :meth:`Tool.from_function`); a tool
        without a backend gets the toolset's."""
        t = item if isinstance(item, Tool) else Tool.from_function(item)
        if t.backend is None and self.backend is not None:
            t = dataclasses.replace(t, backend=self.backend)
        if t.name in self._tools:
            raise ValueError(f"duplicate tool name {t.name!r}")
        self._tools[t.name] = t
        return t

    @classmethod
    def from_openai(
        cls,
        schemas: Iterable[Mapping[str, Any]],
        functions: Mapping[str, Callable[..., Any]],
        *,
        labels: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        timeouts: Mapping[str, float] | None = None,
        isolation: Mapping[str, Isolation] | None = None,
        bind: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Toolset:
        """Build from OpenAI-style tool JSON plus a name → callable map.

        ``labels`` maps a tool name to ``{"reads": [...], "writes": [...]}``; tools not in it
        are unlabelled.  ``timeouts``, ``isolation`` and ``bind`` map a tool name to that
        option of :meth:`Tool.from_schema`.  Every schema needs a callable and every callable
        a schema.
        """
        labels = labels or {}
        timeouts = timeouts or {}
        isolation = isolation or {}
        bind = bind or {}
        out = cls()
        seen: set[str] = set()
        for schema in schemas:
            spec = spec_of(schema)
            name = str(spec.get("name"))
            if name not in functions:
                raise ValueError(f"no callable given for tool schema {name!r}")
            lab = labels.get(name, {})
            out.add(
                Tool.from_schema(
                    schema,
                    functions[name],
                    reads=lab.get("reads"),
                    writes=lab.get("writes"),
                    timeout=timeouts.get(name),
                    isolation=isolation.get(name, "none"),
                    bind=bind.get(name),
                )
            )
            seen.add(name)
        extra = sorted(set(functions) - seen)
        if extra:
            raise ValueError(f"callables without a schema: {', '.join(extra)}")
        return out

    def replace(self, name: str, **changes: Any) -> Tool:
        """Replace tool ``name`` with a copy carrying ``changes`` (e.g. ``timeout=2``)."""
        if "reads" in changes or "writes" in changes:
            changes["access"] = Access.of(
                reads=changes.pop("reads", None), writes=changes.pop("writes", None)
            )
        new = dataclasses.replace(self[name], **changes)
        self._tools[name] = new
        return new

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """The tool names, in order."""
        return list(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        """Provider-neutral definitions of every tool, in order."""
        return [t.definition() for t in self._tools.values()]
