"""``--model local`` end to end: the harness's route to the real SmolLM2 server.

Skips (or, with ``ASYNCFC_REQUIRE_LOCAL_LLM=1`` as in CI, fails) like the library's local-model
tests when llama-cpp-python or the weights are missing (``tests/local_llm.py``)."""

from __future__ import annotations

import socket

import anyio
import pytest
from local_llm import local_gguf

import asyncfc as a
from asyncfc.models import BoundedModel, OpenAIChatModel

pytestmark = pytest.mark.anyio

RUN_LIMIT_S = 120.0


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def test_the_benchmark_route_starts_and_stops_its_own_server() -> None:
    """``--model local`` (``open_model``): its own server, the ``max_tokens`` field this server
    reads, and nothing left running afterwards.  (A whole BFCL task is too slow for CI here:
    BFCL's tool lists make prompts of several thousand tokens.)"""
    from asyncfc_bench._live import ModelSpec, open_model

    local_gguf()  # skip or fail as the module's other tests do
    with anyio.fail_after(RUN_LIMIT_S):
        async with open_model(ModelSpec.parse("local")) as model:
            assert isinstance(model, BoundedModel)
            chat = model.model
            assert isinstance(chat, OpenAIChatModel)
            assert chat.max_tokens_param == "max_tokens"
            response = await model.request(
                [a.UserMessage(content="Say hello.")],
                [],
                a.ModelSettings(max_tokens=8, temperature=0),
            )
            port = chat.client.base_url.port
    assert response.usage.output_tokens <= 8
    assert port is not None
    with socket.socket() as probe:  # nothing listens there any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0
