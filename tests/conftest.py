"""Shared test configuration: every ``@pytest.mark.anyio`` test runs on asyncio and on trio."""

from __future__ import annotations

import pytest


@pytest.fixture(
    scope="module",
    params=[pytest.param("asyncio", id="asyncio"), pytest.param("trio", id="trio")],
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The backend anyio's pytest plugin runs async tests on (override per test to add options)."""
    return str(request.param)
