"""asyncfc inside pydantic-ai's agent loop: a toolset wrapper and a capability.

:class:`AsyncFCToolset` wraps any pydantic-ai toolset (function tools, MCP servers, other
wrappers) and answers its calls through one :class:`~asyncfc.FuturesSession` per agent run:

* ``mode="concurrent"``: a response's calls still reach the toolset all at once (pydantic-ai's
  parallel execution), but run in the order asyncfc's labels allow: unlabelled tools
  serialize in the order pydantic-ai hands the calls over (the response's order), labelled
  readers of one resource run together, a writer waits for the calls it conflicts with.
  pydantic-ai validates, runs and renders each call itself, in its own task for the call
  (:meth:`FuturesSession.call_hosted <asyncfc.FuturesSession.call_hosted>`: asyncfc only
  orders it), and a tool's ``ModelRetry``, ``CallDeferred``, ``ApprovalRequired`` and
  ``ToolFailed`` reach pydantic-ai as if asyncfc were not there.
* ``mode="async"``: the model sees widened schemas, the ``await_future`` tool and the
  protocol addendum (as the toolset's instructions); every call is answered at once with
  ``future_N (pending)``, runs in the background, and its result is appended to a later tool
  result.  The wrapped tool's own validator checks the arguments once future references are
  resolved; a failed validation is the call's error result.

The drain: before pydantic-ai accepts a final output, wait for every call and, when the
model has not seen every result, reject the output with ``ModelRetry`` whose message is the
delivery text, so the model answers again having seen everything.  Nothing is lost and
nothing is shown twice.  It comes two ways: :meth:`AsyncFCToolset.drain_output`, an output
validator for the wrapper registered as a plain toolset, and the capability
:class:`~asyncfc.integrations._pydantic_ai_capability.AsyncFC`, which bundles wrapper and
drain.  Why two: pydantic-ai (2.68) gives every capability every tool hook, copying the run
context for each, so any capability costs a few microseconds per tool call even when it only
needs the output hook; the validator costs nothing per call.  The capability is the one-line
setup, the validator the lean one.

Per-run state (the session, what the model has seen) lives in a :class:`_RunState` that the
run's copies of the wrapper share: pydantic-ai copies toolsets in ``for_run``/``for_run_step``.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ApprovalRequired, CallDeferred, ModelRetry, ToolFailed
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset
from pydantic_core import SchemaValidator, core_schema

from asyncfc._calls import decoded_call
from asyncfc._outcome import FinalAnswerPolicy
from asyncfc._protocol import AWAIT_TOOL, AWAIT_TOOL_NAME, PROMPT_ADDENDUM, future_tool_definition
from asyncfc._session import FuturesSession, SessionMode
from asyncfc._toolset import Toolset

from ._foreign import FRAMEWORK_CALL, ForeignTool, access_of

__all__ = ("AsyncFCToolset", "reject_unseen")

_ANY_ARGS = SchemaValidator(core_schema.dict_schema(core_schema.str_schema()))
"""Widened arguments are checked by the wrapped tool's validator once resolved, not before."""

_STREAM_NOTE = (
    "asyncfc: the model gave a final output before it had seen every tool result, so the "
    "drain (AsyncFC or AsyncFCToolset.drain_output, mode='async') rejects it with ModelRetry "
    "carrying those results. "
    "Agent.run_stream() cannot retry an output (it commits to the first one); with futures use "
    "run(), run_stream_events() or iter(), or AsyncFC(mode='concurrent') with run_stream()."
)
"""Added to the drain's ``ModelRetry``: ``run_stream`` wraps it in ``UnexpectedModelBehavior``."""

_Output = TypeVar("_Output")

_CONTROL_FLOW = (ModelRetry, CallDeferred, ApprovalRequired, ToolFailed)
"""Exceptions by which a tool talks to pydantic-ai itself (concurrent mode hands them on)."""


