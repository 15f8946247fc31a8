"""Process checks for tests that start servers or clusters: none may outlive its test."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def descendants(pid: int) -> set[int]:
    """Live descendants of ``pid`` (zombies excluded: they have exited), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found.add(child)
                frontier.append(child)
    return found


@contextmanager
def no_process_left(grace: float = 10.0, what: str = "processes") -> Iterator[None]:
    """Fail unless every process started inside the block (and its children) is gone within
    ``grace`` seconds after it (bounded: shutdowns take a few seconds)."""
    before = descendants(os.getpid())
    yield
    deadline = time.monotonic() + grace
    while (left := descendants(os.getpid()) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"{what} left behind: {sorted(left)}"
