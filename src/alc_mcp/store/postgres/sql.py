"""Every PostgreSQL statement of the store, and its versioned migrations.

Parameters are always bound (``%s``); lists go in as one array (``= ANY(%s)``), so no
statement is ever built from values.

Migrations: ``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1`` (the
single row of ``alc_schema``). Append a step to change the schema; never edit one that
has shipped. The numbering is this backend's own (it starts with everything SQLite
reached in its first six steps, principal column included).
"""

from __future__ import annotations

__all__ = [
    "ASK_RELEASE",
    "CHANNEL",
    "CLEAR_VERSION",
    "CREATE_VERSION_TABLE",
    "DELETE_SESSION",
    "DELETE_TAIL",
    "FINISHED_BEYOND",
    "FINISHED_OLDER_THAN",
    "FIRST_SEQ",
    "GET_VERSION",
    "HOLDS_LEASE",
    "ID_TAKEN",
    "INSERT_ANSWER",
    "INSERT_ENTRY",
    "INSERT_SESSION",
    "LISTEN",
    "LIST_SESSIONS",
    "LIST_SESSIONS_BY_STATUS",
    "LOCK_SESSION",
    "MIGRATIONS",
    "MIGRATION_LOCK",
    "NAME_TAKEN",
    "NO_FLUSH",
    "PUT_LEASE",
    "RECOUNT",
    "RELEASE_LEASE",
    "RELEASE_LEASES",
    "RENEW_LEASES",
    "RESOLVE",
    "SCHEMA_VERSION",
    "SELECT_LEASE",
    "SELECT_METADATA",
    "SELECT_SESSION",
    "SET_VERSION",
    "STATE_DELETE",
    "STATE_GET",
    "STATE_KEYS",
    "STATE_LOCK",
    "STATE_PUT",
    "STATE_PUT_NEW",
    "STATS_ROWS",
    "TOUCH_FOR_APPEND",
    "UPDATE_SESSION",
    "UPSERT_METADATA",
    "count_entries",
    "select_entries",
]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: sessions, journal, answer keys, leases, alc.state.
    (
        """
        CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            strategy      TEXT,
            status        TEXT NOT NULL,
            created_at    BIGINT NOT NULL,
            updated_at    BIGINT NOT NULL,
            task_preview  TEXT,
            llm_calls     INTEGER NOT NULL DEFAULT 0,
            rounds        INTEGER NOT NULL DEFAULT 0,
            elapsed_ms    BIGINT,
            stats         TEXT,
            notes_count   INTEGER NOT NULL DEFAULT 0,
            principal     TEXT
        )
        """,
        "CREATE INDEX sessions_by_created ON sessions (created_at, id)",
        "CREATE INDEX sessions_by_status ON sessions (status, updated_at)",
        # An identity, never reused after a truncation or a delete (as SQLite's AUTOINCREMENT).
        """
        CREATE TABLE journal (
            seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            kind        TEXT NOT NULL,
            data        TEXT NOT NULL,
            at          BIGINT NOT NULL
        )
        """,
        "CREATE INDEX journal_by_session ON journal (session_id, seq)",
        "CREATE INDEX journal_by_kind ON journal (session_id, kind)",
        """
        CREATE TABLE metadata (
            session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            key         TEXT NOT NULL,
            value       TEXT,
            PRIMARY KEY (session_id, key)
        )
        """,
        # An answer is accepted once: (session, pause, query id); see store.rows.answer_keys.
        """
        CREATE TABLE answers (
            session_id  TEXT NOT NULL,
            pause       INTEGER NOT NULL,
            query_id    TEXT NOT NULL,
            seq         BIGINT NOT NULL REFERENCES journal (seq) ON DELETE CASCADE,
            PRIMARY KEY (session_id, pause, query_id)
        )
        """,
        "CREATE INDEX answers_by_seq ON answers (seq)",
        # Who drives each live session; ``token`` only grows (the fencing token).
        """
        CREATE TABLE leases (
            session_id  TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
            owner       TEXT,
            pid         INTEGER,
            token       BIGINT NOT NULL,
            heartbeat   BIGINT NOT NULL
        )
        """,
        "CREATE INDEX leases_by_owner ON leases (owner)",
        """
        CREATE TABLE state (
            ns     TEXT NOT NULL,
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,
            PRIMARY KEY (ns, key)
        )
        """,
    ),
    # 2: how many pauses (``Asked`` events) each journal holds, kept by every append: an
    # answer's key needs it, and counting the journal's pauses on every answer cost a
    # scan that grew with the session.
    (
        "ALTER TABLE sessions ADD COLUMN asked INTEGER NOT NULL DEFAULT 0",
        "UPDATE sessions SET asked = "
        "(SELECT COUNT(*) FROM journal WHERE session_id = sessions.id AND kind = 'ask')",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

# --- versions -----------------------------------------------------------------------------

#: Held (for the transaction) while migrating, so workers starting together migrate once.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(7368211)"
CREATE_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS alc_schema (version INTEGER NOT NULL)"
GET_VERSION = "SELECT version FROM alc_schema"
CLEAR_VERSION = "DELETE FROM alc_schema"
SET_VERSION = "INSERT INTO alc_schema (version) VALUES (%s)"

# --- sessions -----------------------------------------------------------------------------

NAME_TAKEN = "SELECT 1 FROM sessions WHERE name = %s"
ID_TAKEN = "SELECT 1 FROM sessions WHERE id = %s"
LOCK_SESSION = "SELECT 1 FROM sessions WHERE id = %s FOR UPDATE"
INSERT_SESSION = """
    INSERT INTO sessions (id, name, strategy, status, created_at, updated_at, task_preview, principal)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""
UPDATE_SESSION = """
    UPDATE sessions SET
        status = %s,
        updated_at = %s,
        llm_calls = COALESCE(%s, llm_calls),
        rounds = COALESCE(%s, rounds),
        elapsed_ms = COALESCE(%s, elapsed_ms),
        stats = COALESCE(%s, stats)
    WHERE id = %s
"""
# Gives the session's pause count after the batch (``asked``, see migration 2).
TOUCH_FOR_APPEND = """
    UPDATE sessions SET
        updated_at = GREATEST(updated_at, %s), notes_count = notes_count + %s, asked = asked + %s
    WHERE id = %s
    RETURNING asked
"""
DELETE_SESSION = "DELETE FROM sessions WHERE id = %s"
RESOLVE = """
    SELECT id FROM (
        SELECT id, 0 AS rank FROM sessions WHERE id = %s
        UNION ALL
        SELECT id, 1 AS rank FROM sessions WHERE name = %s
    ) found ORDER BY rank LIMIT 1
"""
_SESSION_COLUMNS = """
    id, name, strategy, status, created_at, updated_at, task_preview,
    llm_calls, rounds, elapsed_ms, stats, notes_count, principal
"""
SELECT_SESSION = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = %s"
LIST_SESSIONS = f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY created_at DESC, id DESC LIMIT %s"
LIST_SESSIONS_BY_STATUS = f"""
    SELECT {_SESSION_COLUMNS} FROM sessions WHERE status = ANY(%s)
    ORDER BY created_at DESC, id DESC LIMIT %s
"""

# --- history ------------------------------------------------------------------------------

FINISHED_OLDER_THAN = """
    SELECT id FROM sessions WHERE status = ANY(%s) AND updated_at < %s ORDER BY updated_at, id
"""
FINISHED_BEYOND = """
    SELECT id FROM sessions WHERE status = ANY(%s) ORDER BY updated_at DESC, id DESC OFFSET %s
"""
# NULL parameters switch a filter off: (statuses, strategy, strategy, since, since).
STATS_ROWS = """
    SELECT strategy, stats FROM sessions
    WHERE status = ANY(%s) AND stats IS NOT NULL
      AND (%s::text IS NULL OR COALESCE(strategy, 'unknown') = %s)
      AND (%s::bigint IS NULL OR updated_at >= %s)
    ORDER BY created_at, id
"""

# --- leases -------------------------------------------------------------------------------

# Lease changes (and hand-over requests) commit without waiting for their WAL to reach
# the disk: a lease lost in a database crash was never used, because the first journal
# write fenced by it is a synchronous commit, which flushes the WAL before it (the lease
# change included). This saves a disk flush on every take, release and heartbeat.
NO_FLUSH = "SET LOCAL synchronous_commit = off"
# take_lease locks the session row first (LOCK_SESSION): two workers taking the same
# lease queue there, so one wins and the other sees it held.
SELECT_LEASE = "SELECT owner, pid, token, heartbeat FROM leases WHERE session_id = %s"
PUT_LEASE = """
    INSERT INTO leases (session_id, owner, pid, token, heartbeat) VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (session_id) DO UPDATE SET
        owner = excluded.owner, pid = excluded.pid, token = excluded.token, heartbeat = excluded.heartbeat
"""
# FOR SHARE: a fenced append keeps the lease row from changing hands until it commits.
HOLDS_LEASE = "SELECT 1 FROM leases WHERE session_id = %s AND token = %s AND owner IS NOT NULL FOR SHARE"
RENEW_LEASES = "UPDATE leases SET heartbeat = %s WHERE owner = %s"
RELEASE_LEASE = "UPDATE leases SET owner = NULL, heartbeat = 0 WHERE session_id = %s AND owner = %s"
RELEASE_LEASES = "UPDATE leases SET owner = NULL, heartbeat = 0 WHERE owner = %s"

# --- hand-over ----------------------------------------------------------------------------

CHANNEL = "alc_release"
LISTEN = f"LISTEN {CHANNEL}"
ASK_RELEASE = f"SELECT pg_notify('{CHANNEL}', %s)"

# --- journal ------------------------------------------------------------------------------

INSERT_ENTRY = "INSERT INTO journal (session_id, kind, data, at) VALUES (%s, %s, %s, %s) RETURNING seq"
INSERT_ANSWER = """
    INSERT INTO answers (session_id, pause, query_id, seq) VALUES (%s, %s, %s, %s)
    ON CONFLICT DO NOTHING
"""
FIRST_SEQ = "SELECT MIN(seq) FROM journal WHERE session_id = %s"
DELETE_TAIL = "DELETE FROM journal WHERE session_id = %s AND seq >= %s"
# After a truncation: the counts the append keeps, taken again from what is left.
RECOUNT = """
    UPDATE sessions SET
        notes_count = (SELECT COUNT(*) FROM journal WHERE journal.session_id = sessions.id AND kind = 'note'),
        asked = (SELECT COUNT(*) FROM journal WHERE journal.session_id = sessions.id AND kind = 'ask')
    WHERE id = %s
"""


def select_entries(*, by_kind: bool, limited: bool) -> str:
    """Entries after a seq, in seq order; parameters: session_id, after_seq, [kinds], [limit]."""
    kinds = "AND kind = ANY(%s)" if by_kind else ""
    limit = "LIMIT %s" if limited else ""
    return f"""
        SELECT seq, kind, data, at FROM journal
        WHERE session_id = %s AND seq > %s {kinds}
        ORDER BY seq {limit}
    """


def count_entries(*, by_kind: bool) -> str:
    kinds = "AND kind = ANY(%s)" if by_kind else ""
    return f"SELECT COUNT(*) FROM journal WHERE session_id = %s {kinds}"


# --- metadata -----------------------------------------------------------------------------

UPSERT_METADATA = """
    INSERT INTO metadata (session_id, key, value) VALUES (%s, %s, %s)
    ON CONFLICT (session_id, key) DO UPDATE SET value = excluded.value
"""
SELECT_METADATA = "SELECT key, value FROM metadata WHERE session_id = %s ORDER BY key"

# --- alc.state ----------------------------------------------------------------------------

STATE_GET = "SELECT value FROM state WHERE ns = %s AND key = %s"
# Serialises read-add-write of one key, also while the key does not exist yet.
STATE_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s || chr(0) || %s, 0))"
STATE_PUT = """
    INSERT INTO state (ns, key, value) VALUES (%s, %s, %s)
    ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value
"""
STATE_PUT_NEW = "INSERT INTO state (ns, key, value) VALUES (%s, %s, %s) ON CONFLICT (ns, key) DO NOTHING"
STATE_KEYS = "SELECT key FROM state WHERE ns = %s ORDER BY key"
STATE_DELETE = "DELETE FROM state WHERE ns = %s AND key = %s"
