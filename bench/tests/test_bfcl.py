"""BFCL data layer: labels, backends, call parsing, scoring, replay, information dependencies."""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import mpmath
import pytest
from asyncfc_bench import (
    BACKEND_CLASSES,
    BfclEntry,
    Replay,
    ReplayedCall,
    bfcl_labels,
    format_call,
    function_docs,
    information_dependencies,
    label_state_map,
    load_multi_turn,
    make_environment,
    make_instances,
    parse_call,
    replay_ground_truth,
    score,
    snapshot,
    to_jsonable,
    validate_labels,
)
from asyncfc_bench._bfcl_backends import _bind_methods

from asyncfc import ToolContext, parse_label

# --------------------------------------------------------------------------- label audit
# For every ground-truth call the backend instance is traced: the instance attributes the
# call reads (through __getattribute__) and the ones whose value changes (a deep snapshot
# before and after, private attributes and process-global precision settings included) are
# mapped to resource nodes through the "state" section of the labels file.  A read node must
# be covered by a declared read or write label, a changed node by a declared write label
# ("covered": the label is the node or one of its ancestors).

_GLOBALS = {
    "@mpmath.mp.dps": lambda: mpmath.mp.dps,
    "@decimal.getcontext().prec": lambda: decimal.getcontext().prec,
}


def _covered(node: tuple[str, ...], labels: Iterable[str]) -> bool:
    return any(node[: len(p)] == p for p in map(parse_label, labels))


def _nodes(spec: Any, kind: str) -> list[tuple[str, ...]]:
    if isinstance(spec, dict):
        return [parse_label(x) for x in spec[kind]]
    return [parse_label(x) for x in spec]


def _state(instance: Any, class_name: str) -> dict[str, Any]:
    out = {k: to_jsonable(v) for k, v in vars(instance).items()}
    if "_current_dir" in out:  # the cwd is a pointer into the tree: compare where it points
        out["_current_dir"] = instance.pwd()["current_working_directory"]
    for key, read in _GLOBALS.items():
        if key in label_state_map(class_name):
            out[key] = read()
    return out


@contextmanager
def _traced(instance: Any, log: set[str]) -> Iterator[None]:
    cls = type(instance)

    def getattribute(self: Any, name: str) -> Any:
        if name in object.__getattribute__(self, "__dict__"):
            log.add(name)
        return object.__getattribute__(self, name)

    traced = type(cls.__name__, (cls,), {"__getattribute__": getattribute})
    instance.__class__ = traced
    try:
        yield
    finally:
        instance.__class__ = cls


def audit(entry: BfclEntry, labels: dict[str, dict[str, list[str]]] | None = None) -> list[str]:
    """Problems found while replaying ``entry``'s ground truth (empty when labels are sound)."""
    labels = labels if labels is not None else bfcl_labels()
    instances = make_instances(entry)
    methods = _bind_methods(entry, instances)
    owner = {
        name: cls for cls, inst in instances.items() for name in methods if hasattr(inst, name)
    }
    problems: list[str] = []
    for text in (t for turn in entry.ground_truth for t in turn):
        name, kwargs = parse_call(text, functions=methods)
        cls = owner[name]
        instance = instances[cls]
        state_map = label_state_map(cls)
        lab = labels[name]
        before = _state(instance, cls)
        read: set[str] = set()
        # An exception is a result like any other: the state it leaves still counts.
        with _traced(instance, read), suppress(Exception):
            getattr(instance, name)(**kwargs)
        after = _state(instance, cls)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        for attr in sorted(read | changed):
            if attr not in state_map:
                problems.append(f"{entry.id}: {cls}.{attr} is not in the state map")
        for attr in sorted(read & state_map.keys()):
            for node in _nodes(state_map[attr], "reads"):
                if not _covered(node, [*lab["reads"], *lab["writes"]]):
                    problems.append(f"{entry.id}: {text} reads {attr} ({node}) undeclared")
        for attr in sorted(changed & state_map.keys()):
            nodes = _nodes(state_map[attr], "writes")
            if not nodes:
                problems.append(f"{entry.id}: {text} changed constant {cls}.{attr}")
            for node in nodes:
                if not _covered(node, lab["writes"]):
                    problems.append(f"{entry.id}: {text} writes {attr} ({node}) undeclared")
    return problems


