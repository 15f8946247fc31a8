"""Future references in arguments (asyncfc._futures), alone and through the scheduler."""

from __future__ import annotations

import json
from typing import Any

import pytest
from runtime_support import call, run_mock, timed_tool

import asyncfc as a
from asyncfc._futures import (
    FutureReferenceError,
    find_references,
    parse_future_number,
    resolve_references,
    select_path,
)

VALUES: dict[int, Any] = {
    1: 42,
    2: {"skyId": "LOND", "items": [{"id": 7}, {"id": 8}], "name": "x"},
    3: "text",
}


def lookup(n: int) -> Any:
    return VALUES[n]


def render(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


# -- parsing and finding ------------------------------------------------------------------


def test_parse_future_number() -> None:
    assert parse_future_number("future_3") == 3
    assert parse_future_number(" future_12 ") == 12
    assert parse_future_number("future_3.x") is None
    assert parse_future_number("futures_3") is None


def test_find_whole_and_embedded_references_at_any_depth() -> None:
    args = {"a": "future_1", "b": [{"c": "future_2.items[0].id"}], "d": "see future_3 now"}
    deps, problems = find_references(args, issued=3)
    assert deps == {1, 2, 3}
    assert problems == []


def test_whole_value_reference_to_unissued_future_is_a_problem() -> None:
    deps, problems = find_references({"a": ["future_4"]}, issued=3)
    assert deps == set()
    assert problems == ["future_4 does not exist (futures issued so far: future_1 … future_3)"]
    _, none_yet = find_references({"a": "future_1"}, issued=0)
    assert none_yet == ["future_1 does not exist (futures issued so far: none)"]
    _, zero = find_references({"a": "future_0"}, issued=2)
    assert zero
    assert "future_0 does not exist" in zero[0]


def test_embedded_text_naming_unissued_future_is_left_alone() -> None:
    args = {"q": "the words future_9 are just text"}
    deps, problems = find_references(args, issued=1)
    assert deps == set()
    assert problems == []
    assert resolve_references(args, lookup, render) == args


# -- resolution ---------------------------------------------------------------------------


def test_whole_references_keep_their_type_at_any_depth() -> None:
    args = {"n": "future_1", "nested": {"list": ["future_2", {"deep": "future_2.items[1]"}]}}
    out = resolve_references(args, lookup, render)
    assert out == {
        "n": 42,
        "nested": {"list": [VALUES[2], {"deep": {"id": 8}}]},
    }
    assert isinstance(out["n"], int)


def test_whole_reference_tolerates_surrounding_whitespace() -> None:
    assert resolve_references({"n": "  future_1 "}, lookup, render) == {"n": 42}


def test_embedded_reference_is_interpolated_with_result_text() -> None:
    out = resolve_references(
        {"q": "total: future_1, sky future_2.skyId; future_8 stays"}, lookup, render
    )
    assert out == {"q": "total: 42, sky LOND; future_8 stays"}


def test_embedded_reference_to_object_renders_json() -> None:
    out = resolve_references({"q": "id=future_2.items[0]!"}, lookup, render)
    assert out == {"q": 'id={"id": 7}!'}


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("future_2.skyId", "LOND"),
        ("future_2.items[0].id", 7),
        ("future_2.items[1]", {"id": 8}),
        ("future_2", VALUES[2]),
    ],
)
def test_field_selection(ref: str, expected: Any) -> None:
    assert resolve_references({"v": ref}, lookup, render) == {"v": expected}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "future_2.nope",
            "future_2 has no field 'nope' (in future_2.nope); fields: skyId, items, name",
        ),
        (
            "future_2.items[5].id",
            "future_2.items has 2 items, so [5] does not exist (in future_2.items[5].id)",
        ),
        (
            "future_2.skyId[0]",
            "future_2.skyId is a string, not a list (in future_2.skyId[0])",
        ),
        (
            "future_1.x",
            "future_1 is a int, so it has no field 'x' (in future_1.x)",
        ),
        (
            "future_2.items.id",
            "future_2.items is a list, so it has no field 'id' (in future_2.items.id)",
        ),
    ],
)
def test_bad_path_is_a_precise_error(ref: str, message: str) -> None:
    with pytest.raises(FutureReferenceError) as info:
        resolve_references({"v": ref}, lookup, render)
    assert str(info.value) == message


def test_path_is_walked_not_evaluated() -> None:
    # Anything that is not a plain .name / [digits] step is not part of the reference.
    deps, _ = find_references({"v": "future_1.__class__"}, issued=1)
    assert deps == {1}
    with pytest.raises(FutureReferenceError):
        select_path({"a": 1}, ".__class__", ref="future_1.__class__")
    # "[0+1]" is no index step: a whole value that starts like a reference but is not one
    # is an error naming the first character that does not fit, never interpolated.
    deps, problems = find_references({"v": "future_2.items[0+1]"}, issued=2)
    assert deps == set()
    assert problems == [
        "'future_2.items[0+1]' is not a valid future reference: unexpected '[' after "
        "'future_2.items' (a reference is future_<n> followed by .field and [index] steps, "
        "e.g. future_3.items[0].id)"
    ]
    with pytest.raises(FutureReferenceError, match="not a valid future reference"):
        resolve_references({"v": "future_2.items[0+1]"}, lookup, render)


