"""Tools from real code (asyncfc._tools): bound parameters (bind=, FromContext, partial) are
hidden from the model and never settable; reST docstrings; annotations without a schema."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import anyio
import pytest

from asyncfc import Tool, ToolArgumentsError, ToolCall, ToolContext, ToolExecutor, Toolset, tool
from asyncfc._tools import FromContext

MODES = ["sequential", "concurrent"]


@dataclasses.dataclass
class Account:
    iban: str


def get_iban(account: Account, prefix: str = "") -> str:
    """The account's IBAN.

    :param account: the account
    whose IBAN is read.
    :param prefix: text put
    before the IBAN.
    """
    return prefix + account.iban


def routes() -> list[Tool]:
    return [
        tool(get_iban, name="by_bind", bind={"account": Account("BOUND")}),
        Tool.from_function(
            functools.partial(get_iban, account=Account("PARTIAL")), name="by_partial"
        ),
        tool(get_iban, name="by_context", bind={"account": FromContext("account")}),
        tool(
            get_iban,
            name="by_provider",
            bind={"account": FromContext(lambda c: Account(c["user"]))},
        ),
    ]


def run(calls: list[ToolCall], mode: str, context: dict[str, Any]) -> list[Any]:
    async def main() -> Any:
        ex = ToolExecutor(toolset=Toolset(routes()), mode=mode, context=context)  # type: ignore[arg-type]
        return await ex.run(calls)

    return list(anyio.run(main).results)


@pytest.mark.parametrize("mode", MODES)
def test_every_route_hides_the_parameter_and_refuses_an_override(mode: str) -> None:
    for t in routes():
        assert list(t.parameters["properties"]) == ["prefix"], t.name
        assert "account" not in str(t.parameters)
    names = [t.name for t in routes()]
    context = {"account": Account("CONTEXT"), "user": "PROVIDED"}
    calls = [ToolCall(id=f"ok_{n}", name=n, arguments={"prefix": ">"}) for n in names]
    calls += [
        ToolCall(id=f"evil_{n}", name=n, arguments={"account": {"iban": "EVIL"}}) for n in names
    ]
    results = run(calls, mode, context)
    assert [r.value for r in results[:4]] == [">BOUND", ">PARTIAL", ">CONTEXT", ">PROVIDED"]
    for r, n in zip(results[4:], names, strict=True):
        assert r.error_kind == "invalid_arguments"
        assert r.content == (
            f"Error: invalid arguments for tool '{n}': 'account' cannot be set "
            "(the application provides it); call the tool without it"
        )


def test_partial_override_is_refused_by_validate() -> None:
    t = Tool.from_function(functools.partial(get_iban, account=Account("GOOD")))
    assert t.name == "get_iban"
    assert t.description == "The account's IBAN."
    with pytest.raises(ToolArgumentsError, match="'account' cannot be set"):
        t.validate({"account": {"iban": "EVIL"}})


def test_bound_constants_are_validated_when_the_tool_is_built() -> None:
    with pytest.raises(TypeError, match="value bound to parameter 'account' does not fit"):
        tool(get_iban, bind={"account": "not an account"})
    with pytest.raises(TypeError, match="bind names no parameter: nope"):
        tool(get_iban, bind={"nope": 1})

    def with_ctx(x: int, ctx: ToolContext) -> int:
        return x

    with pytest.raises(TypeError, match="receives the ToolContext"):
        tool(with_ctx, bind={"ctx": ToolContext()})


@pytest.mark.parametrize("mode", MODES)
def test_context_values_are_validated_per_call(mode: str) -> None:
    calls = [ToolCall(id="1", name="by_context"), ToolCall(id="2", name="by_bind")]
    wrong, fine = run(calls, mode, {"account": "a string", "user": "u"})
    assert wrong.error_kind == "exception"
    assert wrong.content.startswith(
        "Error: tool 'by_context': bound parameter 'account' got a value that does not fit"
    )
    assert fine.value == "BOUND"
    missing, _ = run(calls, mode, {})
    assert missing.content == (
        "Error: tool 'by_context': bound parameter 'account' has no value in the run's "
        "context (KeyError: 'account')"
    )


def test_positional_only_bound_parameter() -> None:
    def scaled(factor: float, /, x: float) -> float:
        return factor * x

    t = tool(scaled, bind={"factor": 2})
    assert list(t.parameters["properties"]) == ["x"]
    assert t.bind(t.validate({"x": 3}), ToolContext())() == 6


def test_rest_param_text_continuing_at_the_margin_stays_with_the_parameter() -> None:
    t = tool(get_iban, bind={"account": Account("x")})
    assert t.description == "The account's IBAN."
    assert t.parameters["properties"]["prefix"]["description"] == "text put before the IBAN."


class Plain:
    pass


def test_an_annotation_without_a_schema_is_a_clear_type_error() -> None:
    def uses_plain(thing: Plain, n: int = 1) -> int:
        return n

    with pytest.raises(TypeError) as info:
        tool(uses_plain)
    assert str(info.value) == (
        "tool 'uses_plain': parameter 'thing' is annotated Plain, which has no JSON schema to "
        "show the model; annotate it with JSON data types, a pydantic model, a dataclass or a "
        "TypedDict, or bind it (bind={...} or functools.partial) if the application provides "
        "it, or pass parameters= with a schema of your own"
    )
    bound = tool(uses_plain, bind={"thing": Plain()})  # binding it is one way out
    assert list(bound.parameters["properties"]) == ["n"]


def test_from_openai_threads_bind_and_isolation() -> None:
    schema = {
        "type": "function",
        "function": {
            "name": "get_iban",
            "description": "IBAN",
            "parameters": {
                "type": "object",
                "properties": {"account": {"type": "object"}, "prefix": {"type": "string"}},
                "required": ["account"],
            },
        },
    }
    ts = Toolset.from_openai(
        [schema],
        {"get_iban": get_iban},
        bind={"get_iban": {"account": Account("X")}},
        isolation={"get_iban": "process"},
    )
    t = ts["get_iban"]
    assert t.isolation == "process"
    assert t.parameters == {
        "type": "object",
        "properties": {"prefix": {"type": "string"}},
        "required": [],
    }
    assert t.validate({"prefix": "p"}) == {"prefix": "p"}
    with pytest.raises(ToolArgumentsError, match="cannot be set"):
        t.validate({"account": {"iban": "EVIL"}})
