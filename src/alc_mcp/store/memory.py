"""``alc.state`` when durability is off: the in-memory ``SharedStore``.

Same contract as the SQLite one (each operation atomic, under one lock), so scripts
behave the same with or without a store; the values are gone at shutdown.
"""

from __future__ import annotations

import threading
from typing import Any

from alc_mcp.domain.shared_state import incremented
from alc_mcp.engine.storage import SharedStore

__all__ = ["MemoryShared"]

_MISSING = object()


class MemoryShared(SharedStore):
    """Namespaces of plain dicts, for a server without a session store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] = {}

    def state_get(self, ns: str, key: str) -> tuple[bool, Any]:
        with self._lock:
            space = self._data.get(ns, {})
            return key in space, space.get(key)

    def state_set(self, ns: str, key: str, value: Any) -> None:
        with self._lock:
            self._data.setdefault(ns, {})[key] = value

    def state_keys(self, ns: str) -> list[str]:
        with self._lock:
            return sorted(self._data.get(ns, {}))

    def state_delete(self, ns: str, key: str) -> bool:
        with self._lock:
            return self._data.get(ns, {}).pop(key, _MISSING) is not _MISSING

    def state_set_nx(self, ns: str, key: str, value: Any) -> bool:
        with self._lock:
            space = self._data.setdefault(ns, {})
            if key in space:
                return False
            space[key] = value
            return True

    def state_incr(self, ns: str, key: str, delta: float, default: float) -> float:
        with self._lock:
            space = self._data.setdefault(ns, {})
            value = incremented(key, key in space, space.get(key), delta, default)
            space[key] = value
            return value
