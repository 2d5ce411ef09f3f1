"""The PostgreSQL backend, for a fleet: every worker shares one database
(``ALC_DATABASE_URL``), so any worker can resume any session.

``PostgresStore`` connects and migrates; its ``sessions``, ``history`` and ``shared``
implement the engine's contracts, and ``handover`` asks other workers to let go.
"""

from alc_mcp.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
