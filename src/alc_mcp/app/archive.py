"""Transcripts of past and present sessions: listing, paged transcripts, notes,
aggregate stats, explicit deletion and retention. Everything here reads the journal;
nothing needs a live VM."""

from __future__ import annotations

import sys
from collections.abc import Collection
from functools import partial
from typing import Any

import anyio

from alc_mcp.config import Config
from alc_mcp.domain.journal import History, JournalEntry, Noted, fold
from alc_mcp.domain.records import SessionRow
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.journal import JournalWriter
from alc_mcp.engine.registry import SessionNotFound, SessionRegistry
from alc_mcp.engine.session import SessionError
from alc_mcp.engine.storage import HistoryStore, SessionStore

__all__ = ["Archive", "DurabilityOff", "unknown_row"]

DEFAULT_PAGE = 50
MAX_PAGE = 500
DAY_MS = 86_400_000
RETENTION_INTERVAL_SECONDS = 3600.0


class DurabilityOff(SessionError):
    pass


def unknown_row(key: str) -> SessionNotFound:
    """What the history tools answer for a key that names no session (to this caller)."""
    return SessionNotFound(f"session '{key}' not found (neither a session id nor a session name)")


class Archive:
    """The journal read as a record: nothing here needs or touches a live VM, except
    deletion, which stops the session first."""

    def __init__(
        self,
        config: Config,
        registry: SessionRegistry,
        stores: tuple[SessionStore, HistoryStore] | None,
        writer: JournalWriter | None,
        *,
        unavailable_reason: str | None = None,
    ) -> None:
        self._config = config
        self._registry = registry
        self._stores = stores
        self._writer = writer
        self._reason = unavailable_reason or "no store is configured"

    def _parts(self) -> tuple[SessionStore, HistoryStore, JournalWriter]:
        if self._stores is None or self._writer is None:
            raise DurabilityOff(f"session history is not available: durability is off ({self._reason})")
        return (*self._stores, self._writer)

    async def row_or_none(self, session_id: str) -> SessionRow | None:
        """The session's row; None if there is none, or no store to have one."""
        if self._stores is None or self._writer is None:
            return None
        return await self._writer.call(partial(self._stores[0].get_session, session_id))

    async def entries(self, session_id: str, *, kinds: Collection[str]) -> list[JournalEntry] | None:
        """The session's journal entries of these kinds; None without a store."""
        if self._stores is None or self._writer is None:
            return None
        return await self._writer.call(partial(self._stores[0].journal, session_id, kinds=kinds))

    async def _row(self, session_id: str) -> SessionRow:
        self._parts()
        row = await self.row_or_none(session_id)
        if row is None:
            raise unknown_row(session_id)
        return row

    async def list_sessions(
        self, limit: int = DEFAULT_PAGE, *, principal: str | None = None
    ) -> dict[str, Any]:
        """The newest sessions; with ``principal``, only the ones it started (read in
        full and filtered: the store lists by time, not by owner)."""
        sessions, _history, writer = self._parts()
        limit = max(1, min(limit, 10_000))
        if principal is None:
            rows = await writer.call(partial(sessions.list_sessions, limit=limit))
        else:
            every = await writer.call(partial(sessions.list_sessions, limit=sys.maxsize))
            rows = [row for row in every if row.principal == principal][:limit]
        return {"sessions": [row.summary_json() for row in rows]}

    async def transcript(self, session_id: str, cursor: int = 0, limit: int = DEFAULT_PAGE) -> dict[str, Any]:
        """One session's header plus a page of its queries, oldest first. ``cursor``
        is the index of the first answered query to return; ``next_cursor`` continues."""
        row = await self._row(session_id)
        sessions, _history, writer = self._parts()
        history = fold(await writer.call(partial(sessions.journal, row.id)))
        limit = max(1, min(limit, MAX_PAGE))
        cursor = max(0, cursor)
        page = history.answered[cursor : cursor + limit]
        end = cursor + len(page)
        result: dict[str, Any] = {
            **row.summary_json(),
            "answered_queries": len(history.answered),
            "queries": [
                {
                    "index": a.index,
                    "pause": a.pause,
                    "query_id": a.query.id,
                    "prompt": a.query.prompt,
                    "system": a.query.system,
                    "max_tokens": a.query.max_tokens,
                    "response": a.response,
                    "answered_at": a.at,
                }
                for a in page
            ],
            "next_cursor": end if end < len(history.answered) else None,
            "notes": [{"at": at, "title": n.title, "content": n.content} for at, n in history.notes],
        }
        if end >= len(history.answered):
            result["pending"] = _pending(history)
        if history.finished is not None:
            result["result"] = history.finished.result
            result["error"] = history.finished.error
            result["stats"] = history.finished.stats
        return result

    async def note(self, session_id: str, content: str, title: str | None = None) -> dict[str, Any]:
        row = await self._row(session_id)
        sessions, _history, writer = self._parts()
        await writer.call(partial(sessions.append, row.id, [(now_ms(), Noted(content, title))]))
        updated = await self._row(row.id)
        return {"notes_count": updated.notes_count, "session_id": row.id}

    async def stats(self, strategy: str | None = None, days: float | None = None) -> dict[str, Any]:
        _sessions, history, writer = self._parts()
        since = None if days is None else now_ms() - int(days * DAY_MS)
        return await writer.call(partial(history.aggregate_stats, strategy=strategy, since_ms=since))

    async def delete(self, session_id: str) -> dict[str, Any]:
        row = await self._row(session_id)
        sessions, _history, writer = self._parts()
        async with self._registry.stopped(row.id):
            deleted = await writer.call(partial(sessions.delete_session, row.id))
        return {"deleted": bool(deleted), "session_id": row.id, "name": row.name}

    async def apply_retention(self) -> list[str]:
        config = self._config
        if self._stores is None or (config.retention_days is None and config.retention_max_sessions is None):
            return []
        _sessions, history, writer = self._parts()
        deleted = await writer.call(
            partial(
                history.apply_retention,
                now_ms=now_ms(),
                max_age_days=config.retention_days,
                max_finished=config.retention_max_sessions,
            )
        )
        if deleted:
            print(
                f"alc-mcp: retention deleted {len(deleted)} finished session(s) "
                f"(ALC_RETENTION_DAYS={config.retention_days}, "
                f"ALC_RETENTION_MAX_SESSIONS={config.retention_max_sessions})",
                file=sys.stderr,
            )
        return deleted

    async def run_retention(self, interval_seconds: float = RETENTION_INTERVAL_SECONDS) -> None:
        """Apply retention now and then; a long-running server keeps to it too."""
        while True:
            await anyio.sleep(interval_seconds)
            await self.apply_retention()


def _pending(history: History) -> list[dict[str, Any]]:
    queries = history.pending
    if queries is None:
        return []
    answered = history.pending_answers
    return [
        {"query_id": q.id, "prompt": q.prompt, "system": q.system, "max_tokens": q.max_tokens}
        for q in queries
        if q.id not in answered
    ]
