"""Session rows: names, lookup, updates, listing, deletion and metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from alc_mcp.domain.journal import Logged, Noted
from alc_mcp.domain.records import SessionRow
from alc_mcp.store.names import ADJECTIVES, NOUNS
from alc_mcp.store.sqlite import SqliteStore, UnknownSession
from tests.store.conftest import started


def test_create_session_row(store: SqliteStore) -> None:
    name = store.sessions.create_session("s-1", started("cot"), 1_000, task_preview="Summarise the doc")

    row = store.sessions.get_session("s-1")

    assert row == SessionRow(
        id="s-1",
        name=name,
        strategy="cot",
        status="running",
        created_at=1_000,
        updated_at=1_000,
        task_preview="Summarise the doc",
        llm_calls=0,
        rounds=0,
        elapsed_ms=None,
        stats=None,
        notes_count=0,
    )
    assert row.summary_json() == {
        "id": "s-1",
        "name": name,
        "strategy": "cot",
        "status": "running",
        "created_at": 1_000,
        "updated_at": 1_000,
        "llm_calls": 0,
        "rounds": 0,
        "elapsed_ms": None,
        "task_preview": "Summarise the doc",
        "notes_count": 0,
    }
    assert store.sessions.get_session("s-nope") is None


def test_duplicate_id_is_refused(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    with pytest.raises(ValueError, match="already exists"):
        store.sessions.create_session("s-1", started(), 2)
    assert store.sessions.count_entries("s-1") == 1


def test_names_are_unique_and_resolve(store: SqliteStore) -> None:
    names = [store.sessions.create_session(f"s-{i}", started(), i) for i in range(300)]

    assert len(set(names)) == 300
    for i, name in enumerate(names):
        adjective, noun = name.split("-")
        assert adjective in ADJECTIVES and noun in NOUNS
        assert store.sessions.resolve(name) == f"s-{i}"
        assert store.sessions.resolve(f"s-{i}") == f"s-{i}"
    assert store.sessions.resolve("unknown-thing") is None
    assert store.sessions.resolve("") is None


def test_name_collisions_are_retried(db_path: Path) -> None:
    def fixed() -> Iterator[str]:
        yield from ["amber-falcon", "amber-falcon", "amber-falcon", "calm-otter"]
        while True:
            yield "amber-falcon"

    source = fixed()
    with SqliteStore(db_path, names=lambda: next(source)) as store:
        assert store.sessions.create_session("s-1", started(), 1) == "amber-falcon"
        assert store.sessions.create_session("s-2", started(), 2) == "calm-otter"
        # Once every plain try collides, a numeric suffix guarantees progress.
        third = store.sessions.create_session("s-3", started(), 3)
        assert re.fullmatch(r"amber-falcon-\d+", third)
        assert store.sessions.resolve(third) == "s-3"


def test_update_session_sets_given_fields_only(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    store.sessions.update_session("s-1", status="paused", updated_at=5, llm_calls=2, rounds=1)
    store.sessions.update_session("s-1", status="running", updated_at=6)
    stats = {"auto": {"llm_calls": 3, "prompt_tokens": {"tokens": 9, "source": "estimated"}}, "custom": {}}
    store.sessions.update_session(
        "s-1", status="completed", updated_at=9, llm_calls=3, elapsed_ms=8, stats=stats
    )

    row = store.sessions.get_session("s-1")

    assert row is not None
    assert (row.status, row.updated_at, row.elapsed_ms) == ("completed", 9, 8)
    assert (row.llm_calls, row.rounds) == (3, 1)  # rounds kept from the earlier update
    assert row.stats == stats
    with pytest.raises(ValueError, match="status"):
        store.sessions.update_session("s-1", status="done", updated_at=10)
    with pytest.raises(UnknownSession):
        store.sessions.update_session("s-x", status="paused", updated_at=10)


def test_append_bumps_updated_at_and_notes_count(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 100)
    store.sessions.append("s-1", [(150, Noted("one")), (140, Logged("info", "t", "x")), (160, Noted("two"))])
    store.sessions.append("s-1", [(120, Logged("info", "t", "late clock"))])

    row = store.sessions.get_session("s-1")

    assert row is not None and (row.updated_at, row.notes_count) == (160, 2)


def test_delete_session_removes_row_journal_and_metadata(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.sessions.create_session("s-1", started(), 1)
        store.sessions.create_session("s-2", started(), 1)
        store.sessions.append("s-1", [(2, Noted("x"))])
        store.sessions.set_metadata("s-1", {"k": "v"})
        store.sessions.set_metadata("s-2", {"k": "w"})

        assert store.sessions.delete_session("s-1") is True
        assert store.sessions.delete_session("s-1") is False

        assert store.sessions.get_session("s-1") is None
        assert store.sessions.journal("s-1") == []
        assert store.sessions.get_metadata("s-1") == {}
        assert store.sessions.get_metadata("s-2") == {"k": "w"}
    with SqliteStore(db_path) as store:  # cascades really deleted rows on disk
        assert store.sessions.count_entries("s-1") == 0


def test_metadata_merges(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    store.sessions.create_session("s-2", started(), 1)
    store.sessions.set_metadata("s-1", {"title": "first", "owner": "ana", "empty": None})
    store.sessions.set_metadata("s-1", {"title": "second", "extra": "x"})
    store.sessions.set_metadata("s-2", {"title": "other"})
    store.sessions.set_metadata("s-1", {})

    assert store.sessions.get_metadata("s-1") == {
        "title": "second",
        "owner": "ana",
        "empty": None,
        "extra": "x",
    }
    assert store.sessions.get_metadata("s-2") == {"title": "other"}
    assert store.sessions.get_metadata("s-x") == {}
    with pytest.raises(UnknownSession):
        store.sessions.set_metadata("s-x", {"a": "b"})
    with pytest.raises(TypeError, match="metadata"):
        store.sessions.set_metadata("s-1", {"n": 3})  # type: ignore[dict-item]


def test_list_sessions_newest_first_with_limit_and_status(store: SqliteStore) -> None:
    for i, status in enumerate(["running", "paused", "completed", "failed", "paused", "cancelled"]):
        store.sessions.create_session(f"s-{i}", started(), 1_000 + i)
        store.sessions.update_session(f"s-{i}", status=status, updated_at=2_000 - i)
    store.sessions.create_session("s-6b", started(), 1_005)  # same created_at as s-5: id breaks the tie
    store.sessions.create_session("s-6a", started(), 1_005)

    assert [r.id for r in store.sessions.list_sessions()] == [
        "s-6b",
        "s-6a",
        "s-5",
        "s-4",
        "s-3",
        "s-2",
        "s-1",
        "s-0",
    ]
    assert [r.id for r in store.sessions.list_sessions(limit=3)] == ["s-6b", "s-6a", "s-5"]
    assert [r.id for r in store.sessions.list_sessions(statuses={"paused"})] == ["s-4", "s-1"]
    assert [r.id for r in store.sessions.list_sessions(limit=1, statuses=["paused", "failed"])] == ["s-4"]
    assert store.sessions.list_sessions(statuses=()) == []
    assert store.sessions.list_sessions(limit=0) == []
