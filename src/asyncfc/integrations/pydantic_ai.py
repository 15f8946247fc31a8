"""asyncfc for pydantic-ai agents: ``Agent(model, capabilities=[AsyncFC(toolset)])``.

See :mod:`asyncfc.integrations._pydantic_ai` and ``docs/integrations.md``.
"""

from ._foreign import LABELS_METADATA_KEY as LABELS_METADATA_KEY
from ._pydantic_ai import AsyncFC as AsyncFC
from ._pydantic_ai import AsyncFCToolset as AsyncFCToolset

__all__ = ("LABELS_METADATA_KEY", "AsyncFC", "AsyncFCToolset")
