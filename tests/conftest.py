"""Shared fixtures: a real server per test, driven through a real in-process MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp import Client

from alc_mcp.config import Config, Limits
from alc_mcp.server.app import build_server

#: Small limits so runaway-script tests finish in about a second.
TEST_LIMITS = Limits(max_memory_mb=64, max_instructions=20_000_000, max_run_seconds=10.0)


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
async def host(config: Config) -> AsyncIterator[Host]:
    async with Client(build_server(config)) as client:
        yield Host(client)
