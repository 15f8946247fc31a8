"""An MCP server with faults on purpose, written with the SDK's own server API (MCPServer).

Run as ``python tests/mcp/fault_server.py [--http] [--delay SECONDS] [--marks DIR]``.  Over
``--http`` it listens on a free loopback port and prints ``serving <url>`` on stderr.

Tools (all annotated; the read-only ones say so):

* ``echo(text)`` — returns ``text``.
* ``slow(tag, seconds=None)`` — sleeps ``seconds`` (default ``--delay``), returns ``tag``.
* ``gather(key, n)`` — returns once ``n`` calls with the same ``key`` are in progress at
  once; a server that gets them one at a time never answers the first.  Proves concurrency
  without measuring time.
* ``fail(message)`` — answers with ``isError`` and the message.
* ``huge(size)`` — returns ``size`` characters.
* ``hang(mark)`` — never answers; when cancelled it writes ``<marks>/<mark>`` ("cancelled"),
  so a test can see MCP's cancellation notification arrive.
* ``crash()`` — the server process exits mid-call.
* ``record(text)`` — a writer: appends ``text`` to a log and returns the log so far.
* ``structured(n)`` — structured content ``{"items": [{"id": ...}, ...]}``.
* ``pid()`` — the server's process id.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False)


def build(delay: float, marks: Path | None) -> MCPServer:
    server = MCPServer("fault")
    arrivals: dict[str, int] = {}
    events: dict[str, anyio.Event] = {}
    log: list[str] = []

    @server.tool(annotations=READ, structured_output=False)
    def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool(annotations=READ, structured_output=False)
    async def slow(tag: str, seconds: float | None = None) -> str:
        """Sleep, then return the tag."""
        await anyio.sleep(delay if seconds is None else seconds)
        return tag

    @server.tool(annotations=READ, structured_output=False)
    async def gather(key: str, n: int) -> str:
        """Return once n calls with this key are in progress together."""
        arrivals[key] = arrivals.get(key, 0) + 1
        event = events.setdefault(key, anyio.Event())
        if arrivals[key] >= n:
            event.set()
        try:
            await event.wait()
        finally:
            arrivals[key] -= 1  # a cancelled call is no longer in progress
            if not arrivals[key]:
                del events[key]
        return f"{key}: {n} together"

    @server.tool(annotations=READ, structured_output=False)
    def fail(message: str) -> str:
        """Answer with isError."""
        raise ToolError(message)

    @server.tool(annotations=READ, structured_output=False)
    def huge(size: int) -> str:
        """Return size characters."""
        return "x" * size

    @server.tool(annotations=READ, structured_output=False)
    async def hang(mark: str) -> str:
        """Never answer; note a cancellation in the marks directory."""
        try:
            await anyio.sleep_forever()
        finally:
            if marks is not None:
                (marks / mark).write_text("cancelled")
        return "unreachable"

    @server.tool(annotations=WRITE, structured_output=False)
    def crash() -> str:
        """Exit the server process mid-call."""
        os._exit(3)

    @server.tool(annotations=WRITE, structured_output=False)
    def record(text: str) -> str:
        """Append text to the log; return the log."""
        log.append(text)
        return ",".join(log)

    @server.tool(annotations=READ, structured_output=True)
    def structured(n: int) -> dict[str, Any]:
        """Structured content with n items."""
        return {"items": [{"id": f"item-{i}", "rank": i} for i in range(n)]}

    @server.tool(annotations=READ, structured_output=False)
    def pid() -> str:
        """The server's process id."""
        return str(os.getpid())

    return server


async def _serve_http(server: MCPServer) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = server.streamable_http_app(host="127.0.0.1")
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    original = uv.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets=sockets)
        print(f"serving http://127.0.0.1:{port}/mcp", file=sys.stderr, flush=True)

    uv.startup = startup  # type: ignore[method-assign]
    await uv.serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--marks", type=Path, default=None)
    args = parser.parse_args()
    server = build(args.delay, args.marks)
    if args.http:
        anyio.run(_serve_http, server)
    else:
        anyio.run(server.run_stdio_async)


if __name__ == "__main__":
    main()
