"""The agent's modes, decided once: a frozen :class:`ModePolicy` says what a mode *means*.

A mode name is compared with strings in exactly one place, :meth:`ModePolicy.of`.  The agent
loop, the replay and anything else that behaves differently per mode reads the policy's
fields instead, so adding or changing a mode is one edit here.

The four modes are the paper's baselines and AsyncFC's two variants:

=================  =========  ==================  ================
mode               futures    parallel calls      calls together
=================  =========  ==================  ================
``sequential``     no         no                  no
``parallel``       no         yes                 yes
``async``          yes        no                  yes
``async_parallel`` yes        yes                 yes
=================  =========  ==================  ================

*Labels count* is orthogonal: with ``respect_labels=False`` every call is treated as
unlabelled and all calls keep program order (the paper's "no annotation" ablation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ("AgentMode", "ModePolicy")

AgentMode = Literal["sequential", "parallel", "async", "async_parallel"]
"""The agent's modes (see the module docstring)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ModePolicy:
    """What one mode means for the model request and for running calls."""

    mode: AgentMode
    futures: bool
    """Calls are answered at once with future ids; the model is sent widened schemas,
    ``await_future`` and the prompt addendum, and settled results are delivered later."""
    parallel_tool_calls: bool
    """The model may emit several calls per response (sent as ``parallel_tool_calls``)."""
    calls_together: bool
    """A response's calls are submitted together and run side by side where their labels
    allow.  When false, each call finishes before the next call of the response starts."""
    respect_labels: bool = True
    """Resource labels order the calls; false serializes every call in program order."""

    @classmethod
    def of(cls, mode: AgentMode, *, respect_labels: bool = True) -> ModePolicy:
        """The policy of ``mode``; raises :class:`ValueError` for an unknown mode."""
        if mode not in get_args(AgentMode):
            raise ValueError(
                f"unknown mode {mode!r}; expected one of {', '.join(get_args(AgentMode))}"
            )
        futures = mode in ("async", "async_parallel")
        return cls(
            mode=mode,
            futures=futures,
            parallel_tool_calls=mode in ("parallel", "async_parallel"),
            calls_together=mode != "sequential",
            respect_labels=respect_labels,
        )

    @property
    def label(self) -> str:
        """A short name for tables: the mode, with ``_nolabels`` when labels do not count."""
        return self.mode if self.respect_labels else f"{self.mode}_nolabels"
