"""Writing a session's journal without blocking anyone.

All store writes go through one ``JournalWriter``, in submission order: a session's
events land in the order they happened, and no tool call ever waits on SQLite on the
event loop. Callers that must not acknowledge before a write is durable (answers,
pauses, results) wait for it; the rest (logs, observed values, emitted on the session
thread) are fire-and-forget but still ordered before any later write.

Group commit: operations submitted while a batch is being written wait, and the next
batch takes all of them in one transaction (``GroupCommit``), so many sessions
answering at once cost one commit, not one each. Every waiter hears of its own
operation only once the batch's commit has happened (or failed, when all of them
fail). The writer thread runs the batches the event loop asks for; a session thread
that must wait anyway (its pause, the answers it resumes with) runs the batch itself
when nobody else is writing, which spares two thread hand-offs per write.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio.lowlevel import current_token

from alc_mcp.domain.journal import Finished, JournalEvent, Observed, ObservedBatch
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.handoff import LoopGone, post
from alc_mcp.engine.storage import Done, SessionStore, StoreUnavailable

__all__ = ["OBSERVED_BATCH", "Group", "JournalWriter", "SessionRecorder", "wait_future"]

T = TypeVar("T")

#: Runs a batch of store operations in one transaction (``GroupCommit.group``).
Group = Callable[[Sequence[Callable[[], Any]]], list[Done]]


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


_Pending = tuple[Callable[[], Any], "Future[Any]"]


class JournalWriter:
    """Runs store operations in FIFO order, in batches of one transaction each, on its
    own daemon thread or on a waiting caller's (``run``). One batch at a time."""

    def __init__(self, group: Group | None = None) -> None:
        """``group`` writes a batch in one transaction (the store's ``GroupCommit``);
        without it each operation runs on its own."""
        self._group = group
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._pending: list[_Pending] = []
        self._writing = False  # a batch is being written (by the thread or by a caller)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="alc-journal", daemon=True)
        self._thread.start()

    def submit(self, operation: Callable[[], T]) -> Future[T]:
        """Queue ``operation``; returns at once. Its future is done once it is durable."""
        future: Future[T] = Future()
        with self._lock:
            self._pending.append((operation, future))
            if not self._writing:
                self._ready.notify()
        return future

    async def call(self, operation: Callable[[], T]) -> T:
        return await wait_future(self.submit(operation))

    def run(self, operation: Callable[[], T]) -> T:
        """Queue ``operation`` and wait for it on this thread (never the event loop's):
        if no batch is being written, this thread writes the batch itself; with nothing
        else queued either (the common case), it runs ``operation`` alone, as is."""
        future: Future[T] | None = None
        batch = None
        with self._lock:
            if self._closing:
                raise StoreUnavailable("the session store is closing (the server is shutting down)")
            if self._writing or self._pending:
                future = Future()
                self._pending.append((operation, future))
                batch = None if self._writing else self._take()
            else:
                self._writing = True
        if future is None:
            try:
                return operation()
            finally:
                self._written()
        if batch is not None:
            self._write_batch(batch)
        return future.result()

    def close(self, timeout: float = 5.0) -> None:
        """Finish what was submitted, then stop."""
        with self._lock:
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout)

    def _take(self) -> list[_Pending]:
        """Everything queued, as the next batch (the caller holds the lock and writes it)."""
        batch, self._pending = self._pending, []
        self._writing = True
        return batch

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._writing or not self._pending:
                    if self._closing and not self._writing and not self._pending:
                        return
                    self._ready.wait()
                batch = self._take()
            self._write_batch(batch)

    def _written(self) -> None:
        """A batch is written: the writer thread takes what was queued meanwhile (woken
        only then: a needless wake costs a thread switch on every pause)."""
        with self._lock:
            self._writing = False
            if self._pending:
                self._ready.notify()

    def _write_batch(self, batch: list[_Pending]) -> None:
        """Write one batch, then tell each waiter how its operation went."""
        live = [(operation, future) for operation, future in batch if future.set_running_or_notify_cancel()]
        operations = [operation for operation, _ in live]
        try:
            if self._group is None or len(operations) == 1:
                done = [Done.of(operation) for operation in operations]
            else:
                done = self._group(operations)
        except Exception as exc:  # the store itself broke: every waiter hears of it
            done = [Done(error=exc) for _ in operations]
        finally:
            self._written()
        for (_, future), outcome in zip(live, done, strict=True):
            if outcome.error is None:
                future.set_result(outcome.value)
            else:
                future.set_exception(outcome.error)


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
            await self._writer.call(self._commit_operation(events, at, summary))

    def commit_here(self, *events: JournalEvent, at: int | None = None, **summary: Any) -> None:
        """``commit``, waited for on the calling thread (the session's, never the loop's)."""
        if self._store is not None and self._writer is not None:
            self._writer.run(self._commit_operation(events, at, summary))

    def _commit_operation(
        self, events: Sequence[JournalEvent], at: int | None, summary: dict[str, Any]
    ) -> Callable[[], None]:
        entries = [(at or now_ms(), event) for event in events]
        with self._lock:
            self._submit_observed()
        return partial(self._write, entries, summary)

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
