"""How an MCP server is reached and how far its tool annotations are trusted.

Invariants:

* A server is *untrusted* unless the developer says otherwise (``trusted=True``).  The MCP
  specification tells clients not to base decisions on the annotations of untrusted
  servers, so an untrusted server's tools are unlabelled: they serialize with every call.
* ``labels`` overrides apply whatever the trust: they are the developer's own claim.
* ``namespace`` names the resource the server works on (``mcp:<namespace>/``).  Two servers
  given the same namespace (a git server and a filesystem server on one repository) share
  it, so a writer of one never overlaps a call of the other.
* The config format is the ``mcpServers`` JSON clients use: ``{"mcpServers": {name:
  {"command", "args", "env", "cwd"}}}`` or ``{name: {"url"}}``; asyncfc's own keys
  (``trusted``, ``namespace``, ``labels``, ``timeout``, ``prefix``) are optional extras in
  each entry, which other clients ignore.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

__all__ = ("HTTPServer", "ServerSpec", "StdioServer", "ToolLabels", "servers_from_config")


@dataclass(frozen=True, kw_only=True)
class ToolLabels:
    """Explicit resource labels for one tool (see :mod:`asyncfc._labels`)."""

    reads: Sequence[str] = ()
    writes: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class ServerSpec:
    """What every MCP server entry has, whatever its transport."""

    name: str
    """The server's name in the config; also the default resource namespace."""
    trusted: bool = False
    """Derive labels from the tools' annotations (read-only tools read, others write)."""
    namespace: str | None = None
    """The resource namespace, ``mcp:<namespace>/``; defaults to ``name``."""
    labels: Mapping[str, ToolLabels] = field(default_factory=dict)
    """Per-tool label overrides, by the server's tool name."""
    timeout: float | None = None
    """Seconds one call may take; ``None`` leaves it to the scheduler's default."""
    prefix: str = ""
    """Prepended to the server's tool names (to keep two servers' tool names apart)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("an MCP server needs a non-empty name")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"server {self.name!r}: timeout must be > 0, got {self.timeout!r}")

    @property
    def resource(self) -> str:
        """The label of the server's resource namespace."""
        return f"mcp:{self.namespace or self.name}/"


@dataclass(frozen=True, kw_only=True)
class StdioServer(ServerSpec):
    """A server run as a subprocess and spoken to over its stdin/stdout."""

    command: str
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None


@dataclass(frozen=True, kw_only=True)
class HTTPServer(ServerSpec):
    """A server reached over streamable HTTP at ``url``."""

    url: str


_COMMON = ("trusted", "namespace", "labels", "timeout", "prefix")


def _labels(name: str, raw: Any) -> dict[str, ToolLabels]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"server {name!r}: 'labels' must map tool names to reads/writes")
    out: dict[str, ToolLabels] = {}
    for tool, spec in raw.items():
        if not isinstance(spec, Mapping) or set(spec) - {"reads", "writes"}:
            raise ValueError(
                f"server {name!r}, tool {tool!r}: labels are {{'reads': [...], 'writes': [...]}}"
            )
        out[str(tool)] = ToolLabels(
            reads=tuple(spec.get("reads") or ()), writes=tuple(spec.get("writes") or ())
        )
    return out


def _entry(name: str, raw: Any) -> ServerSpec:
    if not isinstance(raw, Mapping):
        raise ValueError(f"server {name!r}: expected an object, got {type(raw).__name__}")
    common: dict[str, Any] = {k: raw[k] for k in _COMMON if k in raw}
    common["labels"] = _labels(name, raw.get("labels"))
    if "url" in raw:
        if "command" in raw:
            raise ValueError(f"server {name!r}: give either 'command' or 'url', not both")
        return HTTPServer(name=name, url=str(raw["url"]), **common)
    if "command" not in raw:
        raise ValueError(f"server {name!r}: needs 'command' (stdio) or 'url' (streamable HTTP)")
    args = raw.get("args") or []
    env = raw.get("env")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ValueError(f"server {name!r}: 'args' must be a list of strings")
    if env is not None and not isinstance(env, Mapping):
        raise ValueError(f"server {name!r}: 'env' must be an object of strings")
    return StdioServer(
        name=name,
        command=str(raw["command"]),
        args=tuple(args),
        env={str(k): str(v) for k, v in env.items()} if env else None,
        cwd=raw.get("cwd"),
        **common,
    )


def servers_from_config(
    config: Mapping[str, Any] | str | PathLike[str], *, trusted: Iterable[str] = ()
) -> list[ServerSpec]:
    """Read an ``mcpServers`` config (a mapping, or a path to a JSON file).

    ``trusted`` names servers to trust in addition to those whose entry says ``"trusted": true``.
    """
    if not isinstance(config, Mapping):
        config = json.loads(Path(config).read_text())
    if not isinstance(config, Mapping) or not isinstance(config.get("mcpServers"), Mapping):
        raise ValueError('an MCP config is {"mcpServers": {name: {...}, ...}}')
    trust = set(trusted)
    servers = [_entry(str(n), raw) for n, raw in config["mcpServers"].items()]
    unknown = trust - {s.name for s in servers}
    if unknown:
        raise ValueError(f"cannot trust unknown server(s): {', '.join(sorted(unknown))}")
    return [type(s)(**{**s.__dict__, "trusted": True}) if s.name in trust else s for s in servers]
