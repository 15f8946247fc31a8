"""asyncfc inside pydantic-ai's own agent loop, driven by pydantic-ai's ``FunctionModel``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

pytest.importorskip("pydantic_ai")

import anyio.lowlevel
from framework_tasks import cancel_once_running, new_threads, other_tasks
from pydantic_ai import (
    Agent,
    AgentRunResultEvent,
    DeferredToolRequests,
    DeferredToolResults,
    FunctionToolset,
    ModelRetry,
    RunContext,
)
from pydantic_ai.exceptions import ApprovalRequired, UnexpectedModelBehavior
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    RetryFeedbackPart,
    TextPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, FunctionModel
from pydantic_ai_script import Step, calls, logged_step, outcomes, scripted, texts

from asyncfc.integrations.pydantic_ai import AsyncFC, AsyncFCToolset

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("drain", ["capability", "output_validator"])
async def test_futures_resolve_in_later_calls_and_the_drain_comes_before_the_output(
    drain: str,
) -> None:
    """Both ways to drain: the ``AsyncFC`` capability, and the wrapper as a plain toolset
    with ``drain_output`` as the agent's output validator."""
    release = anyio.Event()
    stored: list[int] = []

    def fetch(x: int) -> int:
        """Fetch x."""
        return x * 10

    async def store(value: int) -> str:
        """Store a value."""
        await release.wait()
        stored.append(value)
        return f"stored {value}"

    def final(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        release.set()  # store is still running when the model answers
        return ModelResponse(parts=[TextPart("done")])

    model, infos = scripted(
        [
            calls(("fetch", {"x": 1}, "c1"), ("fetch", {"x": 2}, "c2")),
            calls(("store", {"value": "future_1"}, "c3")),
            final,
            ModelResponse(parts=[TextPart("done, all stored")]),
        ]
    )
    toolset = FunctionToolset([fetch, store])
    fc = AsyncFCToolset(toolset, final_answer="reask")
    if drain == "capability":
        agent = Agent(model, capabilities=[AsyncFC(toolset, final_answer="reask")])
    else:
        agent = Agent(model, toolsets=[fc], retries={"output": 1})
        agent.output_validator(fc.drain_output)
    result = await agent.run("go")

    assert result.output == "done, all stored"
    assert stored == [10]  # future_1 resolved to fetch(x=1)'s value
    assert len(fc._runs) == 0  # (output_validator) the run's entry went with the run
    names = [t.name for t in infos[0].function_tools]
    assert names == ["fetch", "store", "await_future"]
    assert "future_" in str(infos[0].function_tools[0].parameters_json_schema)
    assert infos[0].instructions is not None
    assert "await_future" in infos[0].instructions
    messages = result.all_messages()
    called, answered = outcomes(messages)
    assert called == answered == ["c1", "c2", "c3"]
    shown = texts(messages)
    for line in ("future_1 = 10", "future_2 = 20", "future_3 = stored 10"):
        assert shown.count(line) == 1, line  # every result shown once
    # the drain: the first answer was sent back with the results it had not seen
    assert isinstance(messages[-3], ModelResponse)
    assert messages[-3].text == "done"
    feedback = messages[-2].parts
    assert isinstance(feedback[0], RetryFeedbackPart)
    assert "future_3 = stored" in feedback[0].content


async def test_labels_run_readers_together_and_keep_writers_apart() -> None:
    log: list[str] = []
    started: dict[str, anyio.Event] = {k: anyio.Event() for k in ("a", "b", "c", "d")}

    async def read(key: str) -> str:
        """Read a key."""
        log.append(f"start {key}")
        started[key].set()
        if key in ("a", "b"):  # each of the first two readers waits for the other one
            with anyio.fail_after(5):
                await started["b" if key == "a" else "a"].wait()
        await anyio.lowlevel.checkpoint()
        log.append(f"end {key}")
        return key

    async def write(key: str) -> str:
        """Write a key."""
        log.append(f"start {key}")
        await anyio.lowlevel.checkpoint()
        log.append(f"end {key}")
        return key

    toolset = FunctionToolset([read])
    toolset.add_function(write, metadata={"asyncfc": {"writes": ["db"]}})
    model, _ = scripted(
        [
            calls(
                ("read", {"key": "a"}, "1"),
                ("read", {"key": "b"}, "2"),
                ("write", {"key": "c"}, "3"),
                ("read", {"key": "d"}, "4"),
            ),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    wrapped = AsyncFCToolset(toolset, mode="concurrent", labels={"read": {"reads": ["db"]}})
    result = await Agent(model, toolsets=[wrapped]).run("go")

    assert result.output == "ok"
    returned = [
        p.content
        for m in result.all_messages()
        for p in getattr(m, "parts", [])
        if isinstance(p, ToolReturnPart)
    ]
    assert returned == ["a", "b", "c", "d"]  # no reader timed out waiting for the other
    assert set(log[:2]) == {"start a", "start b"}  # the readers overlapped
    assert log.index("start c") > max(log.index("end a"), log.index("end b"))
    assert log.index("start d") > log.index("end c")
    called, answered = outcomes(result.all_messages())
    assert called == answered == ["1", "2", "3", "4"]


async def test_unlabelled_tools_serialize_in_the_responses_order() -> None:
    log: list[str] = []

    step = logged_step(log)

    model, _ = scripted(
        [
            calls(*[("step", {"n": n}, f"c{n}") for n in range(5)]),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    wrapped = AsyncFCToolset(FunctionToolset([step]), mode="concurrent")
    await Agent(model, toolsets=[wrapped]).run("go")
    assert log == [f"{e} {n}" for n in range(5) for e in ("start", "end")]


async def test_a_call_that_waited_for_its_turn_still_runs_in_pydantic_ais_task() -> None:
    """pydantic-ai names the task of each call after its tool; every call, also one that
    waited for a conflicting call, ran in it (and so with pydantic-ai's context)."""
    ran_in: list[str] = []

    async def step(n: int) -> int:
        """A step."""
        task = asyncio.current_task()
        assert task is not None
        ran_in.append(task.get_name())
        await anyio.lowlevel.checkpoint()
        return n

    model, _ = scripted(
        [
            calls(*[("step", {"n": n}, f"c{n}") for n in range(3)]),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    wrapped = AsyncFCToolset(FunctionToolset([step]), mode="concurrent")
    await Agent(model, toolsets=[wrapped]).run("go")
    assert ran_in == ["step", "step", "step"]


async def test_concurrent_mode_hands_model_retry_to_pydantic_ai() -> None:
    tries: list[int] = []

    def flaky(x: int) -> int:
        """Fails once."""
        tries.append(x)
        if len(tries) == 1:
            raise ModelRetry("try x=2")
        return x

    model, _ = scripted(
        [
            calls(("flaky", {"x": 1}, "c1")),
            calls(("flaky", {"x": 2}, "c2")),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    wrapped = AsyncFCToolset(FunctionToolset([flaky]), mode="concurrent")
    result = await Agent(model, toolsets=[wrapped]).run("go")
    retried = [
        p
        for m in result.all_messages()
        for p in getattr(m, "parts", [])
        if isinstance(p, ToolReturnPart) and p.outcome == "retried"
    ]  # pydantic-ai's own record of a ModelRetry
    assert [r.tool_call_id for r in retried] == ["c1"]
    assert retried[0].content == "try x=2"
    assert tries == [1, 2]


async def test_async_mode_validates_resolved_arguments_with_the_tools_validator() -> None:
    def double(x: int) -> int:
        """Double x."""
        return 2 * x

    def word() -> str:
        """A word."""
        return "seven"

    model, _ = scripted(
        [
            calls(("word", {}, "c1"), ("double", {"x": "future_1"}, "c2")),
            calls(("await_future", {"future_ids": ["future_2"]}, "c3")),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    result = await Agent(model, capabilities=[AsyncFC(FunctionToolset([double, word]))]).run("go")
    awaited = [
        p.content
        for m in result.all_messages()
        for p in getattr(m, "parts", [])
        if isinstance(p, ToolReturnPart) and p.tool_call_id == "c3"
    ]
    assert len(awaited) == 1
    assert "future_2" in awaited[0]
    assert "Error" in awaited[0]
    assert "int" in awaited[0]  # pydantic's own message about x


async def test_cancelling_the_run_leaves_no_task_and_no_thread() -> None:
    running = anyio.Event()

    async def hang() -> str:
        """Never finishes."""
        running.set()
        await anyio.sleep_forever()
        return "never"

    model, _ = scripted(
        [
            calls(("hang", {}, "c1")),
            calls(("await_future", {"future_ids": ["future_1"]}, "c2")),
        ]
    )
    agent = Agent(model, capabilities=[AsyncFC(FunctionToolset([hang]))])
    threads = set(threading.enumerate())
    before = other_tasks()
    await cancel_once_running(lambda: agent.run("go"), running)
    assert other_tasks() - before == set()
    assert new_threads(threads) == set()


async def test_streamed_runs_drain_too() -> None:
    release = anyio.Event()
    requests = 0

    async def slow(x: int) -> int:
        """Slow."""
        await release.wait()
        return x + 1

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[Any]:
        nonlocal requests
        requests += 1
        if requests == 1:
            yield {0: DeltaToolCall(name="slow", json_args='{"x": 1}', tool_call_id="c1")}
        elif requests == 2:
            release.set()
            yield "do"
            yield "ne"
        else:
            yield "seen "
            yield "it"

    agent = Agent(
        FunctionModel(stream_function=stream), capabilities=[AsyncFC(FunctionToolset([slow]))]
    )
    results = []
    async with agent.run_stream_events("go") as events:
        async for event in events:
            if isinstance(event, AgentRunResultEvent):
                results.append(event.result)
    assert requests == 3
    assert [r.output for r in results] == ["seen it"]
    feedback = results[0].all_messages()[-2].parts[0]
    assert isinstance(feedback, RetryFeedbackPart)
    assert "future_1 = 2" in feedback.content


def _stream_script(*steps: Any) -> tuple[FunctionModel, list[int]]:
    """A streaming FunctionModel: ``steps[n]`` is the n-th response, a text (streamed in two
    chunks) or a ``(name, json_args, call_id)`` tool call."""
    requests: list[int] = []

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[Any]:
        step = steps[len(requests)]
        requests.append(len(messages))
        if isinstance(step, str):
            yield step[:2]
            yield step[2:]
        else:
            name, args, call_id = step
            yield {0: DeltaToolCall(name=name, json_args=args, tool_call_id=call_id)}

    return FunctionModel(stream_function=stream), requests


async def test_run_stream_composes_when_the_model_has_seen_every_result() -> None:
    async def slow(x: int) -> int:
        """Slow."""
        await anyio.lowlevel.checkpoint()
        return x + 1

    model, requests = _stream_script(
        ("slow", '{"x": 1}', "c1"),
        ("await_future", '{"future_ids": ["future_1"]}', "c2"),
        "the answer is 2",
    )
    agent = Agent(model, capabilities=[AsyncFC(FunctionToolset([slow]))])
    async with agent.run_stream("go") as result:
        chunks = [text async for text in result.stream_output(debounce_by=None)]
        output = await result.get_output()
    assert output == "the answer is 2"
    assert chunks[-1] == "the answer is 2"
    assert len(requests) == 3  # no drain retry: the model had awaited the one future
    assert "future_1 = 2" in texts(result.all_messages())


async def test_run_stream_with_unseen_results_fails_with_asyncfcs_note() -> None:
    """pydantic-ai's ``run_stream`` cannot retry an output; the drain's rejection reaches the
    caller as pydantic-ai's ``UnexpectedModelBehavior``, whose cause says why and what to use."""
    release = anyio.Event()

    async def slow(x: int) -> int:
        """Slow."""
        await release.wait()
        return x + 1

    model, requests = _stream_script(("slow", '{"x": 1}', "c1"), "done")
    agent = Agent(model, capabilities=[AsyncFC(FunctionToolset([slow]))])
    before = other_tasks()
    release.set()  # the result settles, but the model answers without having seen it
    with pytest.raises(UnexpectedModelBehavior, match="retries are not supported") as caught:
        async with agent.run_stream("go") as result:
            await result.get_output()
    cause = caught.value.__cause__
    assert isinstance(cause, ModelRetry)
    assert "future_1 = 2" in str(cause)  # the delivery the model would have read in run()
    assert any("run_stream_events()" in note for note in getattr(cause, "__notes__", []))
    assert len(requests) == 2
    await asyncio.sleep(0)
    assert other_tasks() - before == set()


async def test_run_stream_in_concurrent_mode() -> None:
    def double(x: int) -> int:
        """Double x."""
        return 2 * x

    model, requests = _stream_script(("double", '{"x": 4}', "c1"), "it is 8")
    wrapped = AsyncFCToolset(FunctionToolset([double]), mode="concurrent")
    async with Agent(model, toolsets=[wrapped]).run_stream("go") as result:
        output = await result.get_output()
    assert output == "it is 8"
    assert len(requests) == 2
    returned = [
        p.content
        for m in result.all_messages()
        for p in getattr(m, "parts", [])
        if isinstance(p, ToolReturnPart)
    ]
    assert returned == [8]


def _approval_agent(
    wrap: Callable[[FunctionToolset[None]], dict[str, Any]], ran: list[str]
) -> Agent[None, str | DeferredToolRequests]:
    def delete(ctx: RunContext[None], path: str) -> str:
        """Delete a file (needs the user's approval)."""
        if not ctx.tool_call_approved:
            raise ApprovalRequired()
        ran.append(path)
        return f"deleted {path}"

    async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if len(messages) == 1:
            return calls(("delete", {"path": "a"}, "d1"))
        return ModelResponse(parts=[TextPart("ok")])

    return Agent(
        FunctionModel(respond),
        output_type=[str, DeferredToolRequests],
        retries={"output": 2},
        **wrap(FunctionToolset([delete])),
    )


async def test_concurrent_mode_composes_with_deferred_approval() -> None:
    ran: list[str] = []
    agent = _approval_agent(lambda ts: {"toolsets": [AsyncFCToolset(ts, mode="concurrent")]}, ran)
    first = await agent.run("go")
    assert isinstance(first.output, DeferredToolRequests)  # pydantic-ai's own deferral
    assert [c.tool_call_id for c in first.output.approvals] == ["d1"]
    assert ran == []
    second = await agent.run(
        message_history=first.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={"d1": True}),
    )
    assert second.output == "ok"
    assert ran == ["a"]
    returned = [
        p.content
        for m in second.new_messages()
        for p in getattr(m, "parts", [])
        if isinstance(p, ToolReturnPart)
    ]
    assert returned == ["deleted a"]


async def test_async_mode_makes_a_deferral_the_futures_error() -> None:
    ran: list[str] = []
    agent = _approval_agent(lambda ts: {"capabilities": [AsyncFC(ts)]}, ran)
    result = await agent.run("go")
    assert result.output == "ok"  # a future cannot wait for a later run: no deferral
    assert ran == []
    shown = texts(result.all_messages())
    assert "future_1 failed" in shown
    assert "ApprovalRequired" in shown


async def test_concurrent_mode_gives_other_exceptions_and_timeouts_as_error_results() -> None:
    """What pydantic-ai alone would fail the run with (an exception) or not bound (the
    session's timeout) is the call's error result, and the run goes on."""

    def broken() -> str:
        """Always fails."""
        raise ValueError("boom")

    async def hangs() -> str:
        """Never finishes."""
        await anyio.sleep_forever()
        return "never"

    def fine() -> dict[str, int]:
        """Works."""
        return {"n": 1}

    model, _ = scripted(
        [
            calls(("broken", {}, "c1"), ("hangs", {}, "c2"), ("fine", {}, "c3")),
            ModelResponse(parts=[TextPart("ok")]),
        ]
    )
    wrapped = AsyncFCToolset(
        FunctionToolset([broken, hangs, fine]),
        mode="concurrent",
        scheduler_options={"timeout": 0.05},
    )
    with anyio.fail_after(10):
        result = await Agent(model, toolsets=[wrapped]).run("go")
    returned = {
        p.tool_call_id: p.content
        for m in result.all_messages()
        for p in getattr(m, "parts", [])
        if isinstance(p, ToolReturnPart)
    }
    assert returned == {
        "c1": "Error: tool 'broken' raised ValueError: boom",
        "c2": "Error: tool 'hangs' timed out after 0.05 s",
        "c3": {"n": 1},  # pydantic-ai's own value, not asyncfc's text of it
    }
    called, answered = outcomes(result.all_messages())
    assert called == answered == ["c1", "c2", "c3"]


async def test_cancelling_a_concurrent_mode_run_cancels_calls_waiting_for_their_turn() -> None:
    running = anyio.Event()
    log: list[str] = []

    async def hang() -> str:
        """Never finishes."""
        log.append("hang")
        running.set()
        await anyio.sleep_forever()
        return "never"

    def after() -> str:
        """Comes after hang (both unlabelled)."""
        log.append("after")
        return "after"

    model, _ = scripted([calls(("hang", {}, "c1"), ("after", {}, "c2"))])
    wrapped = AsyncFCToolset(FunctionToolset([hang, after]), mode="concurrent")
    agent = Agent(model, toolsets=[wrapped])
    before = other_tasks()
    await cancel_once_running(lambda: agent.run("go"), running)
    assert log == ["hang"]  # the waiting call never ran
    assert other_tasks() - before == set()


async def test_cancelling_a_concurrent_mode_run_cancels_the_call_in_pydantic_ais_task() -> None:
    running = anyio.Event()
    cancelled: list[str] = []

    async def hang() -> str:
        """Never finishes."""
        running.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append("hang")
            raise
        return "never"

    model, _ = scripted([calls(("hang", {}, "c1"))])
    wrapped = AsyncFCToolset(FunctionToolset([hang]), mode="concurrent")
    agent = Agent(model, toolsets=[wrapped])
    threads = set(threading.enumerate())
    before = other_tasks()
    await cancel_once_running(lambda: agent.run("go"), running)
    assert cancelled == ["hang"]  # the call ran in the run's own task and was cancelled with it
    assert other_tasks() - before == set()
    assert new_threads(threads) == set()


def _write_answered_early() -> tuple[Callable[[str], Any], Step]:
    """A tool ``save`` and a model step that answers "done" while ``save`` still runs (it
    finishes once the answer is given)."""
    release = anyio.Event()

    async def save(text: str) -> str:
        """Save a note."""
        await release.wait()
        return f"saved {text}"

    def final(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        release.set()  # save is still running when the model answers
        return ModelResponse(parts=[TextPart("done")])

    return save, final


@pytest.mark.parametrize(("policy", "requests"), [("label_aware", 2), ("reask", 3)])
async def test_the_drain_follows_the_final_answer_policy(policy: str, requests: int) -> None:
    """An answer whose only unseen result is a successful write stands under
    ``label_aware`` (the default, as for asyncfc's Agent); ``reask`` sends it back."""
    save, final = _write_answered_early()

    model, infos = scripted(
        [calls(("save", {"text": "a"}, "c1")), final, ModelResponse(parts=[TextPart("again")])]
    )
    cap = AsyncFC(
        FunctionToolset([save]),
        labels={"save": {"reads": [], "writes": ["notes"]}},
        final_answer=policy,  # type: ignore[arg-type]
    )
    async with cap:  # a conversation: what the drain leaves unshown is kept for the next turn
        result = await Agent(model, capabilities=[cap]).run("go")
        left = cap.take_delivery()
    assert len(infos) == requests
    assert result.output == ("done" if policy == "label_aware" else "again")
    called, answered = outcomes(result.all_messages())
    assert called == answered == ["c1"]
    # label_aware let the answer stand without the write's result: it opens the next turn
    assert left == ("Results of earlier calls:\nfuture_1 = saved a" if requests == 2 else "")
    with pytest.raises(RuntimeError, match="needs a conversation"):
        cap.take_delivery()


async def test_the_next_run_of_a_conversation_opens_with_what_the_drain_left() -> None:
    """label_aware lets turn 1's answer stand before its write's result; turn 2's first
    model request carries that result, once, and it stays in the history."""
    save, final = _write_answered_early()
    first_request: list[str] = []

    def second(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        first_request.append("\n".join(str(p.content) for p in messages[-1].parts))
        return ModelResponse(parts=[TextPart("noted")])

    model, infos = scripted([calls(("save", {"text": "a"}, "c1")), final, second])
    cap = AsyncFC(FunctionToolset([save]), labels={"save": {"reads": [], "writes": ["notes"]}})
    agent = Agent(model, capabilities=[cap])
    async with cap:
        one = await agent.run("go")
        two = await agent.run("and now?", message_history=one.all_messages())
        left = cap.take_delivery()
    assert [one.output, two.output] == ["done", "noted"]
    assert len(infos) == 3  # no request more than without the delivery
    assert "and now?" in first_request[0]
    assert "Results of earlier calls:\nfuture_1 = saved a" in first_request[0]
    assert left == ""  # shown, so not shown again
    history = [str(p.content) for m in two.all_messages() for p in m.parts if hasattr(p, "content")]
    assert sum("future_1 = saved a" in c for c in history) == 1


async def test_a_conversation_keeps_one_session_across_runs() -> None:
    """Inside ``async with cap`` every run shares one session: turn 2's futures continue the
    numbering, and a future from turn 1 is still a value turn 2 can pass on."""

    def fetch(x: int) -> int:
        """Fetch x."""
        return x * 10

    def show(value: int) -> str:
        """Show a value."""
        return f"shown {value}"

    model, _ = scripted(
        [
            calls(("fetch", {"x": 1}, "c1"), ("await_future", {}, "c2")),
            ModelResponse(parts=[TextPart("first")]),
            calls(("show", {"value": "future_1"}, "c3"), ("await_future", {}, "c4")),
            ModelResponse(parts=[TextPart("second")]),
        ]
    )
    cap = AsyncFC(FunctionToolset([fetch, show]), labels={"fetch": {"reads": ["n"], "writes": []}})
    agent = Agent(model, capabilities=[cap])
    async with cap:
        first = await agent.run("one")
        second = await agent.run("two", message_history=first.all_messages())
    shown = texts(second.new_messages())
    assert "future_2 (pending)" in shown  # not a second future_1
    assert "future_2 = shown 10" in shown  # future_1 of turn 1 resolved in turn 2
    assert second.output == "second"
    assert cap._conversation is None  # the block closed the conversation's session
