"""asyncfc inside the OpenAI Agents SDK's run loop.

:func:`run` runs an agent as ``Runner.run`` does, on a clone whose function tools answer
through one :class:`~asyncfc.FuturesSession` for the whole run:

* Tool wrappers: every :class:`agents.FunctionTool` of the agent becomes a function tool with
  the same name whose ``on_invoke_tool`` submits the call to the session; the original
  ``on_invoke_tool`` (its validation, failure handling and context) runs it, scheduled by
  asyncfc's labels; in ``mode="concurrent"`` in the SDK's own task for the call, with the
  model's argument text as it came (:meth:`~asyncfc.FuturesSession.call_hosted`: asyncfc
  only orders it).  In ``mode="async"`` the schemas are widened, ``await_future`` is added,
  the protocol addendum is appended to the instructions, and each call is answered with
  ``future_N (pending)``; settled results are appended to later tool results.
* Drain: an output guardrail waits for every call before a final output stands.  When the
  model has not seen every result, the guardrail trips; :func:`run` then continues the same
  conversation (the SDK's record of the run plus one user message with the delivery text),
  so the model answers again having seen everything.  The session, and so every future,
  lives across these continuations.

Tools of other kinds (hosted tools, MCP servers, handoffs' agents) are left as they are.
"""

# No ``from __future__ import annotations`` here: the SDK resolves the annotations of a
# tool's ``on_invoke_tool`` on every call (``get_type_hints``), and string annotations would
# be compiled again each time.

import contextlib
import copy
import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from agents import (
    Agent,
    FunctionTool,
    GuardrailFunctionOutput,
    OutputGuardrail,
    OutputGuardrailTripwireTriggered,
    RunContextWrapper,
    Runner,
    RunResult,
    TResponseInputItem,
)
from agents.tool_context import ToolContext

from asyncfc._calls import ToolCall
from asyncfc._labels import Access
from asyncfc._outcome import FinalAnswerPolicy
from asyncfc._protocol import AWAIT_TOOL, AWAIT_TOOL_NAME, PROMPT_ADDENDUM, future_tool_definition
from asyncfc._session import FuturesSession, SessionMode
from asyncfc._toolset import Toolset

from ._foreign import FRAMEWORK_CALL, ForeignTool, access_of

__all__ = ("DRAIN_GUARDRAIL_NAME", "run", "wrap_agent")

DRAIN_GUARDRAIL_NAME = "asyncfc_drain"
"""The name of the output guardrail that drains the session before a final output."""


def wrap_agent(
    agent: Agent[Any],
    session: FuturesSession,
    *,
    labels: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    final_answer: FinalAnswerPolicy = "label_aware",
) -> Agent[Any]:
    """A clone of ``agent`` whose function tools answer through ``session`` (entered by the
    caller; its toolset receives the tools) and whose output is drained first.
    ``final_answer``: when the drain makes the model answer again, as
    :attr:`Agent.final_answer <asyncfc.Agent.final_answer>` (default ``"label_aware"``: not
    for results that are only successful writes).

    A session makes each clone and each tool's copy once and hands them out again while the
    agent is unchanged: its fields are the same objects, its tool and guardrail lists hold
    the same tools, and the labels are equal.  A tool changed in place (an attribute of the
    same ``FunctionTool`` set anew) after the session copied it is not seen: give the agent
    a new tool object, or start a new session."""
    labels = labels or {}
    key = _labels_key(labels)
    made: dict[int, _Clone] = session.host_state.setdefault(_CLONES, {})
    known = made.get(id(agent))
    if key is not None and known is not None and known.fits(agent, key, final_answer):
        for foreign in known.foreign:  # take the names back if another agent took them
            _put(session.toolset, foreign)
        return known.clone
    tools: list[Any] = []
    foreigns: list[ForeignTool] = []
    for tool in agent.tools:
        if isinstance(tool, FunctionTool):
            wrapped = _wrap_tool(tool, session, labels)
            tools.append(wrapped.tool)
            foreigns.append(wrapped.foreign)
        else:
            tools.append(tool)
    if session.mode == "concurrent":
        clone = agent.clone(tools=tools)
    else:
        if any(getattr(t, "name", None) == AWAIT_TOOL_NAME for t in tools):
            raise ValueError(f"a tool may not be named {AWAIT_TOOL_NAME!r} in async mode")
        tools.append(_await_tool(session))
        clone = agent.clone(
            tools=tools,
            instructions=_with_addendum(agent.instructions),
            output_guardrails=[*agent.output_guardrails, _drain_guardrail(session, final_answer)],
        )
    if key is not None:
        made[id(agent)] = _Clone(
            original=agent,
            state=_state(agent),
            labels=key,
            final_answer=final_answer,
            clone=clone,
            foreign=tuple(foreigns),
        )
    return clone


