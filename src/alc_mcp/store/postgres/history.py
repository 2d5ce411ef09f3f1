"""What spans sessions in PostgreSQL: ``alc_stats`` over finished sessions, and retention
(the arithmetic of the stats is ``store.stats``, shared with SQLite)."""

from __future__ import annotations

from typing import Any

import orjson

from alc_mcp.engine.storage import HistoryStore
from alc_mcp.store.postgres import sql
from alc_mcp.store.postgres.database import PgDatabase
from alc_mcp.store.rows import FINISHED_STATUSES
from alc_mcp.store.stats import aggregate

__all__ = ["PgHistory"]

_DAY_MS = 86_400_000


class PgHistory(HistoryStore):
    """Aggregate stats and retention; the same rules as ``SqliteHistory``."""

    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    def aggregate_stats(self, *, strategy: str | None = None, since_ms: int | None = None) -> dict[str, Any]:
        params = (list(FINISHED_STATUSES), strategy, strategy, since_ms, since_ms)
        with self._db.transaction("read session stats") as conn:
            rows = conn.execute(sql.STATS_ROWS, params).fetchall()
        return aggregate((name, orjson.loads(stats)) for name, stats in rows)

    def apply_retention(
        self, *, now_ms: int, max_age_days: float | None, max_finished: int | None
    ) -> list[str]:
        """Delete finished sessions past the limits (never a paused or running one)."""
        if max_finished is not None and max_finished < 0:
            raise ValueError(f"max_finished must be >= 0, not {max_finished}")
        doomed: dict[str, None] = {}  # ordered set
        finished = list(FINISHED_STATUSES)
        with self._db.transaction("apply retention") as conn:
            if max_age_days is not None:
                cutoff = now_ms - round(max_age_days * _DAY_MS)
                rows = conn.execute(sql.FINISHED_OLDER_THAN, (finished, cutoff)).fetchall()
                doomed.update(dict.fromkeys(str(r[0]) for r in rows))
            if max_finished is not None:
                rows = conn.execute(sql.FINISHED_BEYOND, (finished, max_finished)).fetchall()
                doomed.update(dict.fromkeys(str(r[0]) for r in rows))
            for session_id in doomed:
                conn.execute(sql.DELETE_SESSION, (session_id,))
        return list(doomed)
