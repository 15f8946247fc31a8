"""Real models on BFCL multi-turn tasks: the replay's tasks, tools, labels, latency and checker,
with a chat model over HTTP in place of the :class:`~asyncfc.ScriptedModel`.

A model is named by a spec (the CLI's ``--model``):

* ``openai:<name>``: Chat Completions through the official SDK; with ``base_url`` this is any
  OpenAI-compatible server (vLLM, llama.cpp, Ollama, hosted gateways);
* ``openai-responses:<name>``: the Responses API;
* ``anthropic:<name>``: the Messages API;
* ``local``: SmolLM2-135M-Instruct on a llama.cpp server that this process starts on
  127.0.0.1 and stops afterwards (:class:`~asyncfc.models.LlamaServer`), with argument
  lengths bounded in the tool schemas it is sent (:class:`~asyncfc.models.BoundedModel`).

Invariants and decisions:

* Decoding is real, so it cannot be scaled: ``time_scale`` multiplies the injected tool latency
  only.  Ratios therefore depend on the time scale here, unlike in the replay.
* Every mode of every task gets fresh backends, and the model sees exactly the tools, labels
  and prompts of the replay; accuracy is BFCL's own ``multi_turn_checker`` on the calls the
  agent executed (``await_future`` left out).
* A provider error (:class:`~asyncfc.ModelAPIError`) ends that mode's run of that task and is
  recorded with its type and message; the other modes and tasks go on.  A task with an error in
  any mode is left out of the speed-up summary, because its modes did not finish the same work.
* BFCL's function-calling runs send no system prompt, and neither do we, except for
  ``local`` (:data:`FUNCTION_CALLING_SYSTEM_PROMPT`), whose server shows tools only there.
* A real model's calls differ between modes, so the final states are not compared with the
  sequential run's (that check is the replay's proof that labels are sound).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

import anyio

from asyncfc import Agent, AgentRun, ChatModel, ModelAPIError, ModelSettings, ModePolicy, Toolset
from asyncfc.replay import MODES, Latency, ModeOutcome, with_latency

from ._bfcl_backends import make_environment
from ._bfcl_bench import executed_calls
from ._bfcl_data import BfclEntry
from ._bfcl_scoring import score

__all__ = (
    "LiveSettings",
    "LiveTask",
    "ModelSpec",
    "Provider",
    "open_model",
    "run_bfcl_live",
    "run_live",
)

Provider = Literal["openai", "openai-responses", "anthropic", "local"]

_KEY_VARIABLES: Mapping[str, str] = {
    "openai": "OPENAI_API_KEY",
    "openai-responses": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}

FUNCTION_CALLING_SYSTEM_PROMPT = (
    "You are an assistant that completes the user's requests by calling the available "
    "functions. When a request has several independent parts, call several functions at once."
)
"""The system prompt of ``local`` runs: llama.cpp's ``chatml-function-calling`` template lists
the tools only inside a system message, so without one the model never sees them."""

NO_KEY = "not-needed"
"""The API key sent to a ``base_url`` server when none is configured (local servers such as
vLLM, llama.cpp or Ollama accept any key, but the SDKs refuse an empty one)."""


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Which model to talk to, and where."""

    provider: Provider
    name: str
    base_url: str | None = None
    api_key: str | None = None

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
    ) -> ModelSpec:
        """``"openai:gpt-4o"``, ``"anthropic:claude-…"``, ``"local"``…; raises ``ValueError``
        with the accepted forms otherwise.  Without ``api_key`` the provider's usual
        environment variable is read; a ``base_url`` without any key gets :data:`NO_KEY`."""
        if text == "local":
            if base_url is not None:
                raise ValueError("--model local starts its own server; drop --base-url")
            return cls(provider="local", name="smollm2")
        provider, sep, name = text.partition(":")
        if not sep or not name or provider not in get_args(Provider) or provider == "local":
            raise ValueError(
                f"unknown model {text!r}: use openai:<name>, openai-responses:<name>, "
                "anthropic:<name> or local"
            )
        key = api_key or os.environ.get(_KEY_VARIABLES[provider])
        if key is None:
            if base_url is None:
                raise ValueError(
                    f"{provider} needs an API key: set {_KEY_VARIABLES[provider]} "
                    "(or pass --base-url for a server that needs none)"
                )
            key = NO_KEY
        return cls(provider=cast(Provider, provider), name=name, base_url=base_url, api_key=key)


