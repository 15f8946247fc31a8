"""MCPToolset against real servers: mcp-server-git, mcp-server-time and the fault server."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp_support import FAULT_SERVER, exits, fault_server, git_server, time_server, wait_for_file

from asyncfc import UNLABELLED, Access, FuturesSession, Scheduler, ToolCall
from asyncfc.mcp import (
    HTTPServer,
    MCPServerGoneError,
    MCPServerStartError,
    MCPStructured,
    MCPToolError,
    MCPToolset,
    StdioServer,
    ToolLabels,
)

pytestmark = pytest.mark.anyio

GIT_READ_ONLY = {
    "git_status",
    "git_diff_unstaged",
    "git_diff_staged",
    "git_diff",
    "git_log",
    "git_show",
    "git_branch",
}


def call(cid: str, name: str, **arguments: object) -> ToolCall:
    return ToolCall(id=cid, name=name, arguments=json.dumps(arguments))


async def test_git_tools_pass_schemas_through_and_label_by_annotations(repo: Path) -> None:
    async with MCPToolset([git_server(repo)]) as tools:
        assert len(tools.toolset) == 12
        for tool in tools.toolset:
            original = tools.mcp_tools[tool.name]
            assert tool.parameters == original.input_schema
            assert tool.description == (original.description or "")
            if tool.name in GIT_READ_ONLY:
                assert tool.access == Access.of(reads=["mcp:git/"], writes=[]), tool.name
            else:
                assert tool.access == Access.of(reads=[], writes=["mcp:git/"]), tool.name
        status = await tools.call("git_status", {"repo_path": str(repo)})
        assert "file0.txt" in status
        log = await tools.call("git_log", {"repo_path": str(repo), "max_count": 2})
        assert "commit 2" in log
        assert "commit 0" not in log


async def test_untrusted_by_default_and_overrides_apply(repo: Path) -> None:
    spec = git_server(
        repo, trusted=False, labels={"git_log": ToolLabels(reads=["mcp:git/log"], writes=[])}
    )
    async with MCPToolset([spec]) as tools:
        assert tools.toolset["git_status"].access == UNLABELLED
        assert tools.toolset["git_log"].access == Access.of(reads=["mcp:git/log"], writes=[])


async def test_structured_content_is_the_value_futures_select_into(repo: Path, marks: Path) -> None:
    async with (
        MCPToolset([fault_server(marks), time_server()]) as tools,
        FuturesSession(tools.toolset) as session,
    ):
        value = await tools.call("structured", {"n": 2})
        assert isinstance(value, MCPStructured)
        assert value == {"items": [{"id": "item-0", "rank": 0}, {"id": "item-1", "rank": 1}]}
        await session.call(call("c1", "structured", n=3))
        await session.call(call("c2", "echo", text="future_1.items[2].id"))
        assert "future_2 = item-2" in await session.drain()
        now = await tools.call("get_current_time", {"timezone": "UTC"})
        assert now["timezone"] == "UTC"


async def test_is_error_and_bad_arguments_become_error_results(marks: Path) -> None:
    async with (
        MCPToolset([fault_server(marks)]) as tools,
        Scheduler(tools.toolset) as scheduler,
    ):
        failed = scheduler.submit(call("c1", "fail", message="disk on fire"))
        wrong = scheduler.submit(call("c2", "echo", nope=1))
        await scheduler.drain()
        assert failed.result is not None  # type: ignore[union-attr]
        assert wrong.result is not None  # type: ignore[union-attr]
        assert failed.result.is_error  # type: ignore[union-attr]
        assert "disk on fire" in failed.result.content  # type: ignore[union-attr]
        assert failed.result.error_kind == "exception"  # type: ignore[union-attr]
        assert wrong.result.is_error  # type: ignore[union-attr]
        assert "text" in wrong.result.content  # type: ignore[union-attr]
        with pytest.raises(MCPToolError, match="disk on fire"):
            await tools.call("fail", {"message": "disk on fire"})


async def test_huge_output_is_truncated_for_the_model_not_lost(marks: Path) -> None:
    async with (
        MCPToolset([fault_server(marks)]) as tools,
        Scheduler(tools.toolset, max_result_chars=1000) as scheduler,
    ):
        future = scheduler.submit(call("c1", "huge", size=300_000))
        await scheduler.drain()
        assert future.result is not None  # type: ignore[union-attr]
        assert len(future.value) == 300_000  # type: ignore[union-attr]
        assert "[truncated: 1000 of 300000 characters shown]" in future.result.content  # type: ignore[union-attr]


async def test_timeout_cancels_the_call_on_the_server(marks: Path) -> None:
    spec = StdioServer(**{**fault_server(marks).__dict__, "timeout": 0.2})
    async with (
        MCPToolset([spec]) as tools,
        Scheduler(tools.toolset) as scheduler,
    ):
        future = scheduler.submit(call("c1", "hang", mark="t1"))
        await scheduler.drain()
        assert future.result is not None  # type: ignore[union-attr]
        assert future.result.error_kind == "timeout"  # type: ignore[union-attr]
        # MCP's notifications/cancelled reached the server and interrupted the handler
        assert await anyio.to_thread.run_sync(wait_for_file, marks / "t1")
        assert await tools.call("echo", {"text": "still here"}) == "still here"


async def test_cancelling_a_call_sends_the_cancellation(marks: Path) -> None:
    async with MCPToolset([fault_server(marks)]) as tools:
        with anyio.move_on_after(0.2):
            await tools.call("hang", {"mark": "c1"})
        assert await anyio.to_thread.run_sync(wait_for_file, marks / "c1")


async def test_crash_fails_in_flight_calls_then_raises_typed_error(marks: Path) -> None:
    # crash declared pure, so it runs while the reader `hang` is still in flight
    spec = StdioServer(
        **{**fault_server(marks).__dict__, "labels": {"crash": ToolLabels(reads=(), writes=())}}
    )
    async with MCPToolset([spec]) as tools:
        pid = int(await tools.call("pid"))
        async with Scheduler(tools.toolset) as scheduler:
            hanging = scheduler.submit(call("c1", "hang", mark="h"))
            await anyio.wait_all_tasks_blocked()
            crashed = scheduler.submit(call("c2", "crash"))
            await scheduler.drain()
        for future in (hanging, crashed):
            assert future.result is not None  # type: ignore[union-attr]
            assert future.result.is_error  # type: ignore[union-attr]
            assert "MCPServerGoneError" in future.result.content  # type: ignore[union-attr]
        assert tools.connections["fault"].gone
        with pytest.raises(MCPServerGoneError, match="'fault' is gone"):
            await tools.call("echo", {"text": "x"})
        assert exits(pid)


async def test_duplicate_tool_names_need_a_prefix(marks: Path) -> None:
    with pytest.raises(ValueError, match="give one of them a 'prefix'"):
        async with MCPToolset([fault_server(marks), fault_server(marks, name="other")]):
            pass
    other = StdioServer(**{**fault_server(marks, name="other").__dict__, "prefix": "b_"})
    async with MCPToolset([fault_server(marks), other]) as tools:
        assert await tools.call("b_echo", {"text": "hi"}) == "hi"
        assert tools.server_of["b_echo"] == "other"


async def test_a_server_that_fails_to_start_is_a_typed_error(marks: Path) -> None:
    broken = StdioServer(name="broken", command="/nonexistent/mcp-server")
    with pytest.raises(MCPServerStartError, match="'broken' failed to start"):
        async with MCPToolset([fault_server(marks), broken]):
            pass


async def test_labels_let_read_only_calls_overlap_and_untrusted_serialize(marks: Path) -> None:
    async with (
        MCPToolset([fault_server(marks)]) as tools,
        Scheduler(tools.toolset) as scheduler,
    ):
        # gather answers only when both calls are in progress at once
        a = scheduler.submit(call("c1", "gather", key="k", n=2))
        b = scheduler.submit(call("c2", "gather", key="k", n=2))
        await scheduler.drain()
        assert a.value == b.value == "k: 2 together"  # type: ignore[union-attr]
    spec = StdioServer(**{**fault_server(marks).__dict__, "trusted": False, "timeout": 0.3})
    async with (
        MCPToolset([spec]) as tools,
        Scheduler(tools.toolset) as scheduler,
    ):
        a = scheduler.submit(call("c1", "gather", key="k", n=2))
        b = scheduler.submit(call("c2", "gather", key="k", n=2))
        await scheduler.drain()
        assert a.result.error_kind == "timeout"  # type: ignore[union-attr]
        assert b.result.error_kind == "timeout"  # type: ignore[union-attr]


async def test_cancelled_toolset_leaves_no_process(marks: Path) -> None:
    pids: list[int] = []
    with anyio.CancelScope() as scope:
        async with MCPToolset([fault_server(marks)]) as tools:
            pids.append(int(await tools.call("pid")))
            async with anyio.create_task_group() as tg:
                tg.start_soon(tools.call, "hang", {"mark": "x"})
                await anyio.wait_all_tasks_blocked()
                scope.cancel()
    assert scope.cancelled_caught
    assert pids
    assert exits(pids[0])


@asynccontextmanager
async def fault_over_http(marks: Path) -> AsyncIterator[str]:
    """The fault server as a streamable HTTP server on a free loopback port; yields its URL."""
    args = [sys.executable, str(FAULT_SERVER), "--http", "--marks", str(marks)]
    process = await anyio.open_process(args)
    try:
        assert process.stderr is not None
        seen = ""
        with anyio.fail_after(60):
            while "serving http" not in seen:
                seen += (await process.stderr.receive()).decode()
        found = re.search(r"serving (http://\S+)", seen)
        assert found, seen
        yield found.group(1)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test may have crashed it already
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.wait()
        await process.aclose()


async def test_streamable_http_server_calls_and_disconnect(marks: Path) -> None:
    async with fault_over_http(marks) as url:
        spec = HTTPServer(name="remote", url=url, trusted=True, timeout=0.5)
        async with MCPToolset([spec]) as tools, FuturesSession(tools.toolset) as session:
            assert tools.toolset["echo"].access == Access.of(reads=["mcp:remote/"], writes=[])
            assert await tools.call("echo", {"text": "over http"}) == "over http"
            await session.call(call("c1", "structured", n=2))
            await session.call(call("c2", "echo", text="future_1.items[1].id"))
            await session.call(call("c3", "hang", mark="http"))
            text = await session.drain()
            assert "future_2 = item-1" in text
            assert "future_3 failed: tool 'hang' timed out after 0.5 s" in text
            assert await anyio.to_thread.run_sync(wait_for_file, marks / "http")
            crashed = await session.call(call("c4", "crash"))
            assert crashed.content == "future_4 (pending)"
            after = await session.drain()
            assert "future_4 failed: tool 'crash' raised" in after
            with pytest.raises(MCPServerGoneError):
                await tools.call("echo", {"text": "x"})
