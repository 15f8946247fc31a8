"""Where tools run (asyncfc._workers): daemon threads that never block exit, timeouts that
count only the function's own run, and process isolation that makes a timeout hard."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import anyio.to_thread
import pytest

from asyncfc import ToolCall, ToolExecutor, Toolset, tool

pytestmark = pytest.mark.anyio

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_a_tool_that_never_returns_does_not_block_interpreter_exit(tmp_path: Path) -> None:
    """Before: anyio's worker threads are not daemon threads, so the script below never
    exited.  The subprocess's own timeout is only a guard against that hang."""
    script = tmp_path / "never.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading, anyio
            from asyncfc import ToolCall, ToolExecutor, Toolset, tool

            def never() -> None:
                threading.Event().wait()

            async def main() -> None:
                ex = ToolExecutor(toolset=Toolset([tool(never, timeout=0.2)]), mode="concurrent")
                batch = await ex.run([ToolCall(id="1", name="never")])
                print(batch.results[0].error_kind, threading.active_count() > 1)

            anyio.run(main)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["timeout", "True"]  # the thread was still running at exit


async def test_timeout_does_not_count_time_queued_for_a_thread() -> None:
    """With one thread slot (anyio's default thread limiter, set to 1 for this event loop), the
    call that runs second waits for the other (0.6 or 0.7 s) and then runs: 1.3 s, over the
    1 s timeout if the wait counted, inside it if only the run counts."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = 1
    started: list[str] = []

    def hold(name: str, seconds: float) -> str:
        started.append(name)
        time.sleep(seconds)
        return name

    ex = ToolExecutor(toolset=Toolset([tool(hold, timeout=1.0)]), mode="concurrent")
    batch = await ex.run(
        [
            ToolCall(id="1", name="hold", arguments={"name": "first", "seconds": 0.7}),
            ToolCall(id="2", name="hold", arguments={"name": "second", "seconds": 0.6}),
        ]
    )
    assert sorted(started) == ["first", "second"]
    assert [(r.error_kind, r.value) for r in batch.results] == [
        (None, "first"),
        (None, "second"),
    ]


async def test_sync_tool_keeps_the_callers_context_variables() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller")

    def read() -> str:
        return f"{var.get()} in {threading.current_thread().name}"

    batch = await ToolExecutor(toolset=Toolset([tool(read)])).run([ToolCall(id="1", name="read")])
    assert batch.results[0].value == "caller in asyncfc tool"
