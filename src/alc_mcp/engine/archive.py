"""Transcripts of past and present sessions: listing, paged transcripts, notes,
aggregate stats, explicit deletion and retention. Everything here reads the journal;
nothing needs a live VM."""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import anyio

from alc_mcp.domain.journal import History, Noted, fold
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.registry import SessionNotFound, SessionRegistry
from alc_mcp.engine.session import SessionBusy, SessionError

DEFAULT_PAGE = 50
MAX_PAGE = 500
DAY_MS = 86_400_000
RETENTION_INTERVAL_SECONDS = 3600.0


class DurabilityOff(SessionError):
    pass


class Archive:
    def __init__(self, registry: SessionRegistry, *, unavailable_reason: str | None = None) -> None:
        self._registry = registry
        self._reason = unavailable_reason or "no store is configured"

    @property
    def _store(self) -> Any:
        store = self._registry.store
        if store is None:
            raise DurabilityOff(f"session history is not available: durability is off ({self._reason})")
        return store

    async def _row(self, key: str) -> Any:
        store = self._store
        session_id = await self._registry.resolve(key)
        row = await self._registry.read(partial(store.sessions.get_session, session_id))
        if row is None:
            raise SessionNotFound(f"session '{key}' not found (neither a session id nor a session name)")
        return row

    async def list_sessions(self, limit: int = DEFAULT_PAGE) -> dict[str, Any]:
        store = self._store
        rows = await self._registry.read(
            partial(store.sessions.list_sessions, limit=max(1, min(limit, 10_000)))
        )
        return {"sessions": [row.summary_json() for row in rows]}

    async def transcript(self, key: str, cursor: int = 0, limit: int = DEFAULT_PAGE) -> dict[str, Any]:
        """One session's header plus a page of its queries, oldest first. ``cursor``
        is the index of the first answered query to return; ``next_cursor`` continues."""
        row = await self._row(key)
        history = fold(await self._registry.read(partial(self._store.sessions.journal, row.id)))
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

    async def note(self, key: str, content: str, title: str | None = None) -> dict[str, Any]:
        row = await self._row(key)
        await self._registry.read(
            partial(self._store.sessions.append, row.id, [(now_ms(), Noted(content, title))])
        )
        updated = await self._registry.read(partial(self._store.sessions.get_session, row.id))
        return {"notes_count": updated.notes_count, "session_id": row.id}

    async def stats(self, strategy: str | None = None, days: float | None = None) -> dict[str, Any]:
        since = None if days is None else now_ms() - int(days * DAY_MS)
        return await self._registry.read(
            partial(self._store.history.aggregate_stats, strategy=strategy, since_ms=since)
        )

    async def delete(self, key: str) -> dict[str, Any]:
        row = await self._row(key)
        live = self._registry.live_session(row.id)
        if live is not None:
            if live.driving or live.feeding:
                raise SessionBusy(f"session '{row.id}' is running; cancel it (alc_cancel) before deleting it")
            self._registry.hibernate(live)
        self._registry.forget(row.id)
        deleted = await self._registry.read(partial(self._store.sessions.delete_session, row.id))
        return {"deleted": bool(deleted), "session_id": row.id, "name": row.name}

    async def apply_retention(self) -> list[str]:
        config = self._registry.config
        if self._registry.store is None or (
            config.retention_days is None and config.retention_max_sessions is None
        ):
            return []
        deleted = await self._registry.read(
            partial(
                self._store.history.apply_retention,
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
