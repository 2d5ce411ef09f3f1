"""Every SQL statement the store runs, and the schema migrations.

Kept in one module so the whole on-disk contract can be read (and reviewed for
injection) in one place. Statements are plain text with ``?`` parameters; the few
that vary (``IN (…)`` lists) are built here from a count, never from values.

Migrations: ``MIGRATIONS[i]`` takes a database from ``PRAGMA user_version`` ``i`` to
``i + 1``. Append a step to change the schema; never edit a step that has shipped,
because files in users' ``ALC_HOME`` were built by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from sqlite3 import Connection

from alc_mcp.store.rows import answer_keys, entry

__all__ = [
    "ANSWER_SCHEMA",
    "BEGIN",
    "CARD_SCHEMA",
    "COMMIT",
    "DELETE_SESSION",
    "DELETE_TAIL",
    "FIRST_SEQ",
    "FOREIGN_KEYS_ON",
    "GET_USER_VERSION",
    "HOLDS_LEASE",
    "ID_TAKEN",
    "INSERT_ANSWER",
    "INSERT_ENTRY",
    "INSERT_SESSION",
    "JOURNAL_MODE_WAL",
    "LEASE_SCHEMA",
    "MIGRATIONS",
    "NAME_TAKEN",
    "OPTIMIZE",
    "PUT_LEASE",
    "QUICK_CHECK",
    "RECOUNT",
    "RELEASE_LEASE",
    "RELEASE_LEASES",
    "RELEASE_SAVEPOINT",
    "RENEW_LEASES",
    "RESOLVE",
    "ROLLBACK",
    "ROLLBACK_TO_SAVEPOINT",
    "SAVEPOINT",
    "SCHEMA_VERSION",
    "SELECT_LEASE",
    "SELECT_METADATA",
    "SELECT_SESSION",
    "STATE_DELETE",
    "STATE_GET",
    "STATE_KEYS",
    "STATE_PUT",
    "STATE_PUT_NEW",
    "SUMMARY_FOR_APPEND",
    "TOUCH_FOR_APPEND",
    "UPDATE_SESSION",
    "UPSERT_METADATA",
    "MigrationStep",
    "count_entries",
    "finished_beyond",
    "finished_older_than",
    "list_sessions",
    "select_entries",
    "set_busy_timeout",
    "set_synchronous",
    "set_user_version",
    "stats_rows",
]

#: A step is a list of statements run in order, or a function for a data migration.
MigrationStep = Sequence[str] | Callable[[Connection], None]

MIGRATIONS: tuple[MigrationStep, ...] = (
    # 1: sessions, their journal and their metadata.
    (
        """
        CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            strategy      TEXT,
            status        TEXT NOT NULL,
            created_at    INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL,
            task_preview  TEXT,
            llm_calls     INTEGER NOT NULL DEFAULT 0,
            rounds        INTEGER NOT NULL DEFAULT 0,
            elapsed_ms    INTEGER,
            stats         TEXT,
            notes_count   INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX sessions_by_created ON sessions (created_at, id)",
        "CREATE INDEX sessions_by_status ON sessions (status, updated_at)",
        # AUTOINCREMENT (not a bare rowid) so a seq is never reused after truncate_from or
        # delete: a pagination cursor or a seq remembered by the engine stays unambiguous.
        """
        CREATE TABLE journal (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            kind        TEXT NOT NULL,
            data        TEXT NOT NULL,
            at          INTEGER NOT NULL
        )
        """,
        "CREATE INDEX journal_by_session ON journal (session_id, seq)",
        """
        CREATE TABLE metadata (
            session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            key         TEXT NOT NULL,
            value       TEXT,
            PRIMARY KEY (session_id, key)
        ) WITHOUT ROWID
        """,
    ),
    # 2: alc.state, the key-value store shared by every session (one namespace per ctx._ns).
    (
        """
        CREATE TABLE state (
            ns     TEXT NOT NULL,
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,
            PRIMARY KEY (ns, key)
        ) WITHOUT ROWID
        """,
    ),
)

