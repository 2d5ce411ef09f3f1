"""Shared fixtures: a real server per test, driven through a real in-process MCP client
(``host``), or the same tools called without the MCP transport (``engine_host``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError

from alc_mcp.app import SessionService
from alc_mcp.config import Config, Limits
from alc_mcp.server.app import build_server
from tests.postgres import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]  # fixtures for every test directory

#: Small limits so runaway-script tests finish in about a second.
TEST_LIMITS = Limits(max_memory_mb=64, max_instructions=20_000_000, max_run_seconds=10.0)
#: No instruction budget: the sandbox runs under CPU ticks (engine/ticks.py), with a CPU
#: limit small enough for runaway tests to end in about a second, the wall clock behind.
TICKED_LIMITS = Limits(max_memory_mb=64, max_cpu_seconds=0.5, max_run_seconds=20.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(home=tmp_path / "alc-home", limits=TEST_LIMITS)


@dataclass
class ToolResult:
    text: str
    is_error: bool

    @property
    def json(self) -> Any:
        return orjson.loads(self.text)


class Host:
    """A thin test host: calls tools and returns their text and error flag."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, tool: str, **arguments: Any) -> ToolResult:
        result = await self.client.call_tool(tool, arguments)
        (content,) = result.content
        return ToolResult(content.text, bool(result.is_error))  # type: ignore[union-attr]

    async def ok(self, tool: str, **arguments: Any) -> Any:
        """Call a tool that must succeed; return its parsed JSON."""
        result = await self.call(tool, **arguments)
        assert not result.is_error, result.text
        return result.json

    async def error(self, tool: str, **arguments: Any) -> str:
        """Call a tool that must fail with a tool error; return its message."""
        result = await self.call(tool, **arguments)
        assert result.is_error, result.text
        return result.text

    async def run(self, code: str, **arguments: Any) -> Any:
        return await self.ok("alc_run", code=code, **arguments)


@pytest.fixture
async def mcp_host(config: Config) -> AsyncIterator[Host]:
    """A real server driven through a real in-process MCP client."""
    async with Client(build_server(config)) as client:
        yield Host(client)


@pytest.fixture
def host(mcp_host: Host) -> Host:
    """The default host: the real client (directories of Lua-only tests override it)."""
    return mcp_host


@cache
def _tool_table() -> MCPServer[Any]:
    """The server's tools, built once: a tool reaches the service through its request's
    context, never through the server it was registered on, so one table serves every
    test's service (building a server is most of a test's set-up time)."""
    return build_server(Config(home=Path("/nonexistent/alc-home"), durable=False))


@dataclass
class _Client:
    """A client that declares nothing, so pauses are answered as ``needs_response``."""

    client_capabilities: None = None


@dataclass
class _Request:
    """The part of a request context a tool reads (``server/context.service_of``; what
    the client declared and its protocol, ``server/inline``)."""

    lifespan_context: SessionService
    session: _Client = field(default_factory=_Client)
    protocol_version: str | None = None


class EngineHost(Host):
    """A ``Host`` without the MCP transport, for tests of Lua semantics: each call goes
    through the server's own tool (argument validation, the service, result shaping) and
    a tool failure becomes the same error text the SDK's call handler sends."""

    def __init__(self, service: SessionService) -> None:
        self.service = service
        self._request = _Request(service)

    async def call(self, tool: str, **arguments: Any) -> ToolResult:
        server = _tool_table()
        context: Context[SessionService, Any] = Context(request_context=self._request, mcp_server=server)  # type: ignore[arg-type]
        wire_arguments = orjson.loads(orjson.dumps(arguments))  # as the client would send them
        try:
            result = await server.call_tool(tool, wire_arguments, context)
        except MCPError:
            raise
        except Exception as exc:  # MCPServer._handle_call_tool: every failure is a tool error
            return ToolResult(str(exc), True)
        (content,) = result.content  # type: ignore[union-attr]
        return ToolResult(content.text, bool(result.is_error))  # type: ignore[union-attr]


@pytest.fixture
async def engine_host(config: Config) -> AsyncIterator[EngineHost]:
    """The tools over a fresh in-memory service (durability off), without MCP: for tests
    that only look at what a script does, not at the transport or the store."""
    async with SessionService.open(replace(config, durable=False)).running() as service:
        yield EngineHost(service)


@pytest.fixture
async def durable_engine_host(config: Config) -> AsyncIterator[EngineHost]:
    """As ``engine_host``, over the SQLite store (for what the store backs, e.g. alc.state)."""
    async with SessionService.open(config).running() as service:
        yield EngineHost(service)
