"""The official SDK client → ``asyncfc mcp-proxy`` → real mcp-server-git, mcp-server-time and
the fault server, over stdio and over streamable HTTP on loopback."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp
import mcp_types
import pytest
from mcp_support import FAULT_SERVER, SRC

from asyncfc import AWAIT_TOOL_NAME, PROMPT_ADDENDUM
from asyncfc._protocol import future_tool_definition, pending_text

pytestmark = pytest.mark.anyio

Connect = Callable[[Path, str], AbstractAsyncContextManager[mcp.Client]]


def write_config(tmp_path: Path, repo: Path, marks: Path) -> Path:
    config = {
        "mcpServers": {
            "git": {
                "command": sys.executable,
                "args": ["-m", "mcp_server_git", "--repository", str(repo)],
                "trusted": True,
            },
            "time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
            "fault": {
                "command": sys.executable,
                "args": [str(FAULT_SERVER), "--marks", str(marks)],
                "trusted": True,
            },
        }
    }
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(config))
    return path


def proxy_args(config: Path, mode: str, *extra: str) -> list[str]:
    return ["-m", "asyncfc._cli", "mcp-proxy", "--config", str(config), "--mode", mode, *extra]


@asynccontextmanager
async def over_stdio(config: Path, mode: str) -> AsyncIterator[mcp.Client]:
    params = mcp.StdioServerParameters(
        command=sys.executable, args=proxy_args(config, mode), env={"PYTHONPATH": str(SRC)}
    )
    async with mcp.Client(params) as client:
        yield client


@asynccontextmanager
async def over_http(config: Path, mode: str) -> AsyncIterator[mcp.Client]:
    args = [sys.executable, *proxy_args(config, mode, "--transport", "http", "--port", "0")]
    process = await anyio.open_process(args, env={**os.environ, "PYTHONPATH": str(SRC)})
    try:
        assert process.stderr is not None
        seen = ""
        with anyio.fail_after(60):
            while "serving http" not in seen:
                seen += (await process.stderr.receive()).decode()
        found = re.search(r"serving (http://\S+)", seen)
        assert found, seen
        async with mcp.Client(found.group(1)) as client:
            yield client
    finally:
        process.terminate()
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
            with anyio.CancelScope(shield=True):
                await process.wait()
        await process.aclose()


@asynccontextmanager
async def direct(repo: Path) -> AsyncIterator[mcp.Client]:
    params = mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_server_git", "--repository", str(repo)]
    )
    async with mcp.Client(params) as client:
        yield client


def text_of(result: mcp_types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, mcp_types.TextContent))


TRANSPORTS = [pytest.param(over_stdio, id="stdio"), pytest.param(over_http, id="http")]


@pytest.mark.parametrize("connect", TRANSPORTS)
async def test_async_mode_futures_through_the_proxy(
    connect: Connect, tmp_path: Path, repo: Path, marks: Path
) -> None:
    config = write_config(tmp_path, repo, marks)
    async with direct(repo) as git:
        listed = {t.name: t for t in (await git.list_tools()).tools}
        expected_log = text_of(await git.call_tool("git_log", {"repo_path": str(repo)}))
        expected_status = text_of(await git.call_tool("git_status", {"repo_path": str(repo)}))
    async with connect(config, "async") as client:
        assert client.instructions == PROMPT_ADDENDUM
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert AWAIT_TOOL_NAME in tools
        assert {"get_current_time", "gather", "crash"} <= set(tools)
        for name, original in listed.items():
            widened = future_tool_definition(
                {
                    "name": name,
                    "description": original.description,
                    "parameters": original.input_schema,
                }
            )
            assert tools[name].input_schema == widened["parameters"]
            assert tools[name].description == widened["description"]
            assert tools[name].annotations == original.annotations
        texts: list[str] = []
        for args in (("git_status", {}), ("git_log", {}), ("gather", {"key": "k", "n": 2})):
            name, extra = args
            arguments = {"repo_path": str(repo)} if name.startswith("git") else {}
            answer = await client.call_tool(name, {**arguments, **extra})
            assert not answer.is_error
            texts.append(text_of(answer))
        assert texts[0].startswith(pending_text("future_1"))
        assert texts[1].startswith(pending_text("future_2"))
        assert texts[2].startswith(pending_text("future_3"))
        # the client calls one tool at a time, yet two gathers run together in the proxy
        fourth = await client.call_tool("gather", {"key": "k", "n": 2})
        assert text_of(fourth).startswith(pending_text("future_4"))
        awaited = await client.call_tool(
            AWAIT_TOOL_NAME, {"future_ids": ["future_1", "future_2", "future_3", "future_4"]}
        )
        shown = "\n".join([*texts, text_of(fourth), text_of(awaited)])
        assert f"future_1 = {expected_status}" in shown
        assert f"future_2 = {expected_log}" in shown
        assert "future_3 = k: 2 together" in text_of(awaited)
        assert "future_4 = k: 2 together" in text_of(awaited)
        # every future's value was shown once outside await_future's explicit answer
        outside = "\n".join([*texts, text_of(fourth)])
        for n in (1, 2):
            assert outside.count(f"future_{n} = ") <= 1
        ref = await client.call_tool("echo", {"text": "future_3"})
        done = await client.call_tool(AWAIT_TOOL_NAME, {"future_ids": ["future_5"]})
        assert pending_text("future_5") in text_of(ref)
        assert text_of(done) == "future_5 = k: 2 together"


@pytest.mark.parametrize("connect", TRANSPORTS)
async def test_concurrent_mode_is_transparent(
    connect: Connect, tmp_path: Path, repo: Path, marks: Path
) -> None:
    config = write_config(tmp_path, repo, marks)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("git_status", {"repo_path": str(repo)}),
        ("git_log", {"repo_path": str(repo), "max_count": 2}),
        ("git_diff_unstaged", {"repo_path": str(repo)}),
        ("git_show", {"repo_path": str(repo), "revision": "HEAD"}),
    ]
    async with direct(repo) as git:
        listed = {t.name: t for t in (await git.list_tools()).tools}
        expected = [await git.call_tool(n, a) for n, a in calls]
    async with connect(config, "concurrent") as client:
        assert client.instructions is None
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert AWAIT_TOOL_NAME not in tools
        for name, original in listed.items():
            assert tools[name] == original
        got = [await client.call_tool(n, a) for n, a in calls]
        assert [r.content for r in got] == [r.content for r in expected]
        structured = await client.call_tool("get_current_time", {"timezone": "UTC"})
        assert structured.structured_content is not None
        assert structured.structured_content["timezone"] == "UTC"
        failed = await client.call_tool("fail", {"message": "nope"})
        assert failed.is_error
        assert "nope" in text_of(failed)


async def test_a_crashing_upstream_does_not_take_the_proxy_down(
    tmp_path: Path, repo: Path, marks: Path
) -> None:
    config = write_config(tmp_path, repo, marks)
    async with over_stdio(config, "concurrent") as client:
        crashed = await client.call_tool("crash", {})
        assert crashed.is_error
        assert "MCPServerGoneError" in text_of(crashed)
        again = await client.call_tool("echo", {"text": "x"})
        assert again.is_error
        assert "is gone" in text_of(again)
        status = await client.call_tool("git_status", {"repo_path": str(repo)})
        assert not status.is_error


async def test_the_command_explains_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = await anyio.run_process(
        [sys.executable, *proxy_args(bad, "async")],
        env={"PYTHONPATH": str(SRC)},
        check=False,
    )
    assert result.returncode == 2
    assert b"mcpServers" in result.stderr
