"""The harness uses asyncfc's public API only: no module of ``asyncfc_bench`` (or of the
scripts in ``bench/scripts``) imports a private asyncfc module or name.

A private module is any dotted part starting with ``_`` under ``asyncfc``
(``asyncfc._invoke``, ``asyncfc.models._bounded``); ``from asyncfc import _x`` is a private
name.  The check parses the sources with :mod:`ast`, so lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [*(BENCH / "src" / "asyncfc_bench").rglob("*.py"), *(BENCH / "scripts").glob("*.py")]
)


def private_imports(source: str) -> list[str]:
    """Every import of a private asyncfc module or name in ``source``, as written."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            found += [m for m in modules if _private(m)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _private(node.module):
                found.append(node.module)
            elif node.module.split(".")[0] == "asyncfc":
                found += [
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
    return found


def _private(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "asyncfc" and any(p.startswith("_") for p in parts[1:])


def test_the_sources_are_found() -> None:
    names = {p.name for p in SOURCES}
    assert {"__init__.py", "cli.py", "_bfcl_bench.py", "probe_local_llm.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(BENCH)))
def test_no_private_asyncfc_import(path: Path) -> None:
    assert private_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import asyncfc._invoke", ["asyncfc._invoke"]),
        ("from asyncfc._trace import longest_path", ["asyncfc._trace"]),
        ("from asyncfc.models._bounded import X", ["asyncfc.models._bounded"]),
        ("from asyncfc import _protocol", ["asyncfc._protocol"]),
        ("def f():\n    from asyncfc._agent import Agent", ["asyncfc._agent"]),
        ("import asyncfc\nfrom asyncfc import Agent\nfrom asyncfc.replay import Plan", []),
        ("from asyncfc_bench._bfcl_data import BfclEntry\nfrom ._live import run_live", []),
    ],
)
def test_the_check_finds_private_imports(source: str, expected: list[str]) -> None:
    assert private_imports(source) == expected
