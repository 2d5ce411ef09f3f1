"""What spans sessions in SQLite: ``alc_stats`` over finished sessions, and retention.

Both read and delete whole session rows, never one session's journal, so they live
apart from ``sessions``; the arithmetic of the stats is ``store.stats``, kept free of SQL.
"""

from __future__ import annotations

from typing import Any

import orjson

from alc_mcp.engine.storage import HistoryStore
from alc_mcp.store.sqlite import sql
from alc_mcp.store.sqlite.database import Database
from alc_mcp.store.sqlite.sessions import FINISHED_STATUSES
from alc_mcp.store.stats import aggregate

__all__ = ["SqliteHistory"]

_DAY_MS = 86_400_000


class SqliteHistory(HistoryStore):
    """Aggregate stats and retention over the sessions of one ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def aggregate_stats(self, *, strategy: str | None = None, since_ms: int | None = None) -> dict[str, Any]:
        """``alc_stats`` over finished sessions that have stats (see ``store.stats``).

        ``strategy`` matches exactly, ``"unknown"`` matching sessions without one;
        ``since_ms`` keeps sessions last updated at or after it.
        """
        query = sql.stats_rows(
            len(FINISHED_STATUSES), by_strategy=strategy is not None, since=since_ms is not None
        )
        params: list[Any] = list(FINISHED_STATUSES)
        if strategy is not None:
            params.append(strategy)
        if since_ms is not None:
            params.append(since_ms)
        with self._db.reading("read session stats") as conn:
            rows = conn.execute(query, params).fetchall()
        return aggregate((name, orjson.loads(stats)) for name, stats in rows)

    def apply_retention(
        self, *, now_ms: int, max_age_days: float | None, max_finished: int | None
    ) -> list[str]:
        """Delete finished sessions last updated more than ``max_age_days`` ago and, past
        the newest ``max_finished`` finished ones, the older ones. Paused and running
        sessions are never touched: their user may still continue them. Returns the ids.
        """
        if max_finished is not None and max_finished < 0:
            raise ValueError(f"max_finished must be >= 0, not {max_finished}")
        if max_age_days is None and max_finished is None:
            return []
        doomed: dict[str, None] = {}  # ordered set
        with self._db.transaction("apply retention") as conn:
            if max_age_days is not None:
                cutoff = now_ms - round(max_age_days * _DAY_MS)
                query = sql.finished_older_than(len(FINISHED_STATUSES))
                doomed.update(dict.fromkeys(r[0] for r in conn.execute(query, (*FINISHED_STATUSES, cutoff))))
            if max_finished is not None:
                query = sql.finished_beyond(len(FINISHED_STATUSES))
                doomed.update(
                    dict.fromkeys(r[0] for r in conn.execute(query, (*FINISHED_STATUSES, max_finished)))
                )
            conn.executemany(sql.DELETE_SESSION, [(session_id,) for session_id in doomed])
        return list(doomed)
