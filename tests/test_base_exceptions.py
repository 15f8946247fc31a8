"""A ``KeyboardInterrupt`` or ``SystemExit`` raised by a tool: the siblings are cancelled, the
original exception propagates as itself (not in an exception group), and the event loop has
nothing to complain about at shutdown.  Each case runs in a fresh interpreter, because on
asyncio such an exception also travels through the event loop itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import asyncio, sys
import anyio
import asyncfc as a

cancelled = []

async def wait(n: int) -> None:
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        cancelled.append(n)
        raise

async def stop() -> None:
    await anyio.sleep(0.05)
    raise {exc}("stop")

def sync_stop() -> None:
    raise {exc}("stop")

TOOLS = a.Toolset([a.tool(f, reads=(), writes=()) for f in (wait, stop, sync_stop)])

async def main() -> None:
    if "{via}" == "executor":
        executor = a.ToolExecutor(toolset=TOOLS, mode="concurrent")
        await executor.run([
            a.ToolCall(id="1", name="wait", arguments={{"n": 1}}),
            a.ToolCall(id="2", name="{tool}"),
            a.ToolCall(id="3", name="wait", arguments={{"n": 3}}),
        ])
    else:
        script = [a.Reply(calls=[("wait", {{"n": 1}}), ("{tool}", {{}}), ("wait", {{"n": 3}})]),
                  a.Reply(text="never")]
        agent = a.Agent(model=a.ScriptedModel(script=script), toolset=TOOLS,
                        mode="async_parallel", streaming={streaming})
        await agent.run("go")

try:
    asyncio.run(main())
except {exc} as exc:
    print(type(exc).__name__, sorted(cancelled))
"""


@pytest.mark.parametrize("exc", ["KeyboardInterrupt", "SystemExit"])
@pytest.mark.parametrize(
    ("via", "tool", "streaming"),
    [
        ("executor", "stop", False),
        ("executor", "sync_stop", False),
        ("agent", "stop", False),
        ("agent", "stop", True),
        ("agent", "sync_stop", False),
    ],
)
def test_a_base_exception_from_a_tool_propagates_as_itself(
    exc: str, via: str, tool: str, streaming: bool
) -> None:
    code = SCRIPT.format(exc=exc, via=via, tool=tool, streaming=streaming)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [exc, "[1,", "3]"]
    assert done.stderr == ""  # no "unhandled exception during shutdown", no stray task
