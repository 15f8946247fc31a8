"""asyncfc inside other agent frameworks' loops.

One public module per framework, each importing its framework only when imported itself
(``import asyncfc`` imports none of them):

* :mod:`asyncfc.integrations.pydantic_ai`: :class:`~asyncfc.integrations.pydantic_ai.AsyncFC`
  (a pydantic-ai capability) and :class:`~asyncfc.integrations.pydantic_ai.AsyncFCToolset`
  (a wrapper around any pydantic-ai toolset).
* :mod:`asyncfc.integrations.openai_agents`:
  :class:`~asyncfc.integrations.openai_agents.AsyncFCTools` for the OpenAI Agents SDK.

Both answer the framework's tool calls through one :class:`~asyncfc.FuturesSession` per run
(see ``docs/integrations.md``).
"""

__all__ = ()
