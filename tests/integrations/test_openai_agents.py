"""asyncfc inside the OpenAI Agents SDK's own run loop, driven by the SDK's ``ScriptedModel``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.lowlevel
import pytest

pytest.importorskip("agents")

from agents import Agent, RunConfig, function_tool
from agents.testing import ModelStep, ScriptedModel
from agents.testing.model import ModelCall, assistant_message, function_call
from framework_tasks import cancel_once_running, new_threads, other_tasks

from asyncfc.integrations.openai_agents import run

pytestmark = pytest.mark.anyio

NO_TRACING = RunConfig(tracing_disabled=True)


def calls(*parts: tuple[str, dict[str, Any], str]) -> list[Any]:
    return [function_call(name, args, call_id=cid) for name, args, cid in parts]


def outputs(items: Sequence[Any]) -> dict[str, list[str]]:
    """call id → every output the model was given for it."""
    out: dict[str, list[str]] = {}
    for item in items:
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            out.setdefault(item["call_id"], []).append(str(item["output"]))
    return out


def called(items: Sequence[Any]) -> list[str]:
    return [i["call_id"] for i in items if isinstance(i, dict) and i.get("type") == "function_call"]


def text_of(items: Sequence[Any]) -> str:
    parts = []
    for item in items:
        if isinstance(item, dict):
            parts.append(str(item.get("output", "")) if "output" in item else "")
            if item.get("role") == "user":
                parts.append(str(item.get("content")))
    return "\n".join(parts)


async def test_futures_resolve_in_later_calls_and_the_drain_comes_before_the_output() -> None:
    release = anyio.Event()
    stored: list[int] = []

    @function_tool
    def fetch(x: int) -> int:
        """Fetch x."""
        return x * 10

    @function_tool
    async def store(value: int) -> str:
        """Store a value."""
        await release.wait()
        stored.append(value)
        return f"stored {value}"

    def final(call: ModelCall) -> Any:
        release.set()  # store is still running when the model answers
        return [assistant_message("done")]

    model = ScriptedModel(
        [
            calls(("fetch", {"x": 1}, "c1"), ("fetch", {"x": 2}, "c2")),
            calls(("store", {"value": "future_1"}, "c3")),
            ModelStep.respond(final),
            [assistant_message("done, all stored")],
        ]
    )
    agent = Agent(name="a", instructions="Be brief.", model=model, tools=[fetch, store])
    result = await run(agent, "go", run_config=NO_TRACING)

    assert result.final_output == "done, all stored"
    assert stored == [10]
    first = model.calls[0]
    assert [t.name for t in first.tools] == ["fetch", "store", "await_future"]
    assert "future_" in str(first.tools[0].params_json_schema)  # type: ignore[union-attr]
    assert first.system_instructions is not None
    assert first.system_instructions.startswith("Be brief.")
    assert "await_future" in first.system_instructions
    history = result.to_input_list()
    assert called(history) == ["c1", "c2", "c3"]
    assert list(outputs(history)) == ["c1", "c2", "c3"]
    assert all(len(v) == 1 for v in outputs(history).values())
    shown = text_of(history)
    for line in ("future_1 = 10", "future_2 = 20", "future_3 = stored 10"):
        assert shown.count(line) == 1, line
    # the drain: "done" was answered with the results the model had not seen
    last_input = model.calls[-1].input
    assert last_input[-1]["role"] == "user"
    assert "future_3 = stored 10" in last_input[-1]["content"]
    assert len(model.calls) == 4


async def test_labels_run_readers_together_and_keep_writers_apart() -> None:
    log: list[str] = []
    started = {k: anyio.Event() for k in "abcd"}

    @function_tool
    async def read(key: str) -> str:
        """Read a key."""
        log.append(f"start {key}")
        started[key].set()
        if key in ("a", "b"):
            with anyio.fail_after(5):
                await started["b" if key == "a" else "a"].wait()
        await anyio.lowlevel.checkpoint()
        log.append(f"end {key}")
        return key

    @function_tool
    async def write(key: str) -> str:
        """Write a key."""
        log.append(f"start {key}")
        await anyio.lowlevel.checkpoint()
        log.append(f"end {key}")
        return key

    model = ScriptedModel(
        [
            calls(
                ("read", {"key": "a"}, "1"),
                ("read", {"key": "b"}, "2"),
                ("write", {"key": "c"}, "3"),
                ("read", {"key": "d"}, "4"),
            ),
            [assistant_message("ok")],
        ]
    )
    agent = Agent(name="a", model=model, tools=[read, write])
    labels = {"read": {"reads": ["db"]}, "write": {"writes": ["db"]}}
    result = await run(agent, "go", mode="concurrent", labels=labels, run_config=NO_TRACING)

    assert result.final_output == "ok"
    out = outputs(result.to_input_list())
    assert out == {"1": ["a"], "2": ["b"], "3": ["c"], "4": ["d"]}
    assert set(log[:2]) == {"start a", "start b"}
    assert log.index("start c") > max(log.index("end a"), log.index("end b"))
    assert log.index("start d") > log.index("end c")


async def test_unlabelled_tools_serialize_in_the_responses_order() -> None:
    log: list[str] = []

    @function_tool
    async def step(n: int) -> int:
        """A step."""
        log.append(f"start {n}")
        await anyio.lowlevel.checkpoint()
        log.append(f"end {n}")
        return n

    model = ScriptedModel(
        [calls(*[("step", {"n": n}, f"c{n}") for n in range(5)]), [assistant_message("ok")]]
    )
    agent = Agent(name="a", model=model, tools=[step])
    await run(agent, "go", mode="concurrent", run_config=NO_TRACING)
    assert log == [f"{e} {n}" for n in range(5) for e in ("start", "end")]


async def test_cancelling_the_run_leaves_no_task_and_no_thread() -> None:
    running = anyio.Event()

    @function_tool
    async def hang() -> str:
        """Never finishes."""
        running.set()
        await anyio.sleep_forever()
        return "never"

    model = ScriptedModel(
        [
            calls(("hang", {}, "c1")),
            calls(("await_future", {"future_ids": ["future_1"]}, "c2")),
        ]
    )
    agent = Agent(name="a", model=model, tools=[hang])
    threads = set(threading.enumerate())
    before = other_tasks()
    await cancel_once_running(lambda: run(agent, "go", run_config=NO_TRACING), running)
    assert other_tasks() - before == set()
    assert new_threads(threads) == set()


@pytest.mark.parametrize(("policy", "requests"), [("label_aware", 2), ("reask", 3)])
async def test_the_drain_follows_the_final_answer_policy(policy: str, requests: int) -> None:
    """An answer whose only unseen result is a successful write stands under
    ``label_aware`` (the default, as for asyncfc's Agent); ``reask`` continues the run."""
    release = anyio.Event()

    @function_tool
    async def save(text: str) -> str:
        """Save a note."""
        await release.wait()
        return f"saved {text}"

    def final(call: ModelCall) -> Any:
        release.set()  # save is still running when the model answers
        return [assistant_message("done")]

    model = ScriptedModel(
        [
            calls(("save", {"text": "a"}, "c1")),
            ModelStep.respond(final),
            [assistant_message("again")],
        ]
    )
    agent = Agent(name="a", model=model, tools=[save])
    result = await run(
        agent,
        "go",
        labels={"save": {"reads": [], "writes": ["notes"]}},
        final_answer=policy,  # type: ignore[arg-type]
        run_config=NO_TRACING,
    )
    assert len(model.calls) == requests
    assert result.final_output == ("done" if policy == "label_aware" else "again")


async def test_a_session_kept_across_runs_keeps_future_ids_unique() -> None:
    """``run(..., session=...)`` for every turn of a conversation: turn 2's futures continue
    the numbering, and turn 1's future is still a value turn 2 can pass on."""
    from asyncfc import FuturesSession, Toolset

    @function_tool
    def fetch(x: int) -> int:
        """Fetch x."""
        return x * 10

    @function_tool
    def show(value: int) -> str:
        """Show a value."""
        return f"shown {value}"

    model = ScriptedModel(
        [
            calls(("fetch", {"x": 1}, "c1"), ("await_future", {}, "c2")),
            [assistant_message("first")],
            calls(("show", {"value": "future_1"}, "c3"), ("await_future", {}, "c4")),
            [assistant_message("second")],
        ]
    )
    agent = Agent(name="a", model=model, tools=[fetch, show])
    labels = {"fetch": {"reads": ["n"], "writes": []}}
    async with FuturesSession(Toolset(), mode="async") as session:
        first = await run(agent, "one", labels=labels, session=session, run_config=NO_TRACING)
        history = [*first.to_input_list(), {"role": "user", "content": "two"}]
        second = await run(agent, history, labels=labels, session=session, run_config=NO_TRACING)
    shown = text_of(second.to_input_list())
    assert "future_2 (pending)" in shown  # not a second future_1
    assert "future_2 = shown 10" in shown  # turn 1's future_1 resolved in turn 2
    assert second.final_output == "second"


async def test_a_kept_session_wraps_each_tool_once_and_takes_a_new_one_of_a_name() -> None:
    """In one session the same tool is wrapped once for every turn; another tool object of
    the same name (a new agent in the same conversation) takes the name over, so its calls
    reach it and not the first one."""
    from asyncfc import FuturesSession, Toolset
    from asyncfc.integrations.openai_agents import wrap_agent

    @function_tool
    def answer() -> str:
        """Answer."""
        return "first"

    @function_tool(name_override="answer")
    def answer_again() -> str:
        """Answer."""
        return "second"

    agent = Agent(name="a", tools=[answer])
    async with FuturesSession(Toolset(), mode="concurrent") as session:
        once = wrap_agent(agent, session)
        again = wrap_agent(agent, session)
        assert again is once  # the same agent, unchanged: the same clone
        agent.instructions = "Be brief."
        renamed = wrap_agent(agent, session)
        assert renamed is not once  # a field set to another value: cloned again ...
        assert renamed.instructions == "Be brief."
        assert renamed.tools[0] is once.tools[0]  # ... with the tools it had wrapped
        agent.tools.append(answer_again)
        grown = wrap_agent(agent, session)  # a list changed in place is seen too
        assert grown is not renamed
        assert len(grown.tools) == 2
        agent.tools.pop()
        relabelled = wrap_agent(agent, session, labels={"answer": {"reads": []}})
        assert relabelled.tools[0] is not once.tools[0]  # other labels: wrapped again
        assert session.toolset["answer"].access.read_only
        model = ScriptedModel([calls(("answer", {}, "c1")), [assistant_message("ok")]])
        other = Agent(name="b", model=model, tools=[answer_again])
        result = await run(other, "go", session=session, run_config=NO_TRACING)
    assert outputs(result.to_input_list()) == {"c1": ["second"]}


async def test_nothing_keeps_a_finished_session_alive() -> None:
    """What a session made (the agent's clone, the tool copies, whose closures refer to the
    session) lives in the session itself, so it goes with it."""
    import gc
    import weakref

    from asyncfc import FuturesSession, Toolset

    @function_tool
    def answer() -> str:
        """Answer."""
        return "yes"

    model = ScriptedModel([calls(("answer", {}, "c1")), [assistant_message("ok")]])
    agent = Agent(name="a", model=model, tools=[answer])
    async with FuturesSession(Toolset(), mode="concurrent") as session:
        await run(agent, "go", session=session, run_config=NO_TRACING)
        gone = weakref.ref(session)
    del session, agent, model  # the scripted model keeps the tools it was offered
    gc.collect()
    assert gone() is None
