"""Opening the session store at start-up, or explaining why sessions stay in memory.

A corrupt or unwritable store must not stop the server: it starts anyway, serves
sessions in memory, and says why durability is off (stderr and ``alc_info``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from alc_mcp.config import Config
from alc_mcp.engine.journal import JournalWriter
from alc_mcp.engine.storage import StoreUnavailable
from alc_mcp.store.sqlite import SqliteStore

__all__ = ["Durability", "open_durability"]


@dataclass(slots=True)
class Durability:
    path: Path
    store: SqliteStore | None = None
    writer: JournalWriter | None = None
    reason: str | None = None

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def to_json(self) -> dict[str, object]:
        info: dict[str, object] = {"enabled": self.enabled, "database": str(self.path)}
        if self.reason is not None:
            info["reason"] = self.reason
        return info

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.store is not None:
            self.store.close()


def open_durability(config: Config) -> Durability:
    path = config.db_path
    if not config.durable:
        return Durability(path, reason="turned off by ALC_DURABLE=0")
    try:
        store = SqliteStore(
            path, synchronous=config.db_synchronous, busy_timeout_ms=config.db_busy_timeout_ms
        )
    except StoreUnavailable as exc:
        print(
            f"alc-mcp: durability is OFF: {exc}. Sessions are kept in memory only and are lost when the "
            "server stops. Fix or move the file (or set ALC_HOME) and restart to turn it back on.",
            file=sys.stderr,
        )
        return Durability(path, reason=str(exc))
    return Durability(path, store=store, writer=JournalWriter())
