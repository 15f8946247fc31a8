"""Result values and labels from annotations (pure functions; the SDK's own types)."""

from __future__ import annotations

import mcp_types
import pytest

from asyncfc import UNLABELLED, Access
from asyncfc.mcp import (
    MCPList,
    MCPStructured,
    MCPText,
    MCPToolError,
    StdioServer,
    ToolLabels,
    access_for,
)
from asyncfc.mcp._results import value_of

READ = mcp_types.ToolAnnotations(read_only_hint=True)
WRITE = mcp_types.ToolAnnotations(read_only_hint=False, destructive_hint=True)


def text(*parts: str) -> list[mcp_types.ContentBlock]:
    return [mcp_types.TextContent(text=p) for p in parts]


def test_structured_content_is_preferred() -> None:
    result = mcp_types.CallToolResult(content=text('{"a": 1}'), structured_content={"a": [1, 2]})
    value = value_of(result)
    assert isinstance(value, MCPStructured)
    assert value == {"a": [1, 2]}
    assert value.result is result


def test_text_blocks_join_and_other_blocks_are_kept() -> None:
    result = mcp_types.CallToolResult(content=text("one", "two"))
    value = value_of(result)
    assert isinstance(value, MCPText)
    assert value == "one\ntwo"
    mixed = mcp_types.CallToolResult(
        content=[
            mcp_types.TextContent(text="see"),
            mcp_types.ImageContent(data="AAAA", mime_type="image/png"),
        ]
    )
    listed = value_of(mixed)
    assert isinstance(listed, MCPList)
    assert listed[0] == {"type": "text", "text": "see"}
    assert listed[1]["mimeType"] == "image/png"


def test_is_error_raises_with_the_server_text() -> None:
    with pytest.raises(MCPToolError, match="no such branch"):
        value_of(mcp_types.CallToolResult(content=text("no such branch"), is_error=True))


def test_untrusted_servers_are_unlabelled_unless_overridden() -> None:
    server = StdioServer(
        name="git",
        command="x",
        labels={"git_log": ToolLabels(reads=["mcp:git/"], writes=[])},
    )
    assert access_for(server, "git_status", READ) == UNLABELLED
    assert access_for(server, "git_log", READ) == Access.of(reads=["mcp:git/"], writes=[])


def test_trusted_read_only_tools_read_and_others_write_the_namespace() -> None:
    git = StdioServer(name="git", command="x", trusted=True, namespace="repo")
    fs = StdioServer(name="fs", command="y", trusted=True, namespace="repo")
    status = access_for(git, "git_status", READ)
    commit = access_for(git, "git_commit", WRITE)
    no_hint = access_for(fs, "write_file", None)
    assert status == Access.of(reads=["mcp:repo/"], writes=[])
    assert commit == Access.of(reads=[], writes=["mcp:repo/"])
    assert no_hint == commit  # no annotation: a writer
    assert not status.conflicts_with(status)
    assert commit.conflicts_with(status)
    assert no_hint.conflicts_with(status)  # shared namespace across servers
    other = StdioServer(name="time", command="z", trusted=True)
    assert not access_for(other, "get_current_time", WRITE).conflicts_with(status)
