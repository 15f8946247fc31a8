"""The shared call and result types (``asyncfc._calls``)."""

from __future__ import annotations

import dataclasses

import pytest

from asyncfc._calls import ToolCall, decoded_call


def test_decoded_call_equals_the_plain_construction() -> None:
    arguments = {"city": "Paris", "days": [1, 2]}
    fast = decoded_call("c1", "weather", arguments)
    plain = ToolCall(id="c1", name="weather", arguments=arguments, decoded=arguments)
    assert fast == plain
    assert repr(fast) == repr(plain)
    assert vars(fast) == vars(plain)
    assert dataclasses.asdict(fast) == dataclasses.asdict(plain)
    assert fast.decoded is arguments  # handed over, not copied
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.name = "other"  # type: ignore[misc]
