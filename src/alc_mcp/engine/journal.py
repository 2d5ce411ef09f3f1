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
import functools
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio.lowlevel import current_token

from alc_mcp.domain.journal import Finished, JournalEvent, Observed, ObservedBatch
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.handoff import LoopGone, post
from alc_mcp.engine.storage import SessionStore

__all__ = ["OBSERVED_BATCH", "JournalWriter", "SessionRecorder", "wait_future"]

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
            with contextlib.suppress(LoopGone):  # nobody waits any more
                post(token, event.set)

        future.add_done_callback(wake)
        await event.wait()
    return future.result()


_STOP = object()

#: Observed values held before they are written anyway (see ``SessionRecorder``).
OBSERVED_BATCH = 10_000

#: Observations that only read the world. One that changed it (an alc.state write, a
#: variable change) is written at once, so a crash cannot make a replay apply it twice.
_READS = frozenset({"time", "clock", "seed", "math.seed", "state.get", "state.keys", "state.has"})


_READS = _READS | {"vars.get", "vars.info", "vars.has", "vars.list", "vars.get_many"}
_READS = _READS | {
    f"card.{op}" for op in ("get", "list", "find", "alias_list", "get_by_alias", "read_samples")
}


@functools.cache
def _is_read(kind: str) -> bool:
    while kind.startswith("fork."):
        kind = kind.removeprefix("fork.")
    return kind in _READS


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
            except BaseException as exc:  # the submitter's to handle (see SessionRecorder)
                future.set_exception(exc)


class SessionRecorder:
    """Journals one session. Without a store every method is a no-op, so the engine
    runs the same code with durability off.

    A write nobody waits for (a log line, an observed value) can still fail; it is
    counted here, so the session can say its journal is incomplete (a replay of it may
    diverge) instead of the failure going unnoticed.

    Observed values (clock reads, seeds, state reads) arrive in runs, one per call: they
    are held and written as one ``ObservedBatch`` when anything else is journaled or
    ``OBSERVED_BATCH`` of them have piled up, so a loop reading the clock costs a row per
    stretch, not a row per read, and the journal keeps the exact order of events."""

    def __init__(self, session_id: str, store: SessionStore | None, writer: JournalWriter | None) -> None:
        self.session_id = session_id
        self._store = store if writer is not None else None
        self._writer = writer
        self.lost_writes = 0
        self._last_error: str | None = None
        self._observed: list[Observed] = []
        self._observed_at = 0
        self._lock = threading.Lock()  # the session thread, fork children and the loop record
        #: The fencing token of this process's lease on the session: every append names
        #: it, so a write after another process took the session over is refused. None
        #: writes unfenced.
        self.lease: int | None = None

    @property
    def enabled(self) -> bool:
        return self._store is not None

    @property
    def warning(self) -> str | None:
        """What ``alc_status`` says when journal writes were lost, else None."""
        if not self.lost_writes:
            return None
        return (
            f"{self.lost_writes} journal write(s) failed ({self._last_error}): this session keeps "
            "running live, but it will not hibernate, and a restart may not bring it back as it is"
        )

    def record(self, event: JournalEvent, at: int | None = None) -> None:
        """Queue an event (ordered before any later write); returns at once."""
        if self._store is None:
            return
        with self._lock:
            if isinstance(event, Observed) and _is_read(event.kind):
                if not self._observed:
                    self._observed_at = at or now_ms()
                self._observed.append(event)
                if len(self._observed) >= OBSERVED_BATCH:
                    self._submit_observed()
                return
            self._submit_observed()
            self._submit([(at or now_ms(), event)])

    def _submit_observed(self) -> None:
        """Queue the held observed values as one event (the caller holds the lock)."""
        if self._observed:
            batch, self._observed = ObservedBatch(tuple(self._observed)), []
            self._submit([(self._observed_at, batch)])

    def _submit(self, entries: list[tuple[int, JournalEvent]]) -> None:
        assert self._store is not None and self._writer is not None
        future = self._writer.submit(partial(self._append, entries))
        future.add_done_callback(self._check_written)

    def _check_written(self, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            self._lost(exc)

    def _lost(self, exc: BaseException) -> None:
        self.lost_writes += 1
        self._last_error = str(exc) or type(exc).__name__
        print(
            f"alc-mcp: session {self.session_id}: journal write failed: {self._last_error}", file=sys.stderr
        )

    async def commit(self, *events: JournalEvent, at: int | None = None, **summary: Any) -> None:
        """Write events (and, with ``summary``, the session row) and wait until they are
        durable: a single trip through the writer thread. A failure is raised to the
        caller, who decides whether it may go on without the write."""
        if self._store is not None and self._writer is not None:
            entries = [(at or now_ms(), event) for event in events]
            with self._lock:
                self._submit_observed()
            await self._writer.call(partial(self._write, entries, summary))

    def _append(self, entries: list[tuple[int, JournalEvent]], summary: dict[str, Any] | None = None) -> None:
        assert self._store is not None
        if self.lease is None and summary is None:
            self._store.append(self.session_id, entries)
        else:
            self._store.append(self.session_id, entries, lease=self.lease, summary=summary)

    def _write(self, entries: list[tuple[int, JournalEvent]], summary: dict[str, Any]) -> None:
        """The events and the session row in one transaction (one commit, one fsync)."""
        assert self._store is not None
        if entries:
            self._append(entries, summary or None)
        elif summary:
            self._store.update_session(self.session_id, **summary)

    async def finish(self, finished: Finished, at: int) -> None:
        """Journal the end of the session and record its outcome on the session row.
        The end is reproducible from the rest of the journal, so a failure is only counted."""
        auto = (finished.stats or {}).get("auto", {})
        try:
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
        except Exception as exc:
            self._lost(exc)