@dataclass(eq=False)
class _RunState:
    """One run's session and the wrapped tools it has listed (shared by the run's copies)."""

    toolset: Toolset = field(default_factory=Toolset)
    originals: dict[str, ToolsetTool[Any]] = field(default_factory=dict)
    session: FuturesSession | None = None
    entered: int = 0
    run_ids: list[str] = field(default_factory=list)
    """The runs that use this state (one, or a conversation's), to forget when it ends."""


@dataclass(frozen=True, kw_only=True)
class _Known:
    """One tool definition as asyncfc knows it: its :class:`ForeignTool` (labels parsed
    once) and, in async mode, its widened definition."""

    definition: ToolDefinition
    tool: ForeignTool
    widened: ToolDefinition | None

    def made_from(self, definition: ToolDefinition, async_mode: bool) -> bool:
        if async_mode and self.widened is None:
            return False
        return definition is self.definition or definition == self.definition


@dataclass
class AsyncFCToolset(WrapperToolset[Any]):
    """Answer the wrapped toolset's calls with asyncfc (see the module docstring).

    ``labels`` maps a tool name to ``{"reads": [...], "writes": [...]}``; a tool not in it is
    labelled by ``metadata={"asyncfc": {...}}`` on its definition, else it is unlabelled and
    serializes.  ``scheduler_options`` go to :class:`~asyncfc.Scheduler` (``max_concurrency``,
    ``timeout``, ``max_result_chars``, ...).  Each agent run gets its own session.
    ``final_answer`` is the policy of :meth:`drain_output`, as for
    :class:`~asyncfc.integrations.pydantic_ai.AsyncFC`.
    """

    mode: SessionMode = "async"
    labels: Mapping[str, Mapping[str, Iterable[str]]] = field(default_factory=dict)
    scheduler_options: Mapping[str, Any] = field(default_factory=dict)
    final_answer: FinalAnswerPolicy = "label_aware"
    _state: _RunState | None = field(default=None, repr=False)
    _runs: weakref.WeakValueDictionary[str, _RunState] = field(
        default_factory=weakref.WeakValueDictionary, repr=False
    )
    """Run id → that run's state, shared by every copy (``replace`` passes it on), so that
    :meth:`drain_output`, registered on the template, finds the run's session.  An entry goes
    when its state's last ``async with`` ends, or with the state if it is never entered."""
    _known: dict[str, _Known] = field(default_factory=dict, repr=False)
    """Tool name → what was made of its last definition, shared by every copy: pydantic-ai
    lists the tools again at every model request, and rebuilding each tool's labels and
    schema there was most of the wrapper's cost on toolsets of BFCL's size."""

    def __post_init__(self) -> None:
        if self.mode not in ("concurrent", "async"):
            raise ValueError(f"mode must be 'concurrent' or 'async', got {self.mode!r}")

    # -- the run's lifecycle ------------------------------------------------------------

    async def for_run(self, ctx: RunContext[Any]) -> AbstractToolset[Any]:
        """A copy bound to a fresh per-run state (kept when already bound to one)."""
        wrapped = await self.wrapped.for_run(ctx)
        state = self._state or _RunState()
        if ctx.run_id is not None:
            self._runs[ctx.run_id] = state
            state.run_ids.append(ctx.run_id)
        if self._state is not None and wrapped is self.wrapped:
            return self
        return replace(self, wrapped=wrapped, _state=state)

    async def __aenter__(self) -> AsyncFCToolset:
        await self.wrapped.__aenter__()
        state = self._bound()
        if state.entered == 0:
            session = FuturesSession(state.toolset, mode=self.mode, **self.scheduler_options)
            await session.__aenter__()
            state.session = session
        state.entered += 1
        return self

    async def __aexit__(self, *args: Any) -> bool | None:
        state = self._bound()
        state.entered -= 1
        try:
            if state.entered == 0:
                for run_id in state.run_ids:
                    self._runs.pop(run_id, None)
                state.run_ids.clear()
            if state.entered == 0 and state.session is not None:
                session, state.session = state.session, None
                await session.__aexit__(*args)
        finally:
            await self.wrapped.__aexit__(*args)
        return None

    def _bound(self) -> _RunState:
        if self._state is None:
            self._state = _RunState()  # used outside an agent run (entered directly)
        return self._state

    def _session(self) -> FuturesSession:
        state = self._bound()
        if state.session is None:
            raise RuntimeError("AsyncFCToolset used outside its 'async with' (the agent run)")
        return state.session

    # -- what the model sees --------------------------------------------------------------

    async def get_instructions(self, ctx: RunContext[Any]) -> str | None:
        """The protocol addendum in async mode, after the wrapped toolset's instructions."""
        own = await super().get_instructions(ctx)
        if self.mode == "concurrent":
            return own if isinstance(own, str) or own is None else _joined(own)
        return "\n\n".join(p for p in (_joined(own) if own else "", PROMPT_ADDENDUM) if p)

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        """The wrapped tools (widened in async mode, plus ``await_future``)."""
        tools = await self.wrapped.get_tools(ctx)
        state = self._bound()
        out: dict[str, ToolsetTool[Any]] = {}
        for name, tool in tools.items():
            known = self._register(state, name, tool)
            if self.mode == "concurrent":
                out[name] = tool
                continue
            assert known.widened is not None  # made in async mode
            # pydantic-ai makes new ToolsetTools at every step: a shallow copy (what
            # ``copy.copy`` makes of a dataclass), several times cheaper than ``replace``
            widened = object.__new__(type(tool))
            widened.__dict__.update(
                vars(tool),
                tool_def=known.widened,
                args_validator=_ANY_ARGS,
                args_validator_func=None,
            )
            out[name] = widened
        if self.mode == "async":
            if AWAIT_TOOL_NAME in out:
                raise ValueError(f"a tool may not be named {AWAIT_TOOL_NAME!r} in async mode")
            out[AWAIT_TOOL_NAME] = ToolsetTool(
                toolset=self,
                tool_def=ToolDefinition(
                    name=AWAIT_TOOL_NAME,
                    description=AWAIT_TOOL["description"],
                    parameters_json_schema=dict(AWAIT_TOOL["parameters"]),
                ),
                max_retries=1,
                args_validator=_ANY_ARGS,
            )
        return out

    def _register(self, state: _RunState, name: str, tool: ToolsetTool[Any]) -> _Known:
        state.originals[name] = tool
        known = self._known.get(name)
        async_mode = self.mode == "async"
        if known is None or not known.made_from(tool.tool_def, async_mode):
            definition = tool.tool_def
            known = _Known(
                definition=definition,
                widened=_widened(name, definition) if async_mode else None,
                tool=ForeignTool.wrap(
                    name=name,
                    description=tool.tool_def.description or "",
                    parameters=tool.tool_def.parameters_json_schema,
                    function=_run_wrapped,
                    access=access_of(name, self.labels, tool.tool_def.metadata),
                ),
            )
            self._known[name] = known
        present = state.toolset.get(name)
        if present is None:
            state.toolset.add(known.tool)
        elif present.access != known.tool.access:  # the definition changed during the run
            state.toolset.replace(name, access=known.tool.access)
        return known

    # -- calls ----------------------------------------------------------------------------

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        """Answer through the session: a future (async mode) or the label-ordered result."""
        state = self._state
        if state is None or state.session is None:
            raise RuntimeError("AsyncFCToolset used outside its 'async with' (the agent run)")
        session = state.session
        call_id = ctx.tool_call_id or session.new_call_id()
        # pydantic-ai has decoded the arguments already: ``decoded`` spares asyncfc the work
        call = decoded_call(call_id, name, tool_args)
        if self.mode == "concurrent":  # pydantic-ai validates, runs and renders the call
            result = await session.call_hosted(
                call,
                functools.partial(self.wrapped.call_tool, name, tool_args, ctx, tool),
                passthrough=_CONTROL_FLOW,
            )
            return result.content if result.is_error else result.value
        # the wrapped tool, not the widened one pydantic-ai validated the arguments against
        original = state.originals.get(name, tool)
        token = FRAMEWORK_CALL.set((self.wrapped, name, ctx, original))
        try:
            result = await session.call(call)
        finally:
            FRAMEWORK_CALL.reset(token)
        return result.content

    def take_delivery(self) -> str:
        """Results settled and not yet shown (``""`` if none), now marked shown: in a
        conversation, put them before the next user prompt, as asyncfc's ``Agent`` does
        (``f"{delivery}\n\n{prompt}"``), so the next turn starts having seen them."""
        return self._session().take_delivery()

    async def drain(self, final_answer: FinalAnswerPolicy = "reask") -> str:
        """Wait for every call of the run; the delivery text of results not yet shown
        (``"label_aware"``: ``""`` when those are only successful writes, see
        :meth:`FuturesSession.drain <asyncfc.FuturesSession.drain>`)."""
        return await self._session().drain(final_answer)

    async def drain_output(self, ctx: RunContext[Any], output: _Output) -> _Output:
        """The drain as an output validator, for this wrapper used as a plain toolset::

            fc = AsyncFCToolset(toolset, labels=...)
            agent = Agent(model, toolsets=[fc], retries={"output": 3})
            agent.output_validator(fc.drain_output)

        Waits for every call of the run and rejects an output the model gave before seeing
        every result (``final_answer`` decides which), with ``ModelRetry`` carrying them, as
        :class:`~asyncfc.integrations.pydantic_ai.AsyncFC` does, without a capability's cost
        per tool call.  A no-op in
        concurrent mode and for partial (streamed) output.  Raises :class:`RuntimeError` when
        the run does not use this wrapper (it is not in the agent's toolsets)."""
        if ctx.partial_output or self.mode == "concurrent":
            return output
        state = self._runs.get(ctx.run_id) if ctx.run_id is not None else None
        if state is None or state.session is None:
            raise RuntimeError(
                "drain_output: this AsyncFCToolset is not in this run; pass it in the agent's "
                "toolsets (Agent(model, toolsets=[fc])) before registering its drain"
            )
        reject_unseen(await state.session.drain(self.final_answer))
        return output


