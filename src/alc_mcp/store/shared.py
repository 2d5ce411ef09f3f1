"""``alc.state``: the key-value store every session shares, one namespace per
``ctx._ns``. Values are JSON. Each operation is atomic, so concurrent sessions never
lose an update (two sessions doing ``incr`` 1,000 times each end at 2,000)."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from alc_mcp.domain.shared_state import incremented


class SharedState(Protocol):
    def state_get(self, ns: str, key: str) -> tuple[bool, Any]: ...

    def state_set(self, ns: str, key: str, value: Any) -> None: ...

    def state_keys(self, ns: str) -> list[str]: ...

    def state_delete(self, ns: str, key: str) -> bool: ...

    def state_set_nx(self, ns: str, key: str, value: Any) -> bool: ...

    def state_incr(self, ns: str, key: str, delta: float, default: float) -> float: ...


class MemoryState:
    """The shared state when durability is off: same contract, gone at shutdown."""

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


_MISSING = object()
