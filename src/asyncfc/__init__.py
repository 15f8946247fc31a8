"""asyncfc: faster LLM agents without changing the model, the tools or the protocol."""

from ._calls import ErrorKind as ErrorKind
from ._calls import ToolCall as ToolCall
from ._calls import ToolResult as ToolResult
from ._executor import BatchResult as BatchResult
from ._executor import DuplicateCallIdError as DuplicateCallIdError
from ._executor import ExecutionMode as ExecutionMode
from ._executor import ToolExecutor as ToolExecutor
from ._invoke import render_value as render_value
from ._labels import UNLABELLED as UNLABELLED
from ._labels import Access as Access
from ._labels import parse_label as parse_label
from ._tools import Tool as Tool
from ._tools import ToolArgumentsError as ToolArgumentsError
from ._tools import ToolContext as ToolContext
from ._tools import Toolset as Toolset
from ._tools import tool as tool
from ._trace import Interval as Interval
from ._trace import Trace as Trace
from ._trace import TraceMetrics as TraceMetrics

__all__ = (
    "UNLABELLED",
    "Access",
    "BatchResult",
    "DuplicateCallIdError",
    "ErrorKind",
    "ExecutionMode",
    "Interval",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolContext",
    "ToolExecutor",
    "ToolResult",
    "Toolset",
    "Trace",
    "TraceMetrics",
    "parse_label",
    "render_value",
    "tool",
)
