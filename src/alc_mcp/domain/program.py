"""What a session runs: the one description of a session's start, live or journaled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Program"]


@dataclass(frozen=True, slots=True)
class Program:
    """Lua source, the chunk name its errors show, the ``ctx`` it sees, the host's presets
    for variables it defines, the package it came from (``alc_advice``), and the extra
    directories its ``require`` may read (``search_paths``; the first one is what a
    relative ``package.path`` template such as ``./?.lua`` is relative to). The journal's
    start event is exactly this, so a replay runs what the original run ran."""

    source: str
    chunkname: str
    ctx: Any = None
    vars: dict[str, Any] | None = None
    strategy: str | None = None
    search_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A journal gives back a JSON list; keep the value hashable and immutable.
        object.__setattr__(self, "search_paths", tuple(self.search_paths))
