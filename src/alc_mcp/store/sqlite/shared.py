"""``alc.state`` in SQLite: the key-value space every session shares, surviving restarts.

Values are stored as JSON text; each operation is one transaction, so concurrent
sessions never lose an update (``state_incr`` reads, adds and writes atomically).
"""

from __future__ import annotations

from typing import Any

import orjson

from alc_mcp.domain.shared_state import incremented
from alc_mcp.engine.storage import SharedStore
from alc_mcp.store.sqlite import sql
from alc_mcp.store.sqlite.database import Database, to_json_text

__all__ = ["SqliteShared"]


class SqliteShared(SharedStore):
    """``alc.state`` namespaces in one ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def state_get(self, ns: str, key: str) -> tuple[bool, Any]:
        with self._db.reading("read shared state") as conn:
            row = conn.execute(sql.STATE_GET, (ns, key)).fetchone()
        return (False, None) if row is None else (True, orjson.loads(row[0]))

    def state_set(self, ns: str, key: str, value: Any) -> None:
        data = _value_text(key, value)
        with self._db.transaction("write shared state") as conn:
            conn.execute(sql.STATE_PUT, (ns, key, data))

    def state_keys(self, ns: str) -> list[str]:
        with self._db.reading("list shared state") as conn:
            return [row[0] for row in conn.execute(sql.STATE_KEYS, (ns,))]

    def state_delete(self, ns: str, key: str) -> bool:
        with self._db.transaction("delete shared state") as conn:
            return conn.execute(sql.STATE_DELETE, (ns, key)).rowcount > 0

    def state_set_nx(self, ns: str, key: str, value: Any) -> bool:
        data = _value_text(key, value)
        with self._db.transaction("write shared state") as conn:
            return conn.execute(sql.STATE_PUT_NEW, (ns, key, data)).rowcount > 0

    def state_incr(self, ns: str, key: str, delta: float, default: float) -> float:
        """Read, add and write in one transaction, so concurrent increments never collide."""
        with self._db.transaction("increment shared state") as conn:
            row = conn.execute(sql.STATE_GET, (ns, key)).fetchone()
            found = row is not None
            value = incremented(key, found, orjson.loads(row[0]) if found else None, delta, default)
            conn.execute(sql.STATE_PUT, (ns, key, _value_text(key, value)))
        return value


def _value_text(key: str, value: Any) -> str:
    return to_json_text(value, f"the value of state key {key!r}")
