"""Typed exceptions of the MCP integration (subclasses of :class:`asyncfc.AsyncFCError`).

Inside a run these surface as error *results* (a tool function raising is how an error
result arises); called directly, they reach the developer as themselves.
"""

from __future__ import annotations

from asyncfc._errors import AsyncFCError

__all__ = ("MCPServerError", "MCPServerGoneError", "MCPServerStartError", "MCPToolError")


class MCPServerError(AsyncFCError):
    """An MCP server failed; ``server`` names it as configured."""

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(message)
        self.server = server


class MCPServerStartError(MCPServerError):
    """The server could not be started or did not complete the MCP handshake."""


class MCPServerGoneError(MCPServerError):
    """The server crashed or disconnected; every later call to it raises this at once."""


class MCPToolError(AsyncFCError):
    """The server answered a call with ``isError`` or a protocol error; the message says which."""
