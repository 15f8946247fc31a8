"""asyncfc inside pydantic-ai's agent loop: a toolset wrapper and a capability.

:class:`AsyncFCToolset` wraps any pydantic-ai toolset (function tools, MCP servers, other
wrappers) and answers its calls through one :class:`~asyncfc.FuturesSession` per agent run:

* ``mode="concurrent"``: a response's calls still reach the toolset all at once (pydantic-ai's
  parallel execution), but run in the order asyncfc's labels allow: unlabelled tools
  serialize in the order pydantic-ai hands the calls over (the response's order), labelled
  readers of one resource run together, a writer waits for the calls it conflicts with.
  pydantic-ai validates the arguments, and a tool's ``ModelRetry``, ``CallDeferred``,
  ``ApprovalRequired`` and ``ToolFailed`` reach pydantic-ai as if asyncfc were not there.
* ``mode="async"``: the model sees widened schemas, the ``await_future`` tool and the
  protocol addendum (as the toolset's instructions); every call is answered at once with
  ``future_N (pending)``, runs in the background, and its result is appended to a later tool
  result.  The wrapped tool's own validator checks the arguments once future references are
  resolved; a failed validation is the call's error result.

:class:`AsyncFC` is the capability that bundles the wrapper with the drain: before pydantic-ai
accepts a final output it waits for every call and, when the model has not seen every
result, rejects the output with ``ModelRetry`` whose message is the delivery text, so the
model answers again having seen everything.  Nothing is lost and nothing is shown twice.

Per-run state (the session, what the model has seen) lives in a :class:`_RunState` that the
run's copies of the wrapper share: pydantic-ai copies toolsets in ``for_run``/``for_run_step``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.exceptions import ApprovalRequired, CallDeferred, ModelRetry, ToolFailed
from pydantic_ai.output import OutputContext
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset
from pydantic_core import SchemaValidator, core_schema

from asyncfc._calls import ToolCall
from asyncfc._outcome import FinalAnswerPolicy
from asyncfc._protocol import AWAIT_TOOL, AWAIT_TOOL_NAME, PROMPT_ADDENDUM, future_tool_definition
from asyncfc._session import FuturesSession, SessionMode
from asyncfc._toolset import Toolset

from ._foreign import FRAMEWORK_CALL, ForeignTool, access_of

__all__ = ("AsyncFC", "AsyncFCToolset")

_ANY_ARGS = SchemaValidator(core_schema.dict_schema(core_schema.str_schema()))
"""Widened arguments are checked by the wrapped tool's validator once resolved, not before."""

_STREAM_NOTE = (
    "asyncfc: the model gave a final output before it had seen every tool result, so the "
    "drain (AsyncFC, mode='async') rejects it with ModelRetry carrying those results. "
    "Agent.run_stream() cannot retry an output (it commits to the first one); with futures use "
    "run(), run_stream_events() or iter(), or AsyncFC(mode='concurrent') with run_stream()."
)
"""Added to the drain's ``ModelRetry``: ``run_stream`` wraps it in ``UnexpectedModelBehavior``."""

_CONTROL_FLOW = (ModelRetry, CallDeferred, ApprovalRequired, ToolFailed)
"""Exceptions by which a tool talks to pydantic-ai itself (concurrent mode hands them on)."""


@dataclass(frozen=True)
class _Raised:
    """A control-flow exception carried through the scheduler as the call's value."""

    error: Exception


@dataclass(eq=False)
class _RunState:
    """One run's session and the wrapped tools it has listed (shared by the run's copies)."""

    toolset: Toolset = field(default_factory=Toolset)
    originals: dict[str, ToolsetTool[Any]] = field(default_factory=dict)
    session: FuturesSession | None = None
    entered: int = 0


@dataclass
class AsyncFCToolset(WrapperToolset[Any]):
    """Answer the wrapped toolset's calls with asyncfc (see the module docstring).

    ``labels`` maps a tool name to ``{"reads": [...], "writes": [...]}``; a tool not in it is
    labelled by ``metadata={"asyncfc": {...}}`` on its definition, else it is unlabelled and
    serializes.  ``scheduler_options`` go to :class:`~asyncfc.Scheduler` (``max_concurrency``,
    ``timeout``, ``max_result_chars``, ...).  Each agent run gets its own session.
    """

    mode: SessionMode = "async"
    labels: Mapping[str, Mapping[str, Iterable[str]]] = field(default_factory=dict)
    scheduler_options: Mapping[str, Any] = field(default_factory=dict)
    _state: _RunState | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in ("concurrent", "async"):
            raise ValueError(f"mode must be 'concurrent' or 'async', got {self.mode!r}")

    # -- the run's lifecycle ------------------------------------------------------------

    async def for_run(self, ctx: RunContext[Any]) -> AbstractToolset[Any]:
        """A copy bound to a fresh per-run state (kept when already bound to one)."""
        wrapped = await self.wrapped.for_run(ctx)
        if self._state is not None and wrapped is self.wrapped:
            return self
        return replace(self, wrapped=wrapped, _state=self._state or _RunState())

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
            self._register(state, name, tool)
            if self.mode == "concurrent":
                out[name] = tool
                continue
            widened = future_tool_definition(
                {"name": name, "parameters": tool.tool_def.parameters_json_schema}
            )
            out[name] = replace(
                tool,
                tool_def=replace(
                    tool.tool_def, parameters_json_schema=widened["parameters"], strict=False
                ),
                args_validator=_ANY_ARGS,
                args_validator_func=None,
            )
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

    def _register(self, state: _RunState, name: str, tool: ToolsetTool[Any]) -> None:
        state.originals[name] = tool
        known = state.toolset.get(name)
        access = access_of(name, self.labels, tool.tool_def.metadata)
        if known is not None and known.access == access:
            return
        foreign = ForeignTool.wrap(
            name=name,
            description=tool.tool_def.description or "",
            parameters=tool.tool_def.parameters_json_schema,
            function=self._run_wrapped,
            access=access,
        )
        if known is None:
            state.toolset.add(foreign)
        else:
            state.toolset.replace(name, access=access)

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
        call = ToolCall(id=call_id, name=name, arguments=tool_args, decoded=tool_args)
        token = FRAMEWORK_CALL.set((self.wrapped, name, ctx, state.originals.get(name, tool)))
        try:
            result = await session.call(call)
        finally:
            FRAMEWORK_CALL.reset(token)
        if self.mode == "async":
            return result.content
        if isinstance(result.value, _Raised):
            raise result.value.error
        return result.content if result.is_error else result.value

    async def _run_wrapped(self, arguments: dict[str, Any]) -> Any:
        """Run one call on the wrapped toolset (in the call's task, see ``_foreign``)."""
        wrapped, name, ctx, tool = FRAMEWORK_CALL.get()
        try:
            if self.mode == "async":  # validate once the future references are resolved
                arguments = tool.args_validator.validate_python(
                    arguments, context=ctx.validation_context
                )
                if tool.args_validator_func is not None:
                    checked = tool.args_validator_func(ctx, **arguments)
                    if inspect.isawaitable(checked):
                        await checked
            return await wrapped.call_tool(name, arguments, ctx, tool)
        except _CONTROL_FLOW as exc:
            if self.mode == "concurrent":
                return _Raised(exc)
            raise

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


