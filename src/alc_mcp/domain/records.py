"""A session as storage knows it without reading its journal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SessionRow"]


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    name: str
    strategy: str | None
    status: str  # running|paused|completed|failed|cancelled
    created_at: int  # unix ms
    updated_at: int  # unix ms
    task_preview: str | None
    llm_calls: int
    rounds: int
    elapsed_ms: int | None
    stats: dict[str, Any] | None  # final {"auto": …, "custom": …} once finished
    notes_count: int
    principal: str | None = None  # who started it, over an authenticated transport

    def summary_json(self) -> dict[str, Any]:
        """The row as ``alc_log_view`` lists it (no stats: they are per-session detail)."""
        return {
            "id": self.id,
            "name": self.name,
            "strategy": self.strategy,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "llm_calls": self.llm_calls,
            "rounds": self.rounds,
            "elapsed_ms": self.elapsed_ms,
            "task_preview": self.task_preview,
            "notes_count": self.notes_count,
        }
