"""One live connection to one MCP server, through the official SDK's ``mcp.Client``.

Invariants:

* The SDK client lives in a task of its own (started by :class:`~asyncfc.mcp.MCPToolset`),
  entered and exited there, so a transport failure never cancels the caller's task, and
  closing the toolset (or cancelling it) always runs the SDK's shutdown, which stops a
  stdio server's whole process tree.
* A call that meets a closed connection (the server crashed, exited or hung up) marks the
  connection gone and raises :class:`~asyncfc.mcp.MCPServerGoneError`; every later call
  raises it at once, without touching the transport.
* Cancelling a call (a timeout, a cancelled future, closing) abandons the request inside the
  SDK, which sends MCP's ``notifications/cancelled`` for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from ._errors import MCPServerGoneError, MCPServerStartError, MCPToolError
from ._results import value_of
from ._servers import HTTPServer, ServerSpec, StdioServer

if TYPE_CHECKING:
    import mcp
    import mcp_types

__all__ = ("Connection",)

_MAX_PAGES = 1000


def _client(spec: ServerSpec) -> mcp.Client:
    import mcp

    if isinstance(spec, StdioServer):
        params = mcp.StdioServerParameters(
            command=spec.command,
            args=list(spec.args),
            env=dict(spec.env) if spec.env else None,
            cwd=spec.cwd,
        )
        return mcp.Client(params)
    if isinstance(spec, HTTPServer):
        return mcp.Client(spec.url)
    raise TypeError(f"unknown MCP server spec {type(spec).__name__}")


class Connection:
    """The SDK client of one server, its tool list, and whether it is still there."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.tools: list[mcp_types.Tool] = []
        self._client: mcp.Client | None = None
        self._gone: str | None = None
        self._stop = anyio.Event()
        self.stopped = anyio.Event()

    @property
    def gone(self) -> bool:
        """True once the server crashed or disconnected (or the toolset closed)."""
        return self._gone is not None

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Connect, list the tools, report started, and hold the connection until stopped."""
        started = False
        try:
            async with _client(self.spec) as client:
                self.tools = await self._list_tools(client)
                self._client = client
                started = True
                task_status.started()
                await self._stop.wait()
        except Exception as exc:
            if not started:
                raise MCPServerStartError(
                    f"MCP server {self.spec.name!r} failed to start: {type(exc).__name__}: {exc}",
                    server=self.spec.name,
                ) from exc
            self._mark_gone(f"{type(exc).__name__}: {exc}")
        finally:
            self._client = None
            if self._gone is None:
                self._gone = "the toolset was closed"
            self.stopped.set()

    def stop(self) -> None:
        """Ask :meth:`run` to close the connection."""
        self._stop.set()

    @staticmethod
    async def _list_tools(client: mcp.Client) -> list[mcp_types.Tool]:
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                return tools
        raise RuntimeError(f"tools/list did not end after {_MAX_PAGES} pages")

    def _mark_gone(self, reason: str) -> None:
        if self._gone is None:
            self._gone = reason
            self._stop.set()

    def _gone_error(self) -> MCPServerGoneError:
        return MCPServerGoneError(
            f"MCP server {self.spec.name!r} is gone ({self._gone})", server=self.spec.name
        )

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name``; return its value (see :mod:`._results`), raise on errors."""
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        client = self._client
        if self._gone is not None or client is None:
            raise self._gone_error()
        try:
            result = await client.call_tool(name, arguments)
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                self._mark_gone("connection closed")
                raise self._gone_error() from exc
            raise MCPToolError(f"MCP error {exc.code}: {exc}") from exc
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            self._mark_gone(f"{type(exc).__name__}")
            raise self._gone_error() from exc
        return value_of(result)