# --------------------------------------------------------------------------- labels


def test_labels_cover_every_documented_function() -> None:
    validate_labels()
    labels = bfcl_labels()
    assert len(labels) == 128
    for cls in BACKEND_CLASSES:
        assert set(bfcl_labels(cls)) <= set(labels)


def test_math_functions_are_pure_except_global_precision() -> None:
    impure = {"logarithm", "square_root"}
    for name, lab in bfcl_labels("MathAPI").items():
        if name in impure:
            assert lab["reads"] == []
            assert len(lab["writes"]) == 1
        else:
            assert lab == {"reads": [], "writes": []}


def test_hidden_mutations_are_writes() -> None:
    labels = bfcl_labels()
    assert "fs:/cwd" in labels["cd"]["writes"]
    assert "fs:/cwd" in labels["ls"]["reads"]
    assert labels["get_current_speed"]["writes"] == ["vehicle:/rng"]
    assert "travel:/flight_cost_cache" in labels["get_flight_cost"]["writes"]


@pytest.mark.parametrize("category", ["multi_turn_base", "multi_turn_long_context"])
def test_labels_cover_what_ground_truth_calls_touch(category: str) -> None:
    problems = [p for e in load_multi_turn(category) for p in audit(e)]
    assert problems == []


def test_audit_catches_missing_labels() -> None:
    wrong = bfcl_labels()
    wrong["cd"] = {"reads": ["fs:/tree"], "writes": []}  # forgets that cd moves the cwd
    wrong["ls"] = {"reads": ["fs:/tree"], "writes": []}  # forgets that ls depends on the cwd
    problems = audit(load_multi_turn(limit=1)[0], wrong)
    assert any(
        p.startswith("multi_turn_base_0: cd(") and "writes _current_dir" in p for p in problems
    )
    wrong_entry = load_multi_turn(ids=["multi_turn_base_26"])[0]
    assert any("ls(" in p and "reads _current_dir" in p for p in audit(wrong_entry, wrong))


# --------------------------------------------------------------------------- data + backends


def test_load_multi_turn_base() -> None:
    entries = load_multi_turn()
    assert len(entries) == 200
    first = entries[0]
    assert first.id == "multi_turn_base_0"
    assert len(first.turns) == len(first.ground_truth)
    assert first.ground_truth[0][0] == "cd(folder='document')"
    assert not first.long_context
    assert load_multi_turn("multi_turn_long_context", limit=1)[0].long_context
    assert [e.id for e in load_multi_turn(ids=["multi_turn_base_7"])] == ["multi_turn_base_7"]


def test_function_docs_drop_excluded_functions() -> None:
    entry = load_multi_turn(limit=1)[0]
    names = {d["name"] for d in function_docs(entry)}
    assert entry.excluded_functions
    assert names.isdisjoint(entry.excluded_functions)
    assert "mkdir" in names
    assert "post_tweet" in names


def test_instances_are_fresh() -> None:
    entry = load_multi_turn(limit=1)[0]
    a, b = make_instances(entry), make_instances(entry)
    env = make_environment(entry)
    env.call("cd(folder='document')")
    env.call("mkdir(dir_name='new_dir')")
    assert snapshot(a) == snapshot(b) != env.state()
    assert entry.initial_config == load_multi_turn(limit=1)[0].raw["initial_config"]


