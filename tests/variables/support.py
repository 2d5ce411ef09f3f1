"""Helpers shared by the session-variable tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alc_mcp.config import Config, Limits
from alc_mcp.domain.journal import JournalEntry
from alc_mcp.store.sqlite import SqliteStore
from tests.conftest import TEST_LIMITS, Host

#: Prefixes the Lua error text of each alc.vars function adds to the engine's message.
DEFINE, GET, SET, SET_MANY = "alc.vars.define: ", "alc.vars.get: ", "alc.vars.set: ", "alc.vars.set_many: "

RUNNING = "is running"

#: Generous limits for a script that must still be running while the test looks at it.
LONG_LIMITS = Limits(max_memory_mb=64, max_instructions=10**13, max_run_seconds=60.0)


def config_for(home: Path, **overrides: Any) -> Config:
    settings: dict[str, Any] = {"home": home, "limits": TEST_LIMITS}
    settings.update(overrides)
    return Config(**settings)


async def paused(host: Host, code: str, **arguments: Any) -> dict[str, Any]:
    """Run a script that must pause; return the needs_response reply."""
    reply = await host.run(code, **arguments)
    assert reply["status"] == "needs_response", reply
    return reply


async def completed(host: Host, session_id: str, response: str = "ok") -> Any:
    """Answer the sole pending query; the script must then complete. Returns its result."""
    reply = await host.ok("alc_continue", session_id=session_id, response=response)
    assert reply["status"] == "completed", reply
    return reply["result"]


async def variables(host: Host, session_id: str, pattern: str | None = None) -> dict[str, dict[str, Any]]:
    """alc_vars_list as {name: record}."""
    arguments: dict[str, Any] = {"session_id": session_id}
    if pattern is not None:
        arguments["pattern"] = pattern
    listed = await host.ok("alc_vars_list", **arguments)
    return {record["name"]: record for record in listed["variables"]}


def journal(config: Config, session_id: str) -> list[JournalEntry]:
    """The session's journal as the store has it (read with a store of our own)."""
    store = SqliteStore(config.db_path)
    try:
        return store.sessions.journal(session_id)
    finally:
        store.close()
