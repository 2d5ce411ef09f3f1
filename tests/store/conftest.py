"""Fixtures for store tests: a real SQLite file or a real PostgreSQL database per test,
no mocks. ``store`` runs a test on both backends; ``sqlite_store`` on SQLite alone, for
what only it has (metadata, the file itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alc_mcp.domain.program import Program
from alc_mcp.store.postgres import PostgresStore
from alc_mcp.store.sqlite import SqliteStore

AnyStore = SqliteStore | PostgresStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "store.db"


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(db_path)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, db_path: Path) -> Iterator[AnyStore]:
    opened: AnyStore
    if request.param == "sqlite":
        opened = SqliteStore(db_path)
    else:
        opened = PostgresStore(request.getfixturevalue("pg_url"))
    yield opened
    opened.close()


def started(strategy: str | None = None, source: str = "return alc.llm('hi')") -> Program:
    return Program(source=source, chunkname="=alc_run", ctx={"task": "demo"}, strategy=strategy)
