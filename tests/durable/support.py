"""Helpers shared by the durable-session tests: servers with custom settings, polling,
and the parts of ``stats`` that must not depend on wall-clock time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS, Host


def durable_config(home: Path, **overrides: Any) -> Config:
    settings: dict[str, Any] = {"home": home, "limits": TEST_LIMITS}
    settings.update(overrides)
    return Config(**settings)


@asynccontextmanager
async def serve(config: Config) -> AsyncIterator[Host]:
    """A server with its own settings, driven through a real in-process MCP client.
    Leaving the block ends the client session and runs the server's lifespan exit."""
    async with Client(build_server(config)) as client:
        yield Host(client)


async def wait_until(probe: Callable[[], Awaitable[bool]], what: str, *, timeout: float = 3.0) -> None:
    """Poll ``probe`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    with anyio.move_on_after(timeout):
        while not await probe():
            await anyio.sleep(0.01)
        return
    raise AssertionError(f"timed out after {timeout} s waiting until {what}")


def counters(stats: dict[str, Any]) -> dict[str, Any]:
    """``stats.auto`` without the wall-clock field."""
    return {key: value for key, value in stats["auto"].items() if key != "elapsed_ms"}


async def status_of(host: Host, key: str) -> dict[str, Any]:
    return await host.ok("alc_status", session_id=key)


async def listing(host: Host) -> dict[str, dict[str, Any]]:
    """alc_status listing as {session_id: snapshot}."""
    reply = await host.ok("alc_status")
    return {snap["session_id"]: snap for snap in reply["sessions"]}