_CLONES = "asyncfc.integrations.openai_agents.clones"
"""The session's ``host_state`` key of ``id(agent)`` → the clone :func:`wrap_agent` made of
it.  Every turn of a conversation runs the same agent, and cloning it again each turn (the
SDK's ``clone`` checks and converts its configuration) was most of what the wrapper cost per
turn.  Kept in the session, not in a module-level map keyed by it: a clone's tools refer to
their session, which such a map would then keep alive for ever."""


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class _Clone:
    original: Agent[Any]
    state: tuple[Any, ...]
    """What :func:`_state` gave when cloned: kept alive, so compared by identity."""
    labels: tuple[Any, ...]
    final_answer: FinalAnswerPolicy
    clone: Agent[Any]
    foreign: tuple[ForeignTool, ...]

    def fits(self, agent: Agent[Any], labels: tuple[Any, ...], final_answer: str) -> bool:
        """Whether the clone is still what :func:`wrap_agent` would make.  ``clone`` is a
        shallow copy: a field's object changed in place is the clone's too, so only a field
        set to another object, or a change in the tool or guardrail lists, makes it stale."""
        if agent is not self.original or final_answer != self.final_answer:
            return False
        now = _state(agent)
        return (
            labels == self.labels
            and len(now) == len(self.state)
            and all(a is b for a, b in zip(now, self.state, strict=True))
        )


def _state(agent: Agent[Any]) -> tuple[Any, ...]:
    fields = tuple(getattr(agent, f.name) for f in dataclasses.fields(agent))
    return (*fields, *agent.tools, None, *agent.output_guardrails)


def _labels_key(labels: Mapping[str, Mapping[str, Iterable[str]]]) -> tuple[Any, ...] | None:
    """``labels`` as a value to compare (``None`` when malformed: then nothing is reused and
    wrapping says what is wrong)."""
    try:
        return tuple(
            (name, tuple((k, v if isinstance(v, str) else tuple(v)) for k, v in given.items()))
            for name, given in labels.items()
        )
    except (AttributeError, TypeError):
        return None


async def run(
    agent: Agent[Any],
    input: str | list[TResponseInputItem],
    *,
    mode: SessionMode = "async",
    labels: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    scheduler_options: Mapping[str, Any] | None = None,
    final_answer: FinalAnswerPolicy = "label_aware",
    session: FuturesSession | None = None,
    **runner_options: Any,
) -> RunResult:
    """``Runner.run(agent, input, **runner_options)`` with asyncfc answering the function
    tools (see the module docstring); returns the run result the final output stands in.

    ``session``: a :class:`~asyncfc.FuturesSession` (``FuturesSession(Toolset(), mode=...)``)
    the caller has entered and keeps across the turns of one conversation, so future ids
    stay unique in it (``mode`` and ``scheduler_options`` are then the session's own).
    Without it each call gets a session of its own."""
    async with contextlib.AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(
                FuturesSession(Toolset(), mode=mode, **(scheduler_options or {}))
            )
        wrapped = wrap_agent(agent, session, labels=labels, final_answer=final_answer)
        while True:
            try:
                return await Runner.run(wrapped, input, **runner_options)
            except OutputGuardrailTripwireTriggered as exc:
                info = exc.guardrail_result.output.output_info
                if exc.guardrail_result.guardrail.name != DRAIN_GUARDRAIL_NAME:
                    raise
                if exc.run_data is None:  # pragma: no cover - the SDK always records it
                    raise
                input = _continued(exc.run_data.input, exc.run_data.new_items, str(info))
                wrapped = exc.run_data.last_agent


def _continued(first: str | list[TResponseInputItem], items: list[Any], delivery: str) -> list[Any]:
    history: list[Any] = (
        [{"role": "user", "content": first}] if isinstance(first, str) else list(first)
    )
    history.extend(item.to_input_item() for item in items)
    history.append({"role": "user", "content": delivery})
    return history


_WRAPPED = "asyncfc.integrations.openai_agents.tools"
"""The session's ``host_state`` key of ``id(original tool)`` → what :func:`_wrap_tool` made
of it.  A conversation runs the same agent every turn, and wrapping every tool again each
time (a dataclass ``replace`` and a schema per tool) was most of the wrapper's cost on
BFCL-sized toolsets.  The entry keeps the original, so its id cannot be reused while the
entry lives."""


