"""Fixtures for store tests: a real SQLite file per test, no mocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alc_mcp.domain.program import Program
from alc_mcp.store.sqlite import SqliteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "store.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(db_path)
    yield opened
    opened.close()


def started(strategy: str | None = None, source: str = "return alc.llm('hi')") -> Program:
    return Program(source=source, chunkname="=alc_run", ctx={"task": "demo"}, strategy=strategy)
