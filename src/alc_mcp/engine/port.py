"""What Layer 0 functions get to work with: the session behind them and the VM."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from alc_mcp.engine.effects import Effects
from alc_mcp.engine.luajson import LuaJson

if TYPE_CHECKING:
    from alc_mcp.engine.fork import Forker
from alc_mcp.engine.storage import CardArchive, SharedStore

__all__ = ["NO_FACILITIES", "BridgeContext", "Facilities", "SessionPort"]


class SessionPort(Protocol):
    """What the bridge needs from its session. Called on the session thread; the
    implementation is responsible for its own locking."""

    def log(self, level: str, source: str, message: str) -> None: ...

    def record_stat(self, key: str, value: Any) -> None: ...

    def get_stat(self, key: str) -> tuple[bool, Any]: ...

    def set_progress(self, step: int, total: int, message: str | None) -> None: ...

    def check_budget(self) -> str | None: ...

    def budget_remaining(self) -> dict[str, Any] | None: ...

    def vars_call(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """One alc.vars operation: ``{"ok": result}`` or ``{"error": message}``."""
        ...


@dataclass(frozen=True, slots=True)
class Facilities:
    """What a VM may reach beyond its session and alc.state: the evaluation cards
    (``alc.card.*``; None where there are none, e.g. reading a package's meta) and the
    server's directories ``alc.dirs()`` names (so package code never needs os.getenv)."""

    cards: CardArchive | None = None
    dirs: Mapping[str, str] = field(default_factory=dict)


NO_FACILITIES = Facilities()


@dataclass(frozen=True, slots=True)
class BridgeContext:
    """What a Layer 0 module needs to build its functions for one VM."""

    runtime: Any
    json: LuaJson
    port: SessionPort
    effects: Effects
    shared: SharedStore  # alc.state storage
    namespace: str  # this VM's alc.state namespace
    forker: Forker  # runs alc.fork children
    facilities: Facilities = NO_FACILITIES
