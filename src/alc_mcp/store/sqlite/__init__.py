"""The SQLite backend, the embedded default: one file in ``ALC_HOME``, nothing to start.

``SqliteStore`` opens the file; its ``sessions``, ``history`` and ``shared`` implement
the engine's ``SessionStore``, ``HistoryStore`` and ``SharedStore``.
"""

from alc_mcp.engine.storage import StoreUnavailable
from alc_mcp.store.sqlite.sessions import FINISHED_STATUSES, STATUSES, UnknownSession
from alc_mcp.store.sqlite.store import SqliteStore

__all__ = ["FINISHED_STATUSES", "STATUSES", "SqliteStore", "StoreUnavailable", "UnknownSession"]
