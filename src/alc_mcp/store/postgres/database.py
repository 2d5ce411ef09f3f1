"""The PostgreSQL database: a pool of connections, its transactions, and its migrations.

Sync, not async, on purpose: the storage contracts (``engine.storage``) are blocking,
called from the journal writer's thread and the Lua sessions' threads, never from the
event loop, so psycopg's sync ``ConnectionPool`` fits them without a second event loop
per thread; the event loop still never waits on the database.

Failures: a database that cannot be reached or set up raises ``StoreUnavailable`` naming
``ALC_DATABASE_URL``; any error later (a dropped connection, a restart of the server)
raises ``StoreUnavailable`` too, so the engine refuses the call with "nothing was
applied", and the pool replaces the broken connection, reconnecting on the next call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from alc_mcp.engine.storage import Done, StoreUnavailable
from alc_mcp.store.postgres import sql

__all__ = ["PgDatabase", "redacted"]

#: How long opening the database waits for the server.
CONNECT_TIMEOUT_S = 10.0
#: How long a call waits for a free (or, after a dropped one, new) connection.
WAIT_TIMEOUT_S = 5.0


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class PgDatabase:
    """A connection pool to one database, migrated at open."""

    def __init__(self, url: str, *, wait_s: float = WAIT_TIMEOUT_S, max_connections: int = 8) -> None:
        """``wait_s``: how long a call waits for a connection before it fails (the
        server restarting, or every connection busy)."""
        self.url = url
        self.where = redacted(url)
        #: ``grouped.conn``: the connection of the group this thread runs, if any.
        self._grouped = threading.local()
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            open=False,
            timeout=wait_s,
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced
            kwargs={"connect_timeout": int(CONNECT_TIMEOUT_S)},
            name="alc-mcp",
        )
        try:
            # One direct connection first: it fails at once with the server's reason,
            # where the pool would retry until its timeout and only say "timed out".
            psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            self._migrate()
        except (PoolTimeout, psycopg.Error) as exc:
            self.pool.close()
            raise StoreUnavailable(
                f"cannot use the PostgreSQL database ALC_DATABASE_URL={self.where}: {_reason(exc)}; "
                "check that the server runs and the URL (host, port, database, user, password) is right"
            ) from exc
        except BaseException:
            self.pool.close()
            raise

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def transaction(self, action: str) -> Iterator[psycopg.Connection]:
        """One transaction on a pooled connection: committed when the block ends, rolled
        back if it raises. Reads use it too (READ COMMITTED, one round trip to BEGIN).
        Inside ``group`` it is a savepoint of the group's transaction instead."""
        grouped: psycopg.Connection | None = getattr(self._grouped, "conn", None)
        with self._errors(action):
            if grouped is not None:
                with grouped.transaction():
                    yield grouped
            else:
                with self.pool.connection() as conn:
                    yield conn

    def group(self, operations: Sequence[Callable[[], Any]]) -> list[Done]:
        """Run ``operations`` in order in one transaction on one connection, committed
        once (``engine.storage.GroupCommit``); each one's transactions are savepoints."""
        done: list[Done] = []
        try:
            with self._errors("write to the journal"), self.pool.connection() as conn, conn.transaction():
                self._grouped.conn = conn
                try:
                    done = [Done.of(operation) for operation in operations]
                finally:
                    self._grouped.conn = None
        except StoreUnavailable as exc:
            return [Done(error=exc) for _ in operations]
        return done

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except psycopg.IntegrityError:
            raise
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreUnavailable(
                f"cannot {action} in the PostgreSQL database {self.where}: {_reason(exc)}"
            ) from exc

    def _migrate(self) -> None:
        """Run the missing ``sql.MIGRATIONS`` under an advisory lock, or refuse a newer schema."""
        with self.pool.connection() as conn:
            conn.execute(sql.MIGRATION_LOCK)
            conn.execute(sql.CREATE_VERSION_TABLE)
            row = conn.execute(sql.GET_VERSION).fetchone()
            version = int(row[0]) if row is not None else 0
            if version > sql.SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"the PostgreSQL database ALC_DATABASE_URL={self.where} has schema version {version}, "
                    f"newer than this alc-mcp knows (up to {sql.SCHEMA_VERSION}); upgrade alc-mcp "
                    "(every worker of a fleet runs the same version) or point ALC_DATABASE_URL elsewhere"
                )
            for step in sql.MIGRATIONS[version:]:
                for statement in step:
                    conn.execute(statement)
            if version != sql.SCHEMA_VERSION:
                conn.execute(sql.CLEAR_VERSION)
                conn.execute(sql.SET_VERSION, (sql.SCHEMA_VERSION,))


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