def _joined(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list | tuple):
        parts = [parts]
    return "\n\n".join(p if isinstance(p, str) else str(getattr(p, "content", p)) for p in parts)


@dataclass
class AsyncFC(AbstractCapability[Any]):
    """The capability: ``Agent(model, capabilities=[AsyncFC(toolset, labels=...)])``.

    Registers :class:`AsyncFCToolset` over ``toolset`` and drains before the final output
    (async mode): an output is rejected with ``ModelRetry`` carrying the results the model
    has not seen, so count one output retry per final answer that arrives before its results.
    ``final_answer`` decides which unseen results reject it, as
    :attr:`Agent.final_answer <asyncfc.Agent.final_answer>` does (default ``"label_aware"``:
    an answer whose only unseen results are successful writes stands; ``"reask"``: any).

    Each run gets its own session, so future ids start again at ``future_1``.  For a
    conversation of several runs (``message_history``), enter the capability around them,
    ``async with cap: ...``: every run inside shares one session, future ids stay unique
    and a future from an earlier turn can still be passed or awaited.
    """

    toolset: AbstractToolset[Any]
    mode: SessionMode = "async"
    labels: Mapping[str, Mapping[str, Iterable[str]]] = field(default_factory=dict)
    scheduler_options: Mapping[str, Any] = field(default_factory=dict)
    final_answer: FinalAnswerPolicy = "label_aware"
    _run_toolset: AsyncFCToolset | None = field(default=None, repr=False)
    _conversation: AsyncFCToolset | None = field(default=None, repr=False)

    async def __aenter__(self) -> AsyncFC:
        """Start a conversation: one session for every run until the block ends."""
        if self._conversation is not None:
            raise RuntimeError("this AsyncFC is already in a conversation ('async with')")
        wrapper = self._wrapper(_RunState())
        await wrapper.__aenter__()
        self._conversation = wrapper
        return self

    def take_delivery(self) -> str:
        """Inside ``async with``: the results a label-aware drain left unshown (successful
        writes), for the next user prompt (:meth:`AsyncFCToolset.take_delivery`)."""
        if self._conversation is None:
            raise RuntimeError("take_delivery() needs a conversation: 'async with' the AsyncFC")
        return self._conversation.take_delivery()

    async def __aexit__(self, *args: Any) -> None:
        """End the conversation and close its session: a call still running is cancelled,
        with its one outcome (``cancelled``)."""
        wrapper, self._conversation = self._conversation, None
        if wrapper is not None:
            await wrapper.__aexit__(*args)

    def _wrapper(self, state: _RunState | None) -> AsyncFCToolset:
        return AsyncFCToolset(
            self.toolset,
            mode=self.mode,
            labels=self.labels,
            scheduler_options=self.scheduler_options,
            _state=state,
        )

    async def for_run(self, ctx: RunContext[Any]) -> AsyncFC:
        """A copy whose wrapper is bound to this run's state (the conversation's, inside
        ``async with``)."""
        if self._conversation is not None:
            return replace(self, _run_toolset=self._conversation)
        return replace(self, _run_toolset=self._wrapper(_RunState()))

    def get_toolset(self) -> AsyncFCToolset:
        """The wrapper (the run's own once :meth:`for_run` made it)."""
        return self._run_toolset or self._wrapper(None)

    async def before_output_process(
        self, ctx: RunContext[Any], *, output_context: OutputContext, output: Any
    ) -> Any:
        """Drain; reject the output with the results the model has not seen, if any.

        Output *processing* is the hook that fires for every output kind, plain text
        included (the validate hooks fire only for structured output)."""
        if ctx.partial_output or self._run_toolset is None or self.mode == "concurrent":
            return output
        delivery = await self._run_toolset.drain(self.final_answer)
        if delivery:
            retry = ModelRetry(delivery)  # its message is what the model reads
            retry.add_note(_STREAM_NOTE)  # what a traceback adds for the person reading it
            raise retry
        return output
