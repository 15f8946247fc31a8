"""Tools from MCP servers: an :class:`asyncfc.Toolset` whose tools call MCP servers.

``async with MCPToolset([StdioServer(...), HTTPServer(...)]) as mcp_tools:`` connects to every
server, lists its tools and builds one :class:`~asyncfc.Tool` per MCP tool in
``mcp_tools.toolset``, ready for :class:`~asyncfc.Agent`, :class:`~asyncfc.Scheduler`,
:class:`~asyncfc.ToolExecutor` or :class:`~asyncfc.FuturesSession`.

Invariants:

* Schemas pass through unchanged: a tool's ``parameters`` is the server's ``inputSchema``.
* Arguments are checked only for being a JSON object: the server validates them against its
  own schema and answers a bad call with ``isError``, which becomes an error result.  So
  asyncfc never rejects what the server would accept.
* Labels follow :func:`~asyncfc.mcp._results.access_for` (untrusted → unlabelled).
* Every server's connection lives in a task of the toolset's task group; leaving the
  ``async with`` block, normally, by an exception or by cancellation, closes them all, and
  the SDK stops each stdio server's process tree on the way out.  No subprocess outlives
  the block.
* A server that fails to start fails the whole ``async with`` with
  :class:`~asyncfc.mcp.MCPServerStartError`, after the servers already started are closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.abc
import pydantic

from asyncfc._tools import Tool
from asyncfc._toolset import Toolset

from ._connection import Connection
from ._results import access_for
from ._servers import ServerSpec

if TYPE_CHECKING:
    import mcp_types

__all__ = ("MCPToolset",)


class _AnyArguments(pydantic.BaseModel):
    """Accepts any JSON object as a tool's arguments and hands it on whole.

    :meth:`asyncfc.Tool.validate` returns the model's fields as keyword arguments, so the
    object is wrapped in one field, ``arguments``, the only parameter of an MCP tool function.
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    arguments: dict[str, Any]

    @pydantic.model_validator(mode="before")
    @classmethod
    def _wrap(cls, data: Any) -> Any:
        return {"arguments": data}


class MCPToolset:
    """Tools of one or more MCP servers; use as ``async with``."""

    def __init__(self, servers: Iterable[ServerSpec]) -> None:
        self.servers = list(servers)
        names = [s.name for s in self.servers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate MCP server name(s): {', '.join(duplicates)}")
        self.connections: dict[str, Connection] = {s.name: Connection(s) for s in self.servers}
        self.toolset = Toolset()
        """The asyncfc tools, filled on entry."""
        self.mcp_tools: dict[str, mcp_types.Tool] = {}
        """The servers' own tool definitions (annotations, output schemas), by asyncfc name."""
        self.server_of: dict[str, str] = {}
        """The server name of each asyncfc tool name."""
        self._tg: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            for conn in self.connections.values():
                await tg.start(conn.run, name=f"asyncfc mcp {conn.spec.name}")
            for conn in self.connections.values():
                self._add_tools(conn)
        except BaseException as exc:
            await self._close(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self._close(exc_type, exc, tb)
        return None

    async def _close(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        if tg is None:
            return
        for conn in self.connections.values():
            conn.stop()
        try:
            await tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The connection tasks never raise once started; a group holding only the
            # block's own exception is the task group's wrapping of it.
            if exc is None or list(group.exceptions) != [exc]:
                raise

    def _add_tools(self, conn: Connection) -> None:
        spec = conn.spec
        unknown = sorted(set(spec.labels) - {t.name for t in conn.tools})
        if unknown:
            raise ValueError(
                f"server {spec.name!r}: labels given for unknown tool(s) {', '.join(unknown)}"
            )
        for mcp_tool in conn.tools:
            name = f"{spec.prefix}{mcp_tool.name}"
            if name in self.toolset:
                raise ValueError(
                    f"tool name {name!r} is offered by servers {self.server_of[name]!r} and "
                    f"{spec.name!r}; give one of them a 'prefix'"
                )
            self.toolset.add(
                Tool(
                    name=name,
                    description=mcp_tool.description or "",
                    parameters=mcp_tool.input_schema,
                    function=_caller(conn, mcp_tool.name),
                    access=access_for(spec, mcp_tool.name, mcp_tool.annotations),
                    timeout=spec.timeout,
                    is_async=True,
                    validator=_AnyArguments,
                )
            )
            self.mcp_tools[name] = mcp_tool
            self.server_of[name] = spec.name

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
        """Call one tool directly (no scheduler); errors raise as typed exceptions."""
        tool = self.toolset[name]
        return await tool.function(arguments=dict(arguments or {}))


def _caller(conn: Connection, mcp_name: str) -> Any:
    async def call_mcp_tool(arguments: dict[str, Any]) -> Any:
        return await conn.call(mcp_name, arguments)

    call_mcp_tool.__name__ = mcp_name
    return call_mcp_tool
