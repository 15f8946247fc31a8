"""A call's arguments as a dict, for scoring: the harness reads calls the agent already ran.

The library validates and decodes arguments itself before a tool runs; the checkers need the
arguments of every call the model *made*, so they decode them again here, the same way (a JSON
object, or a mapping a provider already decoded).  Anything else is ``None``: the caller
decides whether such a call is dropped or scored as empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic_core

from asyncfc import ToolCall

__all__ = ("call_arguments",)


def call_arguments(call: ToolCall) -> dict[str, Any] | None:
    """``call``'s arguments as a dict, or ``None`` when they are not a JSON object."""
    raw = call.arguments
    if isinstance(raw, Mapping):
        return dict(raw)
    if not isinstance(raw, str):
        return None
    if raw.strip() == "":
        return {}
    try:
        value = pydantic_core.from_json(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
