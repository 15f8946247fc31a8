"""Helpers for the MCP tests: specs of the real servers, process checks, bounded waits."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from processes import descendants as descendants

from asyncfc.mcp import StdioServer

HERE = Path(__file__).parent
FAULT_SERVER = HERE / "fault_server.py"
SRC = HERE.parent.parent / "src"


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def fault_server(marks: Path, *, trusted: bool = True, name: str = "fault") -> StdioServer:
    return StdioServer(
        name=name,
        command=sys.executable,
        args=(str(FAULT_SERVER), "--marks", str(marks)),
        trusted=trusted,
    )


def git_server(repo: Path, *, trusted: bool = True, **options: object) -> StdioServer:
    return StdioServer(
        name="git",
        command=sys.executable,
        args=("-m", "mcp_server_git", "--repository", str(repo)),
        trusted=trusted,
        **options,  # type: ignore[arg-type]
    )


def time_server(*, trusted: bool = True) -> StdioServer:
    return StdioServer(
        name="time",
        command=sys.executable,
        args=("-m", "mcp_server_time", "--local-timezone", "UTC"),
        trusted=trusted,
    )


def wait_for_file(path: Path, timeout: float = 10) -> bool:
    """Bounded wait for a file another process writes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.02)
    return path.exists()


def exits(pid: int, timeout: float = 10) -> bool:
    """Bounded wait until process ``pid`` is gone (or a zombie)."""
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)
