"""Opening the file: reopen, migration, and the refusals that turn durability off."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alc_mcp.domain.journal import Noted
from alc_mcp.store.sqlite import SqliteStore, StoreUnavailable, sql
from tests.store.conftest import started


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_reopen_keeps_everything(db_path: Path) -> None:
    store = SqliteStore(db_path)
    name = store.sessions.create_session("s-1", started("cot"), 10, task_preview="t")
    seqs = store.sessions.append("s-1", [(11, Noted("n"))])
    store.sessions.set_metadata("s-1", {"k": "v"})
    store.sessions.update_session("s-1", status="paused", updated_at=12, llm_calls=1)
    before = (store.sessions.get_session("s-1"), store.sessions.journal("s-1"))
    store.close()

    reopened = SqliteStore(db_path)
    try:
        assert (reopened.sessions.get_session("s-1"), reopened.sessions.journal("s-1")) == before
        assert reopened.sessions.get_metadata("s-1") == {"k": "v"}
        assert reopened.sessions.resolve(name) == "s-1"
        assert reopened.sessions.append("s-1", [(13, Noted("m"))])[0] > seqs[0]
    finally:
        reopened.close()


def test_new_file_is_wal_and_migrated(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        assert store.SCHEMA_VERSION == sql.SCHEMA_VERSION >= 1
        assert store.path == db_path
    assert _user_version(db_path) == sql.SCHEMA_VERSION
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_empty_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with SqliteStore(path) as store:
        store.sessions.create_session("s-1", started(), 1)
    assert _user_version(path) == sql.SCHEMA_VERSION


def test_garbage_file_is_not_a_usable_database(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"definitely not SQLite " * 300)
    with pytest.raises(StoreUnavailable) as caught:
        SqliteStore(path)
    message = str(caught.value)
    assert str(path) in message
    assert "not a usable database" in message


def test_damaged_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SqliteStore(path) as store:
        for i in range(200):
            store.sessions.create_session(f"s-{i}", started(source="x" * 500), i)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 3 * page] = b"\xa5" * page  # a b-tree page turned to noise, header intact
    path.write_bytes(bytes(data))
    with pytest.raises(StoreUnavailable, match="not a usable database") as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value)


def test_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("I am a file")
    for path in (blocker / "store.db", blocker / "deeper" / "store.db"):
        with pytest.raises(StoreUnavailable) as caught:
            SqliteStore(path)
        assert str(path) in str(caught.value)
        assert str(blocker) in str(caught.value)


def test_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="directory"):
        SqliteStore(tmp_path)


def test_newer_schema_is_refused(db_path: Path) -> None:
    SqliteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {sql.SCHEMA_VERSION + 5}")
    conn.close()

    with pytest.raises(StoreUnavailable) as caught:
        SqliteStore(db_path)

    message = str(caught.value)
    assert f"schema version {sql.SCHEMA_VERSION + 5}" in message
    assert str(db_path) in message
    assert _user_version(db_path) == sql.SCHEMA_VERSION + 5  # left untouched


def test_closed_store_is_unavailable(db_path: Path) -> None:
    store = SqliteStore(db_path)
    store.close()
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.sessions.get_session("s-1")
    with pytest.raises(StoreUnavailable, match="closed"):
        store.sessions.create_session("s-1", started(), 1)


def test_synchronous_levels(tmp_path: Path) -> None:
    for level in ("normal", "FULL", "extra", "OFF"):
        with SqliteStore(tmp_path / f"{level}.db", synchronous=level) as store:
            assert store.synchronous == level.upper()
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(tmp_path / "x.db", synchronous="SOMETIMES")
