"""Journal round trip, seq order, filters, paging and truncation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alc_mcp.domain.journal import (
    Answered,
    Asked,
    Finished,
    JournalError,
    JournalEvent,
    Logged,
    Noted,
    Observed,
    ObservedBatch,
    ProgressSet,
    StatRecorded,
    VarChanged,
    VarRemoved,
    fold,
)
from alc_mcp.domain.program import Program
from alc_mcp.domain.query import LlmQuery, TokenUsage
from alc_mcp.store.sqlite import SqliteStore, UnknownSession
from tests.store.conftest import started

START = Program(
    source="local r = alc.llm('hi')\nreturn r",
    chunkname="=alc_run",
    ctx={"task": "ünïcode ✓", "nested": {"list": [1, 2.5, None, True], "empty": {}}},
    strategy="cot",
)

# One of every event type, with optional fields both set and left out.
EVENTS: list[JournalEvent] = [
    Observed("seed", None, 123456789),
    Observed("state", "counter", {"n": [1, 2, 3]}),
    ObservedBatch((Observed("clock", None, 0.25), Observed("state.get", "ns\x00k", {"v": None}))),
    Asked(
        (
            LlmQuery("q-0", "first prompt"),
            LlmQuery("q-1", "second", system="be brief", max_tokens=64, grounded=True, underspecified=True),
        )
    ),
    Answered("q-0", '{"verdict": "yes"}'),
    Answered("q-1", "two", TokenUsage(prompt_tokens=11, completion_tokens=None)),
    Asked((LlmQuery("q-1", "third"),)),  # query ids repeat from one pause to the next
    Answered("q-1", "again", TokenUsage(3, 4)),
    Logged("info", "lua", "a log line"),
    ProgressSet(2, 5, None),
    ProgressSet(3, 5, "three of five"),
    StatRecorded("score", 0.75),
    StatRecorded("labels", ["a", "b"]),
    Noted("a note"),
    Noted("with title", title="Title"),
    VarChanged(
        {
            "id": "var_rounds_1",
            "name": "rounds",
            "type": "integer",
            "value": 3,
            "constraints": {"min": 1, "max": 10},
            "description": "how many",
            "metadata": {"source": "host", "reason": "more"},
            "version": 1,
            "created_at": 1,
            "updated_at": 2,
        }
    ),
    VarRemoved("var_rounds_1"),
    Finished("completed", result={"answer": 42}, stats={"auto": {"llm_calls": 2}, "custom": {}}),
    Finished("failed", error="boom"),
    Finished("cancelled"),
]


def test_every_event_type_round_trips(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", START, 1_000)
    seqs = store.sessions.append("s-1", [(1_001 + i, event) for i, event in enumerate(EVENTS)])

    entries = store.sessions.journal("s-1")

    assert [e.event for e in entries] == [START, *EVENTS]
    assert [e.at for e in entries] == [1_000] + [1_001 + i for i in range(len(EVENTS))]
    assert [e.seq for e in entries[1:]] == seqs
    assert {type(e) for e in EVENTS} | {Program} == set(JournalEvent.__args__)  # type: ignore[attr-defined]


def test_seqs_increase_within_and_across_sessions(store: SqliteStore) -> None:
    store.sessions.create_session("s-a", started(), 1)
    store.sessions.create_session("s-b", started(), 2)
    a1 = store.sessions.append("s-a", [(3, Logged("info", "t", "a1")), (3, Logged("info", "t", "a2"))])
    b1 = store.sessions.append("s-b", [(4, Logged("info", "t", "b1"))])
    a2 = store.sessions.append("s-a", [(5, Logged("info", "t", "a3"))])

    assert a1[0] < a1[1] < b1[0] < a2[0]
    assert [e.event.message for e in store.sessions.journal("s-a")[1:]] == ["a1", "a2", "a3"]  # type: ignore[union-attr]
    assert store.sessions.append("s-a", []) == []


def test_append_to_unknown_session_writes_nothing(store: SqliteStore) -> None:
    with pytest.raises(UnknownSession, match="s-missing"):
        store.sessions.append("s-missing", [(1, Logged("info", "t", "x"))])
    assert store.sessions.journal("s-missing") == []


def test_append_is_all_or_nothing(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    with pytest.raises(TypeError, match="cannot store"):
        store.sessions.append("s-1", [(2, Logged("info", "t", "ok")), (3, Observed("x", None, object()))])
    assert store.sessions.count_entries("s-1") == 1


def test_kinds_filter_limit_and_cursor(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    events: list[tuple[int, JournalEvent]] = []
    for i in range(10):
        events.append((10 + i, Asked((LlmQuery("q-0", f"p{i}"),))))
        events.append((10 + i, Answered("q-0", f"r{i}")))
    store.sessions.append("s-1", events)

    answers = store.sessions.journal("s-1", kinds={"answer"})
    assert [e.event.response for e in answers] == [f"r{i}" for i in range(10)]  # type: ignore[union-attr]
    assert store.sessions.count_entries("s-1") == 21
    assert store.sessions.count_entries("s-1", kinds={"answer", "start"}) == 11
    assert store.sessions.count_entries("s-1", kinds=()) == 0
    assert store.sessions.journal("s-1", kinds=[]) == []

    pages, cursor = [], 0
    while page := store.sessions.journal("s-1", after_seq=cursor, limit=4, kinds=("answer",)):
        pages.append([e.event.response for e in page])  # type: ignore[union-attr]
        cursor = page[-1].seq
    assert pages == [["r0", "r1", "r2", "r3"], ["r4", "r5", "r6", "r7"], ["r8", "r9"]]


def test_truncate_from_removes_exactly_the_tail(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    store.sessions.create_session("s-2", started(), 1)
    seqs = store.sessions.append("s-1", [(2 + i, Noted(f"n{i}")) for i in range(6)])
    other = store.sessions.append("s-2", [(9, Noted("keep"))])

    assert store.sessions.truncate_from("s-1", seqs[3]) == 3

    assert [e.seq for e in store.sessions.journal("s-1")[1:]] == seqs[:3]
    assert [e.seq for e in store.sessions.journal("s-2")[1:]] == other
    row = store.sessions.get_session("s-1")
    assert row is not None and row.notes_count == 3
    assert store.sessions.truncate_from("s-1", seqs[3]) == 0
    # Seqs are never reused, so a cursor taken before the rewind cannot alias new entries.
    assert store.sessions.append("s-1", [(20, Noted("new"))])[0] > other[0] > seqs[-1]


def test_truncate_from_refuses_to_remove_the_start(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    first = store.sessions.journal("s-1")[0].seq
    with pytest.raises(ValueError, match="start event"):
        store.sessions.truncate_from("s-1", first)
    assert store.sessions.count_entries("s-1") == 1
    assert store.sessions.truncate_from("s-unknown", 1) == 0


def test_journal_folds_back_into_a_history(store: SqliteStore) -> None:
    store.sessions.create_session("s-1", started("cot"), 100)
    store.sessions.append("s-1", [(110, Asked((LlmQuery("q-0", "p"),)))])
    store.sessions.append("s-1", [(130, Answered("q-0", "r")), (140, Finished("completed", result="r"))])

    history = fold(store.sessions.journal("s-1"))

    assert history.finished == Finished("completed", result="r")
    assert [a.response for a in history.answered] == ["r"]
    assert history.metrics.llm_calls == 1


def test_unreadable_entry_raises_journal_error(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.sessions.create_session("s-1", started(), 1)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE journal SET kind = 'mystery'")
    conn.close()
    with SqliteStore(db_path) as store, pytest.raises(JournalError, match="mystery"):
        store.sessions.journal("s-1")
