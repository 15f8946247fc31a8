"""Server specs and the mcpServers config format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncfc.mcp import HTTPServer, StdioServer, ToolLabels, servers_from_config


def test_reads_the_client_config_format(tmp_path: Path) -> None:
    config = {
        "mcpServers": {
            "git": {"command": "uvx", "args": ["mcp-server-git"], "env": {"A": "1"}},
            "remote": {"url": "http://127.0.0.1:9/mcp", "trusted": True, "timeout": 5},
            "fs": {
                "command": "fs-server",
                "namespace": "repo",
                "labels": {"read_file": {"reads": ["fs:/docs"]}},
            },
        }
    }
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(config))
    git, remote, fs = servers_from_config(path, trusted=["git"])
    assert git == StdioServer(
        name="git", command="uvx", args=("mcp-server-git",), env={"A": "1"}, trusted=True
    )
    assert remote == HTTPServer(
        name="remote", url="http://127.0.0.1:9/mcp", trusted=True, timeout=5
    )
    assert isinstance(fs, StdioServer)
    assert not fs.trusted
    assert fs.resource == "mcp:repo/"
    assert fs.labels == {"read_file": ToolLabels(reads=("fs:/docs",), writes=())}
    assert git.resource == "mcp:git/"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "mcpServers"),
        ({"mcpServers": {"x": {}}}, "needs 'command'"),
        ({"mcpServers": {"x": {"command": "a", "url": "b"}}}, "not both"),
        ({"mcpServers": {"x": {"command": "a", "args": "b"}}}, "'args' must be a list"),
        ({"mcpServers": {"x": {"command": "a", "labels": {"t": {"rw": []}}}}}, "labels are"),
        ({"mcpServers": {"x": {"command": "a", "timeout": 0}}}, "timeout must be > 0"),
        ({"mcpServers": {"x": 3}}, "expected an object"),
    ],
)
def test_bad_configs_fail_clearly(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        servers_from_config(config)


def test_trusting_an_unknown_server_fails() -> None:
    with pytest.raises(ValueError, match="unknown server"):
        servers_from_config({"mcpServers": {"a": {"command": "a"}}}, trusted=["b"])
