"""Helpers for the alc.* library tests: run Lua through a real session and take its
result or its Lua error."""

from __future__ import annotations

from typing import Any

from tests.conftest import Host


async def result(host: Host, code: str, **arguments: Any) -> Any:
    """Run ``code`` to completion and return its result."""
    reply = await host.run(code, **arguments)
    assert reply["status"] == "completed", reply
    return reply["result"]


async def lua_error(host: Host, code: str, **arguments: Any) -> str:
    """Run ``code``, which must fail with a Lua error; return the error text."""
    reply = await host.run(code, **arguments)
    assert reply["status"] == "error", reply
    return reply["error"]
