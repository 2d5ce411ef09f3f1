"""An answer is accepted once per (session, pause, query), on both backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alc_mcp.domain.journal import Answered, Asked, Noted
from alc_mcp.domain.query import LlmQuery
from alc_mcp.engine.storage import AnswerTaken
from alc_mcp.store.sqlite import SqliteStore
from tests.store.conftest import AnyStore, started


def test_a_second_answer_to_the_same_query_is_refused_and_writes_nothing(store: AnyStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    store.sessions.append("s-1", [(2, Asked((LlmQuery("q-0", "p"), LlmQuery("q-1", "p2"))))])
    store.sessions.append("s-1", [(3, Answered("q-0", "first"))])

    with pytest.raises(AnswerTaken) as refused:
        store.sessions.append("s-1", [(4, Noted("lost with it")), (4, Answered("q-0", "second"))])

    assert str(refused.value) == (
        "query q-0 of session 's-1' was already answered (by another call, on this or another "
        "alc-mcp worker); call alc_status to see what the session waits for now"
    )
    assert [e.event for e in store.sessions.journal("s-1", kinds={"answer", "note"})] == [
        Answered("q-0", "first")
    ]
    store.sessions.append("s-1", [(5, Answered("q-1", "other query"))])


def test_the_same_query_id_in_the_next_pause_is_a_new_query(store: AnyStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    store.sessions.append("s-1", [(2, Asked((LlmQuery("q-0", "p"),))), (3, Answered("q-0", "a"))])
    store.sessions.append("s-1", [(4, Asked((LlmQuery("q-0", "p"),))), (5, Answered("q-0", "b"))])

    with pytest.raises(AnswerTaken):
        store.sessions.append("s-1", [(6, Answered("q-0", "c"))])
    assert [e.event.response for e in store.sessions.journal("s-1", kinds={"answer"})] == ["a", "b"]  # type: ignore[union-attr]


def test_a_rewind_frees_the_answers_it_removes(store: AnyStore) -> None:
    store.sessions.create_session("s-1", started(), 1)
    store.sessions.append("s-1", [(2, Asked((LlmQuery("q-0", "p"),)))])
    (seq,) = store.sessions.append("s-1", [(3, Answered("q-0", "a"))])

    store.sessions.truncate_from("s-1", seq)
    store.sessions.append("s-1", [(4, Answered("q-0", "again"))])

    assert [e.event.response for e in store.sessions.journal("s-1", kinds={"answer"})] == ["again"]  # type: ignore[union-attr]


def test_an_older_sqlite_file_gets_keys_for_the_answers_it_holds(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.sessions.create_session("s-1", started(), 1)
        store.sessions.append("s-1", [(2, Asked((LlmQuery("q-0", "p"),))), (3, Answered("q-0", "a"))])
    with sqlite3.connect(db_path) as conn:  # as the file was before answers had keys (schema 5)
        conn.execute("DROP TABLE answers")
        conn.execute("ALTER TABLE sessions DROP COLUMN asked")
        conn.execute("PRAGMA user_version = 5")
    conn.close()

    with SqliteStore(db_path) as store:
        with pytest.raises(AnswerTaken):
            store.sessions.append("s-1", [(4, Answered("q-0", "again"))])
        assert [e.event for e in store.sessions.journal("s-1", kinds={"answer"})] == [Answered("q-0", "a")]


def test_answers_are_keyed_by_their_pause_after_a_rewind_removes_pauses(store: AnyStore) -> None:
    """The pause count the appends keep is taken again when a rewind removes pauses."""
    store.sessions.create_session("s-1", started(), 1)
    store.sessions.append("s-1", [(2, Asked((LlmQuery("q-0", "p"),))), (3, Answered("q-0", "a"))])
    second, _ = store.sessions.append("s-1", [(4, Asked((LlmQuery("q-0", "p"),))), (5, Answered("q-0", "b"))])

    store.sessions.truncate_from("s-1", second)  # back to one pause, answered
    with pytest.raises(AnswerTaken):
        store.sessions.append("s-1", [(6, Answered("q-0", "again"))])
    store.sessions.append("s-1", [(7, Asked((LlmQuery("q-0", "p"),)))])
    store.sessions.append("s-1", [(8, Answered("q-0", "c"))])

    assert [e.event.response for e in store.sessions.journal("s-1", kinds={"answer"})] == ["a", "c"]  # type: ignore[union-attr]


def test_an_sqlite_file_from_before_pause_counts_counts_the_pauses_it_holds(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.sessions.create_session("s-1", started(), 1)
        store.sessions.append("s-1", [(2, Asked((LlmQuery("q-0", "p"),))), (3, Answered("q-0", "a"))])
        store.sessions.append("s-1", [(4, Asked((LlmQuery("q-0", "p"),)))])
    with sqlite3.connect(db_path) as conn:  # as the file was before the count (schema 6)
        conn.execute("ALTER TABLE sessions DROP COLUMN asked")
        conn.execute("PRAGMA user_version = 6")
    conn.close()

    with SqliteStore(db_path) as store:
        store.sessions.append("s-1", [(5, Answered("q-0", "b"))])  # the second pause's, not the first's
        with pytest.raises(AnswerTaken):
            store.sessions.append("s-1", [(6, Answered("q-0", "again"))])
        assert [e.event.response for e in store.sessions.journal("s-1", kinds={"answer"})] == ["a", "b"]  # type: ignore[union-attr]
