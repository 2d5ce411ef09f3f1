"""Retention deletes old or excess *finished* sessions and never a paused or running one."""

from __future__ import annotations

import pytest

from alc_mcp.store.sqlite import SqliteStore
from tests.store.conftest import started

DAY = 86_400_000
NOW = 100 * DAY


def _session(store: SqliteStore, session_id: str, status: str, updated_days_ago: float) -> None:
    at = NOW - round(updated_days_ago * DAY)
    store.sessions.create_session(session_id, started(), at)
    store.sessions.update_session(session_id, status=status, updated_at=at)


@pytest.fixture
def populated(store: SqliteStore) -> SqliteStore:
    _session(store, "old-completed", "completed", 40)
    _session(store, "old-failed", "failed", 31)
    _session(store, "old-cancelled", "cancelled", 30.5)
    _session(store, "old-paused", "paused", 90)
    _session(store, "old-running", "running", 90)
    _session(store, "new-completed", "completed", 1)
    _session(store, "newer-failed", "failed", 0.5)
    _session(store, "new-paused", "paused", 0)
    return store


def _ids(store: SqliteStore) -> set[str]:
    return {row.id for row in store.sessions.list_sessions(limit=1_000)}


def test_by_age(populated: SqliteStore) -> None:
    deleted = populated.history.apply_retention(now_ms=NOW, max_age_days=30, max_finished=None)

    assert sorted(deleted) == ["old-cancelled", "old-completed", "old-failed"]
    assert _ids(populated) == {"old-paused", "old-running", "new-completed", "newer-failed", "new-paused"}
    assert populated.sessions.journal("old-completed") == []


def test_by_count_keeps_the_newest_finished(populated: SqliteStore) -> None:
    deleted = populated.history.apply_retention(now_ms=NOW, max_age_days=None, max_finished=2)

    assert sorted(deleted) == ["old-cancelled", "old-completed", "old-failed"]
    assert {"newer-failed", "new-completed", "old-paused", "old-running", "new-paused"} == _ids(populated)


def test_by_count_zero_keeps_only_unfinished(populated: SqliteStore) -> None:
    populated.history.apply_retention(now_ms=NOW, max_age_days=None, max_finished=0)

    assert _ids(populated) == {"old-paused", "old-running", "new-paused"}


def test_age_and_count_together(populated: SqliteStore) -> None:
    deleted = populated.history.apply_retention(now_ms=NOW, max_age_days=31.0 + 1 / 24, max_finished=1)

    assert sorted(deleted) == ["new-completed", "old-cancelled", "old-completed", "old-failed"]
    assert _ids(populated) == {"newer-failed", "old-paused", "old-running", "new-paused"}


def test_nothing_configured_deletes_nothing(populated: SqliteStore) -> None:
    assert populated.history.apply_retention(now_ms=NOW, max_age_days=None, max_finished=None) == []
    assert populated.history.apply_retention(now_ms=NOW, max_age_days=365, max_finished=100) == []
    assert len(_ids(populated)) == 8
    with pytest.raises(ValueError, match="max_finished"):
        populated.history.apply_retention(now_ms=NOW, max_age_days=None, max_finished=-1)
