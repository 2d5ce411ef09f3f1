"""The tool annotations alc-mcp uses: every tool works on this server's own sessions
and files (``openWorld`` false), except installing a package from a URL."""

from __future__ import annotations

from mcp_types import ToolAnnotations

__all__ = ["DESTRUCTIVE", "LOCAL", "OPEN_WORLD_DESTRUCTIVE", "READ_ONLY"]

LOCAL = ToolAnnotations(open_world_hint=False)
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(destructive_hint=True, open_world_hint=False)
OPEN_WORLD_DESTRUCTIVE = ToolAnnotations(destructive_hint=True, open_world_hint=True)