@dataclasses.dataclass(frozen=True)
class _Wrapped:
    original: FunctionTool
    tool: FunctionTool
    foreign: ForeignTool


def _wrap_tool(
    tool: FunctionTool,
    session: FuturesSession,
    labels: Mapping[str, Mapping[str, Iterable[str]]],
) -> "_Wrapped":
    access = access_of(tool.name, labels, None)
    made: dict[int, _Wrapped] = session.host_state.setdefault(_WRAPPED, {})
    known = made.get(id(tool))
    if known is None or known.original is not tool or known.foreign.access != access:
        known = made[id(tool)] = _wrapped(tool, session, access)
    _put(session.toolset, known.foreign)
    return known


def _put(toolset: Toolset, foreign: ForeignTool) -> None:
    """Make ``foreign`` the session's tool of its name."""
    present = toolset.get(foreign.name)
    if present is None:
        toolset.add(foreign)
    elif present is not foreign:  # another tool of this name ran in this session
        fields = {
            f.name: getattr(foreign, f.name)
            for f in dataclasses.fields(foreign)
            if f.init and f.name != "name"
        }
        toolset.replace(foreign.name, **fields)


def _wrapped(tool: FunctionTool, session: FuturesSession, access: Access) -> _Wrapped:
    async def run_original(arguments: dict[str, Any]) -> Any:
        """An async-mode call, its future references resolved (see ``_foreign``)."""
        ctx = FRAMEWORK_CALL.get()
        return await tool.on_invoke_tool(ctx, json.dumps(arguments))

    foreign = ForeignTool.wrap(
        name=tool.name,
        description=tool.description,
        parameters=tool.params_json_schema,
        function=run_original,
        access=access,
    )

    async def invoke(ctx: ToolContext[Any], raw: str) -> Any:
        call = ToolCall(id=ctx.tool_call_id or session.new_call_id(), name=tool.name, arguments=raw)
        if session.mode == "concurrent":  # the SDK parses, runs and renders the call itself
            # with the model's own argument text, as it came
            result = await session.call_hosted(
                call, functools.partial(tool.on_invoke_tool, ctx, raw)
            )
            return result.content if result.is_error else result.value
        token = FRAMEWORK_CALL.set(ctx)
        try:
            result = await session.call(call)
        finally:
            FRAMEWORK_CALL.reset(token)
        return result.content

    # A copy keeps everything else the SDK knows about the tool (guardrails, approvals,
    # timeout, failure handling); only the schema and the entry point change.
    if session.mode == "concurrent":
        # Only the entry point changes: a shallow copy, not ``replace``, whose
        # ``__post_init__`` would make the (unchanged) strict schema again
        same = copy.copy(tool)
        same.on_invoke_tool = invoke
        return _Wrapped(tool, same, foreign)
    widened = future_tool_definition({"name": tool.name, "parameters": tool.params_json_schema})
    changed = dataclasses.replace(
        tool,
        params_json_schema=widened["parameters"],
        on_invoke_tool=invoke,
        strict_json_schema=False,
    )
    return _Wrapped(tool, changed, foreign)


def _await_tool(session: FuturesSession) -> FunctionTool:
    async def invoke(ctx: ToolContext[Any], raw: str) -> str:
        call_id = ctx.tool_call_id or session.new_call_id()
        result = await session.call(ToolCall(id=call_id, name=AWAIT_TOOL_NAME, arguments=raw))
        return result.content

    return FunctionTool(
        name=AWAIT_TOOL_NAME,
        description=AWAIT_TOOL["description"],
        params_json_schema=dict(AWAIT_TOOL["parameters"]),
        on_invoke_tool=invoke,
        strict_json_schema=False,
    )


def _drain_guardrail(
    session: FuturesSession, final_answer: FinalAnswerPolicy
) -> OutputGuardrail[Any]:
    async def drain(ctx: RunContextWrapper[Any], agent: Agent[Any], output: Any) -> Any:
        delivery = await session.drain(final_answer)
        return GuardrailFunctionOutput(output_info=delivery, tripwire_triggered=bool(delivery))

    return OutputGuardrail(guardrail_function=drain, name=DRAIN_GUARDRAIL_NAME)


def _with_addendum(instructions: Any) -> Any:
    if instructions is None or isinstance(instructions, str):
        return "\n\n".join(p for p in (instructions, PROMPT_ADDENDUM) if p)

    async def dynamic(ctx: RunContextWrapper[Any], agent: Agent[Any]) -> str:
        base = instructions(ctx, agent)
        if hasattr(base, "__await__"):
            base = await base
        return "\n\n".join(p for p in (base, PROMPT_ADDENDUM) if p)

    return dynamic
