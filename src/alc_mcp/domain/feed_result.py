"""What a start or a feed produced, and its wire JSON (algocline ``FeedResult::to_json``).

The shapes are a compatibility contract with hosts written for algocline, including
its quirks: one query uses ``query_id`` while a batch uses ``id``; ``accepted`` has no
session id; ``error`` has neither stats nor session id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from alc_mcp.domain.query import LlmQuery

__all__ = [
    "Accepted",
    "Cancelled",
    "Completed",
    "Failed",
    "FeedResult",
    "Finished",
    "Paused",
    "feed_result_json",
]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A partial feed: the pause still waits for ``remaining`` answers."""

    remaining: int


@dataclass(frozen=True, slots=True)
class Paused:
    """The script waits for these queries (insertion order)."""

    queries: tuple[LlmQuery, ...]

    def __post_init__(self) -> None:
        # Callers naturally build lists; freezing them keeps the result immutable.
        if not isinstance(self.queries, tuple):
            object.__setattr__(self, "queries", tuple(self.queries))


@dataclass(frozen=True, slots=True)
class Completed:
    result: Any
    stats: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failed:
    error: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    stats: dict[str, Any]


FeedResult: TypeAlias = Accepted | Paused | Completed | Failed | Cancelled
Finished: TypeAlias = Completed | Failed | Cancelled


def feed_result_json(result: FeedResult, session_id: str) -> dict[str, Any]:
    match result:
        case Accepted(remaining=remaining):
            return {"status": "accepted", "remaining": remaining}
        case Paused(queries=(query,)):
            # One query (an alc.llm, a 1-item batch or a 1-query fork pause) is flattened.
            return {"status": "needs_response", "session_id": session_id, **query.wire("query_id")}
        case Paused(queries=queries):
            return {
                "status": "needs_response",
                "session_id": session_id,
                "queries": [query.wire("id") for query in queries],
            }
        case Completed(result=value, stats=stats):
            return {"status": "completed", "result": value, "stats": stats}
        case Failed(error=error):
            return {"status": "error", "error": error}
        case Cancelled(stats=stats):
            return {"status": "cancelled", "stats": stats}
    raise TypeError(f"not a FeedResult: {result!r}")
