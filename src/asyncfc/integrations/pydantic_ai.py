"""asyncfc for pydantic-ai agents: ``Agent(model, capabilities=[AsyncFC(toolset)])``.

See :mod:`asyncfc.integrations._pydantic_ai` and ``docs/integrations.md``.
"""

from ._foreign import LABELS_METADATA_KEY as LABELS_METADATA_KEY
from ._pydantic_ai import AsyncFCToolset as AsyncFCToolset
from ._pydantic_ai_capability import AsyncFC as AsyncFC

__all__ = ("LABELS_METADATA_KEY", "AsyncFC", "AsyncFCToolset")
