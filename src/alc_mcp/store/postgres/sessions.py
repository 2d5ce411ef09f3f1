"""Sessions and their journals in PostgreSQL: the same rows and events as SQLite's
(``store.rows`` encodes both), shared by every worker of a fleet.

What PostgreSQL adds: row locks make the lease a real arbiter between hosts. Taking a
lease locks the session's row (``FOR UPDATE``), so two takers queue; a fenced append
holds the lease row ``FOR SHARE`` until it commits, so a lease cannot change hands
half-way through a write. An answer's (session, pause, query) key is inserted in the
same transaction as the answer, so of two workers racing on one query exactly one
commits. The host of a lease is the part of its owner before the ``/``
(``host/process token``): a pid is only judged on that host (``engine.registry``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from alc_mcp.domain.journal import Asked, JournalEntry, JournalEvent, Noted
from alc_mcp.domain.program import Program
from alc_mcp.domain.records import SessionRow
from alc_mcp.domain.state import Phase
from alc_mcp.engine.storage import AnswerTaken, Lease, LeaseHeld, SessionStore
from alc_mcp.store.names import random_name
from alc_mcp.store.postgres import sql
from alc_mcp.store.postgres.database import PgDatabase
from alc_mcp.store.rows import (
    UnknownSession,
    answer_keys,
    encode,
    entry,
    free_name,
    session_row,
    update_values,
)

__all__ = ["PgSessions"]


class PgSessions(SessionStore):
    """Session rows, journals and leases in one PostgreSQL database."""

    def __init__(self, db: PgDatabase, *, names: Callable[[], str] = random_name) -> None:
        self._db = db
        self._names = names

    # --- writes -----------------------------------------------------------------------------

    def create_session(
        self,
        session_id: str,
        program: Program,
        at: int,
        *,
        task_preview: str | None = None,
        principal: str | None = None,
    ) -> str:
        """Insert the session (status ``running``, a fresh unique name) and its start event.

        Returns the name. Raises ``ValueError`` if the id already exists.
        """
        kind, data = encode(program)
        with self._db.transaction("create a session") as conn:
            if conn.execute(sql.ID_TAKEN, (session_id,)).fetchone() is not None:
                raise ValueError(f"session {session_id!r} already exists")
            name = free_name(self._names, lambda n: conn.execute(sql.NAME_TAKEN, (n,)).fetchone() is not None)
            row = (session_id, name, program.strategy, Phase.RUNNING.value, at, at, task_preview, principal)
            conn.execute(sql.INSERT_SESSION, row)
            conn.execute(sql.INSERT_ENTRY, (session_id, kind, data, at))
        return name

    def append(
        self,
        session_id: str,
        events: Sequence[tuple[int, JournalEvent]],
        *,
        lease: int | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """See ``SessionStore.append``; seqs come from one identity for the whole database."""
        if not events:
            return []
        rows = [(session_id, *encode(event), at) for at, event in events]
        notes = sum(isinstance(event, Noted) for _, event in events)
        asks = sum(isinstance(event, Asked) for _, event in events)
        latest = max(at for at, _ in events)
        row = update_values(session_id, **summary) if summary else None
        with self._db.transaction("append to a journal") as conn:
            if lease is not None and conn.execute(sql.HOLDS_LEASE, (session_id, lease)).fetchone() is None:
                holder = conn.execute(sql.SELECT_LEASE, (session_id,)).fetchone()
                raise LeaseHeld(
                    session_id, holder[1] if holder is not None and holder[0] is not None else None
                )
            counted = conn.execute(sql.TOUCH_FOR_APPEND, (latest, notes, asks, session_id)).fetchone()
            if counted is None:
                raise UnknownSession(session_id)
            seqs = [_one(conn.execute(sql.INSERT_ENTRY, row).fetchone()) for row in rows]
            for position, pause, query_id in answer_keys(events, _one(counted) - asks):
                key = (session_id, pause, query_id, seqs[position])
                if conn.execute(sql.INSERT_ANSWER, key).rowcount != 1:
                    raise AnswerTaken(session_id, query_id)  # rolls the whole batch back
            if row is not None:
                conn.execute(sql.UPDATE_SESSION, row)
        return seqs

    # --- leases -----------------------------------------------------------------------------

    def take_lease(
        self, session_id: str, owner: str, pid: int, at: int, ttl_ms: int, *, dead: str | None = None
    ) -> int:
        """See ``SessionStore.take_lease``; the session row is locked while deciding."""
        with self._db.transaction("take a session lease") as conn:
            conn.execute(sql.NO_FLUSH)
            if conn.execute(sql.LOCK_SESSION, (session_id,)).fetchone() is None:
                raise UnknownSession(session_id)
            row = conn.execute(sql.SELECT_LEASE, (session_id,)).fetchone()
            holder = row[0] if row is not None else None
            if row is not None and holder not in (None, owner, dead) and row[3] > at - ttl_ms:
                raise LeaseHeld(session_id, row[1], holder)
            token = (int(row[2]) if row is not None else 0) + 1
            conn.execute(sql.PUT_LEASE, (session_id, owner, pid, token, at))
        return token

    def renew_leases(self, owner: str, at: int) -> None:
        with self._db.transaction("renew session leases") as conn:
            conn.execute(sql.NO_FLUSH)
            conn.execute(sql.RENEW_LEASES, (at, owner))

    def release_lease(self, session_id: str, owner: str) -> None:
        with self._db.transaction("release a session lease") as conn:
            conn.execute(sql.NO_FLUSH)
            conn.execute(sql.RELEASE_LEASE, (session_id, owner))

    def release_leases(self, owner: str) -> None:
        with self._db.transaction("release session leases") as conn:
            conn.execute(sql.NO_FLUSH)
            conn.execute(sql.RELEASE_LEASES, (owner,))

    def lease(self, session_id: str) -> Lease | None:
        with self._db.transaction("read a session lease") as conn:
            row = conn.execute(sql.SELECT_LEASE, (session_id,)).fetchone()
        return (
            Lease(row[0], row[1], int(row[2]), int(row[3]))
            if row is not None and row[0] is not None
            else None
        )

    # --- rows -------------------------------------------------------------------------------

    def update_session(
        self,
        session_id: str,
        *,
        status: str,
        updated_at: int,
        llm_calls: int | None = None,
        rounds: int | None = None,
        elapsed_ms: int | None = None,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Set status and time; a counter left ``None`` keeps its stored value."""
        values = update_values(
            session_id,
            status=status,
            updated_at=updated_at,
            llm_calls=llm_calls,
            rounds=rounds,
            elapsed_ms=elapsed_ms,
            stats=stats,
        )
        with self._db.transaction("update a session") as conn:
            if conn.execute(sql.UPDATE_SESSION, values).rowcount != 1:
                raise UnknownSession(session_id)

    def truncate_from(self, session_id: str, seq: int) -> int:
        """Delete the session's entries with seq >= ``seq`` (rewind); see ``SqliteSessions``."""
        with self._db.transaction("truncate a journal") as conn:
            first = conn.execute(sql.FIRST_SEQ, (session_id,)).fetchone()
            if first is None or first[0] is None:
                return 0
            if seq <= first[0]:
                raise ValueError(f"truncating {session_id!r} from seq {seq} would remove its start event")
            removed = conn.execute(sql.DELETE_TAIL, (session_id, seq)).rowcount
            if removed:
                conn.execute(sql.RECOUNT, (session_id,))
        return removed

    def delete_session(self, session_id: str) -> bool:
        with self._db.transaction("delete a session") as conn:
            return conn.execute(sql.DELETE_SESSION, (session_id,)).rowcount > 0

    def set_metadata(self, session_id: str, items: Mapping[str, str | None]) -> None:
        """Merge ``items`` into the session's metadata: given keys overwritten, others kept."""
        for key, value in items.items():
            if not isinstance(key, str) or not (value is None or isinstance(value, str)):
                raise TypeError(f"metadata must map str to str | None, got {key!r}: {value!r}")
        with self._db.transaction("save metadata") as conn:
            if conn.execute(sql.ID_TAKEN, (session_id,)).fetchone() is None:
                raise UnknownSession(session_id)
            for key, value in items.items():
                conn.execute(sql.UPSERT_METADATA, (session_id, key, value))

    def get_metadata(self, session_id: str) -> dict[str, str | None]:
        with self._db.transaction("read metadata") as conn:
            return {str(k): v for k, v in conn.execute(sql.SELECT_METADATA, (session_id,)).fetchall()}

    # --- reads ------------------------------------------------------------------------------

    def resolve(self, id_or_name: str) -> str | None:
        with self._db.transaction("look up a session") as conn:
            row = conn.execute(sql.RESOLVE, (id_or_name, id_or_name)).fetchone()
        return str(row[0]) if row is not None else None

    def get_session(self, session_id: str) -> SessionRow | None:
        with self._db.transaction("read a session") as conn:
            row = conn.execute(sql.SELECT_SESSION, (session_id,)).fetchone()
        return session_row(row) if row is not None else None

    def journal(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[JournalEntry]:
        """Entries with seq > ``after_seq`` in seq order, at most ``limit``, only ``kinds``."""
        if (kinds is not None and not kinds) or (limit is not None and limit <= 0):
            return []
        query = sql.select_entries(by_kind=kinds is not None, limited=limit is not None)
        params: list[Any] = [session_id, after_seq]
        if kinds is not None:
            params.append(list(kinds))
        if limit is not None:
            params.append(limit)
        with self._db.transaction("read a journal") as conn:
            rows = conn.execute(query, params).fetchall()
        return [entry(session_id, *row) for row in rows]

    def list_sessions(self, *, limit: int = 50, statuses: Collection[str] | None = None) -> list[SessionRow]:
        if limit <= 0 or (statuses is not None and not statuses):
            return []
        limit = min(limit, 2**62)  # BIGINT
        with self._db.transaction("list sessions") as conn:
            if statuses is None:
                rows = conn.execute(sql.LIST_SESSIONS, (limit,)).fetchall()
            else:
                rows = conn.execute(sql.LIST_SESSIONS_BY_STATUS, (list(statuses), limit)).fetchall()
        return [session_row(row) for row in rows]

    def count_entries(self, session_id: str, kinds: Collection[str] | None = None) -> int:
        if kinds is not None and not kinds:
            return 0
        query = sql.count_entries(by_kind=kinds is not None)
        params: list[Any] = [session_id] if kinds is None else [session_id, list(kinds)]
        with self._db.transaction("count journal entries") as conn:
            return _one(conn.execute(query, params).fetchone())


def _one(row: tuple[Any, ...] | None) -> int:
    assert row is not None
    return int(row[0])