def reject_unseen(delivery: str) -> None:
    """Raise ``ModelRetry`` with the results the model has not seen, if there are any."""
    if delivery:
        retry = ModelRetry(delivery)  # its message is what the model reads
        retry.add_note(_STREAM_NOTE)  # what a traceback adds for the person reading it
        raise retry


def _widened(name: str, definition: ToolDefinition) -> ToolDefinition:
    """``definition`` with the schema that also accepts future references."""
    schema = future_tool_definition({"name": name, "parameters": definition.parameters_json_schema})
    return replace(definition, parameters_json_schema=schema["parameters"], strict=False)


async def _run_wrapped(arguments: dict[str, Any]) -> Any:
    """Run one async-mode call on the wrapped toolset, in the call's task (see ``_foreign``):
    the wrapped tool's validator checks the arguments once future references are resolved."""
    wrapped, name, ctx, tool = FRAMEWORK_CALL.get()
    arguments = tool.args_validator.validate_python(arguments, context=ctx.validation_context)
    if tool.args_validator_func is not None:
        checked = tool.args_validator_func(ctx, **arguments)
        if inspect.isawaitable(checked):
            await checked
    return await wrapped.call_tool(name, arguments, ctx, tool)


def _joined(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list | tuple):
        parts = [parts]
    return "\n\n".join(p if isinstance(p, str) else str(getattr(p, "content", p)) for p in parts)
