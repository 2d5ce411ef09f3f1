"""Every store implements its engine contract completely, with the contract's parameters.

mypy checks the types (``[tool.mypy]`` overrides for ``alc_mcp.store.*``); this is the
runtime half: a method the implementation forgot would otherwise be the protocol's
``...`` body, inherited silently, and a renamed or re-defaulted parameter would break
callers that pass it by keyword.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from alc_mcp.engine.storage import HandOver, HistoryStore, SessionStore, SharedStore, Storage
from alc_mcp.store.memory import MemoryShared
from alc_mcp.store.postgres.handover import PgHandOver
from alc_mcp.store.postgres.history import PgHistory
from alc_mcp.store.postgres.sessions import PgSessions
from alc_mcp.store.postgres.shared import PgShared
from alc_mcp.store.sqlite import SqliteStore
from alc_mcp.store.sqlite.history import SqliteHistory
from alc_mcp.store.sqlite.sessions import SqliteSessions
from alc_mcp.store.sqlite.shared import SqliteShared

IMPLEMENTATIONS = [
    (SessionStore, SqliteSessions),
    (HistoryStore, SqliteHistory),
    (SharedStore, SqliteShared),
    (SharedStore, MemoryShared),
    (SessionStore, PgSessions),
    (HistoryStore, PgHistory),
    (SharedStore, PgShared),
    (HandOver, PgHandOver),
]


def _contract_methods(protocol: type) -> list[str]:
    return sorted(
        name
        for name, member in vars(protocol).items()
        if inspect.isfunction(member) and not name.startswith("_")
    )


@pytest.mark.parametrize(
    ("protocol", "implementation"), IMPLEMENTATIONS, ids=lambda cls: getattr(cls, "__name__", "")
)
def test_implementation_defines_every_method_with_the_same_signature(
    protocol: type, implementation: type
) -> None:
    methods = _contract_methods(protocol)
    assert methods, f"{protocol.__name__} declares no methods"
    for name in methods:
        own = getattr(implementation, name)
        assert own is not getattr(protocol, name), f"{implementation.__name__} lacks {name}"
        assert inspect.signature(own) == inspect.signature(getattr(protocol, name)), name


def test_sqlite_store_holds_the_three_stores(tmp_path: Path) -> None:
    members = sorted(name for name, member in vars(Storage).items() if isinstance(member, property))
    assert members == ["history", "sessions", "shared"]
    with SqliteStore(tmp_path / "store.db") as store:
        assert isinstance(store.sessions, SqliteSessions)
        assert isinstance(store.history, SqliteHistory)
        assert isinstance(store.shared, SqliteShared)


def test_postgres_store_holds_the_three_stores_and_a_hand_over(pg_url: str) -> None:
    from alc_mcp.store.postgres import PostgresStore

    with PostgresStore(pg_url) as store:
        assert isinstance(store.sessions, PgSessions)
        assert isinstance(store.history, PgHistory)
        assert isinstance(store.shared, PgShared)
        assert isinstance(store.handover, PgHandOver)
