"""``alc.state`` as one principal's scripts see it: namespaces of their own.

``alc.state`` is shared by every session on a server, which over authenticated HTTP
would let one principal's script read what another's stored. A session started by a
principal gets the shared store through ``PrincipalState``, which files every namespace
under that principal (``principal/ns``: a script's namespace never holds ``/``, so no
two principals' namespaces, nor an unowned one, can meet). Sessions without a principal
(stdio) use the store as they always have.
"""

from __future__ import annotations

from typing import Any

from alc_mcp.engine.storage import SharedStore

__all__ = ["PrincipalState"]


class PrincipalState:
    def __init__(self, shared: SharedStore, principal: str) -> None:
        self._shared = shared
        self._prefix = f"{principal}/"

    def state_get(self, ns: str, key: str) -> tuple[bool, Any]:
        return self._shared.state_get(self._prefix + ns, key)

    def state_set(self, ns: str, key: str, value: Any) -> None:
        self._shared.state_set(self._prefix + ns, key, value)

    def state_keys(self, ns: str) -> list[str]:
        return self._shared.state_keys(self._prefix + ns)

    def state_delete(self, ns: str, key: str) -> bool:
        return self._shared.state_delete(self._prefix + ns, key)

    def state_set_nx(self, ns: str, key: str, value: Any) -> bool:
        return self._shared.state_set_nx(self._prefix + ns, key, value)

    def state_incr(self, ns: str, key: str, delta: float, default: float) -> float:
        return self._shared.state_incr(self._prefix + ns, key, delta, default)
