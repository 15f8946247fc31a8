"""FuturesSession: futures for a loop asyncfc does not own (events, not clocks)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from asyncfc import (
    AWAIT_TOOL_NAME,
    PROMPT_ADDENDUM,
    FuturesSession,
    Tool,
    ToolCall,
    ToolResult,
    Toolset,
    tool,
)
from asyncfc._protocol import (
    AWAIT_TOOL,
    NOTHING_TO_AWAIT,
    delivery_text,
    future_tool_definition,
    pending_text,
)

pytestmark = pytest.mark.anyio


class Gates:
    """One event per name: a tool call blocks on its gate until the test opens it."""

    def __init__(self) -> None:
        self.events: dict[str, anyio.Event] = {}
        self.started: list[str] = []

    def __getitem__(self, name: str) -> anyio.Event:
        return self.events.setdefault(name, anyio.Event())


def make_toolset(gates: Gates) -> Toolset:
    @tool(reads=["db"], writes=[])
    async def get(key: str) -> dict[str, Any]:
        """Read a key."""
        gates.started.append(key)
        await gates[key].wait()
        return {"key": key, "items": [{"id": f"{key}-0"}]}

    @tool(reads=[], writes=["db"])
    async def put(key: str, value: str) -> str:
        """Write a key."""
        gates.started.append(f"put {key}")
        return f"{key}={value}"

    @tool(reads=[], writes=[])
    def boom() -> str:
        """Always raises."""
        raise RuntimeError("kaput")

    return Toolset([get, put, boom])


def call(cid: str, name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=cid, name=name, arguments=json.dumps(arguments))


async def settle(session: FuturesSession, n: int) -> None:
    await session.scheduler.get(n).done.wait()


async def test_async_answers_pending_then_delivers_on_the_next_answer() -> None:
    gates = Gates()
    async with FuturesSession(make_toolset(gates)) as session:
        first = await session.call(call("c1", "get", key="a"))
        assert first == ToolResult(call_id="c1", name="get", content=pending_text("future_1"))
        gates["a"].set()
        await settle(session, 1)
        second = await session.call(call("c2", "get", key="b"))
        value = session.scheduler.get(1).result
        assert value is not None
        assert second.call_id == "c2"
        assert second.content == (
            pending_text("future_2") + "\n\n" + delivery_text([("future_1", value.content, False)])
        )
        # shown once: the next answer does not repeat it
        gates["b"].set()
        await settle(session, 2)
        third = await session.call(call("c3", "put", key="z", value="1"))
        assert "future_1 =" not in third.content
        assert "future_2 = " in third.content
        assert await session.drain() == delivery_text([("future_3", "z=1", False)])
        assert await session.drain() == ""


async def test_references_resolve_and_labels_order_calls() -> None:
    gates = Gates()
    async with FuturesSession(make_toolset(gates)) as session:
        await session.call(call("c1", "get", key="a"))
        ref = await session.call(call("c2", "put", key="future_1.items[0].id", value="v"))
        assert ref.content == pending_text("future_2")
        await anyio.wait_all_tasks_blocked()
        assert gates.started == ["a"]  # the writer waits for the reader it depends on
        gates["a"].set()
        text = await session.drain()
        assert "future_2 = a-0=v" in text


async def test_await_future_returns_values_and_marks_them_shown() -> None:
    gates = Gates()
    async with FuturesSession(make_toolset(gates)) as session:
        await session.call(call("c1", "get", key="a"))
        await session.call(call("c2", "boom"))

        async def open_gate() -> None:
            await anyio.wait_all_tasks_blocked()
            gates["a"].set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(open_gate)
            awaited = await session.call(
                call("c3", AWAIT_TOOL_NAME, future_ids=["future_1", "future_2"])
            )
        lines = awaited.content.split("\n")
        assert lines[0].startswith("future_1 = {")
        assert lines[1] == "future_2 failed: tool 'boom' raised RuntimeError: kaput"
        assert await session.drain() == ""


async def test_await_future_without_ids_waits_for_every_unseen_future() -> None:
    """A session does not see response boundaries, so an await without ids covers every
    future the model has not seen: a superset of the calls made before it in its response."""
    gates = Gates()
    async with FuturesSession(make_toolset(gates)) as session:
        await session.call(call("c1", "get", key="a"))
        await session.call(call("c2", "boom"))
        await settle(session, 2)
        answer = await session.call(call("c3", "get", key="c"))
        assert "future_2 failed" in answer.content  # shown: the await will not wait for it
        async with anyio.create_task_group() as tg:

            async def open_gates() -> None:
                await anyio.wait_all_tasks_blocked()
                gates["a"].set()
                gates["c"].set()

            tg.start_soon(open_gates)
            awaited = await session.call(call("c4", AWAIT_TOOL_NAME))
        lines = awaited.content.split("\n")
        assert [line.split(" = ")[0] for line in lines] == ["future_1", "future_3"]
        nothing = await session.call(call("c5", AWAIT_TOOL_NAME, future_ids=[]))
        assert nothing.content.startswith(NOTHING_TO_AWAIT)
        assert await session.drain() == ""


async def test_await_future_rejects_bad_input_precisely() -> None:
    async with FuturesSession(make_toolset(Gates())) as session:
        unknown = await session.call(call("c1", AWAIT_TOOL_NAME, future_ids=["future_9"]))
        assert unknown.is_error
        assert unknown.error_kind == "unknown_future"
        assert "future_9" in unknown.content
        not_ids = await session.call(call("c2", AWAIT_TOOL_NAME, future_ids=[3]))
        assert not_ids.error_kind == "invalid_arguments"
        bad_timeout = await session.call(
            call("c3", AWAIT_TOOL_NAME, future_ids=["future_1"], timeout=True)
        )
        assert bad_timeout.error_kind == "invalid_arguments"
        bad_json = await session.call(ToolCall(id="c4", name=AWAIT_TOOL_NAME, arguments="{"))
        assert bad_json.error_kind == "invalid_json"


async def test_await_future_timeout_reports_pending() -> None:
    gates = Gates()
    async with FuturesSession(make_toolset(gates)) as session:
        await session.call(call("c1", "get", key="never"))
        answer = await session.call(
            call("c2", AWAIT_TOOL_NAME, future_ids=["future_1"], timeout=0.01)
        )
        assert answer.content == "future_1 still pending after 0.01 s"
        gates["never"].set()
        assert (await session.drain()).startswith("Results of earlier calls:\nfuture_1 = ")


async def test_every_call_id_answered_exactly_once() -> None:
    async with FuturesSession(make_toolset(Gates())) as session:
        first = await session.call(call("same", "put", key="k", value="v"))
        again = await session.call(call("same", "put", key="k", value="w"))
        assert first.content == pending_text("future_1")
        assert again.is_error
        assert "already used" in again.content
        unknown = await session.call(call("c2", "nope"))
        assert unknown.error_kind == "unknown_tool"
        assert len(session.scheduler.futures) == 1
        await session.drain()


async def test_concurrent_mode_returns_results_and_never_redelivers() -> None:
    gates = Gates()
    async with FuturesSession(make_toolset(gates), mode="concurrent") as session:
        answers: dict[str, ToolResult] = {}

        async def ask(cid: str, key: str) -> None:
            answers[cid] = await session.call(call(cid, "get", key=key))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, "c1", "a")
            tg.start_soon(ask, "c2", "b")
            await anyio.wait_all_tasks_blocked()
            assert sorted(gates.started) == ["a", "b"]  # two readers run together
            gates["a"].set()
            gates["b"].set()
        assert json.loads(answers["c1"].content)["key"] == "a"
        assert json.loads(answers["c2"].content)["key"] == "b"
        assert "Results of earlier calls" not in answers["c1"].content + answers["c2"].content
        assert await session.drain() == ""


async def test_definitions_and_addendum_come_from_the_protocol() -> None:
    toolset = make_toolset(Gates())
    async with FuturesSession(toolset) as session:
        defs = session.tool_definitions()
        assert defs[:-1] == [future_tool_definition(d) for d in toolset.definitions()]
        assert defs[-1] == dict(AWAIT_TOOL)
        assert session.prompt_addendum == PROMPT_ADDENDUM
    async with FuturesSession(toolset, mode="concurrent") as session:
        assert session.tool_definitions() == toolset.definitions()
        assert session.prompt_addendum == ""


async def test_closing_cancels_pending_calls_with_one_result_each() -> None:
    gates = Gates()
    async with FuturesSession(make_toolset(gates)) as session:
        await session.call(call("c1", "get", key="never"))
    result = session.scheduler.get(1).result
    assert result is not None
    assert result.error_kind == "cancelled"


def test_rejects_a_tool_named_await_future_and_bad_modes() -> None:
    clash = Tool.from_function(lambda: 1, name=AWAIT_TOOL_NAME)
    with pytest.raises(ValueError, match="await_future"):
        FuturesSession(Toolset([clash]))
    with pytest.raises(ValueError, match="mode"):
        FuturesSession(Toolset(), mode="parallel")  # type: ignore[arg-type]
    assert FuturesSession(Toolset()).new_call_id() == "call_1"
