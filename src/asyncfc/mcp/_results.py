"""MCP tool results as the values futures select into, and annotations as labels.

Invariants:

* Structured content is preferred: a result carrying ``structuredContent`` has that as its
  value, so ``future_3.items[0].id`` selects into it.  Otherwise the value is the text of
  the result's text blocks, joined by newlines; non-text blocks (images, resources) are
  kept as their JSON objects in a list, so nothing the server sent is dropped.
* Values remember the :class:`~mcp_types.CallToolResult` they came from (``.result``), so a
  proxy can hand the original result on unchanged.
* ``isError`` is never a value: it raises :class:`~asyncfc.mcp.MCPToolError` with the
  server's text, which the runtime turns into an error result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncfc._labels import UNLABELLED, Access

from ._errors import MCPToolError
from ._servers import ServerSpec

if TYPE_CHECKING:
    import mcp_types

__all__ = ("MCPList", "MCPStructured", "MCPText", "access_for", "value_of")


class MCPText(str):
    """A text result; ``result`` is the server's original ``CallToolResult``."""

    result: mcp_types.CallToolResult


class MCPStructured(dict[str, Any]):
    """A structured (object) result; ``result`` is the server's original ``CallToolResult``."""

    result: mcp_types.CallToolResult


class MCPList(list[Any]):
    """A list value (structured content that is a list, or mixed content blocks)."""

    result: mcp_types.CallToolResult


def _text(result: mcp_types.CallToolResult) -> str:
    return "\n".join(getattr(b, "text", "") for b in result.content if b.type == "text")


def value_of(result: mcp_types.CallToolResult) -> Any:
    """The value of a tool result (see the module docstring); raises on ``isError``."""
    if result.is_error:
        raise MCPToolError(_text(result) or "the tool reported an error without text")
    structured = result.structured_content
    value: MCPText | MCPStructured | MCPList
    if isinstance(structured, dict):
        value = MCPStructured(structured)
    elif isinstance(structured, list):
        value = MCPList(structured)
    elif structured is not None:
        return structured  # a bare JSON scalar (2026-07-28 allows any JSON value)
    elif all(b.type == "text" for b in result.content):
        value = MCPText(_text(result))
    else:
        value = MCPList(
            b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in result.content
        )
    value.result = result
    return value


def access_for(server: ServerSpec, name: str, annotations: Any) -> Access:
    """The access of the server's tool ``name`` under the server's trust (see ``_servers``)."""
    override = server.labels.get(name)
    if override is not None:
        return Access.of(reads=override.reads, writes=override.writes)
    if not server.trusted:
        return UNLABELLED
    if annotations is not None and getattr(annotations, "read_only_hint", None) is True:
        return Access.of(reads=[server.resource], writes=[])
    return Access.of(reads=[], writes=[server.resource])
