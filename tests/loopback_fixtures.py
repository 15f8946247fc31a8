"""The fixtures every HTTP-talking test shares, the library's and the harness's: the anyio
backends, a loopback server per test, and an OpenAI Chat model pointed at it.  Each
``conftest.py`` re-exports them (pytest finds fixtures by the names a conftest holds)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
from loopback import Loopback, running_loopback

if TYPE_CHECKING:
    from asyncfc.models import OpenAIChatModel


@pytest.fixture(
    scope="module",
    params=[pytest.param("asyncio", id="asyncio"), pytest.param("trio", id="trio")],
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The backend anyio's pytest plugin runs async tests on (override per test to add options)."""
    return str(request.param)


@pytest.fixture
def server() -> Iterator[Loopback]:
    """A loopback HTTP server for this test (see ``tests/loopback.py``)."""
    yield from running_loopback()


@pytest.fixture
async def chat(server: Loopback) -> AsyncIterator[OpenAIChatModel]:
    """:class:`OpenAIChatModel` through the real SDK client, pointed at ``server``."""
    from openai import AsyncOpenAI

    from asyncfc.models import OpenAIChatModel

    client = AsyncOpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0, timeout=10)
    async with client:
        yield OpenAIChatModel("test-model", client=client)
