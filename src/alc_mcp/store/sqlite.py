"""The SQLite session store: what makes a session outlive its Lua VM.

A VM cannot be saved, so a session is kept as an append-only journal of events
(``alc_mcp.domain.journal``) and rebuilt by replaying it. This module is the disk
side of that: one SQLite file in WAL mode holding a row per session (id, a human
name, status, counters, final stats), its journal and its metadata key-values.

Concurrency: one connection guarded by one ``threading.Lock``. Every write is a single
short transaction, so writes for different sessions interleave at transaction
granularity and a session's own writes stay in call order. Methods block (a commit
may fsync), so async callers should run them in a worker thread, not on the loop.

Failures: a database that cannot be opened raises ``StoreUnavailable`` with a reason a
user can act on; so does any SQLite error later (disk full, I/O error, lock timeout),
so a caller needs one ``except`` to fall back to in-memory sessions. Caller mistakes
are ordinary exceptions: ``UnknownSession`` (a ``KeyError``), ``ValueError``,
``TypeError`` (a value JSON cannot hold).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from alc_mcp.domain.journal import (
    JournalEntry,
    JournalError,
    JournalEvent,
    Noted,
    Started,
    decode_event,
    encode_event,
)
from alc_mcp.domain.records import SessionRow
from alc_mcp.domain.shared_state import incremented
from alc_mcp.domain.state import Phase
from alc_mcp.engine.storage import StoreUnavailable
from alc_mcp.store import sql
from alc_mcp.store.names import random_name
from alc_mcp.store.stats import aggregate

STATUSES: frozenset[str] = frozenset(phase.value for phase in Phase)
FINISHED_STATUSES: tuple[str, ...] = (Phase.COMPLETED.value, Phase.FAILED.value, Phase.CANCELLED.value)
SYNCHRONOUS_LEVELS: tuple[str, ...] = ("OFF", "NORMAL", "FULL", "EXTRA")

#: How long a write waits for another process (e.g. ``alc-mcp`` CLI inspecting the same
#: file) to release the write lock before giving up with ``StoreUnavailable``.
BUSY_TIMEOUT_MS = 5_000

_DAY_MS = 86_400_000
# Two words give ~30,000 names; past that many sessions collisions get frequent, so
# after this many tries the attempt number is appended (``amber-falcon-37``).
_PLAIN_NAME_TRIES = 32
_NAME_TRIES = 1_000


class UnknownSession(KeyError):
    """A write named a session the store does not have."""

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return f"unknown session {self.args[0]!r}"


def _session_row(values: Sequence[Any]) -> SessionRow:
    stats = values[10]
    return SessionRow(*values[:10], orjson.loads(stats) if stats is not None else None, values[11])


def _dumps(value: Any, what: str) -> str:
    # TEXT, not BLOB, so the file stays readable with the sqlite3 shell and json_extract.
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"cannot store {what}: {exc}") from exc


def _encode(event: JournalEvent) -> tuple[str, str]:
    kind, data = encode_event(event)
    return kind, _dumps(data, f"a {kind!r} journal event")


class SqliteStore:
    """Sessions, journals and metadata in one SQLite file; see the module docstring."""

    SCHEMA_VERSION: int = sql.SCHEMA_VERSION

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "NORMAL",
        names: Callable[[], str] = random_name,
    ) -> None:
        """Open (creating and migrating as needed) the database at ``path``.

        ``synchronous`` is SQLite's durability knob. In WAL mode ``NORMAL`` makes a commit
        survive a crash or SIGKILL of this process, but the last commits can be lost if
        the *machine* loses power; ``FULL`` fsyncs every commit and survives that too.
        ``names`` generates candidate session names (tests pass a fixed sequence).
        """
        level = synchronous.upper()
        if level not in SYNCHRONOUS_LEVELS:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}, not {synchronous!r}"
            )
        self.path = Path(path)
        self.synchronous = level
        self._names = names
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = _open(self.path, level)

    def close(self) -> None:
        """Close the connection; later calls raise ``StoreUnavailable``. Idempotent."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with suppress(sqlite3.Error):
                    conn.execute(sql.OPTIMIZE)
                conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable(f"the session store {self.path} is closed")
        return self._conn

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """SQLite trouble becomes ``StoreUnavailable``; an IntegrityError is a bug, left as is."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot {action} in the session store {self.path}: {exc}") from exc

    @contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors(action):
            yield self._live()

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so a second process fails
        (after the busy timeout) at the start instead of half-way through.
        """
        with self._lock, self._errors(action):
            conn = self._live()
            conn.execute(sql.BEGIN)
            try:
                yield conn
                conn.execute(sql.COMMIT)
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute(sql.ROLLBACK)
                raise

    def _free_name(self, conn: sqlite3.Connection) -> str:
        for attempt in range(_NAME_TRIES):
            name = self._names()
            if attempt >= _PLAIN_NAME_TRIES:
                name = f"{name}-{attempt}"
            if conn.execute(sql.NAME_TAKEN, (name,)).fetchone() is None:
                return name
        raise RuntimeError(f"no free session name after {_NAME_TRIES} tries")  # pragma: no cover

    # --- writes -----------------------------------------------------------------------------

    def create_session(
        self, session_id: str, started: Started, at: int, *, task_preview: str | None = None
    ) -> str:
        """Insert the session (status ``running``, a fresh unique name) and its start event.

        Returns the name. Raises ``ValueError`` if the id already exists.
        """
        kind, data = _encode(started)
        with self._transaction("create a session") as conn:
            if conn.execute(sql.ID_TAKEN, (session_id,)).fetchone() is not None:
                raise ValueError(f"session {session_id!r} already exists")
            name = self._free_name(conn)
            row = (session_id, name, started.strategy, Phase.RUNNING.value, at, at, task_preview)
            conn.execute(sql.INSERT_SESSION, row)
            conn.execute(sql.INSERT_ENTRY, (session_id, kind, data, at))
        return name

    def append(self, session_id: str, events: Sequence[tuple[int, JournalEvent]]) -> list[int]:
        """Append ``(at, event)`` pairs in order, all or none; returns their seqs.

        Seqs come from one counter for the whole store, so they are increasing within a
        session but not contiguous. The session's ``updated_at`` moves forward to the
        latest ``at`` and ``notes_count`` counts the ``Noted`` events.
        """
        if not events:
            return []
        rows = [(session_id, *_encode(event), at) for at, event in events]
        notes = sum(isinstance(event, Noted) for _, event in events)
        latest = max(at for at, _ in events)
        with self._transaction("append to a journal") as conn:
            if conn.execute(sql.TOUCH_FOR_APPEND, (latest, notes, session_id)).rowcount != 1:
                raise UnknownSession(session_id)
            seqs = [conn.execute(sql.INSERT_ENTRY, row).lastrowid for row in rows]
        return [seq for seq in seqs if seq is not None]

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
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(sorted(STATUSES))}, not {status!r}")
        stats_text = _dumps(stats, "session stats") if stats is not None else None
        values = (status, updated_at, llm_calls, rounds, elapsed_ms, stats_text, session_id)
        with self._transaction("update a session") as conn:
            if conn.execute(sql.UPDATE_SESSION, values).rowcount != 1:
                raise UnknownSession(session_id)

    def truncate_from(self, session_id: str, seq: int) -> int:
        """Delete the session's entries with seq >= ``seq`` (rewind); returns how many.

        The start event is never removed (a journal without it cannot be replayed):
        ``ValueError`` if ``seq`` would take it; delete the session instead. An unknown
        session has nothing to truncate and gives 0.
        """
        with self._transaction("truncate a journal") as conn:
            first = conn.execute(sql.FIRST_SEQ, (session_id,)).fetchone()[0]
            if first is None:
                return 0
            if seq <= first:
                raise ValueError(f"truncating {session_id!r} from seq {seq} would remove its start event")
            removed = conn.execute(sql.DELETE_TAIL, (session_id, seq)).rowcount
            if removed:
                conn.execute(sql.RECOUNT_NOTES, (session_id,))
        return removed

    def delete_session(self, session_id: str) -> bool:
        """Delete the session, its journal and its metadata; False if there was none."""
        with self._transaction("delete a session") as conn:
            return conn.execute(sql.DELETE_SESSION, (session_id,)).rowcount > 0

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
        with self._transaction("apply retention") as conn:
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

    def set_metadata(self, session_id: str, items: Mapping[str, str | None]) -> None:
        """Merge ``items`` into the session's metadata: given keys overwritten, others kept."""
        for key, value in items.items():
            if not isinstance(key, str) or not (value is None or isinstance(value, str)):
                raise TypeError(f"metadata must map str to str | None, got {key!r}: {value!r}")
        with self._transaction("save metadata") as conn:
            if conn.execute(sql.ID_TAKEN, (session_id,)).fetchone() is None:
                raise UnknownSession(session_id)
            conn.executemany(sql.UPSERT_METADATA, [(session_id, k, v) for k, v in items.items()])

    # --- reads ------------------------------------------------------------------------------

    def get_metadata(self, session_id: str) -> dict[str, str | None]:
        with self._reading("read metadata") as conn:
            return dict(conn.execute(sql.SELECT_METADATA, (session_id,)).fetchall())

    def resolve(self, id_or_name: str) -> str | None:
        """The id of the session with this id or, failing that, this name."""
        with self._reading("look up a session") as conn:
            row = conn.execute(sql.RESOLVE, (id_or_name, id_or_name)).fetchone()
        return row[0] if row is not None else None

    def get_session(self, session_id: str) -> SessionRow | None:
        with self._reading("read a session") as conn:
            row = conn.execute(sql.SELECT_SESSION, (session_id,)).fetchone()
        return _session_row(row) if row is not None else None

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
        with self._reading("read a journal") as conn:
            rows = conn.execute(query, params).fetchall()
        return [_entry(session_id, *row) for row in rows]

    def list_sessions(self, *, limit: int = 50, statuses: Collection[str] | None = None) -> list[SessionRow]:
        """Newest first (``created_at`` desc, then id desc); ``statuses`` filters."""
        if limit <= 0 or (statuses is not None and not statuses):
            return []
        status_list = None if statuses is None else list(statuses)
        query = sql.list_sessions(None if status_list is None else len(status_list))
        with self._reading("list sessions") as conn:
            rows = conn.execute(query, [*(status_list or ()), limit]).fetchall()
        return [_session_row(row) for row in rows]

    def count_entries(self, session_id: str, kinds: Collection[str] | None = None) -> int:
        if kinds is not None and not kinds:
            return 0
        kind_list = None if kinds is None else list(kinds)
        query = sql.count_entries(None if kind_list is None else len(kind_list))
        with self._reading("count journal entries") as conn:
            return int(conn.execute(query, [session_id, *(kind_list or ())]).fetchone()[0])

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
        with self._reading("read session stats") as conn:
            rows = conn.execute(query, params).fetchall()
        return aggregate((name, orjson.loads(stats)) for name, stats in rows)

    # --- alc.state (shared by every session) ---------------------------------------------

    def state_get(self, ns: str, key: str) -> tuple[bool, Any]:
        with self._reading("read shared state") as conn:
            row = conn.execute(sql.STATE_GET, (ns, key)).fetchone()
        return (False, None) if row is None else (True, orjson.loads(row[0]))

    def state_set(self, ns: str, key: str, value: Any) -> None:
        data = _dumps(value, f"the value of state key {key!r}")
        with self._transaction("write shared state") as conn:
            conn.execute(sql.STATE_PUT, (ns, key, data))

    def state_keys(self, ns: str) -> list[str]:
        with self._reading("list shared state") as conn:
            return [row[0] for row in conn.execute(sql.STATE_KEYS, (ns,))]

    def state_delete(self, ns: str, key: str) -> bool:
        with self._transaction("delete shared state") as conn:
            return conn.execute(sql.STATE_DELETE, (ns, key)).rowcount > 0

    def state_set_nx(self, ns: str, key: str, value: Any) -> bool:
        data = _dumps(value, f"the value of state key {key!r}")
        with self._transaction("write shared state") as conn:
            return conn.execute(sql.STATE_PUT_NEW, (ns, key, data)).rowcount > 0

    def state_incr(self, ns: str, key: str, delta: float, default: float) -> float:
        """Read, add and write in one transaction, so concurrent increments never collide."""
        with self._transaction("increment shared state") as conn:
            row = conn.execute(sql.STATE_GET, (ns, key)).fetchone()
            found = row is not None
            value = incremented(key, found, orjson.loads(row[0]) if found else None, delta, default)
            conn.execute(sql.STATE_PUT, (ns, key, _dumps(value, f"state key {key!r}")))
        return value


