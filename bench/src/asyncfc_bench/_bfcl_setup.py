"""Importing ``bfcl_eval`` safely, and reading its data files.

Everything runs in-process on the data files of the installed ``bfcl-eval`` package (tested
with 2026.3.23, installed with ``--no-deps`` plus ``mpmath``).  Only modules that need no
third-party dependency are imported: ``constants.executable_backend_config``, the backend
classes and ``multi_turn_eval.multi_turn_checker``.

Invariant: ``BFCL_PROJECT_ROOT``.  Some ``bfcl_eval`` modules create ``result/``, ``score/``
and ``.file_locks/`` under it when imported.  Before importing any ``bfcl_eval`` module we set
it, only if it is unset, to ``$XDG_CACHE_HOME/asyncfc/bfcl`` (``~/.cache/asyncfc/bfcl``), or to
a directory under the system temporary directory when the home cache is not writable.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import types
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = (
    "BACKEND_CLASSES",
    "ensure_bfcl_project_root",
    "ensure_model_config",
)


BACKEND_CLASSES: tuple[str, ...] = (
    "GorillaFileSystem",
    "MathAPI",
    "MessageAPI",
    "TwitterAPI",
    "TicketAPI",
    "TradingBot",
    "TravelAPI",
    "VehicleControlAPI",
)
"""The classes of the multi-turn categories (the memory and web-search ones are not offline)."""

# --------------------------------------------------------------------------- environment


def ensure_bfcl_project_root() -> str:
    """Set ``BFCL_PROJECT_ROOT`` if unset (see the module docstring); return its value."""
    current = os.environ.get("BFCL_PROJECT_ROOT")
    if current:
        return current
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates = [
        Path(base) / "asyncfc" / "bfcl",
        Path(tempfile.gettempdir()) / f"asyncfc-bfcl-{os.getuid() if hasattr(os, 'getuid') else 0}",
    ]
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            os.environ["BFCL_PROJECT_ROOT"] = str(path)
            return str(path)
    path = Path(tempfile.mkdtemp(prefix="asyncfc-bfcl-"))
    os.environ["BFCL_PROJECT_ROOT"] = str(path)
    return str(path)


def _bfcl_import(module: str) -> Any:
    ensure_bfcl_project_root()
    return importlib.import_module(module)


def _data_dir() -> Any:
    return files("bfcl_eval") / "data"


def _checker_module() -> Any:
    """Import BFCL's multi-turn checker, installing the ``model_config`` stub only if needed.

    In bfcl-eval 2026.3.23 the multi-turn checker does not import ``model_config`` at all; if a
    later version does and the import fails, :func:`ensure_model_config` is applied and the
    import retried.
    """
    name = "bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker"
    try:
        return _bfcl_import(name)
    except ImportError:
        ensure_model_config()
        return _bfcl_import(name)


def ensure_model_config() -> None:
    """Make ``bfcl_eval.constants.model_config`` importable.

    The real module imports every provider handler, which the ``--no-deps`` install lacks.  The
    checkers only read ``MODEL_CONFIG_MAPPING[name].underscore_to_dot``; when the real module
    cannot be imported we register a stub that answers ``False`` for every model name.
    """
    name = "bfcl_eval.constants.model_config"
    if name in sys.modules:
        return
    try:
        _bfcl_import(name)
        return
    except Exception:  # any failure of the heavy import: fall back to the stub
        sys.modules.pop(name, None)

    class _Config:
        underscore_to_dot = False

    class _Mapping(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            return _Config()

    stub = types.ModuleType(name)
    stub.__dict__["MODEL_CONFIG_MAPPING"] = _Mapping()
    stub.__dict__["__asyncfc_stub__"] = True
    sys.modules[name] = stub


def _read_jsonl(relative: str) -> list[dict[str, Any]]:
    path = _data_dir().joinpath(*relative.split("/"))
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
