"""What ``alc_info`` reports: enough for a user to see which limits and paths apply."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from lupa import lua54

from alc_mcp import __version__
from alc_mcp.config import Config
from alc_mcp.server.durability import Durability


def bundled_strategies_dir() -> Path:
    """Strategies ship inside the wheel; in a source checkout they sit at the top level."""
    packaged = Path(str(resources.files("alc_mcp"))) / "strategies"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "strategies"


def search_paths(config: Config) -> list[dict[str, str]]:
    paths = [{"path": str(p), "source": "ALC_PACKAGES_PATH"} for p in config.packages_path]
    paths.append({"path": str(config.home / "packages"), "source": "ALC_HOME"})
    paths.append({"path": str(bundled_strategies_dir()), "source": "bundled"})
    return paths


def server_info(
    config: Config, *, live_sessions: int, known_sessions: int, durability: Durability
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
        "paths": {"home": str(config.home)},
        "search_paths": search_paths(config),
    }