# Evaluation: immutable cards, aliases that move between cards, and the eval history.
# Kept as named statements so ``store.cards`` can create the same tables in an
# in-memory database when durability is off.
CARD_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS cards (
        id          TEXT PRIMARY KEY,
        created_at  INTEGER NOT NULL,
        strategy    TEXT NOT NULL,
        scenario    TEXT NOT NULL,
        model       TEXT,
        data        TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS cards_by_created ON cards (created_at, id)",
    # A card is written once: no statement may change or remove it.
    """
    CREATE TRIGGER IF NOT EXISTS cards_immutable_update BEFORE UPDATE ON cards
    BEGIN SELECT RAISE(ABORT, 'cards are immutable'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS cards_immutable_delete BEFORE DELETE ON cards
    BEGIN SELECT RAISE(ABORT, 'cards are immutable'); END
    """,
    """
    CREATE TABLE IF NOT EXISTS card_aliases (
        alias       TEXT PRIMARY KEY,
        card_id     TEXT NOT NULL REFERENCES cards (id),
        updated_at  INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS evals (
        id           TEXT PRIMARY KEY,
        session_id   TEXT,
        strategy     TEXT NOT NULL,
        scenario     TEXT NOT NULL,
        status       TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        finished_at  INTEGER,
        card_id      TEXT,
        request      TEXT NOT NULL,
        result       TEXT,
        error        TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS evals_by_created ON evals (created_at, id)",
    "CREATE INDEX IF NOT EXISTS evals_by_session ON evals (session_id)",
    # alc.card.write_samples: one row per sample, written once per card, never changed.
    """
    CREATE TABLE IF NOT EXISTS card_samples (
        card_id  TEXT NOT NULL REFERENCES cards (id),
        idx      INTEGER NOT NULL,
        data     TEXT NOT NULL,
        PRIMARY KEY (card_id, idx)
    ) WITHOUT ROWID
    """,
    """
    CREATE TRIGGER IF NOT EXISTS card_samples_immutable_update BEFORE UPDATE ON card_samples
    BEGIN SELECT RAISE(ABORT, 'card samples are immutable'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS card_samples_immutable_delete BEFORE DELETE ON card_samples
    BEGIN SELECT RAISE(ABORT, 'card samples are immutable'); END
    """,
)

MIGRATIONS = (*MIGRATIONS, CARD_SCHEMA)  # 3: evaluation cards, aliases and history

# 4: who drives each live session. One row per session that was ever live; ``owner``
# NULL once released. ``token`` only grows (the fencing token): a journal append names
# the token it was given, so a process whose lease was taken over cannot write.
LEASE_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE leases (
        session_id  TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
        owner       TEXT,
        pid         INTEGER,
        token       INTEGER NOT NULL,
        heartbeat   INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX leases_by_owner ON leases (owner)",
)

MIGRATIONS = (*MIGRATIONS, LEASE_SCHEMA)

# 5: who started each session (the verified principal over authenticated HTTP; NULL on
# stdio and before this migration), so only that principal sees the session.
MIGRATIONS = (*MIGRATIONS, ("ALTER TABLE sessions ADD COLUMN principal TEXT",))

# 6: an answer is accepted
# once. Query ids repeat from pause to pause, so the key is (session, pause, query id);
# ``seq`` ties the key to its journal entry, so a rewind that removes the entry frees it.
ANSWER_SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS answers (
        session_id  TEXT NOT NULL,
        pause       INTEGER NOT NULL,
        query_id    TEXT NOT NULL,
        seq         INTEGER NOT NULL REFERENCES journal (seq) ON DELETE CASCADE,
        PRIMARY KEY (session_id, pause, query_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS answers_by_seq ON answers (seq)",
    "CREATE INDEX IF NOT EXISTS journal_by_kind ON journal (session_id, kind)",
)


def _key_existing_answers(conn: Connection) -> None:
    """Give the answers already journaled their keys (a duplicate, which older versions
    could not write, keeps only its first)."""
    for statement in ANSWER_SCHEMA:
        conn.execute(statement)
    sessions = [row[0] for row in conn.execute("SELECT id FROM sessions")]
    for session_id in sessions:
        rows = conn.execute(select_entries(None, limited=False), (session_id, 0)).fetchall()
        entries = [entry(session_id, *row) for row in rows]
        keys = answer_keys([(e.at, e.event) for e in entries], 0)
        conn.executemany(
            "INSERT OR IGNORE INTO answers (session_id, pause, query_id, seq) VALUES (?, ?, ?, ?)",
            [(session_id, pause, query_id, entries[position].seq) for position, pause, query_id in keys],
        )


MIGRATIONS = (*MIGRATIONS, _key_existing_answers)

# 7: how many pauses (``Asked`` events) each journal holds, kept by every append: an
# answer's key needs it, and counting the journal's pauses on every answer cost a scan
# that grew with the session.
MIGRATIONS = (
    *MIGRATIONS,
    (
        "ALTER TABLE sessions ADD COLUMN asked INTEGER NOT NULL DEFAULT 0",
        "UPDATE sessions SET asked = "
        "(SELECT COUNT(*) FROM journal WHERE session_id = sessions.id AND kind = 'ask')",
    ),
)

# 8: fewer index pages written per journal append (each is a WAL frame at every commit,
# two commits per resume: 14.5 frames a resume became 11): ``journal_by_kind`` served only
# the pause count migration 7 replaced (reads by kind walk ``journal_by_session``), and
# ``sessions_by_status`` held ``updated_at``, which every append moves; it now holds the
# status alone (finished sessions are filtered by time on their rows).
MIGRATIONS = (
    *MIGRATIONS,
    (
        "DROP INDEX IF EXISTS journal_by_kind",
        "DROP INDEX IF EXISTS sessions_by_status",
        "CREATE INDEX sessions_by_status ON sessions (status)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


# --- pragmas ------------------------------------------------------------------------------

QUICK_CHECK = "PRAGMA quick_check"
GET_USER_VERSION = "PRAGMA user_version"


def set_user_version(version: int) -> str:
    # PRAGMA takes no parameters; ``version`` is an int we computed, never user input.
    return f"PRAGMA user_version = {int(version)}"


def set_synchronous(level: str) -> str:
    # ``level`` has been checked against the four names SQLite knows.
    return f"PRAGMA synchronous = {level}"


JOURNAL_MODE_WAL = "PRAGMA journal_mode = WAL"
OPTIMIZE = "PRAGMA optimize"

# The connection runs in autocommit mode (isolation_level=None) and the store opens
# its own transactions: IMMEDIATE takes the write lock before the first statement.
BEGIN = "BEGIN IMMEDIATE"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"
SAVEPOINT = "SAVEPOINT write"
ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO write"
RELEASE_SAVEPOINT = "RELEASE write"
FOREIGN_KEYS_ON = "PRAGMA foreign_keys = ON"


def set_busy_timeout(ms: int) -> str:
    return f"PRAGMA busy_timeout = {int(ms)}"


# --- sessions -----------------------------------------------------------------------------

NAME_TAKEN = "SELECT 1 FROM sessions WHERE name = ?"
ID_TAKEN = "SELECT 1 FROM sessions WHERE id = ?"

INSERT_SESSION = """
    INSERT INTO sessions (id, name, strategy, status, created_at, updated_at, task_preview, principal)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

# COALESCE keeps a counter when the caller passes None ("unchanged").
_SUMMARY = """
    UPDATE sessions SET
        status = ?,
        updated_at = ?,
        llm_calls = COALESCE(?, llm_calls),
        rounds = COALESCE(?, rounds),
        elapsed_ms = COALESCE(?, elapsed_ms),
        stats = COALESCE(?, stats)
"""
UPDATE_SESSION = _SUMMARY + "    WHERE id = ?\n"

# Run before a batch of journal inserts: proves the session exists (rowcount) and, for a
# fenced append (a lease token, else NULL), that this lease is still held, and records the
# activity, all in one statement of the same transaction.
_HOLDING = """
    WHERE id = ? AND (? IS NULL OR EXISTS (
        SELECT 1 FROM leases WHERE session_id = sessions.id AND token = ? AND owner IS NOT NULL
    ))
"""
# Both give the session's pause count after the batch (``asked``, see migration 7).
_COUNTS = "notes_count = notes_count + ?, asked = asked + ?"
TOUCH_FOR_APPEND = (
    f"UPDATE sessions SET updated_at = MAX(updated_at, ?), {_COUNTS}" + _HOLDING + "RETURNING asked"
)
# The same with the session row's summary (UPDATE_SESSION's values) set at once.
SUMMARY_FOR_APPEND = _SUMMARY + f"    , {_COUNTS}" + _HOLDING + "RETURNING asked"

DELETE_SESSION = "DELETE FROM sessions WHERE id = ?"

# Ids first, names second: an id always wins over a name that happens to look like it.
RESOLVE = """
    SELECT id FROM (
        SELECT id, 0 AS rank FROM sessions WHERE id = ?
        UNION ALL
        SELECT id, 1 AS rank FROM sessions WHERE name = ?
    ) ORDER BY rank LIMIT 1
"""

_SESSION_COLUMNS = """
    id, name, strategy, status, created_at, updated_at, task_preview,
    llm_calls, rounds, elapsed_ms, stats, notes_count, principal
"""

SELECT_SESSION = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?"


def list_sessions(status_count: int | None) -> str:
    """Newest first; ``status_count`` is the number of status parameters, or None for all."""
    where = "" if status_count is None else f"WHERE status IN ({_marks(status_count)})"
    return f"SELECT {_SESSION_COLUMNS} FROM sessions {where} ORDER BY created_at DESC, id DESC LIMIT ?"


def finished_older_than(finished_count: int) -> str:
    return f"""
        SELECT id FROM sessions
        WHERE status IN ({_marks(finished_count)}) AND updated_at < ?
        ORDER BY updated_at, id
    """


def finished_beyond(finished_count: int) -> str:
    """Finished sessions after the newest ``?`` of them (LIMIT -1 = no limit, SQLite idiom)."""
    return f"""
        SELECT id FROM sessions
        WHERE status IN ({_marks(finished_count)})
        ORDER BY updated_at DESC, id DESC
        LIMIT -1 OFFSET ?
    """


def stats_rows(finished_count: int, *, by_strategy: bool, since: bool) -> str:
    """``(strategy, stats)`` of finished sessions that have stats, optionally filtered."""
    where = [f"status IN ({_marks(finished_count)})", "stats IS NOT NULL"]
    if by_strategy:
        where.append("COALESCE(strategy, 'unknown') = ?")
    if since:
        where.append("updated_at >= ?")
    return f"SELECT strategy, stats FROM sessions WHERE {' AND '.join(where)} ORDER BY created_at, id"


# --- journal ------------------------------------------------------------------------------

SELECT_LEASE = "SELECT owner, pid, token, heartbeat FROM leases WHERE session_id = ?"
PUT_LEASE = """
    INSERT INTO leases (session_id, owner, pid, token, heartbeat) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (session_id) DO UPDATE SET
        owner = excluded.owner, pid = excluded.pid, token = excluded.token, heartbeat = excluded.heartbeat
"""
# A token is given out once per session, so it alone names the holder.
HOLDS_LEASE = "SELECT 1 FROM leases WHERE session_id = ? AND token = ? AND owner IS NOT NULL"
RENEW_LEASES = "UPDATE leases SET heartbeat = ? WHERE owner = ?"
RELEASE_LEASE = "UPDATE leases SET owner = NULL, heartbeat = 0 WHERE session_id = ? AND owner = ?"
RELEASE_LEASES = "UPDATE leases SET owner = NULL, heartbeat = 0 WHERE owner = ?"

INSERT_ANSWER = "INSERT INTO answers (session_id, pause, query_id, seq) VALUES (?, ?, ?, ?)"
INSERT_ENTRY = "INSERT INTO journal (session_id, kind, data, at) VALUES (?, ?, ?, ?)"
FIRST_SEQ = "SELECT MIN(seq) FROM journal WHERE session_id = ?"
DELETE_TAIL = "DELETE FROM journal WHERE session_id = ? AND seq >= ?"
# After a truncation: the counts the append keeps, taken again from what is left.
RECOUNT = """
    UPDATE sessions SET
        notes_count = (SELECT COUNT(*) FROM journal WHERE journal.session_id = sessions.id AND kind = 'note'),
        asked = (SELECT COUNT(*) FROM journal WHERE journal.session_id = sessions.id AND kind = 'ask')
    WHERE id = ?
"""


def select_entries(kind_count: int | None, *, limited: bool) -> str:
    """Entries after a seq, in seq order; parameters: session_id, after_seq, kinds…, [limit]."""
    kinds = "" if kind_count is None else f"AND kind IN ({_marks(kind_count)})"
    limit = "LIMIT ?" if limited else ""
    return f"""
        SELECT seq, kind, data, at FROM journal
        WHERE session_id = ? AND seq > ? {kinds}
        ORDER BY seq {limit}
    """


def count_entries(kind_count: int | None) -> str:
    kinds = "" if kind_count is None else f"AND kind IN ({_marks(kind_count)})"
    return f"SELECT COUNT(*) FROM journal WHERE session_id = ? {kinds}"


# --- metadata -----------------------------------------------------------------------------

UPSERT_METADATA = """
    INSERT INTO metadata (session_id, key, value) VALUES (?, ?, ?)
    ON CONFLICT (session_id, key) DO UPDATE SET value = excluded.value
"""
SELECT_METADATA = "SELECT key, value FROM metadata WHERE session_id = ? ORDER BY key"


# --- alc.state -----------------------------------------------------------------------------

STATE_GET = "SELECT value FROM state WHERE ns = ? AND key = ?"
STATE_PUT = """
    INSERT INTO state (ns, key, value) VALUES (?, ?, ?)
    ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value
"""
STATE_PUT_NEW = "INSERT INTO state (ns, key, value) VALUES (?, ?, ?) ON CONFLICT (ns, key) DO NOTHING"
STATE_KEYS = "SELECT key FROM state WHERE ns = ? ORDER BY key"
STATE_DELETE = "DELETE FROM state WHERE ns = ? AND key = ?"
