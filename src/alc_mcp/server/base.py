"""The SDK's ``MCPServer`` as alc-mcp serves it: every tool's arguments checked alike
(``arguments``) and missing resources reported with the spec's code (``resource_errors``)."""

from __future__ import annotations

from alc_mcp.server.arguments import StrictArgumentsServer
from alc_mcp.server.resource_errors import ResourceNotFoundCodes

__all__ = ["AlcMCPServer"]


class AlcMCPServer(StrictArgumentsServer, ResourceNotFoundCodes):
    """``MCPServer`` with strict tool arguments and spec resource-not-found codes."""