def test_toolset_is_labelled_and_bound() -> None:
    entry = load_multi_turn(limit=1)[0]
    env = make_environment(entry)
    assert set(env.toolset.names()) == {d["name"] for d in function_docs(entry)}
    assert env.toolset["ls"].access.read_only
    assert env.toolset["cd"].access.conflicts_with(env.toolset["ls"].access)
    assert not env.toolset["ls"].access.conflicts_with(env.toolset["cat"].access)
    assert not env.toolset["get_tweet"].access.conflicts_with(env.toolset["ls"].access)
    unlabelled = make_environment(entry, labelled=False)
    assert unlabelled.toolset["ls"].access.conflicts_with(unlabelled.toolset["cat"].access)
    tool = env.toolset["cd"]
    assert tool.bind(tool.validate({"folder": "document"}), ToolContext())() == {
        "current_working_directory": "document"
    }


def test_tools_do_not_coerce_arguments() -> None:
    entry = load_multi_turn(ids=["multi_turn_base_173"])[0]
    env = make_environment(entry)
    tool = env.toolset["close_ticket"]
    assert tool.validate({"ticket_id": "ticket_001"}) == {"ticket_id": "ticket_001"}


# --------------------------------------------------------------------------- call strings


def test_parse_keyword_call() -> None:
    assert parse_call("mv(source='a', destination='b')") == (
        "mv",
        {"source": "a", "destination": "b"},
    )


def test_parse_positional_and_nested_literals() -> None:
    def f(a: Any, b: Any, c: Any = None, d: Any = None) -> None: ...

    name, kwargs = parse_call(
        "f([1, -2.5, {'k': (True, None)}], 'x', d={'s': {1, 2}})", functions={"f": f}
    )
    assert name == "f"
    assert kwargs == {"a": [1, -2.5, {"k": (True, None)}], "b": "x", "d": {"s": {1, 2}}}
    assert list(kwargs) == ["a", "b", "d"]


def test_parse_positional_uses_backend_signature() -> None:
    entry = load_multi_turn(limit=1)[0]
    methods = _bind_methods(entry, make_instances(entry))
    assert parse_call("sort('final_report.pdf')", functions=methods) == (
        "sort",
        {"file_name": "final_report.pdf"},
    )


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "f(x=open('p'))",
        "a.b(c=1)",
        "f(**{'a': 1})",
        "f(1)",
        "f(a=1, a=2)",
        "x = 1",
        "f(a=1",
    ],
)
def test_parse_rejects_non_literal_calls(text: str) -> None:
    with pytest.raises(ValueError, match=r"call|literal|kwargs|positional|twice"):
        parse_call(text)


def test_format_call_round_trips() -> None:
    args = {"content": 'it\'s "quoted"\n', "tags": ["#a"], "n": -3.5}
    text = format_call("post_tweet", args)
    assert parse_call(text) == ("post_tweet", args)
    with pytest.raises(ValueError, match="identifier"):
        format_call("bad name", {})


# --------------------------------------------------------------------------- scoring + replay


@pytest.mark.parametrize("index", [0, 1, 2])
def test_ground_truth_replay_through_toolset_is_valid(index: int) -> None:
    entry = load_multi_turn(limit=3)[index]
    env = make_environment(entry)
    executed: list[list[list[str]]] = []
    for turn in entry.ground_truth:
        step = []
        for text in turn:
            name, kwargs = parse_call(text, functions=env.methods)
            tool = env.toolset[name]
            tool.bind(tool.validate(kwargs), ToolContext())()
            step.append(format_call(name, kwargs))
        executed.append([step])
    assert score(entry, executed) == {"valid": True}
    assert env.state() == replay_ground_truth(entry).state


