"""BFCL single-turn entries as mock toolsets, and scoring with BFCL's own ``ast_checker``."""

from __future__ import annotations

import pytest
from asyncfc_bench._single_turn import (
    ast_score,
    load_single_turn,
    mock_toolset,
    openai_parameters,
    scored_calls,
    tool_name,
)

from asyncfc import ToolCall


def test_dialect_is_rewritten_at_every_depth() -> None:
    bfcl = {
        "type": "dict",
        "properties": {
            "ratio": {"type": "float"},
            "pair": {"type": "tuple", "items": {"type": "integer"}},
            "opts": {"type": "dict", "properties": {"type": {"type": "any"}}},
        },
        "required": ["ratio"],
    }
    assert openai_parameters(bfcl) == {
        "type": "object",
        "properties": {
            "ratio": {"type": "number"},
            "pair": {"type": "array", "items": {"type": "integer"}},
            # a property may itself be called "type"; "any" means no constraint
            "opts": {"type": "object", "properties": {"type": {}}},
        },
        "required": ["ratio"],
    }
    assert bfcl["type"] == "dict"  # the input is left alone


def test_tool_names_are_made_valid() -> None:
    assert tool_name("spotify.play") == "spotify_play"
    assert tool_name("math_toolkit.sum-of") == "math_toolkit_sum-of"


@pytest.mark.parametrize("category", ["simple_python", "parallel", "parallel_multiple"])
def test_every_entry_gets_a_toolset_and_ground_truth_scores(category: str) -> None:
    entries = load_single_turn(category)  # type: ignore[arg-type]
    for entry in entries:
        toolset, names = mock_toolset(entry)
        assert sorted(names.values()) == sorted(f["name"] for f in entry.functions)
        assert all(not t.access.reads and not t.access.writes for t in toolset)
    first = entries[0]
    truth = [
        {name: {p: v[0] for p, v in args.items() if v and v[0] != ""}}
        for call in first.ground_truth
        for name, args in call.items()
    ]
    assert ast_score(first, truth)["valid"]
    assert not ast_score(first, truth[:-1] if len(truth) > 1 else [])["valid"]


def test_scored_calls_map_names_back_and_keep_bad_calls() -> None:
    names = {"spotify_play": "spotify.play"}
    calls = [
        ToolCall(id="a", name="spotify_play", arguments='{"artist": "X", "duration": 3}'),
        ToolCall(id="b", name="await_future", arguments='{"future_ids": ["future_1"]}'),
        ToolCall(id="c", name="spotify_play", arguments="{not json"),
        ToolCall(id="d", name="other", arguments="[1]"),
    ]
    assert scored_calls(calls, names) == [
        {"spotify.play": {"artist": "X", "duration": 3}},
        {"spotify.play": {}},
        {"other": {}},
    ]


@pytest.mark.anyio
async def test_mock_tools_acknowledge_their_arguments() -> None:
    entry = load_single_turn("parallel", limit=1)[0]
    toolset, _ = mock_toolset(entry)
    tool = next(iter(toolset))
    kwargs = tool.validate({"artist": "X", "duration": 3})
    assert tool(**kwargs) == {
        "status": "done",
        "function": "spotify.play",
        "arguments": {"artist": "X", "duration": 3},
    }


def _without_bounds(schema: object) -> object:
    if isinstance(schema, list):
        return [_without_bounds(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: _without_bounds(v) for k, v in schema.items() if k not in ("maxLength", "maxItems")}


@pytest.mark.parametrize("category", ["simple_python", "parallel", "parallel_multiple"])
def test_every_schema_can_be_bounded_for_a_local_server(category: str) -> None:
    """What ``--model local`` sends: the same schemas with bounds added, nothing else changed
    (BFCL has parameters named ``type``, which a naive walk mistakes for a keyword)."""
    from asyncfc._protocol import future_tool_definition
    from asyncfc.models import ArgumentBounds

    bounds = ArgumentBounds()
    for entry in load_single_turn(category):  # type: ignore[arg-type]
        toolset, _ = mock_toolset(entry)
        for tool in toolset:
            for definition in (tool.definition(), future_tool_definition(tool.definition())):
                params = definition["parameters"]
                assert _without_bounds(bounds.schema(params)) == params
