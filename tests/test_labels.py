"""Resource labels: parsing, validation and the conflict relation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncfc import UNLABELLED, Access, parse_label
from asyncfc._labels import ROOT


@pytest.mark.parametrize(
    ("label", "path"),
    [
        ("fs:/home/docs", ("fs", "home", "docs")),
        ("fs:/home/docs/", ("fs", "home", "docs")),
        ("fs:home/docs", ("fs", "home", "docs")),
        ("fs", ("fs",)),
        ("fs:/", ("fs",)),
        ("fs:", ("fs",)),
        ("  db:/users  ", ("db", "users")),
        ("my-ns.v2_x:/a", ("my-ns.v2_x", "a")),
        ("*", ROOT),
        ("/", ROOT),
    ],
)
def test_parse_label(label: str, path: tuple[str, ...]) -> None:
    assert parse_label(label) == path


@pytest.mark.parametrize(
    "label",
    ["", "fs space:/a", "fs:/a//b", "fs:/a/ b", "fs://", ":/a", "f$s:/a", "**"],
)
def test_bad_label_raises_value_error_naming_it(label: str) -> None:
    with pytest.raises(ValueError, match="invalid resource label") as info:
        parse_label(label)
    assert repr(label) in str(info.value)


def test_non_string_label_raises_type_error() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_label(3)  # type: ignore[arg-type]


def test_access_of_without_labels_is_unlabelled_and_writes_root() -> None:
    access = Access.of()
    assert access is UNLABELLED
    assert access.writes == frozenset({ROOT})
    assert access.labels() == {"reads": [], "writes": ["*"]}
    assert not access.read_only


def test_access_of_parses_and_formats_labels() -> None:
    access = Access.of(reads=["fs:/home", "db"], writes=["fs:/home/docs/"])
    assert access.reads == frozenset({("fs", "home"), ("db",)})
    assert access.writes == frozenset({("fs", "home", "docs")})
    assert access.labels() == {"reads": ["db", "fs:/home"], "writes": ["fs:/home/docs"]}


def test_access_of_rejects_a_bare_string_and_bad_labels() -> None:
    with pytest.raises(TypeError, match="not the string"):
        Access.of(reads="fs:/home")
    with pytest.raises(ValueError, match="invalid resource label 'fs:/a//b'"):
        Access.of(writes=["fs:/ok", "fs:/a//b"])


def test_only_reads_is_read_only_and_not_unlabelled() -> None:
    access = Access.of(reads=["fs:/a"])
    assert access.read_only
    assert access.writes == frozenset()
    assert access != UNLABELLED


def test_unlabelled_conflicts_with_everything() -> None:
    others = [
        UNLABELLED,
        Access.of(reads=["fs:/a"]),
        Access.of(writes=["db:/x/y"]),
        Access.of(reads=["*"]),
    ]
    for other in others:
        assert UNLABELLED.conflicts_with(other)
        assert other.conflicts_with(UNLABELLED)


def test_pure_tool_conflicts_with_nothing() -> None:
    pure = Access.of(reads=(), writes=())
    assert pure.read_only
    for other in (pure, UNLABELLED, Access.of(writes=["fs:/a"]), Access.of(reads=["*"])):
        assert not pure.conflicts_with(other)
        assert not other.conflicts_with(pure)


@pytest.mark.parametrize(
    ("writer", "other"),
    [
        ("fs:/home", "fs:/home/docs"),  # other is a descendant
        ("fs:/home/docs/a.txt", "fs:/home"),  # other is an ancestor
        ("fs:/home/docs", "fs:/home/docs"),  # the same node
        ("fs", "fs:/x/y/z"),  # the namespace itself
        ("*", "db:/anything"),  # the root
    ],
)
def test_write_conflicts_with_reads_and_writes_on_one_path(writer: str, other: str) -> None:
    w = Access.of(writes=[writer])
    for o in (Access.of(reads=[other]), Access.of(writes=[other])):
        assert w.conflicts_with(o)
        assert o.conflicts_with(w)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("fs:/home/docs", "fs:/home/music"),  # siblings
        ("fs:/home", "db:/home"),  # different namespaces
        ("fs:/home/doc", "fs:/home/docs"),  # prefix of a name is not an ancestor
    ],
)
def test_writes_on_different_branches_do_not_conflict(a: str, b: str) -> None:
    assert not Access.of(writes=[a]).conflicts_with(Access.of(writes=[b]))
    assert not Access.of(writes=[a]).conflicts_with(Access.of(reads=[b]))
    assert not Access.of(reads=[a]).conflicts_with(Access.of(writes=[b]))


def test_reads_never_conflict_even_on_the_same_node_or_root() -> None:
    a = Access.of(reads=["*", "fs:/home"])
    b = Access.of(reads=["fs:/home", "fs:/home/docs"])
    assert not a.conflicts_with(b)
    assert not b.conflicts_with(a)


_segment = st.sampled_from(["a", "b", "c"])
_label = st.builds(
    lambda ns, parts: f"{ns}:/{'/'.join(parts)}" if parts else ns,
    st.sampled_from(["fs", "db"]),
    st.lists(_segment, max_size=3),
)
_access = st.builds(
    lambda r, w: Access.of(reads=r, writes=w),
    st.lists(_label, max_size=3),
    st.lists(_label, max_size=3),
)


@given(_access, _access)
def test_conflict_is_symmetric_and_matches_the_definition(a: Access, b: Access) -> None:
    def on_one_path(x: tuple[str, ...], y: tuple[str, ...]) -> bool:
        return x[: len(y)] == y or y[: len(x)] == x

    expected = any(on_one_path(w, n) for w in a.writes for n in b.reads | b.writes) or any(
        on_one_path(w, n) for w in b.writes for n in a.reads
    )
    assert a.conflicts_with(b) == expected
    assert b.conflicts_with(a) == expected
