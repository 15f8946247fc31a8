"""The futures proxy: an MCP server in front of other MCP servers.

It offers the upstream servers' tools to any MCP client (Claude Code, Cursor, the SDK's own
client) and runs them through a :class:`~asyncfc.FuturesSession`:

* ``mode="async"``: tools are listed widened (:func:`~asyncfc._protocol.future_tool_definition`:
  the description note and future references in every parameter), plus ``await_future``;
  output schemas are dropped, since a call answers with ``future_N (pending)``.  The server
  instructions are the prompt addendum.  Settled results ride on the next tool result.
* ``mode="concurrent"``: tools are listed unchanged; each call returns its own result,
  ordered against concurrent calls by labels.  A result is handed on exactly as the upstream
  server sent it.

Invariants: every ``tools/call`` request gets exactly one result; the upstream servers
live exactly as long as the proxy's ``async with`` block.  Values are not cut
(``max_result_chars=None``): the model reads what a direct call would have given it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from asyncfc._calls import ToolCall, ToolResult
from asyncfc._protocol import PROMPT_ADDENDUM
from asyncfc._session import FuturesSession, SessionMode

from ._results import MCPList, MCPStructured, MCPText
from ._servers import ServerSpec
from ._toolset import MCPToolset

if TYPE_CHECKING:
    import mcp_types
    from mcp.server.lowlevel import Server

__all__ = ("MCPProxy",)


class MCPProxy:
    """Front ``servers`` as one MCP server; use as ``async with``, then ``serve_*``."""

    def __init__(
        self,
        servers: Iterable[ServerSpec],
        *,
        mode: SessionMode = "async",
        max_concurrency: int | None = None,
        timeout: float | None = None,
        max_result_chars: int | None = None,
    ) -> None:
        self.mode: SessionMode = mode
        self._max_result_chars = max_result_chars
        self.tools = MCPToolset(servers)
        self._max_concurrency = max_concurrency
        self._timeout = timeout
        self._session: FuturesSession | None = None

    async def __aenter__(self) -> Self:
        await self.tools.__aenter__()
        try:
            self._session = FuturesSession(
                self.tools.toolset,
                mode=self.mode,
                max_concurrency=self._max_concurrency,
                timeout=self._timeout,
                max_result_chars=self._max_result_chars,
            )
            await self._session.__aenter__()
        except BaseException as exc:
            self._session = None
            await self.tools.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        session, self._session = self._session, None
        try:
            if session is not None:
                await session.__aexit__(exc_type, exc, tb)
        finally:
            await self.tools.__aexit__(exc_type, exc, tb)
        return None

    @property
    def session(self) -> FuturesSession:
        """The futures session the calls run in."""
        if self._session is None:
            raise RuntimeError("MCPProxy used outside 'async with MCPProxy(...)'")
        return self._session

    # -- the MCP surface -------------------------------------------------------------------

    def list_tools(self) -> list[mcp_types.Tool]:
        """The tools as the proxy lists them (see the module docstring)."""
        import mcp_types

        if self.mode == "concurrent":
            return [t.model_copy(update={"name": n}) for n, t in self.tools.mcp_tools.items()]
        out: list[mcp_types.Tool] = []
        for definition in self.session.tool_definitions():
            name = definition["name"]
            original = self.tools.mcp_tools.get(name)
            annotations = (
                original.annotations
                if original is not None
                else mcp_types.ToolAnnotations(read_only_hint=True, destructive_hint=False)
            )
            out.append(
                mcp_types.Tool(
                    name=name,
                    title=original.title if original is not None else None,
                    description=definition["description"],
                    input_schema=definition["parameters"],
                    annotations=annotations,
                )
            )
        return out

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None
    ) -> mcp_types.CallToolResult:
        """Answer one ``tools/call``."""
        session = self.session
        call = ToolCall(id=session.new_call_id(), name=name, arguments=arguments or {})
        result = await session.call(call)
        return _to_mcp(result, passthrough=self.mode == "concurrent")

    def server(self) -> Server[Any]:
        """A low-level SDK server whose handlers are this proxy's."""
        import mcp_types
        from mcp.server.lowlevel import Server

        async def on_list_tools(
            ctx: Any, params: mcp_types.PaginatedRequestParams | None
        ) -> mcp_types.ListToolsResult:
            return mcp_types.ListToolsResult(tools=self.list_tools())

        async def on_call_tool(
            ctx: Any, params: mcp_types.CallToolRequestParams
        ) -> mcp_types.CallToolResult:
            return await self.call_tool(params.name, params.arguments)

        return Server(
            "asyncfc-proxy",
            version="0.1.0",
            instructions=PROMPT_ADDENDUM if self.mode == "async" else None,
            on_list_tools=on_list_tools,
            on_call_tool=on_call_tool,
        )

    async def serve_stdio(self) -> None:
        """Serve one client over this process's stdin/stdout until it hangs up."""
        from mcp.server.stdio import stdio_server

        server = self.server()
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    async def serve_http(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/mcp",
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        """Serve streamable HTTP at ``http://host:port/path`` (``port=0``: a free port).

        ``on_ready`` receives the URL once the socket listens.
        """
        import uvicorn

        app = self.server().streamable_http_app(streamable_http_path=path, host=host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        url = f"http://{shown}:{bound}{path}"

        original_startup = server.startup

        async def startup(sockets: list[socket.socket] | None = None) -> None:
            await original_startup(sockets=sockets)
            if on_ready is not None:
                on_ready(url)

        server.startup = startup  # type: ignore[method-assign]
        try:
            await server.serve(sockets=[sock])
        finally:
            sock.close()


def _to_mcp(result: ToolResult, *, passthrough: bool) -> mcp_types.CallToolResult:
    """The MCP result of a session answer; ``passthrough`` hands on the upstream original."""
    import mcp_types

    value = result.value
    if passthrough and not result.is_error and isinstance(value, MCPText | MCPStructured | MCPList):
        return value.result
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(text=result.content)], is_error=result.is_error
    )
