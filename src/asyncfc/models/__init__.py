"""Provider adapters implementing :class:`~asyncfc.ChatModel`.

Each adapter imports its SDK only when constructed, so ``asyncfc`` needs neither SDK;
install the ``openai`` or ``anthropic`` extra for the one you use.
"""

from ._anthropic import AnthropicModel as AnthropicModel
from ._openai_chat import OpenAIChatModel as OpenAIChatModel
from ._openai_responses import OpenAIResponsesModel as OpenAIResponsesModel

__all__ = ("AnthropicModel", "OpenAIChatModel", "OpenAIResponsesModel")
