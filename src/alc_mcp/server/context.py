"""How a tool reaches the service: the SDK's idiom, the lifespan's value on the
request's ``Context`` (no module globals, no closures over a runtime), answering for
the principal the request's bearer token named (``server.auth``)."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from alc_mcp.app import SessionService
from alc_mcp.server.auth import request_principal

__all__ = ["ServiceContext", "service_of"]

ServiceContext = Context[SessionService, object]


def service_of(context: ServiceContext) -> SessionService:
    service: SessionService = context.request_context.lifespan_context
    return service.acting_as(request_principal())
