"""Opening the session store at start-up, or explaining why sessions stay in memory.

Two backends: the SQLite file under ``ALC_HOME`` (the default), or the PostgreSQL
database of ``ALC_DATABASE_URL`` (a fleet). A corrupt or unwritable SQLite file must not
stop the server: it starts anyway, serves sessions in memory, and says why durability
is off (stderr and ``alc_info``). A PostgreSQL URL that does not work stops start-up
instead (``StartupError``): a fleet worker in memory would silently split the fleet.

What stays local to each worker either way: evaluation cards and their history
(``store.cards``, a SQLite file under ``ALC_HOME``) and installed packages.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alc_mcp.config import Config
from alc_mcp.engine.journal import JournalWriter
from alc_mcp.engine.storage import HandOver, StoreUnavailable
from alc_mcp.store.sqlite import SqliteStore

if TYPE_CHECKING:  # imported when ALC_DATABASE_URL asks for it: psycopg takes ~0.2 s to load
    from alc_mcp.store.postgres import PostgresStore

__all__ = ["Durability", "StartupError", "open_durability"]


class StartupError(Exception):
    """The server cannot start as configured; str(exc) says why and what to change."""


@dataclass(slots=True)
class Durability:
    path: Path
    store: SqliteStore | PostgresStore | None = None
    writer: JournalWriter | None = None
    reason: str | None = None
    #: How to ask another worker to let go of a session (PostgreSQL only).
    handover: HandOver | None = None
    #: The PostgreSQL URL without its password; None for the SQLite file at ``path``.
    url: str | None = None

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def to_json(self) -> dict[str, object]:
        info: dict[str, object] = {"enabled": self.enabled, "database": self.url or str(self.path)}
        if self.url is not None:
            info["backend"] = "postgresql"
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
    if config.database_url is not None:
        from alc_mcp.store.postgres import PostgresStore

        try:
            shared = PostgresStore(config.database_url, wait_s=config.db_busy_timeout_ms / 1000)
        except StoreUnavailable as exc:
            raise StartupError(str(exc)) from exc
        return Durability(
            path, store=shared, writer=JournalWriter(shared.group), handover=shared.handover, url=shared.where
        )
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
    return Durability(path, store=store, writer=JournalWriter(store.group))
