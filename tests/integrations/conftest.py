"""Both frameworks run on asyncio only, so their tests do too."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The frameworks' loops are asyncio loops."""
    return "asyncio"
