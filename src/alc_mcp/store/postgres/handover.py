"""Hand-over between workers: LISTEN/NOTIFY on one channel, ``owner<TAB>session id``.

A worker that gets a call for a session another live worker owns notifies the owner;
the owner's listener thread hands the session id to the registry, which hibernates it
at its next safe point and releases the lease. Every worker hears every request and
keeps those addressed to it (a fleet is a handful of workers; one channel needs no
per-worker names, which PostgreSQL would cap at 63 bytes).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import psycopg

from alc_mcp.engine.storage import HandOver, StoreUnavailable
from alc_mcp.store.postgres import sql
from alc_mcp.store.postgres.database import PgDatabase

__all__ = ["PgHandOver"]

#: How often the listener looks up from waiting, to notice it was closed.
_POLL_S = 0.5
#: How long it waits before connecting again after losing its connection.
_RECONNECT_S = 1.0


class PgHandOver(HandOver):
    def __init__(self, db: PgDatabase) -> None:
        self._db = db
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ask_release(self, session_id: str, owner: str) -> None:
        with self._db.transaction("ask another worker to let go of a session") as conn:
            conn.execute(sql.NO_FLUSH)
            conn.execute(sql.ASK_RELEASE, (f"{owner}\t{session_id}",))

    def listen(self, owner: str, on_request: Callable[[str], None]) -> None:
        if self._thread is not None:
            raise RuntimeError("already listening")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(owner, on_request, ready), name="alc-handover", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise StoreUnavailable(f"cannot listen for hand-over requests on {self._db.where}")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_POLL_S * 4)

    def _run(self, owner: str, on_request: Callable[[str], None], ready: threading.Event) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._db.url, autocommit=True) as conn:
                    conn.execute(sql.LISTEN)
                    ready.set()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=_POLL_S):
                            addressee, _, session_id = notice.payload.partition("\t")
                            if addressee == owner and session_id:
                                on_request(session_id)
            except psycopg.Error as exc:
                print(
                    f"alc-mcp: hand-over listener lost its connection ({exc}); reconnecting", file=sys.stderr
                )
                self._stop.wait(_RECONNECT_S)
