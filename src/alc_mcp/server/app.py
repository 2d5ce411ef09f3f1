"""The MCP server: tools, resources and prompts over the session service.

Thin by design: the lifespan opens the service (``app.SessionService``) and every
tool reaches it through its request's ``Context``; a tool only shapes arguments and
turns the service's answer into compact JSON text. Script failures are results
(``{"status":"error"}``); caller mistakes are tool errors (``isError: true``) whose
message says what to do.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer, RequestStateSecurity
from mcp.server.mcpserver.tools import Tool

from alc_mcp import __version__
from alc_mcp.app import SessionService
from alc_mcp.app.catalog import PackageCatalog
from alc_mcp.config import Config
from alc_mcp.server import texts
from alc_mcp.server.base import AlcMCPServer
from alc_mcp.server.catalog_mcp import register_prompts, register_resources
from alc_mcp.server.completions import register_completions
from alc_mcp.server.eval_tools import register_eval_resources, register_eval_tools
from alc_mcp.server.history_tools import register_history_tools
from alc_mcp.server.package_tools import register_package_tools
from alc_mcp.server.session_resources import register_session_resources
from alc_mcp.server.session_tools import register_session_tools
from alc_mcp.server.tasks import SessionTasks
from alc_mcp.server.toolbox import ToolBox
from alc_mcp.server.variable_tools import register_variable_tools

__all__ = ["build_server"]


@functools.cache
def _tools() -> tuple[Tool, ...]:
    box = ToolBox()
    register_session_tools(box)
    register_history_tools(box)
    register_package_tools(box)
    register_variable_tools(box)
    register_eval_tools(box)
    return tuple(box.tools)


def tool_table() -> list[Tool]:
    """Every alc-mcp tool (declared once per process; see ``server.toolbox``)."""
    return list(_tools())


@functools.cache
def _freeze_startup_heap() -> None:
    """Keep what start-up built out of the cycle collector's way, once per process.

    A full collection scans every tracked object, and the SDK's, pydantic's and our own
    start-up objects are about 100,000 of them: 45-70 ms on the event loop, a stall of
    every call in flight (measured with bench/bench_limits.py while a script burns CPU).
    They live as long as the process, so they are collected once and frozen
    (``gc.freeze``); later collections only scan what sessions and calls allocate."""
    gc.collect()
    gc.freeze()


def _request_state_security(config: Config) -> RequestStateSecurity | None:
    """How MRTR request state is sealed (``server.inline``): under ALC_REQUEST_STATE_KEY so
    every process of a fleet verifies what another sealed, else (None) under the SDK's
    random per-process key."""
    if config.request_state_key is None:
        return None
    return RequestStateSecurity(keys=[config.request_state_key])


def build_server(
    config: Config | None = None, *, service: SessionService | None = None, **auth: Any
) -> MCPServer[Any]:
    """A ready-to-run server. Its lifespan opens the store, restores sessions and runs
    the background reaper; pass ``service`` to keep a handle on what it serves, and
    ``auth``/``token_verifier`` (``server.http.HttpPlan.server_options``) to require tokens."""
    config = service.config if service is not None else (config or Config.from_env())
    catalog = service.catalog if service is not None else PackageCatalog(config)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Any]) -> AsyncIterator[SessionService]:
        async with (service or SessionService.open(config, catalog)).running() as running:
            _freeze_startup_heap()
            yield running

    server = AlcMCPServer(
        "alc-mcp",
        version=__version__,
        instructions=texts.INSTRUCTIONS,
        lifespan=lifespan,
        tools=tool_table(),
        request_state_security=_request_state_security(config),
        extensions=[SessionTasks()],
        **auth,
    )
    register_resources(server, catalog)
    register_eval_resources(server)
    register_session_resources(server)
    register_prompts(server, catalog)
    register_completions(server)
    return server
