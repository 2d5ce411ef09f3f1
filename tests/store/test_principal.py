"""Who started a session is part of its row (migration 5): written once, read back by
every lookup, kept across a reopen; a database from before the migration keeps its
sessions, owned by nobody (as stdio always saw them)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alc_mcp.store.sqlite import SqliteStore, sql
from tests.store.conftest import started


def test_the_principal_is_kept_and_listed(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.sessions.create_session("s-a", started(), 1, principal="alice")
        store.sessions.create_session("s-n", started(), 2)
    with SqliteStore(db_path) as reopened:
        row = reopened.sessions.get_session("s-a")
        assert row is not None and row.principal == "alice"
        listed = {r.id: r.principal for r in reopened.sessions.list_sessions(statuses=("running",))}
        assert listed == {"s-a": "alice", "s-n": None}


def test_a_database_from_before_principals_migrates_with_its_sessions(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    for step in sql.MIGRATIONS[:4]:
        assert not callable(step)
        for statement in step:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO sessions (id, name, strategy, status, created_at, updated_at) "
        "VALUES ('s-old', 'old-name', NULL, 'paused', 1, 1)"
    )
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    with SqliteStore(db_path) as store:
        row = store.sessions.get_session("s-old")
        assert row is not None and row.name == "old-name" and row.principal is None
    check = sqlite3.connect(db_path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == sql.SCHEMA_VERSION
    check.close()
