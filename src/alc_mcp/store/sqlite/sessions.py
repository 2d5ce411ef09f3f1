"""Sessions and their journals in SQLite: what makes a session outlive its Lua VM.

A VM cannot be saved, so a session is kept as an append-only journal of events
(``alc_mcp.domain.journal``) and rebuilt by replaying it. This module is the disk
side of that: a row per session (id, a human name, status, counters, final stats),
its journal and its metadata key-values.

Caller mistakes are ordinary exceptions: ``UnknownSession`` (a ``KeyError``),
``ValueError``, ``TypeError`` (a value JSON cannot hold); trouble with the file is
``StoreUnavailable`` (see ``database``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from alc_mcp.domain.journal import Asked, JournalEntry, JournalEvent, Noted
from alc_mcp.domain.program import Program
from alc_mcp.domain.records import SessionRow
from alc_mcp.domain.state import Phase
from alc_mcp.engine.storage import AnswerTaken, Lease, LeaseHeld, SessionStore
from alc_mcp.store.names import random_name
from alc_mcp.store.rows import (
    FINISHED_STATUSES,
    STATUSES,
    UnknownSession,
    answer_keys,
    encode,
    entry,
    free_name,
    session_row,
    update_values,
)
from alc_mcp.store.sqlite import sql
from alc_mcp.store.sqlite.database import Database

__all__ = ["FINISHED_STATUSES", "STATUSES", "SqliteSessions", "UnknownSession"]


class SqliteSessions(SessionStore):
    """Session rows, journals and metadata in one ``Database``; see the module docstring."""

    def __init__(self, db: Database, *, names: Callable[[], str] = random_name) -> None:
        """``names`` generates candidate session names (tests pass a fixed sequence)."""
        self._db = db
        self._names = names

    def _free_name(self, conn: sqlite3.Connection) -> str:
        return free_name(
            self._names, lambda name: conn.execute(sql.NAME_TAKEN, (name,)).fetchone() is not None
        )

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
            name = self._free_name(conn)
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
        """Append ``(at, event)`` pairs in order, all or none; returns their seqs.

        Seqs come from one counter for the whole store, so they are increasing within a
        session but not contiguous. The session's ``updated_at`` moves forward to the
        latest ``at``, ``notes_count`` counts the ``Noted`` events and ``asked`` the pauses
        (the ``Asked`` events), which numbers each answer's pause without reading the journal.
        """
        if not events:
            return []
        rows = [(session_id, *encode(event), at) for at, event in events]
        notes = sum(isinstance(event, Noted) for _, event in events)
        asks = sum(isinstance(event, Asked) for _, event in events)
        latest = max(at for at, _ in events)
        fence = (session_id, lease, lease)
        if summary:
            touch = sql.SUMMARY_FOR_APPEND, (*update_values(session_id, **summary)[:-1], notes, asks, *fence)
        else:
            touch = sql.TOUCH_FOR_APPEND, (latest, notes, asks, *fence)
        with self._db.transaction("append to a journal") as conn:
            counted = conn.execute(*touch).fetchone()
            if counted is None:
                raise self._not_appendable(conn, session_id, lease)
            keys = answer_keys(events, counted[0] - asks)
            seqs = [conn.execute(sql.INSERT_ENTRY, row).lastrowid for row in rows]
            if keys:
                self._key_answers(conn, session_id, keys, seqs)
        return [seq for seq in seqs if seq is not None]

    @staticmethod
    def _not_appendable(conn: sqlite3.Connection, session_id: str, lease: int | None) -> Exception:
        """Why nothing was touched: the lease is no longer ours (checked first, as a
        fenced writer must hear), or there is no such session."""
        if lease is not None and conn.execute(sql.HOLDS_LEASE, (session_id, lease)).fetchone() is None:
            holder = conn.execute(sql.SELECT_LEASE, (session_id,)).fetchone()
            return LeaseHeld(session_id, holder[1] if holder is not None and holder[0] is not None else None)
        return UnknownSession(session_id)

    def _key_answers(
        self,
        conn: sqlite3.Connection,
        session_id: str,
        keys: list[tuple[int, int, str]],
        seqs: list[int | None],
    ) -> None:
        """Record each answer's (pause, query) key; ``AnswerTaken`` (the transaction rolls
        back) if that query of that pause is answered already."""
        for position, pause, query_id in keys:
            try:
                conn.execute(sql.INSERT_ANSWER, (session_id, pause, query_id, seqs[position]))
            except sqlite3.IntegrityError:
                raise AnswerTaken(session_id, query_id) from None

    # --- leases: one process drives a live session -----------------------------------------

    def take_lease(
        self, session_id: str, owner: str, pid: int, at: int, ttl_ms: int, *, dead: str | None = None
    ) -> int:
        """See ``SessionStore.take_lease``. The token is ``owner``'s key into appends."""
        with self._db.transaction("take a session lease") as conn:
            if conn.execute(sql.ID_TAKEN, (session_id,)).fetchone() is None:
                raise UnknownSession(session_id)
            row = conn.execute(sql.SELECT_LEASE, (session_id,)).fetchone()
            holder = row[0] if row is not None else None
            if holder is not None and holder not in (owner, dead) and row[3] > at - ttl_ms:
                raise LeaseHeld(session_id, row[1], holder)
            token = (row[2] if row is not None else 0) + 1
            conn.execute(sql.PUT_LEASE, (session_id, owner, pid, token, at))
        return token

    def renew_leases(self, owner: str, at: int) -> None:
        with self._db.transaction("renew session leases") as conn:
            conn.execute(sql.RENEW_LEASES, (at, owner))

    def release_lease(self, session_id: str, owner: str) -> None:
        with self._db.transaction("release a session lease") as conn:
            conn.execute(sql.RELEASE_LEASE, (session_id, owner))

    def release_leases(self, owner: str) -> None:
        with self._db.transaction("release session leases") as conn:
            conn.execute(sql.RELEASE_LEASES, (owner,))

    def lease(self, session_id: str) -> Lease | None:
        with self._db.reading("read a session lease") as conn:
            row = conn.execute(sql.SELECT_LEASE, (session_id,)).fetchone()
        return Lease(row[0], row[1], row[2], row[3]) if row is not None and row[0] is not None else None

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
        """Delete the session's entries with seq >= ``seq`` (rewind); returns how many.

        The start event is never removed (a journal without it cannot be replayed):
        ``ValueError`` if ``seq`` would take it; delete the session instead. An unknown
        session has nothing to truncate and gives 0.
        """
        with self._db.transaction("truncate a journal") as conn:
            first = conn.execute(sql.FIRST_SEQ, (session_id,)).fetchone()[0]
            if first is None:
                return 0
            if seq <= first:
                raise ValueError(f"truncating {session_id!r} from seq {seq} would remove its start event")
            removed: int = conn.execute(sql.DELETE_TAIL, (session_id, seq)).rowcount
            if removed:
                conn.execute(sql.RECOUNT, (session_id,))
        return removed

    def delete_session(self, session_id: str) -> bool:
        """Delete the session, its journal and its metadata; False if there was none."""
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
            conn.executemany(sql.UPSERT_METADATA, [(session_id, k, v) for k, v in items.items()])

    # --- reads ------------------------------------------------------------------------------

    def get_metadata(self, session_id: str) -> dict[str, str | None]:
        with self._db.reading("read metadata") as conn:
            return dict(conn.execute(sql.SELECT_METADATA, (session_id,)).fetchall())

    def resolve(self, id_or_name: str) -> str | None:
        """The id of the session with this id or, failing that, this name."""
        with self._db.reading("look up a session") as conn:
            row = conn.execute(sql.RESOLVE, (id_or_name, id_or_name)).fetchone()
        return str(row[0]) if row is not None else None

    def get_session(self, session_id: str) -> SessionRow | None:
        with self._db.reading("read a session") as conn:
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
        """Entries with seq > ``after_seq`` in seq order, at most ``limit``, only ``kinds``
        (``encode_event`` kinds; an empty collection matches nothing).

        Paging: pass the last returned seq as the next ``after_seq``. Seqs are never
        reused, so a cursor stays valid across appends and truncations.
        """
        if (kinds is not None and not kinds) or (limit is not None and limit <= 0):
            return []
        kind_list = None if kinds is None else list(kinds)
        query = sql.select_entries(None if kind_list is None else len(kind_list), limited=limit is not None)
        params: list[Any] = [session_id, after_seq, *(kind_list or ())]
        if limit is not None:
            params.append(limit)
        with self._db.reading("read a journal") as conn:
            rows = conn.execute(query, params).fetchall()
        return [entry(session_id, *row) for row in rows]

    def list_sessions(self, *, limit: int = 50, statuses: Collection[str] | None = None) -> list[SessionRow]:
        """Newest first (``created_at`` desc, then id desc); ``statuses`` filters."""
        if limit <= 0 or (statuses is not None and not statuses):
            return []
        status_list = None if statuses is None else list(statuses)
        query = sql.list_sessions(None if status_list is None else len(status_list))
        with self._db.reading("list sessions") as conn:
            rows = conn.execute(query, [*(status_list or ()), limit]).fetchall()
        return [session_row(row) for row in rows]

    def count_entries(self, session_id: str, kinds: Collection[str] | None = None) -> int:
        if kinds is not None and not kinds:
            return 0
        kind_list = None if kinds is None else list(kinds)
        query = sql.count_entries(None if kind_list is None else len(kind_list))
        with self._db.reading("count journal entries") as conn:
            return int(conn.execute(query, [session_id, *(kind_list or ())]).fetchone()[0])
