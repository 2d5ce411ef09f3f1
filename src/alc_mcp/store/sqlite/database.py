"""The SQLite file itself: opening it, proving it sound, migrating it, and the one
connection every part of the store shares.

Concurrency: one connection guarded by one lock. Every write is a single short
transaction, so writes for different sessions interleave at transaction granularity
and a session's own writes stay in call order. ``group`` runs many writes (the journal
writer's batch, from many sessions) in one transaction, one commit for all, each write
in its own savepoint so one refused write does not take the others with it. Methods
block (a commit may fsync), so async callers should run them in a worker thread, not
on the loop.

Failures: a database that cannot be opened raises ``StoreUnavailable`` with a reason a
user can act on; so does any SQLite error later (disk full, I/O error, lock timeout),
so a caller needs one ``except`` to fall back to in-memory sessions.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from alc_mcp.engine.storage import Done, StoreUnavailable
from alc_mcp.store.rows import to_json_text
from alc_mcp.store.sqlite import sql

__all__ = ["BUSY_TIMEOUT_MS", "SYNCHRONOUS_LEVELS", "Database", "to_json_text"]

SYNCHRONOUS_LEVELS: tuple[str, ...] = ("OFF", "NORMAL", "FULL", "EXTRA")

#: How long a write waits for another process (e.g. ``alc-mcp`` CLI inspecting the same
#: file) to release the write lock before giving up with ``StoreUnavailable``.
BUSY_TIMEOUT_MS = 5_000
_GROUP_ACTION = "write to the journal"


class Database:
    """One open SQLite file: the shared connection, its lock, and its transactions."""

    def __init__(
        self, path: Path, *, synchronous: str = "NORMAL", busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        """Open (creating and migrating as needed) the database at ``path``.

        ``synchronous`` is SQLite's durability knob. In WAL mode ``NORMAL`` makes a commit
        survive a crash or SIGKILL of this process, but the last commits can be lost if
        the *machine* loses power; ``FULL`` fsyncs every commit and survives that too.
        ``busy_timeout_ms`` is how long a write waits for another process's lock.
        """
        level = synchronous.upper()
        if level not in SYNCHRONOUS_LEVELS:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}, not {synchronous!r}"
            )
        self.path = Path(path)
        self.synchronous = level
        # Reentrant: the writes of a group take it again inside the group's transaction.
        self._lock = threading.RLock()
        #: True while ``group`` holds the lock and its transaction is open.
        self._grouped = False
        self._conn: sqlite3.Connection | None = _open(self.path, level, busy_timeout_ms)

    def close(self) -> None:
        """Close the connection; later calls raise ``StoreUnavailable``. Idempotent."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with suppress(sqlite3.Error):
                    conn.execute(sql.OPTIMIZE)
                conn.close()

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
            raise self._unavailable(action, exc) from exc

    def _unavailable(self, action: str, exc: sqlite3.Error) -> StoreUnavailable:
        return StoreUnavailable(f"cannot {action} in the session store {self.path}: {exc}")

    @contextmanager
    def reading(self, action: str) -> Iterator[sqlite3.Connection]:
        """The connection, held alone for a read; ``action`` names it in any error."""
        with self._lock, self._errors(action):
            yield self._live()

    @contextmanager
    def transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so a second process fails
        (after the busy timeout) at the start instead of half-way through. Inside a
        ``group`` it is a savepoint of the group's transaction instead, undone alone if
        the block raises. One generator (not ``_errors`` around a begin/commit pair): a
        journal append is one of these, twice per resume.
        """
        with self._lock:
            conn = self._live()
            begin, end, undo = _SAVEPOINT if self._grouped else _IMMEDIATE
            try:
                conn.execute(begin)
                yield conn
                conn.execute(end)
            except BaseException as exc:
                _undo(conn, undo)
                if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                    raise self._unavailable(action, exc) from exc
                raise

    def group(self, operations: Sequence[Callable[[], Any]]) -> list[Done]:
        """Run ``operations`` in order in one transaction, committed once (see
        ``engine.storage.GroupCommit``): each in a savepoint, so one that raises is rolled
        back alone; a commit that fails fails them all, and nothing of them is written."""
        with self._lock:
            try:
                with self._errors(_GROUP_ACTION):
                    conn = self._live()
                    conn.execute(sql.BEGIN)
            except StoreUnavailable as exc:
                return [Done(error=exc) for _ in operations]
            self._grouped = True
            try:
                done = [Done.of(operation) for operation in operations]
                with self._errors(_GROUP_ACTION):
                    if not conn.in_transaction:  # an I/O error rolled the whole transaction back
                        raise sqlite3.OperationalError("the transaction was rolled back")
                    conn.execute(sql.COMMIT)
            except BaseException as exc:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute(sql.ROLLBACK)
                if isinstance(exc, StoreUnavailable):
                    return [Done(error=exc) for _ in operations]
                raise
            finally:
                self._grouped = False
        return done


#: (begin, end, undo) of a write on its own, and of one inside a group.
_IMMEDIATE = (sql.BEGIN, sql.COMMIT, (sql.ROLLBACK,))
_SAVEPOINT = (sql.SAVEPOINT, sql.RELEASE_SAVEPOINT, (sql.ROLLBACK_TO_SAVEPOINT, sql.RELEASE_SAVEPOINT))


def _undo(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    """Roll back what a failed write did, if SQLite has not already."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            for statement in statements:
                conn.execute(statement)


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    begin, end, undo = _IMMEDIATE
    conn.execute(begin)
    try:
        yield
        conn.execute(end)
    except BaseException:
        _undo(conn, undo)
        raise


# --- opening ----------------------------------------------------------------------------------


def _open(path: Path, synchronous: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """Connect, prove the file is a sound database, configure it and bring the schema up to date."""
    _check_location(path)
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open the session store {path}: {exc}") from exc
    try:
        _check_integrity(conn, path)
        try:
            conn.execute(sql.JOURNAL_MODE_WAL).fetchone()  # stays "delete" on file systems without WAL
            conn.execute(sql.set_synchronous(synchronous))
            conn.execute(sql.FOREIGN_KEYS_ON)
            conn.execute(sql.set_busy_timeout(busy_timeout_ms))
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
    with _immediate(conn):
        version = _checked_version(conn, path)  # again under the lock: another process may have migrated
        for step in sql.MIGRATIONS[version:]:
            if callable(step):
                step(conn)
            else:
                for statement in step:
                    conn.execute(statement)
        conn.execute(sql.set_user_version(sql.SCHEMA_VERSION))
