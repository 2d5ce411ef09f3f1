"""Writing a session's journal without blocking anyone.

All store writes go through one ``JournalWriter`` thread, in submission order: a
session's events land in the order they happened, and no tool call ever waits on
SQLite on the event loop. Callers that must not acknowledge before a write is
durable (answers, pauses, results) await it; the rest (logs, observed values,
emitted on the session thread) are fire-and-forget but still ordered before any
later awaited write.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.from_thread
from anyio.lowlevel import current_token

from alc_mcp.domain.journal import Finished, JournalEvent
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.storage import SessionStore

T = TypeVar("T")


async def wait_future(future: Future[T]) -> T:
    """Await a concurrent future from the event loop without tying up a worker thread."""
    if not future.done():
        event = anyio.Event()
        token = current_token()
        loop_thread = threading.get_ident()

        def wake(_: Future[T]) -> None:
            if threading.get_ident() == loop_thread:
                # The future finished before the callback was attached, so Python calls it
                # right here, on the loop: going through from_thread would wait for ourselves.
                event.set()
                return
            with contextlib.suppress(RuntimeError):  # the loop is gone; nobody waits any more
                anyio.from_thread.run_sync(event.set, token=token)

        future.add_done_callback(wake)
        await event.wait()
    return future.result()


_STOP = object()


class JournalWriter:
    """One daemon thread that runs store operations in FIFO order."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="alc-journal", daemon=True)
        self._thread.start()

    def submit(self, operation: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((operation, future))
        return future

    async def call(self, operation: Callable[[], T]) -> T:
        return await wait_future(self.submit(operation))

    def close(self, timeout: float = 5.0) -> None:
        """Finish what was submitted, then stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            operation, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(operation())
            except BaseException as exc:
                traceback.print_exc(file=sys.stderr)
                future.set_exception(exc)


class SessionRecorder:
    """Journals one session. Without a store every method is a no-op, so the engine
    runs the same code with durability off."""

    def __init__(self, session_id: str, store: SessionStore | None, writer: JournalWriter | None) -> None:
        self.session_id = session_id
        self._store = store if writer is not None else None
        self._writer = writer

    @property
    def enabled(self) -> bool:
        return self._store is not None

    def record(self, event: JournalEvent, at: int | None = None) -> None:
        """Queue an event (ordered before any later write); returns at once."""
        if self._store is not None and self._writer is not None:
            self._writer.submit(partial(self._store.append, self.session_id, [(at or now_ms(), event)]))

    async def commit(self, *events: JournalEvent, at: int | None = None, **summary: Any) -> None:
        """Write events (and, with ``summary``, the session row) and wait until they are
        durable: a single trip through the writer thread."""
        if self._store is not None and self._writer is not None:
            entries = [(at or now_ms(), event) for event in events]
            await self._writer.call(partial(self._write, entries, summary))

    def _write(self, entries: list[tuple[int, JournalEvent]], summary: dict[str, Any]) -> None:
        assert self._store is not None
        if entries:
            self._store.append(self.session_id, entries)
        if summary:
            self._store.update_session(self.session_id, **summary)

    async def finish(self, finished: Finished, at: int) -> None:
        """Journal the end of the session and record its outcome on the session row."""
        auto = (finished.stats or {}).get("auto", {})
        await self.commit(
            finished,
            at=at,
            status=finished.phase,
            updated_at=at,
            llm_calls=auto.get("llm_calls"),
            rounds=auto.get("rounds"),
            elapsed_ms=auto.get("elapsed_ms"),
            stats=finished.stats,
        )
