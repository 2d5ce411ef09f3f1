"""The SQLite backend as one object: one database file, the three stores on it.

Opening the file once and handing the same ``Database`` to each store keeps their
writes on one connection and one lock (see ``database``), while each store only
holds the methods of its own contract (``alc_mcp.engine.storage``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from alc_mcp.engine.storage import Done
from alc_mcp.store.names import random_name
from alc_mcp.store.sqlite import sql
from alc_mcp.store.sqlite.database import BUSY_TIMEOUT_MS, Database
from alc_mcp.store.sqlite.history import SqliteHistory
from alc_mcp.store.sqlite.sessions import SqliteSessions
from alc_mcp.store.sqlite.shared import SqliteShared

__all__ = ["SqliteStore"]


class SqliteStore:
    """``.sessions``, ``.history`` and ``.shared`` over one SQLite file."""

    SCHEMA_VERSION: int = sql.SCHEMA_VERSION

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        names: Callable[[], str] = random_name,
    ) -> None:
        """Open (creating and migrating as needed) the database at ``path``.

        ``synchronous`` is SQLite's durability knob (see ``Database``); ``names``
        generates candidate session names (tests pass a fixed sequence).
        """
        self._db = Database(path, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)
        self.sessions = SqliteSessions(self._db, names=names)
        self.history = SqliteHistory(self._db)
        self.shared = SqliteShared(self._db)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def synchronous(self) -> str:
        """The ``PRAGMA synchronous`` level in force, upper case."""
        return self._db.synchronous

    def group(self, operations: Sequence[Callable[[], Any]]) -> list[Done]:
        """The operations in one transaction (``engine.storage.GroupCommit``)."""
        return self._db.group(operations)

    def close(self) -> None:
        """Close the database; later calls on any of the stores raise ``StoreUnavailable``."""
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
