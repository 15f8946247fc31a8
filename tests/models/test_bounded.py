"""BoundedModel and ArgumentBounds: what the schemas become, what reaches the server over HTTP,
and that llama.cpp's own converter turns the bounded, future-widened schemas into a grammar
with no unbounded repetition."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from local_llm import need_runtime
from loopback import CHAT_DONE, Loopback, chat_chunk, chat_completion, json_reply, stream_reply

from asyncfc._messages import ChatModel, ModelSettings, StreamDone, UserMessage
from asyncfc._protocol import AWAIT_TOOL, future_tool_definition
from asyncfc.models import ArgumentBounds, BoundedModel, OpenAIChatModel

pytestmark = pytest.mark.anyio

BOUNDS = ArgumentBounds(max_string_length=40, max_items=5)

SEARCH: dict[str, Any] = {
    "name": "search",
    "description": "Search the catalogue.",
    "parameters": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "free text"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "sort": {"type": "string", "enum": ["price", "rating"]},
            "limit": {"type": "integer"},
            "filters": {
                "type": "object",
                "properties": {
                    "brand": {"type": ["string", "null"]},
                    "price": {"type": "array", "items": {"type": "number"}, "minItems": 2},
                },
            },
        },
        "required": ["query"],
    },
}


def test_strings_and_arrays_get_bounds_at_any_depth() -> None:
    props = BOUNDS.schema(SEARCH["parameters"])["properties"]
    assert props["query"] == {"type": "string", "description": "free text", "maxLength": 40}
    assert props["tags"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": 40},
        "maxItems": 5,
    }
    assert props["limit"] == {"type": "integer"}
    nested = props["filters"]["properties"]
    assert nested["brand"] == {"type": ["string", "null"], "maxLength": 40}
    assert nested["price"]["maxItems"] == 5


def test_only_schema_positions_are_walked() -> None:
    """A parameter may be named ``type`` or ``items``; values are not schemas."""
    params = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "items": {"type": "array", "items": {"type": "string"}},
            "mode": {"type": "string", "default": {"type": "string"}, "examples": ["x" * 500]},
        },
    }
    props = BOUNDS.schema(params)["properties"]
    assert props["type"] == {"type": "string", "maxLength": 40}
    assert props["items"]["items"] == {"type": "string", "maxLength": 40}
    assert props["items"]["maxItems"] == 5
    assert props["mode"]["default"] == {"type": "string"}
    assert props["mode"]["examples"] == ["x" * 500]
    assert "maxLength" not in BOUNDS.schema(params)


def test_bounds_are_only_ever_tightened() -> None:
    b = ArgumentBounds(max_string_length=40, max_items=5)
    assert b.schema({"type": "string", "maxLength": 10})["maxLength"] == 10
    assert b.schema({"type": "string", "maxLength": 1000})["maxLength"] == 40
    assert b.schema({"type": "array", "maxItems": 3})["maxItems"] == 3
    assert b.schema({"type": "array", "maxItems": 99})["maxItems"] == 5
    # a schema that needs more items than the bound keeps its minimum satisfiable
    assert b.schema({"type": "array", "minItems": 8})["maxItems"] == 8


@pytest.mark.parametrize(
    "shaped",
    [
        {"type": "string", "enum": ["a", "b"]},
        {"type": "string", "const": "a"},
        {"type": "string", "pattern": "^[a-z]{1,3}$"},
        {"type": "string", "format": "date"},
    ],
)
def test_strings_with_a_shape_are_left_alone(shaped: dict[str, Any]) -> None:
    assert BOUNDS.schema(shaped) == shaped


def test_anyof_branches_are_bounded_and_the_reference_branch_kept() -> None:
    widened = future_tool_definition(SEARCH)
    bounded = BOUNDS.schema(widened["parameters"])["properties"]
    own, reference = bounded["tags"]["anyOf"]
    assert own["maxItems"] == BOUNDS.max_items
    assert reference == widened["parameters"]["properties"]["tags"]["anyOf"][1]
    # A plain string is sent unwidened (it already admits a reference); its bound applies to
    # a reference written there too.
    assert bounded["query"] == {"type": "string", "description": "free text", "maxLength": 40}


def test_definitions_are_copied_never_mutated() -> None:
    tools = [SEARCH, {"name": "ping", "description": "no parameters"}]
    before = copy.deepcopy(tools)
    bounded = BOUNDS.tools(tools)
    assert tools == before
    assert bounded[1] == tools[1]
    assert bounded[1] is not tools[1]
    assert bounded[0]["parameters"]["properties"]["query"]["maxLength"] == 40


@pytest.mark.parametrize("field", ["max_string_length", "max_items"])
def test_bounds_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ArgumentBounds(**{field: 0})


# --- over HTTP ----------------------------------------------------------------------------------


async def test_the_wrapper_satisfies_the_protocol(chat: OpenAIChatModel) -> None:
    assert isinstance(BoundedModel(chat), ChatModel)


async def test_requests_and_streams_send_bounded_tools(
    chat: OpenAIChatModel, server: Loopback
) -> None:
    model = BoundedModel(chat, BOUNDS)
    ask = [UserMessage(content="umbrellas")]
    server.add(json_reply(chat_completion("none found")))
    response = await model.request(ask, [SEARCH], ModelSettings())
    assert response.message.content == "none found"
    server.add(
        stream_reply([chat_chunk("none found"), chat_chunk(finish_reason="stop"), CHAT_DONE])
    )
    async with model.stream(ask, [SEARCH], ModelSettings()) as events:
        seen = [e async for e in events]
    assert isinstance(seen[-1], StreamDone)
    for sent in server.requests:
        query = sent.body["tools"][0]["function"]["parameters"]["properties"]["query"]
        assert query["maxLength"] == 40
    assert SEARCH["parameters"]["properties"]["query"] == {
        "type": "string",
        "description": "free text",
    }


# --- llama.cpp's converter ------------------------------------------------------------------------


def repeats(rule: str) -> bool:
    """Whether a GBNF rule uses ``*`` or ``+`` outside its literals and character classes."""
    closing = {'"': '"', "[": "]"}
    i = 0
    while i < len(rule):
        c = rule[i]
        if c in closing:
            i += 1
            while i < len(rule) and rule[i] != closing[c]:
                i += 2 if rule[i] == "\\" else 1
        elif c in "*+":
            return True
        i += 1
    return False


def test_repeats_reads_gbnf() -> None:
    assert repeats('a ::= "[" b ("," b)* "]"')
    assert repeats("a ::= [0-9]+")
    assert not repeats('a ::= "*+" [*+\\]] "\\"*"')


def unbounded_rules(schema: Any) -> list[str]:
    """The GBNF rules llama.cpp compiles ``schema`` into that repeat without a limit."""
    need_runtime()
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return [r for r in json_schema_to_gbnf(json.dumps(schema)).splitlines() if repeats(r)]


def without_type_lists(tool: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(tool)
    out["parameters"]["properties"]["filters"]["properties"]["brand"]["type"] = "string"
    return out


@pytest.mark.parametrize(
    "tool", [without_type_lists(SEARCH), AWAIT_TOOL], ids=["search", "await_future"]
)
def test_the_widened_bounded_schema_compiles_to_a_finite_grammar(tool: Any) -> None:
    widened = tool if tool is AWAIT_TOOL else future_tool_definition(tool)
    assert unbounded_rules(widened["parameters"]) != []  # the server's default: no end
    assert unbounded_rules(BOUNDS.schema(widened["parameters"])) == []
