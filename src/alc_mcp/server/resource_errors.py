"""The error code of ``resources/read`` for a resource that does not exist.

The protocol revisions a client reaches through the ``initialize`` handshake (2024-11-05 up
to 2025-11-25) name ``-32002`` "Resource not found"; SEP-2164 (2026-07-28) moved it to
``-32602`` (Invalid params), which is what the SDK sends for every revision. A resource
handler raises the SDK's ``ResourceNotFoundError``; ``ResourceNotFoundCodes.read_resource``
sends ``-32002`` to a client on a handshake revision and leaves the SDK's ``-32602`` for the
newer one. Without this, an unknown strategy was ``-32603`` (Internal error).
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

__all__ = ["RESOURCE_NOT_FOUND", "ResourceNotFoundCodes"]

#: "Resource not found" in the MCP revisions up to 2025-11-25.
RESOURCE_NOT_FOUND = -32002


class ResourceNotFoundCodes(MCPServer):
    """An ``MCPServer`` whose missing resources carry the code of the client's revision."""

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        try:
            return await super().read_resource(uri, context)
        except ResourceNotFoundError as exc:
            version = getattr(context, "protocol_version", None) if context is not None else None
            if version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
                raise MCPError(code=RESOURCE_NOT_FOUND, message=str(exc), data={"uri": str(uri)}) from exc
            raise
