"""Helpers shared by the adapters: stream guarding."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import openai
import pytest

from asyncfc._errors import ModelConnectionError
from asyncfc._messages import StreamEvent, TextDelta
from asyncfc.models._common import guarded

pytestmark = pytest.mark.anyio


async def test_closing_the_guard_closes_the_adapter_events_at_once() -> None:
    closed: list[bool] = []

    async def events() -> AsyncGenerator[StreamEvent, None]:
        try:
            yield TextDelta(text="a")
            yield TextDelta(text="b")
        finally:
            closed.append(True)

    inner = events()
    outer = guarded(inner, openai, "openai")
    assert await outer.__anext__() == TextDelta(text="a")
    await outer.aclose()
    assert closed == [True]


async def test_sdk_errors_inside_the_stream_become_typed_errors() -> None:
    async def events() -> AsyncGenerator[StreamEvent, None]:
        yield TextDelta(text="a")
        raise openai.APIConnectionError(request=None)  # type: ignore[arg-type]

    with pytest.raises(ModelConnectionError):
        async for _ in guarded(events(), openai, "openai"):
            pass
