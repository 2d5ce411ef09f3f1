"""``alc.state`` in PostgreSQL: one key-value space for every session of every worker.

Values are JSON text, as in SQLite; ``state_incr`` takes a transaction-scoped advisory
lock on its key, so concurrent increments from any worker never lose one, even while
the key does not exist yet."""

from __future__ import annotations

from typing import Any

import orjson

from alc_mcp.domain.shared_state import incremented
from alc_mcp.engine.storage import SharedStore
from alc_mcp.store.postgres import sql
from alc_mcp.store.postgres.database import PgDatabase
from alc_mcp.store.rows import to_json_text

__all__ = ["PgShared"]


class PgShared(SharedStore):
    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    def state_get(self, ns: str, key: str) -> tuple[bool, Any]:
        with self._db.transaction("read shared state") as conn:
            row = conn.execute(sql.STATE_GET, (ns, key)).fetchone()
        return (False, None) if row is None else (True, orjson.loads(row[0]))

    def state_set(self, ns: str, key: str, value: Any) -> None:
        data = to_json_text(value, f"the value of state key {key!r}")
        with self._db.transaction("write shared state") as conn:
            conn.execute(sql.STATE_PUT, (ns, key, data))

    def state_keys(self, ns: str) -> list[str]:
        with self._db.transaction("list shared state") as conn:
            return [str(row[0]) for row in conn.execute(sql.STATE_KEYS, (ns,)).fetchall()]

    def state_delete(self, ns: str, key: str) -> bool:
        with self._db.transaction("delete shared state") as conn:
            return conn.execute(sql.STATE_DELETE, (ns, key)).rowcount > 0

    def state_set_nx(self, ns: str, key: str, value: Any) -> bool:
        data = to_json_text(value, f"the value of state key {key!r}")
        with self._db.transaction("write shared state") as conn:
            return conn.execute(sql.STATE_PUT_NEW, (ns, key, data)).rowcount > 0

    def state_incr(self, ns: str, key: str, delta: float, default: float) -> float:
        with self._db.transaction("increment shared state") as conn:
            conn.execute(sql.STATE_LOCK, (ns, key))
            row = conn.execute(sql.STATE_GET, (ns, key)).fetchone()
            found = row is not None
            value = incremented(key, found, orjson.loads(row[0]) if row is not None else None, delta, default)
            conn.execute(sql.STATE_PUT, (ns, key, to_json_text(value, f"the value of state key {key!r}")))
        return value
