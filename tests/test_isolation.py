"""Process isolation (``isolation="process"``, asyncfc._workers.run_in_process): a hard timeout
that kills the worker, the context and async functions inside it, and precise errors for what
cannot be pickled."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import isolated_tools
import pytest

from asyncfc import ToolCall, ToolContext, ToolExecutor, Toolset, tool

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # one backend: each new event loop starts its own worker processes


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_process_isolation_makes_a_timeout_hard(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    toolset = Toolset(
        [
            tool(isolated_tools.hang, isolation="process", timeout=2.0),
            tool(isolated_tools.square, isolation="process"),
        ]
    )
    # The timeout includes starting a worker interpreter when none is idle (documented), which
    # on a loaded machine can take longer than the timeout: start the workers first, so the
    # hanging call surely begins (and writes its pid) before it is killed.
    warm = [ToolCall(id=f"w{i}", name="square", arguments={"x": i}) for i in range(2)]
    for mode in ("sequential", "concurrent"):
        pid_file.unlink(missing_ok=True)
        await ToolExecutor(toolset=toolset, mode="concurrent").run(warm)
        batch = await ToolExecutor(toolset=toolset, mode=mode).run(  # type: ignore[arg-type]
            [
                ToolCall(id="1", name="hang", arguments={"pid_file": str(pid_file)}),
                ToolCall(id="2", name="square", arguments={"x": 7}),
            ]
        )
        assert [r.error_kind for r in batch.results] == ["timeout", None]
        assert batch.results[0].content == "Error: tool 'hang' timed out after 2 s"
        assert batch.results[1].value == 49
        # killed (SIGKILL) and reaped before the result came back
        assert _gone(int(pid_file.read_text()))


async def test_process_isolation_passes_context_and_runs_async_functions() -> None:
    toolset = Toolset(
        [
            tool(isolated_tools.whoami, isolation="process"),
            tool(isolated_tools.async_square, isolation="process"),
            tool(isolated_tools.fail, isolation="process"),
        ]
    )
    ex = ToolExecutor(toolset=toolset, mode="concurrent", context={"user": "alice"})
    batch = await ex.run(
        [
            ToolCall(id="1", name="whoami"),
            ToolCall(id="2", name="async_square", arguments={"x": 3}),
            ToolCall(id="3", name="fail", arguments={"message": "boom"}),
        ]
    )
    who, sq, failed = batch.results
    assert who.value["context"] == {"user": "alice"}
    assert who.value["pid"] != os.getpid()
    assert sq.value == 9
    assert failed.content == "Error: tool 'fail' raised ValueError: boom"


async def test_process_isolation_explains_what_cannot_be_pickled() -> None:
    def local(x: int) -> int:
        return x

    toolset = Toolset(
        [
            tool(local, isolation="process"),
            tool(isolated_tools.whoami, isolation="process"),
        ]
    )
    ex = ToolExecutor(toolset=toolset, context={"lock": threading.Lock()})
    batch = await ex.run(
        [ToolCall(id="1", name="local", arguments={"x": 1}), ToolCall(id="2", name="whoami")]
    )
    for r in batch.results:
        assert r.error_kind == "exception"
        assert (
            "runs in a worker process (isolation='process'), but its function or "
            "arguments cannot be pickled" in r.content
        )
    assert "local" in batch.results[0].content
    assert "lock" in batch.results[1].content


def test_isolation_is_checked_and_context_pickles() -> None:
    import pickle

    with pytest.raises(ValueError, match="isolation must be 'none' or 'process'"):
        tool(isolated_tools.square, isolation="thread")  # type: ignore[arg-type]
    ctx = pickle.loads(pickle.dumps(ToolContext({"a": [1]})))
    assert isinstance(ctx, ToolContext)
    assert dict(ctx) == {"a": [1]}
