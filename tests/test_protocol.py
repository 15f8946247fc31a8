"""What the model sees of the futures protocol (asyncfc._protocol) and how each mode uses it."""

from __future__ import annotations

import re

import pytest

import asyncfc as a
from asyncfc._futures import REFERENCE_PATTERN
from asyncfc._protocol import (
    AWAIT_TOOL,
    PROMPT_ADDENDUM,
    delivery_text,
    future_tool_definition,
    parse_delivery,
    parse_pending,
    pending_text,
)

EXPECTED_ADDENDUM = (
    "Tools run in the background: a call returns a future id such as future_3 at once.\n"
    "- To use a value you have not seen, pass its future id as the argument, or a part of "
    "it: future_3.items[0].id.\n"
    "- To read values before your next step, call await_future in the same response as the "
    "calls it waits for.\n"
    '- Other results arrive in a message starting "Results of earlier calls". Never guess a '
    "value you have not seen."
)


def search(query: str, limit: int = 3) -> list[str]:
    """Search the catalogue."""
    return [query] * limit


TOOLS = a.Toolset([a.tool(search, reads=["cat"], writes=())])


class _NoModel:
    async def request(self, *args: object) -> a.ModelResponse:  # pragma: no cover
        raise AssertionError("not called")


def agent(mode: a.AgentMode, system: str | None = "Be brief.") -> a.Agent:
    model = a.ScriptedModel(script=[a.Reply(text="ok")])
    return a.Agent(model=model, toolset=TOOLS, mode=mode, system_prompt=system)


def test_prompt_addendum_exact_text() -> None:
    assert PROMPT_ADDENDUM == EXPECTED_ADDENDUM
    assert a.PROMPT_ADDENDUM == EXPECTED_ADDENDUM


def test_pending_text_is_stable() -> None:
    assert pending_text("future_3") == "future_3 (pending)"


def test_delivery_text_format() -> None:
    text = delivery_text([("future_1", "42", False), ("future_2", "Error: boom", True)])
    assert text == "Results of earlier calls:\nfuture_1 = 42\nfuture_2 failed: boom"


def test_schema_transform_widens_parameters_that_reject_references() -> None:
    original = TOOLS["search"].definition()
    widened = future_tool_definition(original)
    assert widened["name"] == "search"
    assert widened["description"] == "Search the catalogue."  # said once, in the addendum
    props = original["parameters"]["properties"]
    assert set(widened["parameters"]["properties"]) == set(props)
    # A plain string already admits every reference: sent unchanged.
    assert widened["parameters"]["properties"]["query"] == props["query"]
    # An integer does not: widened with the reference branch.
    any_of = widened["parameters"]["properties"]["limit"]["anyOf"]
    assert any_of[0] == props["limit"]
    assert any_of[1] == {"type": "string", "pattern": a._futures.REFERENCE_PATTERN}
    # Everything else in the object schema is kept, and the original is not modified.
    assert widened["parameters"].get("required") == original["parameters"].get("required")
    assert TOOLS["search"].definition() == original


@pytest.mark.parametrize(
    ("schema", "plain"),
    [
        ({"type": "string"}, True),
        ({"type": "string", "description": "a path", "title": "Path"}, True),
        ({"type": "string", "enum": ["a", "b"]}, False),
        ({"type": "string", "pattern": "^[a-z]+$"}, False),
        ({"type": "string", "maxLength": 4}, False),
        ({"type": "string", "format": "date"}, False),
        ({"type": ["string", "null"]}, False),
        ({"anyOf": [{"type": "string"}]}, False),
        ({"type": "integer"}, False),
    ],
)
def test_only_schemas_that_reject_a_reference_are_widened(
    schema: dict[str, object], plain: bool
) -> None:
    definition = {"name": "t", "parameters": {"type": "object", "properties": {"x": schema}}}
    widened = future_tool_definition(definition)["parameters"]["properties"]["x"]
    assert (widened == schema) is plain
    if not plain:
        assert widened == {"anyOf": [schema, {"type": "string", "pattern": REFERENCE_PATTERN}]}