def _entry(session_id: str, seq: int, kind: str, data: str, at: int) -> JournalEntry:
    try:
        event = decode_event(kind, orjson.loads(data))
    except (ValueError, TypeError, KeyError) as exc:
        raise JournalError(
            f"journal entry {seq} ({kind!r}) of session {session_id!r} cannot be read: {exc}"
        ) from exc
    return JournalEntry(seq, at, event)


# --- opening ----------------------------------------------------------------------------------


def _open(path: Path, synchronous: str) -> sqlite3.Connection:
    """Connect, prove the file is a sound database, configure it and bring the schema up to date."""
    _check_location(path)
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open the session store {path}: {exc}") from exc
    try:
        _check_integrity(conn, path)
        try:
            conn.execute(sql.JOURNAL_MODE_WAL).fetchone()  # stays "delete" on file systems without WAL
            conn.execute(sql.set_synchronous(synchronous))
            conn.execute(sql.FOREIGN_KEYS_ON)
            conn.execute(sql.set_busy_timeout(BUSY_TIMEOUT_MS))
            _migrate(conn, path)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot set up the session store {path}: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _check_location(path: Path) -> None:
    parent = path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise StoreUnavailable(f"cannot use the session store {path}: {existing} is a file, not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StoreUnavailable(
            f"cannot use the session store {path}: cannot create {parent} ({reason})"
        ) from exc
    if path.is_dir():
        raise StoreUnavailable(f"cannot use the session store {path}: it is a directory, not a database file")
    if not os.access(parent, os.W_OK | os.X_OK):
        # SQLite must create its -wal and -shm files next to the database.
        raise StoreUnavailable(f"cannot use the session store {path}: the directory {parent} is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StoreUnavailable(f"cannot use the session store {path}: the file is not readable and writable")


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check``: catch a foreign or damaged file now, not mid-session."""
    try:
        problems = [row[0] for row in conn.execute(sql.QUICK_CHECK)]
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in {"SQLITE_NOTADB", "SQLITE_CORRUPT"}:
            raise StoreUnavailable(_not_usable(path, str(exc))) from exc
        raise StoreUnavailable(f"cannot read the session store {path}: {exc}") from exc
    if problems != ["ok"]:
        found = "; ".join(problems[:3]).replace("\n", " ")
        raise StoreUnavailable(_not_usable(path, f"integrity check failed: {found}"))


def _not_usable(path: Path, reason: str) -> str:
    return (
        f"the session store {path} is not a usable database ({reason}); "
        "move the file aside and a new store will be created"
    )


def _checked_version(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute(sql.GET_USER_VERSION).fetchone()[0])
    if version > sql.SCHEMA_VERSION:
        raise StoreUnavailable(
            f"{path} has schema version {version}, newer than this alc-mcp knows "
            f"(up to {sql.SCHEMA_VERSION}); upgrade alc-mcp or use another ALC_HOME"
        )
    return version


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Run the missing ``sql.MIGRATIONS`` steps in one transaction, then set user_version."""
    if _checked_version(conn, path) == sql.SCHEMA_VERSION:
        return
    conn.execute(sql.BEGIN)
    try:
        version = _checked_version(conn, path)  # again under the lock: another process may have migrated
        for step in sql.MIGRATIONS[version:]:
            if callable(step):
                step(conn)
            else:
                for statement in step:
                    conn.execute(statement)
        conn.execute(sql.set_user_version(sql.SCHEMA_VERSION))
        conn.execute(sql.COMMIT)
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute(sql.ROLLBACK)
        raise
