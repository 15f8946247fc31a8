"""asyncfc: faster LLM agents without changing the model, the tools or the protocol."""

from ._agent import Agent as Agent
from ._backends import ExecutionBackend as ExecutionBackend
from ._backends import Input as Input
from ._backends import Job as Job
from ._calls import ErrorKind as ErrorKind
from ._calls import ToolCall as ToolCall
from ._calls import ToolResult as ToolResult
from ._chrome import chrome_trace as chrome_trace
from ._errors import AsyncFCError as AsyncFCError
from ._errors import BackendUnavailableError as BackendUnavailableError
from ._errors import ModelAPIError as ModelAPIError
from ._errors import ModelConnectionError as ModelConnectionError
from ._errors import ModelRateLimitError as ModelRateLimitError
from ._errors import ModelResponseError as ModelResponseError
from ._errors import ModelTimeoutError as ModelTimeoutError
from ._executor import BatchResult as BatchResult
from ._executor import DuplicateCallIdError as DuplicateCallIdError
from ._executor import ExecutionMode as ExecutionMode
from ._executor import ToolExecutor as ToolExecutor
from ._futures import FutureReferenceError as FutureReferenceError
from ._labels import UNLABELLED as UNLABELLED
from ._labels import Access as Access
from ._labels import parse_label as parse_label
from ._messages import AssistantMessage as AssistantMessage
from ._messages import ChatModel as ChatModel
from ._messages import Message as Message
from ._messages import ModelResponse as ModelResponse
from ._messages import ModelSettings as ModelSettings
from ._messages import StreamDone as StreamDone
from ._messages import StreamEvent as StreamEvent
from ._messages import SystemMessage as SystemMessage
from ._messages import TextDelta as TextDelta
from ._messages import ToolCallDone as ToolCallDone
from ._messages import ToolResultsMessage as ToolResultsMessage
from ._messages import Usage as Usage
from ._messages import UserMessage as UserMessage
from ._modes import AgentMode as AgentMode
from ._modes import ModePolicy as ModePolicy
from ._observe import RunObserver as RunObserver
from ._outcome import AgentRun as AgentRun
from ._outcome import EarlyDispatch as EarlyDispatch
from ._outcome import FinalAnswerPolicy as FinalAnswerPolicy
from ._outcome import HoldPolicy as HoldPolicy
from ._outcome import StopReason as StopReason
from ._protocol import AWAIT_TOOL_NAME as AWAIT_TOOL_NAME
from ._protocol import PROMPT_ADDENDUM as PROMPT_ADDENDUM
from ._results import render_value as render_value
from ._scheduler import Future as Future
from ._scheduler import FutureState as FutureState
from ._scheduler import Ordering as Ordering
from ._scheduler import Scheduler as Scheduler
from ._scripted import Reply as Reply
from ._scripted import ScriptedModel as ScriptedModel
from ._scripted import ScriptExhausted as ScriptExhausted
from ._scripted import ScriptView as ScriptView
from ._scripted import estimate_input_tokens as estimate_input_tokens
from ._session import FuturesSession as FuturesSession
from ._session import SessionMode as SessionMode
from ._tools import FromContext as FromContext
from ._tools import Isolation as Isolation
from ._tools import Tool as Tool
from ._tools import ToolArgumentsError as ToolArgumentsError
from ._tools import ToolContext as ToolContext
from ._tools import tool as tool
from ._toolset import Toolset as Toolset
from ._trace import Interval as Interval
from ._trace import Trace as Trace
from ._trace import TraceMetrics as TraceMetrics

__all__ = (
    "AWAIT_TOOL_NAME",
    "PROMPT_ADDENDUM",
    "UNLABELLED",
    "Access",
    "Agent",
    "AgentMode",
    "AgentRun",
    "AssistantMessage",
    "AsyncFCError",
    "BackendUnavailableError",
    "BatchResult",
    "ChatModel",
    "DuplicateCallIdError",
    "EarlyDispatch",
    "ErrorKind",
    "ExecutionBackend",
    "ExecutionMode",
    "FinalAnswerPolicy",
    "FromContext",
    "Future",
    "FutureReferenceError",
    "FutureState",
    "FuturesSession",
    "HoldPolicy",
    "Input",
    "Interval",
    "Isolation",
    "Job",
    "Message",
    "ModePolicy",
    "ModelAPIError",
    "ModelConnectionError",
    "ModelRateLimitError",
    "ModelResponse",
    "ModelResponseError",
    "ModelSettings",
    "ModelTimeoutError",
    "Ordering",
    "Reply",
    "RunObserver",
    "Scheduler",
    "ScriptExhausted",
    "ScriptView",
    "ScriptedModel",
    "SessionMode",
    "StopReason",
    "StreamDone",
    "StreamEvent",
    "SystemMessage",
    "TextDelta",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallDone",
    "ToolContext",
    "ToolExecutor",
    "ToolResult",
    "ToolResultsMessage",
    "Toolset",
    "Trace",
    "TraceMetrics",
    "Usage",
    "UserMessage",
    "chrome_trace",
    "estimate_input_tokens",
    "parse_label",
    "render_value",
    "tool",
)
