"""MCP for asyncfc: tools from MCP servers, labels from annotations, and the futures proxy.

Needs the ``mcp`` extra (``pip install "asyncfc[mcp]"``); ``import asyncfc`` never imports
the SDK.  See ``docs/mcp.md``.
"""

import importlib.util as _importlib_util

if _importlib_util.find_spec("mcp") is None:  # pragma: no cover - depends on the install
    raise ImportError("asyncfc.mcp needs the MCP SDK: pip install 'asyncfc[mcp]'")

from ._errors import MCPServerError as MCPServerError
from ._errors import MCPServerGoneError as MCPServerGoneError
from ._errors import MCPServerStartError as MCPServerStartError
from ._errors import MCPToolError as MCPToolError
from ._proxy import MCPProxy as MCPProxy
from ._results import MCPList as MCPList
from ._results import MCPStructured as MCPStructured
from ._results import MCPText as MCPText
from ._results import access_for as access_for
from ._servers import HTTPServer as HTTPServer
from ._servers import ServerSpec as ServerSpec
from ._servers import StdioServer as StdioServer
from ._servers import ToolLabels as ToolLabels
from ._servers import servers_from_config as servers_from_config
from ._toolset import MCPToolset as MCPToolset

__all__ = (
    "HTTPServer",
    "MCPList",
    "MCPProxy",
    "MCPServerError",
    "MCPServerGoneError",
    "MCPServerStartError",
    "MCPStructured",
    "MCPText",
    "MCPToolError",
    "MCPToolset",
    "ServerSpec",
    "StdioServer",
    "ToolLabels",
    "access_for",
    "servers_from_config",
)
