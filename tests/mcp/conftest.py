"""Fixtures for the MCP tests: a temporary git repository, a marks directory for the fault
server, and a check that no process a test started outlives it.

The MCP tests run on asyncio only: the SDK's HTTP transport (httpx2, uvicorn) needs it, and
one backend keeps the directory fast.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp")
pytest.importorskip("mcp_server_git")
pytest.importorskip("mcp_server_time")

from processes import no_process_left as no_process_left_after


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """Every process a test started (and their children) is gone when it ends."""
    with no_process_left_after():
        yield


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with three commits and one unstaged change."""
    path = tmp_path / "repo"
    path.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.invalid")
    git("config", "user.name", "Test")
    for i in range(3):
        (path / f"file{i}.txt").write_text(f"content {i}\n")
        git("add", ".")
        git("commit", "-q", "-m", f"commit {i}")
    (path / "file0.txt").write_text("changed\n")
    return path


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path