def test_select_path_converts_models_to_json_data() -> None:
    from dataclasses import dataclass

    @dataclass
    class Flight:
        skyId: str

    assert select_path({"f": Flight("PARI")}, ".f.skyId", ref="future_1.f.skyId") == "PARI"


# -- through the scheduler ----------------------------------------------------------------


def test_scheduler_resolves_references_before_running() -> None:
    log: list[tuple[str, Any]] = []
    ts = a.Toolset(
        [
            timed_tool("src", 1.0, reads=(), writes=(), result={"items": [{"id": "A1"}]}, log=log),
            timed_tool("use", 1.0, reads=(), writes=(), log=log),
        ]
    )

    async def main() -> list[a.ToolResult]:
        async with a.Scheduler(ts) as s:
            f1 = s.submit(call("c1", "src"))
            f2 = s.submit(call("c2", "use", x={"deep": ["future_1.items[0].id"]}))
            f3 = s.submit(call("c3", "use", x="got future_1.items[0].id!"))
            await s.drain()
        assert isinstance(f1, a.Future)
        assert isinstance(f2, a.Future)
        assert isinstance(f3, a.Future)
        assert f2.data_deps == (1,)
        assert f3.data_deps == (1,)
        return [f.result for f in (f1, f2, f3) if f.result is not None]

    _r1, r2, r3 = run_mock(main)
    assert r2.value == {"deep": ["A1"]}
    assert r3.value == "got A1!"
    assert ("use", {"deep": ["A1"]}) in log


@pytest.mark.parametrize("ref", ["future_1", "future_2", "future_7"])
def test_unknown_or_later_future_is_an_error_and_the_tool_never_runs(ref: str) -> None:
    log: list[tuple[str, Any]] = []
    ts = a.Toolset([timed_tool("t", 1.0, reads=(), writes=(), log=log)])

    async def main() -> a.Future | a.ToolResult:
        async with a.Scheduler(ts) as s:
            # Only future_1 exists after the first submission; a call may not name itself
            # (future_2) or anything later.
            first = s.submit(call("c0", "t", x=1))
            assert isinstance(first, a.Future)
            text = "future_1.nope" if ref == "future_1" else ref
            out = s.submit(call("c1", "t", x=text))
            await s.drain()
            return out

    out = run_mock(main)
    if ref == "future_1":
        # An issued future with a missing path: a future is made, then fails without running.
        assert isinstance(out, a.Future)
        assert out.result is not None
        assert out.result.error_kind == "unknown_future"
        assert "no field 'nope'" in out.result.content
    else:
        assert isinstance(out, a.ToolResult)
        assert out.is_error
        assert out.error_kind == "unknown_future"
        assert out.content == (f"Error: {ref} does not exist (futures issued so far: future_1)")
    assert log == [("t", 1)]


def test_failed_reference_field_error_never_runs_tool() -> None:
    log: list[tuple[str, Any]] = []
    ts = a.Toolset(
        [
            timed_tool("src", 1.0, reads=(), writes=(), result=[1, 2]),
            timed_tool("use", 1.0, reads=(), writes=(), log=log),
        ]
    )

    async def main() -> a.Future:
        async with a.Scheduler(ts) as s:
            s.submit(call("c1", "src"))
            f = s.submit(call("c2", "use", x="future_1[9]"))
            await s.drain()
        assert isinstance(f, a.Future)
        return f

    f = run_mock(main)
    assert f.result is not None
    assert f.result.content == "Error: future_1 has 2 items, so [9] does not exist (in future_1[9])"
    assert log == []


def test_tool_results_are_never_scanned_for_references() -> None:
    """A tool returns text naming another future; passing its value on delivers that text
    verbatim, never the other future's value."""
    log: list[tuple[str, Any]] = []
    ts = a.Toolset(
        [
            timed_tool("secret", 1.0, reads=(), writes=(), result="SECRET"),
            timed_tool(
                "evil", 1.0, reads=(), writes=(), result={"ref": "future_1", "t": "x future_1"}
            ),
            timed_tool("use", 1.0, reads=(), writes=(), log=log),
        ]
    )

    async def main() -> None:
        async with a.Scheduler(ts) as s:
            s.submit(call("c1", "secret"))
            s.submit(call("c2", "evil"))
            s.submit(call("c3", "use", x="future_2"))
            s.submit(call("c4", "use", x="future_2.ref"))
            s.submit(call("c5", "use", x="value: future_2.t"))
            await s.drain()

    run_mock(main)
    assert sorted(log, key=str) == sorted(
        [
            ("use", {"ref": "future_1", "t": "x future_1"}),
            ("use", "future_1"),
            ("use", "value: x future_1"),
        ],
        key=str,
    )
    assert all("SECRET" not in str(x) for _, x in log)
