"""Tools over unmodified functions: schema, validation, metadata, context and toolsets."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import pydantic
import pytest

from asyncfc import UNLABELLED, Access, Tool, ToolArgumentsError, ToolContext, Toolset, tool
from asyncfc._docstrings import doc_summary_and_params


def forecast(city: str, days: int = 3, units: Literal["C", "F"] = "C") -> str:
    """Get the weather forecast for a city.

    Uses the national weather service.

    Args:
        city (str): Name of the city,
            in English.
        days: How many days ahead.
        units: Temperature units.

    Returns:
        A short text forecast.

    Raises:
        KeyError: when the city is unknown.
    """
    return f"{city}:{days}:{units}"


def rest_style(path: str, limit: int = 10) -> list[str]:
    """List a directory.

    :param path: The directory to list.
    :param int limit: The most entries
        to return.
    :returns: the entry names
    :rtype: list[str]
    """
    return [path] * limit


def test_schema_from_signature_hints_and_google_docstring() -> None:
    t = tool(forecast)
    assert t.name == "forecast"
    assert (
        t.description
        == "Get the weather forecast for a city.\n\nUses the national weather service."
    )
    assert t.parameters == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string", "description": "Name of the city, in English."},
            "days": {"type": "integer", "default": 3, "description": "How many days ahead."},
            "units": {
                "enum": ["C", "F"],
                "type": "string",
                "default": "C",
                "description": "Temperature units.",
            },
        },
        "required": ["city"],
    }
    assert t.definition() == {
        "name": "forecast",
        "description": t.description,
        "parameters": dict(t.parameters),
    }


def test_schema_from_rest_docstring() -> None:
    t = tool(rest_style)
    assert t.description == "List a directory."
    props = t.parameters["properties"]
    assert props["path"] == {"type": "string", "description": "The directory to list."}
    assert props["limit"]["description"] == "The most entries to return."
    assert props["limit"]["type"] == "integer"


@pytest.mark.parametrize(
    ("doc", "summary", "params"),
    [
        (None, "", {}),
        ("One line.", "One line.", {}),
        ("Do it.\n\nRaises:\n    ValueError: bad.\n", "Do it.", {}),
        (
            "Do it.\n\nArguments:\n    x: first.\n    y (int, optional): second\n"
            "        continued.\n\nExample:\n    >>> do(1)\n",
            "Do it.",
            {"x": "first.", "y": "second continued."},
        ),
        (
            "Do it.\n\n:param x: the x.\n:type x: int\n:returns: nothing\n    at all.\n",
            "Do it.",
            {"x": "the x."},
        ),
    ],
)
def test_docstring_parsing(doc: str | None, summary: str, params: dict[str, str]) -> None:
    assert doc_summary_and_params(doc) == (summary, params)


def test_missing_hints_and_docstring_still_give_a_schema() -> None:
    def bare(a, b=2):  # type: ignore[no-untyped-def]
        return a

    t = tool(bare)
    assert t.description == ""
    assert t.parameters["required"] == ["a"]
    assert t.parameters["properties"]["b"] == {"default": 2}
    assert t.validate({"a": [1, "x"]}) == {"a": [1, "x"], "b": 2}


class Point(pydantic.BaseModel):
    x: int
    y: int


def test_nested_model_and_optional_parameters() -> None:
    def move(to: Point, label: str | None = None) -> str:
        """Move.

        Args:
            to: Target.
            label: Optional tag.
        """
        return f"{to.x},{to.y}"

    t = tool(move)
    assert t.parameters["properties"]["to"]["$ref"].endswith("/Point")
    assert "Point" in t.parameters["$defs"]
    kwargs = t.validate({"to": {"x": 1, "y": "2"}})
    assert kwargs == {"to": Point(x=1, y=2), "label": None}
    assert t.bind(kwargs, ToolContext())() == "1,2"


def test_function_is_not_modified_and_tool_forwards_calls() -> None:
    before = dict(vars(forecast))
    t = tool(forecast)
    assert t.function is forecast
    assert dict(vars(forecast)) == before
    assert t("Oslo", days=1) == "Oslo:1:C"


def test_decorator_forms() -> None:
    @tool
    def plain(x: int) -> int:
        return x

    @tool(name="renamed", description="Overridden.", reads=["fs:/a"], timeout=2, return_direct=True)
    def configured(x: int) -> int:
        """Original docstring."""
        return x

    assert isinstance(plain, Tool)
    assert plain.name == "plain"
    assert plain.access is UNLABELLED
    assert plain.timeout is None
    assert not plain.return_direct
    assert configured.name == "renamed"
    assert configured.description == "Overridden."
    assert configured.access == Access.of(reads=["fs:/a"])
    assert configured.timeout == 2
    assert configured.return_direct


def test_empty_description_override_is_kept() -> None:
    assert tool(description="")(forecast).description == ""


def test_parameters_override_replaces_schema_but_validation_follows_signature() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    t = Tool.from_function(forecast, parameters=schema)
    assert t.parameters == schema
    with pytest.raises(ToolArgumentsError, match="'city' is required"):
        t.validate({"q": "x"})


def test_labels_are_parsed_and_inspectable() -> None:
    t = tool(reads=["fs:/home"], writes=["fs:/home/docs"])(forecast)
    assert t.access.labels() == {"reads": ["fs:/home"], "writes": ["fs:/home/docs"]}
    pure = tool(reads=(), writes=())(forecast)
    assert pure.access == Access(reads=frozenset(), writes=frozenset())
    assert not pure.access.conflicts_with(UNLABELLED)
    assert tool(forecast).access.conflicts_with(pure.access) is False
    assert tool(forecast).access.conflicts_with(t.access)


def test_bad_label_fails_when_the_tool_is_built() -> None:
    with pytest.raises(ValueError, match="invalid resource label 'fs:/a//b'"):
        tool(writes=["fs:/a//b"])(forecast)
    with pytest.raises(TypeError, match="not the string"):
        tool(reads="fs:/a")(forecast)


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_non_positive_timeout_is_rejected(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout must be > 0"):
        tool(timeout=timeout)(forecast)


def test_unresolvable_type_hint_fails_when_the_tool_is_built() -> None:
    class Local(pydantic.BaseModel):
        x: int

    def uses_local(p: Local) -> int:  # a string annotation that names a local class
        return p.x

    with pytest.raises(TypeError, match="cannot resolve the type hint 'Local'"):
        tool(uses_local)
    with pytest.raises(TypeError, match="cannot resolve the type hint 'Local'"):
        Tool.from_schema({"name": "uses_local"}, uses_local)


def test_empty_name_falls_back_to_the_function_name() -> None:
    assert tool(name="")(forecast).name == "forecast"


@pytest.mark.parametrize("name", ["has space", "x" * 129, "semi;colon"])
def test_invalid_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="invalid tool name"):
        tool(name=name)(forecast)


def test_varargs_and_non_callables_are_rejected() -> None:
    def star(*args: int) -> None: ...

    def kw(**kwargs: int) -> None: ...

    for fn in (star, kw):
        with pytest.raises(TypeError, match=r"\*args/\*\*kwargs"):
            tool(fn)
    with pytest.raises(TypeError, match="needs a callable"):
        Tool.from_function(42)  # type: ignore[arg-type]


def test_async_detection() -> None:
    async def coro(x: int) -> int:
        return x

    class AsyncCallable:
        async def __call__(self, x: int) -> int:
            return x

    class SyncCallable:
        def __call__(self, x: int) -> int:
            return x

    assert tool(coro).is_async
    assert Tool.from_function(AsyncCallable(), name="ac").is_async
    assert not Tool.from_function(SyncCallable(), name="sc").is_async
    assert not tool(forecast).is_async


def test_validation_error_names_each_argument_and_expectation() -> None:
    t = tool(forecast)
    with pytest.raises(ToolArgumentsError) as info:
        t.validate({"days": "many", "units": "K", "country": "NO"})
    message = str(info.value)
    assert message.startswith("invalid arguments for tool 'forecast': ")
    assert "argument 'city' is required but missing" in message
    assert "argument 'days': " in message
    assert "integer" in message
    assert "(got 'many')" in message
    assert "argument 'units': " in message
    assert "'C' or 'F'" in message
    assert "argument 'country' is not a parameter of this tool" in message
    assert isinstance(info.value, ValueError)


def test_validation_coerces_and_fills_defaults() -> None:
    assert tool(forecast).validate({"city": "Oslo", "days": "5"}) == {
        "city": "Oslo",
        "days": 5,
        "units": "C",
    }


def test_positional_only_parameters_are_passed_positionally() -> None:
    def pos(a: int, /, b: int) -> str:
        return f"{a}-{b}"

    t = tool(pos)
    assert t.positional == ("a",)
    assert t.bind(t.validate({"a": 1, "b": 2}), ToolContext())() == "1-2"


def test_context_parameter_is_hidden_and_passed() -> None:
    seen: list[Mapping[str, Any]] = []

    def with_ctx(x: int, ctx: ToolContext) -> int:
        seen.append(ctx)
        return x

    def with_optional_ctx(x: int, context: ToolContext | None = None) -> int:
        seen.append(context or {})
        return x

    for fn, pname in ((with_ctx, "ctx"), (with_optional_ctx, "context")):
        t = tool(fn)
        assert t.context_param == pname
        assert list(t.parameters["properties"]) == ["x"]
        with pytest.raises(ToolArgumentsError, match="cannot be set"):
            t.validate({"x": 1, pname: {"user": "mallory"}})
        context = ToolContext({"user": "alice"})
        assert t.bind(t.validate({"x": 1}), context)() == 1
        assert seen[-1] is context


def test_tool_context_is_a_read_only_mapping() -> None:
    source = {"user": "alice"}
    ctx = ToolContext(source)
    source["user"] = "mallory"
    assert ctx["user"] == "alice"
    assert dict(ctx) == {"user": "alice"}
    assert len(ctx) == 1
    assert "user" in ctx
    assert repr(ctx) == "ToolContext({'user': 'alice'})"
    with pytest.raises(TypeError):
        ctx["user"] = "mallory"  # type: ignore[index]
    with pytest.raises(AttributeError):
        ctx.update({})  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        ctx.other = 1  # type: ignore[attr-defined]
    assert ToolContext() == {}


def test_tool_is_immutable() -> None:
    t = tool(forecast)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.timeout = 3  # type: ignore[misc]


# --- Toolset ---------------------------------------------------------------------------------


def add(a: int, b: int) -> int:
    return a + b


def test_toolset_basics() -> None:
    ts = Toolset([forecast, tool(rest_style)])
    assert ts.names() == ["forecast", "rest_style"]
    assert len(ts) == 2
    assert "forecast" in ts
    assert "nope" not in ts
    assert ts.get("nope") is None
    assert ts["forecast"].function is forecast
    assert [t.name for t in ts] == ["forecast", "rest_style"]
    assert [d["name"] for d in ts.definitions()] == ["forecast", "rest_style"]
    with pytest.raises(ValueError, match="duplicate tool name 'forecast'"):
        ts.add(forecast)


def test_toolset_replace() -> None:
    ts = Toolset([forecast])
    original = ts["forecast"]
    new = ts.replace("forecast", timeout=2, reads=["fs:/a"])
    assert ts["forecast"] is new
    assert new.timeout == 2
    assert new.access == Access.of(reads=["fs:/a"])
    assert original.timeout is None
    assert original.access is UNLABELLED


ADD_SCHEMA: dict[str, Any] = {
    "name": "add",
    "description": "Add two numbers.",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}


def test_from_openai_accepts_wrapped_and_bare_forms() -> None:
    def mul(a: int, b: int) -> int:
        return a * b

    mul_schema = {**ADD_SCHEMA, "name": "mul", "description": "Multiply."}
    ts = Toolset.from_openai(
        [{"type": "function", "function": ADD_SCHEMA}, mul_schema],
        {"add": add, "mul": mul},
        labels={"add": {"reads": ["math"], "writes": []}},
        timeouts={"mul": 1.5},
    )
    assert ts.names() == ["add", "mul"]
    assert ts["add"].definition() == ADD_SCHEMA
    assert ts["mul"].description == "Multiply."
    assert ts["add"].access == Access.of(reads=["math"], writes=[])
    assert ts["mul"].access is UNLABELLED
    assert ts["mul"].timeout == 1.5
    assert ts["add"].timeout is None
    # The given schema is shown; validation follows the function's signature.
    with pytest.raises(ToolArgumentsError, match="'b' is required"):
        ts["add"].validate({"a": 1})


def test_from_openai_accepts_the_flat_responses_form() -> None:
    ts = Toolset.from_openai([{"type": "function", **ADD_SCHEMA}], {"add": add})
    assert ts["add"].definition() == ADD_SCHEMA


def test_from_openai_translates_bfcl_dict_type() -> None:
    schema = {**ADD_SCHEMA, "parameters": {**ADD_SCHEMA["parameters"], "type": "dict"}}
    ts = Toolset.from_openai([schema], {"add": add})
    assert ts["add"].parameters["type"] == "object"
    assert schema["parameters"]["type"] == "dict"  # the caller's schema is not modified


def test_from_openai_without_parameters_gets_an_empty_object() -> None:
    ts = Toolset.from_openai([{"name": "add"}], {"add": add})
    assert ts["add"].parameters == {"type": "object", "properties": {}}
    assert ts["add"].description == ""


def test_from_openai_missing_or_extra_callable() -> None:
    with pytest.raises(ValueError, match="no callable given for tool schema 'add'"):
        Toolset.from_openai([ADD_SCHEMA], {})
    with pytest.raises(ValueError, match="callables without a schema: forecast, mul"):
        Toolset.from_openai([ADD_SCHEMA], {"add": add, "mul": add, "forecast": forecast})


def test_from_schema_without_name() -> None:
    with pytest.raises(ValueError, match="has no 'name'"):
        Tool.from_schema({"description": "x"}, add)


def test_a_parameter_with_a_leading_underscore_keeps_its_name() -> None:
    def classify(_class: str, count: int = 1) -> str:
        return f"{_class}:{count}"

    t = Tool.from_function(classify)
    assert set(t.parameters["properties"]) == {"_class", "count"}
    assert t.parameters["required"] == ["_class"]
    kwargs = t.validate({"_class": "a", "count": 2})
    assert kwargs == {"_class": "a", "count": 2}
    assert t(**kwargs) == "a:2"
    with pytest.raises(ToolArgumentsError, match="_class"):
        t.validate({"count": 2})
