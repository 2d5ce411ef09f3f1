"""``group``: many writes in one transaction, each in a savepoint (both backends), and
the journal writer that forms the batches."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from alc_mcp.domain.journal import Answered, Asked, Noted
from alc_mcp.domain.query import LlmQuery
from alc_mcp.engine.journal import JournalWriter
from alc_mcp.engine.storage import AnswerTaken, Done, StoreUnavailable
from alc_mcp.store.sqlite import SqliteStore
from tests.store.conftest import AnyStore, started


def paused(store: AnyStore, *ids: str) -> None:
    for session_id in ids:
        store.sessions.create_session(session_id, started(), 1)
        store.sessions.append(session_id, [(2, Asked((LlmQuery("q-0", "p"),)))])


def test_a_refused_write_is_undone_alone_and_the_others_commit(store: AnyStore) -> None:
    paused(store, "s-1", "s-2")
    store.sessions.append("s-1", [(3, Answered("q-0", "first"))])

    done = store.group(
        [
            lambda: store.sessions.append("s-2", [(4, Answered("q-0", "two"))]),
            lambda: store.sessions.append("s-1", [(4, Noted("lost with it")), (4, Answered("q-0", "again"))]),
            lambda: store.sessions.append("s-1", [(5, Noted("kept"))]),
        ]
    )

    assert [type(d.error) for d in done] == [type(None), AnswerTaken, type(None)]
    assert [e.event for e in store.sessions.journal("s-1", kinds={"answer", "note"})] == [
        Answered("q-0", "first"),
        Noted("kept"),
    ]
    assert [e.event for e in store.sessions.journal("s-2", kinds={"answer"})] == [Answered("q-0", "two")]


def test_a_group_that_cannot_begin_fails_every_write_and_writes_nothing(db_path: Path) -> None:
    with SqliteStore(db_path, busy_timeout_ms=50) as store:
        paused(store, "s-1", "s-2")
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            done = store.group(
                [lambda s=s: store.sessions.append(s, [(3, Answered("q-0", "a"))]) for s in ("s-1", "s-2")]
            )
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert all(isinstance(d.error, StoreUnavailable) for d in done), done
        assert "database is locked" in str(done[0].error)
        assert store.sessions.journal("s-1", kinds={"answer"}) == []
        assert store.sessions.journal("s-2", kinds={"answer"}) == []


@pytest.mark.anyio
async def test_writes_queued_while_a_batch_is_written_go_in_the_next_batch_together(db_path: Path) -> None:
    batches: list[int] = []
    with SqliteStore(db_path) as store:
        paused(store, *(f"s-{i}" for i in range(5)))

        def group(operations: Sequence[Callable[[], Any]]) -> list[Done]:
            batches.append(len(operations))  # observes the real group, changes nothing
            return store.group(operations)

        writer = JournalWriter(group)
        writing, release = threading.Event(), threading.Event()

        def slow() -> None:
            writing.set()
            release.wait(10)

        try:
            first = writer.submit(slow)
            await anyio.to_thread.run_sync(writing.wait, 10)
            later = [
                writer.submit(lambda i=i: store.sessions.append(f"s-{i}", [(3, Answered("q-0", str(i)))]))
                for i in range(5)
            ]
            release.set()
            seqs = await anyio.to_thread.run_sync(lambda: [f.result(10) for f in later])
        finally:
            writer.close()
        assert first.result() is None and all(seqs)
        assert batches == [5]  # the slow one ran alone (a batch of one needs no group)
        for i in range(5):
            assert [e.event for e in store.sessions.journal(f"s-{i}", kinds={"answer"})] == [
                Answered("q-0", str(i))
            ]
