"""What ``alc_info`` reports: enough for a user to see which limits and paths apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa import lua54

from alc_mcp import __version__
from alc_mcp.app.code_files import code_roots
from alc_mcp.config import Config
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.server.durability import Durability


def server_info(
    config: Config,
    *,
    live_sessions: int,
    known_sessions: int,
    durability: Durability,
    resolver: PackageResolver,
    types: Path,
) -> dict[str, Any]:
    return {
        "version": __version__,
        "lua_version": lua54.LuaRuntime().lua_implementation,
        "limits": config.limits.to_json(),
        "sessions": {
            "live": live_sessions,
            "resumable": known_sessions,
            "ALC_MAX_LIVE_SESSIONS": config.max_live_sessions,
            "ALC_HIBERNATE_AFTER_SECONDS": config.hibernate_after_seconds,
            "ALC_IDLE_TTL_SECONDS": config.idle_ttl_seconds,
            "ALC_RETENTION_DAYS": config.retention_days,
        },
        "durability": durability.to_json(),
        "paths": {
            "home": str(config.home),
            "packages": str(config.home / "packages"),
            "types": str(types),
            "ALC_CODE_ROOTS": [str(root) for root in code_roots(config)],
        },
        "search_paths": [root.to_json() for root in resolver.roots],
    }
