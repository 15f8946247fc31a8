"""Provider adapters implementing :class:`~asyncfc.ChatModel`, and a local model server.

Each adapter imports its SDK only when constructed, so ``asyncfc`` needs neither SDK;
install the ``openai`` or ``anthropic`` extra for the one you use.  The three SDK adapters
share one base (:class:`~asyncfc.models._sdk_model.SDKModel`: constructor, ``request``,
``stream``) and one emission rule for streamed calls; each module keeps only its provider's
translation.  :class:`LlamaServer`
runs a GGUF model behind an OpenAI-compatible endpoint (the ``local`` extra); see
:mod:`asyncfc.models._llama_server`.  :class:`BoundedModel` wraps any model to bound the
length of tool arguments for servers whose decoding grammar is the only thing that ends them
(:mod:`asyncfc.models._bounded`).
"""

from ._anthropic import AnthropicModel as AnthropicModel
from ._bounded import ArgumentBounds as ArgumentBounds
from ._bounded import BoundedModel as BoundedModel
from ._llama_server import LlamaServer as LlamaServer
from ._llama_server import LocalServerError as LocalServerError
from ._llama_server import smollm2_gguf as smollm2_gguf
from ._openai_chat import OpenAIChatModel as OpenAIChatModel
from ._openai_responses import OpenAIResponsesModel as OpenAIResponsesModel

__all__ = (
    "AnthropicModel",
    "ArgumentBounds",
    "BoundedModel",
    "LlamaServer",
    "LocalServerError",
    "OpenAIChatModel",
    "OpenAIResponsesModel",
    "smollm2_gguf",
)
