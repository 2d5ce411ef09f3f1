"""Recent log lines and progress, the live view a host gets through ``alc_status``.

Only the last few log entries are kept: they are for "what is it doing now", while
complete history belongs to the transcript store.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_LOG_CAPACITY", "LogEntry", "Progress", "RecentLogs"]

DEFAULT_LOG_CAPACITY = 20


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts: int
    """Unix milliseconds."""
    level: str
    """Any string: ``alc.log`` does not restrict levels, and unknown ones are still kept."""
    source: str
    """``alc.log`` or ``alc.lua.print``."""
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"ts": self.ts, "level": self.level, "source": self.source, "message": self.message}


class RecentLogs:
    """A ring buffer: once full, each new entry evicts the oldest."""

    __slots__ = ("_entries",)

    def __init__(self, capacity: int = DEFAULT_LOG_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"log capacity must be at least 1, got {capacity}")
        self._entries: deque[LogEntry] = deque(maxlen=capacity)

    @property
    def capacity(self) -> int:
        return self._entries.maxlen or 0

    def __len__(self) -> int:
        return len(self._entries)

    def push(self, entry: LogEntry) -> None:
        self._entries.append(entry)

    def entries(self) -> list[LogEntry]:
        """Oldest first."""
        return list(self._entries)

    def to_json(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self._entries]


@dataclass(frozen=True, slots=True)
class Progress:
    """The latest ``alc.progress`` call; each call replaces the previous one. ``total`` 0 = unknown."""

    step: int
    total: int
    message: str | None

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "total": self.total, "message": self.message}
