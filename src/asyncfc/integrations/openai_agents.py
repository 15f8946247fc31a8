"""asyncfc for the OpenAI Agents SDK: ``await run(agent, input, labels=...)``.

See :mod:`asyncfc.integrations._openai_agents` and ``docs/integrations.md``.
"""

from ._openai_agents import DRAIN_GUARDRAIL_NAME as DRAIN_GUARDRAIL_NAME
from ._openai_agents import run as run
from ._openai_agents import wrap_agent as wrap_agent

__all__ = ("DRAIN_GUARDRAIL_NAME", "run", "wrap_agent")
