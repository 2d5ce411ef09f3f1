"""The PostgreSQL backend as one object: one pool, the three stores and the hand-over on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from alc_mcp.engine.storage import Done
from alc_mcp.store.names import random_name
from alc_mcp.store.postgres import sql
from alc_mcp.store.postgres.database import WAIT_TIMEOUT_S, PgDatabase
from alc_mcp.store.postgres.handover import PgHandOver
from alc_mcp.store.postgres.history import PgHistory
from alc_mcp.store.postgres.sessions import PgSessions
from alc_mcp.store.postgres.shared import PgShared

__all__ = ["PostgresStore"]


class PostgresStore:
    """``.sessions``, ``.history``, ``.shared`` and ``.handover`` over one database."""

    SCHEMA_VERSION: int = sql.SCHEMA_VERSION

    def __init__(
        self, url: str, *, wait_s: float = WAIT_TIMEOUT_S, names: Callable[[], str] = random_name
    ) -> None:
        """Connect to ``url`` (a ``postgresql://`` URL) and migrate; ``StoreUnavailable``
        naming ALC_DATABASE_URL if that cannot be done. ``wait_s``: how long a call waits
        for a connection before it fails."""
        self._db = PgDatabase(url, wait_s=wait_s)
        self.sessions = PgSessions(self._db, names=names)
        self.history = PgHistory(self._db)
        self.shared = PgShared(self._db)
        self.handover = PgHandOver(self._db)

    @property
    def where(self) -> str:
        """The URL without its password."""
        return self._db.where

    def group(self, operations: Sequence[Callable[[], Any]]) -> list[Done]:
        """The operations in one transaction (``engine.storage.GroupCommit``)."""
        return self._db.group(operations)

    def close(self) -> None:
        self.handover.close()
        self._db.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