@asynccontextmanager
async def open_model(spec: ModelSpec) -> AsyncIterator[ChatModel]:
    """The chat model for ``spec``; for ``local``, with its server running until exit."""
    from asyncfc.models import AnthropicModel, OpenAIChatModel, OpenAIResponsesModel

    if spec.provider == "local":
        from asyncfc.models import BoundedModel, LlamaServer, smollm2_gguf

        # the model's full context: BFCL's tool lists run to a few thousand prompt tokens
        async with LlamaServer(model_path=smollm2_gguf(), n_ctx=8192) as server:
            local = OpenAIChatModel(
                server.model,
                base_url=server.base_url,
                api_key=NO_KEY,
                max_tokens_param="max_tokens",
            )
            async with local.client:
                # the server ignores max_tokens inside arguments: its grammar must end them
                yield BoundedModel(local)
        return
    if spec.provider == "anthropic":
        claude = AnthropicModel(spec.name, base_url=spec.base_url, api_key=spec.api_key)
        async with claude.client:
            yield claude
        return
    kind = OpenAIChatModel if spec.provider == "openai" else OpenAIResponsesModel
    model = kind(spec.name, base_url=spec.base_url, api_key=spec.api_key)
    async with model.client:
        yield model


@dataclass(frozen=True, kw_only=True)
class LiveSettings:
    """How each real-model run is bounded."""

    max_requests: int = 10
    """Model requests per user turn."""
    max_tokens: int | None = 1024
    temperature: float | None = 0.0
    streaming: bool = False
    run_timeout: float | None = 600.0
    """Seconds allowed for one mode of one task (all its user turns); ``None``: unbounded."""
    system_prompt: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Extra request fields (:attr:`ModelSettings.extra`), e.g. ``tool_choice``."""

    @classmethod
    def for_provider(cls, provider: Provider, **changes: Any) -> LiveSettings:
        """Defaults for ``provider``.  ``local``: llama.cpp's ``chatml-function-calling`` shows
        tools only inside a system message and only when ``tool_choice`` is sent, so its runs
        get :data:`FUNCTION_CALLING_SYSTEM_PROMPT` and ``tool_choice="auto"`` (OpenAI's default
        when tools are offered, sent explicitly)."""
        if provider == "local":
            changes.setdefault("system_prompt", FUNCTION_CALLING_SYSTEM_PROMPT)
            changes.setdefault("extra", {"tool_choice": "auto"})
        return cls(**changes)


@dataclass(kw_only=True)
class LiveTask:
    """One task under a real model: the modes that finished, and those that failed."""

    outcomes: dict[str, ModeOutcome] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Mode → ``"<ExceptionType>: <message>"`` for runs a provider error (or the timeout) ended."""


async def run_live(
    model: ChatModel,
    toolset: Toolset,
    prompts: str | Sequence[str],
    *,
    policy: ModePolicy,
    settings: LiveSettings,
) -> tuple[AgentRun, float] | str:
    """One agent run bounded by ``settings``: the run and its wall time, or, when a provider
    error or ``settings.run_timeout`` ended it, ``"<ExceptionType>: <message>"``."""
    agent = Agent(
        model=model,
        toolset=toolset,
        mode=policy.mode,
        respect_labels=policy.respect_labels,
        system_prompt=settings.system_prompt,
        max_requests=settings.max_requests,
        streaming=settings.streaming,
        settings=ModelSettings(
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            extra=settings.extra,
        ),
    )
    start = anyio.current_time()
    limit = settings.run_timeout if settings.run_timeout is not None else float("inf")
    try:
        with anyio.fail_after(limit):
            run = await agent.run(prompts)
    except (ModelAPIError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return run, anyio.current_time() - start


async def run_bfcl_live(
    entry: BfclEntry,
    model: ChatModel,
    *,
    modes: Sequence[str],
    latency: Latency,
    time_scale: float = 1.0,
    settings: LiveSettings | None = None,
) -> LiveTask:
    """Run ``entry`` with ``model`` once per mode, one after another, on fresh backends."""
    settings = settings or LiveSettings()
    prompts = [entry.user_text(t) for t in range(len(entry.ground_truth))]
    task = LiveTask()
    for name in modes:
        env = make_environment(entry)
        toolset = with_latency(env.toolset, latency.sampler(time_scale))
        done = await run_live(model, toolset, prompts, policy=MODES[name], settings=settings)
        if isinstance(done, str):
            task.errors[name] = done
            continue
        run, wall = done
        verdict = score(entry, executed_calls(run, prompts))
        task.outcomes[name] = ModeOutcome(
            mode=name,
            run=run,
            wall=wall,
            metrics=run.trace.metrics(),
            extra={"accurate": bool(verdict.get("valid")), "verdict": verdict},
        )
    return task
