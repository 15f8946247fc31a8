"""ComplexFuncBench sequences: loading, DAG structure, reference conversion, mock tools."""

from __future__ import annotations

from typing import Any

import pytest
from asyncfc_bench import (
    CfbSequence,
    convert_references,
    format_path,
    ideal_parallelism_summary,
    load_complexfuncbench,
    make_mock_tools,
    parse_path,
    parse_reference,
    resolve_path,
)
from asyncfc_bench._complexfuncbench import _build

from asyncfc import Tool, ToolContext, Toolset


@pytest.fixture(scope="module")
def five() -> list[CfbSequence]:
    return load_complexfuncbench(limit=5)


def _ref(index: int, path: str) -> str:
    return f"<{index}:{path}>"


def test_five_sequences_load(five: list[CfbSequence]) -> None:
    assert len(five) == 5
    for seq in five:
        assert seq.input
        assert seq.calls
        assert [c.label for c in seq.calls] == [f"var{i + 1}" for i in range(len(seq.calls))]
        assert all(c.response is not None for c in seq.calls)
        assert 1 <= seq.depth <= len(seq.calls)


def test_first_sequence_by_hand(five: list[CfbSequence]) -> None:
    # One location search, then two independent rental searches that read its coordinates.
    seq = five[0]
    assert seq.input.startswith("Today is October 13th, 2024.")
    assert [c.name for c in seq.calls] == [
        "Search_Car_Location",
        "Search_Car_Rentals",
        "Search_Car_Rentals",
    ]
    assert seq.edges == ((0, 1), (0, 2))
    assert seq.levels == (1, 2, 2)
    assert seq.depth == 2
    assert seq.ideal_parallelism == pytest.approx(1.5)
    converted = convert_references(seq, 1, _ref)
    # The response of var1 is a list: the key applies to its first element, made explicit.
    assert converted["pick_up_latitude"] == "<0:[0].coordinates.latitude>"
    assert converted["pick_up_date"] == "2024-10-14"
    resolved = seq.resolved_arguments(1)
    assert resolved["pick_up_latitude"] == seq.calls[0].response[0]["coordinates"]["latitude"]


def test_reference_parsing_and_paths() -> None:
    ref = parse_reference("$var3.data[0].id$")
    assert ref is not None
    assert ref.label == "var3"
    assert ref.path == ("data", 0, "id")
    assert parse_reference("$var2.skyId$") is not None
    assert parse_reference("London") is None
    assert parse_reference("see $var2.skyId$") is None
    assert parse_path("data[0].id") == parse_path(".data[0].id") == ("data", 0, "id")
    assert format_path(("data", 0, "id")) == "data[0].id"
    assert format_path((0, "id")) == "[0].id"
    with pytest.raises(ValueError, match="malformed"):
        parse_path("data..id")
    value = {"data": [{"id": 5}, {"id": 6}]}
    assert resolve_path(value, "data[1].id") == 6
    assert resolve_path(value, "data.id") == 5
    with pytest.raises(LookupError):
        resolve_path(value, "data[2].id")


def _hand_made() -> CfbSequence:
    raw: dict[str, Any] = {
        "input": "Find flights from London to the first destination.",
        "output": [
            {
                "name": "Airport",
                "arguments": {"query": "London"},
                "label": "var1",
                "response": [{"skyId": "LOND"}],
            },
            {
                "name": "Airport",
                "arguments": {"query": "Paris"},
                "label": "var2",
                "response": {"data": [{"id": "PARI"}]},
            },
            {
                "name": "Flights",
                "label": "var3",
                "arguments": {"origin": "$var1.skyId$", "to": "$var2.data[0].id$", "n": 2},
                "response": {"data": [{"id": 42}]},
            },
            {
                "name": "Details",
                "arguments": {"ids": ["$var3.data[0].id$"]},
                "label": "var4",
                "response": {"price": 100},
            },
        ],
    }
    return _build(0, raw)


def test_dag_and_conversion_on_a_hand_made_sequence() -> None:
    seq = _hand_made()
    assert seq.edges == ((0, 2), (1, 2), (2, 3))
    assert seq.levels == (1, 1, 2, 3)
    assert seq.depth == 3
    assert seq.ideal_parallelism == pytest.approx(4 / 3)
    assert convert_references(seq, 2, _ref) == {
        "origin": "<0:[0].skyId>",
        "to": "<1:data[0].id>",
        "n": 2,
    }
    assert convert_references(seq, 3, _ref) == {"ids": ["<2:data[0].id>"]}
    assert seq.resolved_arguments(3) == {"ids": [42]}


def test_reference_to_a_later_call_is_rejected() -> None:
    raw = {
        "input": "x",
        "output": [{"name": "A", "arguments": {"a": "$var2.id$"}, "label": "var1", "response": 1}],
    }
    with pytest.raises(ValueError, match="no earlier call"):
        _build(0, raw)


def test_mock_tools_tell_repeated_calls_apart() -> None:
    seq = _hand_made()
    mocks = make_mock_tools(seq)
    assert set(mocks) == {"Airport", "Flights", "Details"}
    # Answered by arguments, not by order.
    assert mocks["Airport"](query="Paris") == {"data": [{"id": "PARI"}]}
    assert mocks["Airport"](query="London") == [{"skyId": "LOND"}]
    with pytest.raises(LookupError):
        mocks["Airport"](query="Rome")
    lenient = make_mock_tools(seq, strict=False)
    assert lenient["Airport"](query="Rome") == [{"skyId": "LOND"}]
    answer = mocks["Flights"](origin="LOND", to="PARI", n=2)
    answer["data"].clear()  # a copy: the recorded response is untouched
    assert seq.calls[2].response == {"data": [{"id": 42}]}


def test_mock_tools_work_as_asyncfc_tools(five: list[CfbSequence]) -> None:
    for seq in five:
        tools = Toolset(Tool.from_function(f) for f in make_mock_tools(seq).values())
        for call in seq.calls:
            tool = tools[call.name]
            kwargs = tool.validate(seq.resolved_arguments(call.index))
            assert tool.bind(kwargs, ToolContext())() == call.response


def test_summary(five: list[CfbSequence]) -> None:
    summary = ideal_parallelism_summary(five)
    assert summary["sequences"] == 5
    assert summary["ratio_of_means"] == pytest.approx(summary["mean_calls"] / summary["mean_depth"])
    with pytest.raises(ValueError, match="no sequences"):
        ideal_parallelism_summary([])
