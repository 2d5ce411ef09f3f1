"""Session leases: one process drives a live session; journal appends are fenced."""

from __future__ import annotations

from pathlib import Path

import pytest

from alc_mcp.domain.journal import Noted
from alc_mcp.engine.storage import LeaseHeld
from alc_mcp.store.sqlite import SqliteStore, UnknownSession
from tests.store.conftest import started

TTL = 1_000


def test_a_live_lease_is_refused_to_another_owner(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 100)
    store.sessions.take_lease("s-1", "a", 11, 1_000, TTL)

    with pytest.raises(LeaseHeld) as refused:
        store.sessions.take_lease("s-1", "b", 22, 1_500, TTL)

    assert refused.value.pid == 11 and refused.value.owner == "a"
    assert "is live in another alc-mcp process (pid 11)" in str(refused.value)


def test_a_lease_whose_heartbeat_stopped_expires(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 100)
    first = store.sessions.take_lease("s-1", "a", 11, 1_000, TTL)
    store.sessions.renew_leases("a", 1_800)
    with pytest.raises(LeaseHeld):
        store.sessions.take_lease("s-1", "b", 22, 2_500, TTL)

    second = store.sessions.take_lease("s-1", "b", 22, 2_900, TTL)

    assert second > first


def test_a_dead_owner_is_overridden_only_while_it_holds_the_lease(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 100)
    store.sessions.take_lease("s-1", "a", 11, 1_000, TTL)

    store.sessions.take_lease("s-1", "b", 22, 1_100, TTL, dead="a")
    with pytest.raises(LeaseHeld):  # a second taker that also saw "a" die loses the race
        store.sessions.take_lease("s-1", "c", 33, 1_100, TTL, dead="a")


def test_appends_are_fenced_by_the_token(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 100)
    old = store.sessions.take_lease("s-1", "a", 11, 1_000, TTL)
    store.sessions.append("s-1", [(1_000, Noted("a's"))], lease=old)
    new = store.sessions.take_lease("s-1", "b", 22, 5_000, TTL)  # a's heartbeat stopped

    with pytest.raises(LeaseHeld) as refused:
        store.sessions.append("s-1", [(5_001, Noted("late write from a"))], lease=old)
    store.sessions.append("s-1", [(5_002, Noted("b's"))], lease=new)
    store.sessions.append("s-1", [(5_003, Noted("unfenced"))])

    assert refused.value.pid == 22
    notes = [e.event.content for e in store.sessions.journal("s-1") if isinstance(e.event, Noted)]
    assert notes == ["a's", "b's", "unfenced"]


def test_a_released_lease_can_be_taken_at_once_and_fences_its_old_token(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 100)
    store.sessions.create_session("s-2", started(), 100)
    token = store.sessions.take_lease("s-1", "a", 11, 1_000, TTL)
    store.sessions.take_lease("s-2", "a", 11, 1_000, TTL)
    store.sessions.release_lease("s-1", "a")
    store.sessions.release_lease("s-1", "b")  # not b's: nothing happens

    with pytest.raises(LeaseHeld):
        store.sessions.append("s-1", [(1_001, Noted("x"))], lease=token)
    store.sessions.take_lease("s-1", "b", 22, 1_001, TTL)
    with pytest.raises(LeaseHeld):
        store.sessions.take_lease("s-2", "b", 22, 1_001, TTL)
    store.sessions.release_leases("a")
    store.sessions.take_lease("s-2", "b", 22, 1_002, TTL)


def test_unknown_sessions_have_no_lease(store: SqliteStore) -> None:
    with pytest.raises(UnknownSession):
        store.sessions.take_lease("s-none", "a", 11, 1_000, TTL)


def test_deleting_a_session_drops_its_lease(db_path: Path) -> None:
    store = SqliteStore(db_path)
    try:
        store.sessions.create_session("s-1", started(), 100)
        store.sessions.take_lease("s-1", "a", 11, 1_000, TTL)
        assert store.sessions.delete_session("s-1")
        store.sessions.create_session("s-1", started(), 200)
        store.sessions.take_lease("s-1", "b", 22, 1_001, TTL)
    finally:
        store.close()