def test_schema_transform_without_description_or_parameters() -> None:
    widened = future_tool_definition({"name": "ping"})
    assert widened == {"name": "ping", "description": "", "parameters": {}}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("future_3", True),
        ("future_2.skyId", True),
        ("future_2.items[0].id", True),
        ("future_x", False),
        ("future_2 ", False),
        ("see future_2", False),
        ("future_2.items[a ]", False),
        ("future_123456789", True),
        ("future_2." + "a" * 119, True),
        ("future_2." + "a" * 120, False),
    ],
)
def test_reference_pattern(text: str, ok: bool) -> None:
    assert bool(re.search(a._futures.REFERENCE_PATTERN, text)) is ok


@pytest.mark.parametrize("pattern", [a._futures.REFERENCE_PATTERN, a._futures.FUTURE_ID_PATTERN])
def test_future_patterns_use_no_groups(pattern: str) -> None:
    """Grammar-compiling servers (llama.cpp) accept only simple patterns; see the docstring."""
    simple = re.sub(r"\{[0-9]+,[0-9]+\}", "", pattern).replace("\\[", "").replace("\\]", "")
    assert not set("(){}|?*+\\") & set(simple)


@pytest.mark.parametrize("mode", ["sequential", "parallel", "async", "async_parallel"])
def test_tool_list_and_system_prompt_per_mode(mode: a.AgentMode) -> None:
    ag = agent(mode)
    defs = ag.tool_definitions()
    names = [d["name"] for d in defs]
    if ag.is_async:
        assert names == ["search", "await_future"]
        assert defs[-1] == dict(AWAIT_TOOL)
        assert defs[0] == future_tool_definition(TOOLS["search"].definition())
        assert ag.system_text() == "Be brief.\n\n" + EXPECTED_ADDENDUM
        assert agent(mode, system=None).system_text() == EXPECTED_ADDENDUM
    else:
        assert names == ["search"]
        assert defs[0] == TOOLS["search"].definition()
        assert ag.system_text() == "Be brief."
        assert agent(mode, system=None).system_text() is None


@pytest.mark.parametrize(
    ("mode", "parallel"),
    [("sequential", False), ("parallel", True), ("async", False), ("async_parallel", True)],
)
def test_parallel_tool_calls_setting(mode: a.AgentMode, parallel: bool) -> None:
    assert agent(mode).model_settings().parallel_tool_calls is parallel


def test_await_future_name_is_reserved_in_async_modes() -> None:
    def await_future(x: int) -> int:
        return x

    ts = a.Toolset([a.tool(await_future)])
    model = a.ScriptedModel(script=[])
    with pytest.raises(ValueError, match="await_future"):
        a.Agent(model=model, toolset=ts, mode="async")
    a.Agent(model=model, toolset=ts, mode="parallel")  # fine outside the async modes


def test_agent_rejects_bad_settings() -> None:
    model = a.ScriptedModel(script=[])
    with pytest.raises(ValueError, match="unknown mode"):
        a.Agent(model=model, toolset=TOOLS, mode="turbo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="final_requests"):
        a.Agent(model=model, toolset=TOOLS, final_requests=-1)
    with pytest.raises(ValueError, match="max_requests"):
        a.Agent(model=model, toolset=TOOLS, max_requests=0)


def test_parse_pending_reads_back_pending_text() -> None:
    assert parse_pending(pending_text("future_12")) == "future_12"
    assert parse_pending("future_12 (pending) and more") is None
    assert parse_pending('{"ok": true}') is None
    assert parse_pending("Error: unknown tool 'x'") is None


def test_parse_delivery_reads_back_every_settled_line() -> None:
    text = delivery_text(
        [("future_1", "42", False), ("future_3", "Error: boom", True), ("future_2", "a\nb", False)]
    )
    assert parse_delivery(text) == ["future_1", "future_3", "future_2"]
    assert parse_delivery("future_1 (pending)") == []
    assert parse_delivery("no futures here") == []
