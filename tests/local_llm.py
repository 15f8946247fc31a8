"""What the tests that need the local model share: finding it, and skipping (or, with
``ASYNCFC_REQUIRE_LOCAL_LLM=1`` as in CI, failing) when it is missing."""

from __future__ import annotations

import importlib.util
import os
import pathlib
from typing import NoReturn

import pytest

from asyncfc.models import LocalServerError, smollm2_gguf

REQUIRE_ENV = "ASYNCFC_REQUIRE_LOCAL_LLM"


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail when the environment requires the local model."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def need_runtime() -> None:
    """llama-cpp-python must be importable."""
    if importlib.util.find_spec("llama_cpp") is None:
        unavailable('llama-cpp-python is not installed (make install-local, or "asyncfc[local]")')


def local_gguf() -> pathlib.Path:
    """The SmolLM2 weights to serve."""
    need_runtime()
    try:
        return smollm2_gguf()
    except LocalServerError as exc:
        unavailable(str(exc))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
