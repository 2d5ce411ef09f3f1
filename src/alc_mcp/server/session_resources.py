"""Sessions as resources a host can read (and its user pick with completions):
``alc://sessions/{session_id}``, a session's ``alc_status`` snapshot, and
``alc://sessions/{session_id}/variables/{name}``, one of its typed variables.

``session_id`` takes the session's id or name, as every tool does.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from alc_mcp.app import CALLER_MISTAKES
from alc_mcp.domain.jsonfmt import dumps_pretty
from alc_mcp.server.context import ServiceContext, service_of

__all__ = ["SESSION_URI", "VARIABLE_URI", "register_session_resources"]

SESSION_URI = "alc://sessions/{session_id}"
VARIABLE_URI = "alc://sessions/{session_id}/variables/{name}"


def register_session_resources(server: MCPServer[Any]) -> None:
    @server.resource(
        SESSION_URI,
        name="session",
        description="A paused or running session's status (as alc_status shows it), by id or name.",
        mime_type="application/json",
    )
    async def session_status(session_id: str, context: ServiceContext) -> str:
        try:
            return dumps_pretty(await service_of(context).status(session_id, None, False))
        except CALLER_MISTAKES as exc:
            raise ResourceNotFoundError(str(exc)) from None

    @server.resource(
        VARIABLE_URI,
        name="session variable",
        description="One typed variable of a session (value, type, constraints, version) as JSON.",
        mime_type="application/json",
    )
    async def session_variable(session_id: str, name: str, context: ServiceContext) -> str:
        try:
            found = (await service_of(context).vars_get(session_id, [name]))["found"]
        except CALLER_MISTAKES as exc:
            raise ResourceNotFoundError(str(exc)) from None
        if name not in found:
            raise ResourceNotFoundError(
                f"session '{session_id}' has no variable '{name}' (alc_vars_list lists its variables)"
            )
        return dumps_pretty(found[name])