def test_perturbed_replay_is_rejected() -> None:
    entry = load_multi_turn(limit=1)[0]
    calls = [[list(turn)] for turn in entry.ground_truth]
    calls[0] = [["cd(folder='document')", "mkdir(dir_name='temp')"]]  # the mv is missing
    verdict = score(entry, calls)
    assert verdict["valid"] is False
    assert verdict["error_type"] == "multi_turn:instance_state_mismatch"
    wrong_value = [[list(turn)] for turn in entry.ground_truth]
    wrong_value[1] = [["cd(folder='temp')", "grep(file_name='final_report.pdf',pattern='xyz')"]]
    assert score(entry, wrong_value)["valid"] is False


def test_score_rejects_wrong_turn_count() -> None:
    entry = load_multi_turn(limit=1)[0]
    with pytest.raises(ValueError, match="turns"):
        score(entry, [])


def test_replay_state_is_json_and_sequential() -> None:
    import json

    entry = load_multi_turn(limit=1)[0]
    replay = replay_ground_truth(entry)
    assert len(replay.calls) == sum(len(t) for t in entry.ground_truth)
    assert [c.index for c in replay.calls] == list(range(len(replay.calls)))
    assert json.loads(json.dumps(replay.state)) == replay.state
    assert replay.calls[0].result == {"current_working_directory": "document"}
    assert replay_ground_truth(entry, via_toolset=True) == replay
    assert [len(t) for t in replay.per_turn()] == [len(t) for t in entry.ground_truth]


def test_to_jsonable_handles_backend_values() -> None:
    import random

    value = {1: {2, 3}, "r": random.Random(1), "d": decimal.Decimal("1.5"), "t": (1,)}
    out = to_jsonable(value)
    assert out["int:1"] == [2, 3]
    assert out["d"] == "Decimal('1.5')"
    assert out["t"] == [1]
    assert out["r"] == to_jsonable(random.Random(1))


# --------------------------------------------------------------------------- information deps


def _fake_entry(turns: list[str], calls: list[list[str]]) -> BfclEntry:
    return BfclEntry(
        id="fake_0",
        category="fake",
        turns=tuple(({"role": "user", "content": t},) for t in turns),
        initial_config={},
        involved_classes=(),
        excluded_functions=(),
        ground_truth=tuple(tuple(c) for c in calls),
        raw={},
    )


def _fake_replay(calls: list[tuple[int, str, dict[str, Any], Any]]) -> Replay:
    return Replay(
        calls=tuple(
            ReplayedCall(index=i, turn=t, text=n, name=n, arguments=a, result=r)
            for i, (t, n, a, r) in enumerate(calls)
        ),
        state={},
    )


def test_information_dependencies_on_a_hand_made_task() -> None:
    entry = _fake_entry(
        ["Post 'hello world' and then comment 'nice' on it.", "Now look up Alice's id 10."],
        [["post", "comment", "x"], ["find", "send", "again"]],
    )
    replay = _fake_replay(
        [
            (0, "post", {"content": "hello world"}, {"id": 7, "content": "hello world"}),
            (0, "comment", {"tweet_id": 7, "text": "nice"}, {"ok": True}),  # 7: from post
            (0, "x", {"flag": True, "n": 10}, {"user_id": "USR-9"}),  # bools skipped; 10 in text
            (1, "find", {"name": "Alice"}, {"found": "the user USR-9 is Alice"}),
            (1, "send", {"to": "USR-9", "unit": "l"}, {"sent": 1}),  # USR-9: first from call 2
            (1, "again", {"tweet": 7.0, "short": "us"}, None),  # 7.0 == 7; "us" not a substring
        ]
    )
    assert information_dependencies(entry, replay) == [None, 0, None, None, 2, 0]


def test_information_dependencies_on_bfcl() -> None:
    entries = load_multi_turn(limit=20)
    counts = [information_dependencies(e) for e in entries]
    assert all(
        len(c) == sum(len(t) for t in e.ground_truth) for c, e in zip(counts, entries, strict=True)
    )
    flat = [d for c in counts for d in c]
    assert any(d is not None for d in flat)
    for deps in counts:
        for i, d in enumerate(deps):
            assert d is None or d < i
