"""The ``asyncfc`` command line.  Subcommands: ``mcp-proxy`` (more will follow).

The core stays ``anyio`` + ``pydantic``: a subcommand that needs an extra imports it when it
runs and, when it is missing, says which extra to install instead of failing with a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence

__all__ = ("main",)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asyncfc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "replay",
        add_help=False,
        help="replay recorded conversations in every mode: time, model requests, tokens "
        "(asyncfc replay --help)",
    )
    proxy = sub.add_parser(
        "mcp-proxy",
        help="an MCP server in front of other MCP servers, adding futures",
        description=(
            "Serve the tools of the MCP servers in CONFIG (the mcpServers JSON clients use) "
            "as one MCP server, over stdio or streamable HTTP, with label-aware concurrency "
            "(--mode concurrent) or full futures (--mode async)."
        ),
    )
    proxy.add_argument("--config", required=True, help='JSON file: {"mcpServers": {...}}')
    proxy.add_argument("--mode", choices=("async", "concurrent"), default="async")
    proxy.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    proxy.add_argument("--host", default="127.0.0.1", help="HTTP only (default 127.0.0.1)")
    proxy.add_argument("--port", type=int, default=8765, help="HTTP only; 0 picks a free port")
    proxy.add_argument("--path", default="/mcp", help="HTTP only (default /mcp)")
    proxy.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="SERVER",
        help="derive labels from this server's tool annotations (repeatable)",
    )
    proxy.add_argument("--timeout", type=_positive, default=None, help="seconds per call")
    proxy.add_argument("--max-concurrency", type=int, default=None)
    proxy.add_argument(
        "--max-result-chars",
        type=int,
        default=None,
        help="cut each result the model reads to this many characters (default: never)",
    )
    return parser


def _mcp_proxy(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("mcp") is None:
        print(
            "asyncfc mcp-proxy needs the MCP SDK: pip install 'asyncfc[mcp]'",
            file=sys.stderr,
        )
        return 2
    import anyio

    from .mcp import MCPProxy, MCPServerStartError, servers_from_config

    try:
        servers = servers_from_config(args.config, trusted=args.trust)
    except (OSError, ValueError) as exc:
        print(f"asyncfc mcp-proxy: bad config {args.config!r}: {exc}", file=sys.stderr)
        return 2

    def ready(url: str) -> None:
        print(f"asyncfc mcp-proxy: serving {url}", file=sys.stderr, flush=True)

    async def serve() -> None:
        async with MCPProxy(
            servers,
            mode=args.mode,
            max_concurrency=args.max_concurrency,
            timeout=args.timeout,
            max_result_chars=args.max_result_chars,
        ) as proxy:
            if args.transport == "stdio":
                await proxy.serve_stdio()
            else:
                await proxy.serve_http(
                    host=args.host, port=args.port, path=args.path, on_ready=ready
                )

    try:
        anyio.run(serve)
    except MCPServerStartError as exc:
        print(f"asyncfc mcp-proxy: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``asyncfc`` command; returns the exit status."""
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["replay"]:  # its own parser: asyncfc.replay's command line
        from .replay._command import main as replay

        return replay(given[1:])
    args = _parser().parse_args(given)
    if args.command == "mcp-proxy":
        return _mcp_proxy(args)
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
