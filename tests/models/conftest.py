"""Fixtures for the adapter tests: a loopback server per test and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from loopback import Loopback

from asyncfc.models import AnthropicModel, OpenAIResponsesModel


@pytest.fixture
async def responses(server: Loopback) -> AsyncIterator[OpenAIResponsesModel]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0, timeout=10)
    async with client:
        yield OpenAIResponsesModel("test-model", client=client)


@pytest.fixture
async def claude(server: Loopback) -> AsyncIterator[AnthropicModel]:
    from anthropic import AsyncAnthropic

    client = AsyncAnthropic(base_url=server.url, api_key="test", max_retries=0, timeout=10)
    async with client:
        yield AnthropicModel("test-model", client=client)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """asyncio only: under trio the SDKs leave an inner SSE generator of theirs to the garbage
    collector after ``[DONE]``, which pytest's warnings-as-errors reports."""
    return "asyncio"
