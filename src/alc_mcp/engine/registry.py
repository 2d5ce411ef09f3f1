"""The session registry: starts sessions, routes answers, snapshots, cancels,
hibernates and revives them. Async (anyio); it never blocks the event loop on a
session thread or on the database.

A session is *live* (a VM on a thread) or, with a store, *dormant*: only its journal,
after a restart or hibernation. Any call that needs the VM revives a dormant session
by replaying its journal in a fresh VM (``engine.replay``).

Every call that changes a session holds that session's guard for its whole length
(revive, journal, resume, wait for the next pause), live or dormant alike, so no two
of them interleave: a call that finds the session running gets a clear "busy" error
at once; one that finds another call journaling an answer waits for it, then checks
that the pause it came to answer is still the one open. Only cancelling a running
session goes around the guard, since the call holding it is waiting for that run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.lowlevel import current_token

from alc_mcp import telemetry
from alc_mcp.config import Config
from alc_mcp.domain.feed_result import Cancelled, FeedResult, Paused
from alc_mcp.domain.journal import Asked, Finished, History, fold
from alc_mcp.domain.pending_filter import PendingFilter
from alc_mcp.domain.program import Program
from alc_mcp.domain.query import SINGLE_ID
from alc_mcp.domain.records import SessionRow
from alc_mcp.domain.state import Phase
from alc_mcp.engine import memory
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.journal import JournalWriter, SessionRecorder
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.port import NO_FACILITIES, Facilities
from alc_mcp.engine.principal_state import PrincipalState
from alc_mcp.engine.progress import ProgressListener
from alc_mcp.engine.replay import Replay, RevivalFailed
from alc_mcp.engine.session import (
    AlreadyAnswered,
    Answer,
    Session,
    SessionBusy,
    SessionElsewhere,
    SessionError,
    SessionFinished,
    build_snapshot,
)
from alc_mcp.engine.storage import AnswerTaken, HandOver, LeaseHeld, SessionStore, SharedStore
from alc_mcp.engine.variables import Outcome, VariableOps, with_limits

__all__ = ["SessionNotFound", "SessionRegistry", "new_session_id", "unknown_session"]

T = TypeVar("T")

#: How many finished session ids are remembered without a store, to tell "finished"
#: from "never existed".
FINISHED_MEMORY = 1024
TASK_PREVIEW_CHARS = 100
RESUMABLE = ("paused", "running")
#: How a worker waiting for a hand-over looks at the lease: every _FAST_POLL_S for the
#: first _FAST_POLL_FOR_S (a failed take is a rolled-back transaction, no disk write),
#: then every _SLOW_POLL_S while a busy owner finishes its call.
_FAST_POLL_S, _FAST_POLL_FOR_S, _SLOW_POLL_S = 0.002, 0.25, 0.025
#: How often the request to let go is repeated while waiting (a notification sent while
#: the owner's listener reconnects is lost).
_ASK_AGAIN_S = 1.0
_ASK_KIND = "ask"  # the journal kind of an Asked event (domain.journal.encode_event)
FINISHED = (Phase.COMPLETED.value, Phase.FAILED.value, Phase.CANCELLED.value)


class SessionNotFound(SessionError):
    pass


def unknown_session(key: str) -> SessionNotFound:
    """What a call on a key that names no session (that the caller may see) gets."""
    return SessionNotFound(f"session '{key}' not found")


def new_session_id() -> str:
    """``s-<unix ns hex>-<64 random bits>``: the random half comes from a CSPRNG, so ids
    cannot be guessed (the MCP spec's guard against session hijacking)."""
    return f"s-{time.time_ns():x}-{secrets.randbits(64):016x}"


def task_preview(program: Program) -> str:
    ctx = program.ctx
    task = ctx.get("task") if isinstance(ctx, dict) else None
    text = task if isinstance(task, str) and task.strip() else program.source.strip()
    text = " ".join(text.split())
    return text if len(text) <= TASK_PREVIEW_CHARS else text[: TASK_PREVIEW_CHARS - 3] + "..."


@dataclass(slots=True)
class Dormant:
    """A resumable session without a VM: its journal is all there is."""

    id: str
    name: str | None
    strategy: str | None
    last_activity_ms: int
    principal: str | None = None  # who started it (SessionRow.principal)
    history: History | None = None  # folded journal, cached while nothing changes it


class SessionRegistry:
    def __init__(
        self,
        config: Config,
        resolver: PackageResolver,
        shared: SharedStore,
        store: SessionStore | None = None,
        writer: JournalWriter | None = None,
        facilities: Facilities = NO_FACILITIES,
        *,
        handover: HandOver | None = None,
    ) -> None:
        self.config = config
        self.facilities = facilities
        self.store = store if writer is not None else None
        self.writer = writer
        self.shared = shared
        self.resolver = resolver
        self._sessions: dict[str, Session] = {}
        self._dormant: dict[str, Dormant] = {}
        self._guards: dict[str, anyio.Lock] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()
        # Leases: this process drives a live session only while it holds the session's
        # lease in the store, so two servers on one ALC_HOME never both run it.
        self._owner = f"{_HOST}/{secrets.token_hex(16)}"
        self._pid = os.getpid()
        self._leases: dict[str, int] = {}
        # Hand-over (a shared database): other workers ask us to let go of a session we
        # drive; one that is busy when asked is let go when its call ends.
        self._handover = handover if self.store is not None else None
        self._wanted: set[str] = set()

    @property
    def durable(self) -> bool:
        return self.store is not None

    async def _stored(self, operation: Callable[[SessionStore], T]) -> T:
        """Run a store operation after every write submitted before it."""
        assert self.store is not None and self.writer is not None
        return await self.writer.call(partial(operation, self.store))

    async def open(self) -> int:
        """Register the resumable sessions found in the store; returns how many. Caps
        the C heaps session threads allocate from, so ended sessions' memory can be
        given back (``engine.memory``)."""
        memory.limit_heaps()
        if self.store is None:
            return 0
        rows = await self._stored(lambda s: s.list_sessions(limit=sys.maxsize, statuses=RESUMABLE))
        for row in rows:
            self._dormant[row.id] = _dormant(row)
        if self._handover is not None:
            token, handover, owner = current_token(), self._handover, self._owner

            def requested(session_id: str) -> None:  # on the listener's thread
                with contextlib.suppress(RuntimeError):  # the loop is gone: we are stopping
                    anyio.from_thread.run_sync(self._release_requested, session_id, token=token)

            await anyio.to_thread.run_sync(lambda: handover.listen(owner, requested))
        return len(rows)

    def _release_requested(self, session_id: str) -> None:
        """Another worker wants the session: hibernate it now (which releases its lease),
        or, if a call is working on it, as soon as that call ends (``_exclusive``)."""
        session = self._sessions.get(session_id)
        if session is not None and self.hibernate(session):
            return
        if session is not None or self._is_guarded(session_id):  # e.g. still reviving it
            self._wanted.add(session_id)

    def _recorder(self, session_id: str) -> SessionRecorder:
        recorder = SessionRecorder(session_id, self.store, self.writer)
        recorder.lease = self._leases.get(session_id)
        return recorder

    # --- leases --------------------------------------------------------------------------

    @property
    def _lease_ttl_ms(self) -> int:
        return int(self.config.lease_seconds * 1000)

    async def _take_lease(self, session_id: str) -> None:
        """Become the one process driving the session (the caller holds its guard), or
        raise ``SessionElsewhere`` naming the live process that does."""
        if self.store is None:
            return
        ttl_ms, owner, pid = self._lease_ttl_ms, self._owner, self._pid
        try:
            token = await self._stored(lambda s: s.take_lease(session_id, owner, pid, now_ms(), ttl_ms))
        except LeaseHeld as exc:
            dead = exc.owner if _is_dead(exc.owner, exc.pid) else None
            if dead is None:
                self._leases[session_id] = await self._handed_over(session_id, exc)
                return
            # Its process is gone (killed) on this very host: no need to wait for its
            # heartbeat to go stale. Only that owner is overridden, so of two processes
            # racing to take over one wins.
            try:
                token = await self._stored(
                    lambda s: s.take_lease(session_id, owner, pid, now_ms(), ttl_ms, dead=dead)
                )
            except LeaseHeld as again:
                raise SessionElsewhere(str(again)) from None
        self._leases[session_id] = token

    async def _handed_over(self, session_id: str, held: LeaseHeld) -> int:
        """Ask the live owner to let go, then take the lease as soon as it has; after
        ``ALC_HANDOVER_SECONDS`` without that, refuse with ``SessionElsewhere``."""
        handover, first = self._handover, held.owner
        if handover is None or first is None:
            raise SessionElsewhere(str(held)) from None
        holder: str = first
        await self._ask_release(handover, session_id, first)
        ttl_ms, owner, pid = self._lease_ttl_ms, self._owner, self._pid
        began = asked = time.monotonic()
        deadline = began + self.config.handover_seconds
        while True:
            # An idle owner lets go within milliseconds: look often at first, then less.
            await anyio.sleep(_FAST_POLL_S if time.monotonic() - began < _FAST_POLL_FOR_S else _SLOW_POLL_S)
            try:
                return await self._stored(lambda s: s.take_lease(session_id, owner, pid, now_ms(), ttl_ms))
            except LeaseHeld as again:
                held = again
            changed = held.owner is not None and held.owner != holder
            if changed or time.monotonic() - asked >= _ASK_AGAIN_S:
                # It changed hands (ask the new owner), or the request may have been lost
                # (the owner's listener was reconnecting): ask again.
                holder = held.owner if held.owner is not None else holder
                await self._ask_release(handover, session_id, holder)
                asked = time.monotonic()
            if time.monotonic() >= deadline:
                raise SessionElsewhere(str(held)) from None

    async def _ask_release(self, handover: HandOver, session_id: str, holder: str) -> None:
        assert self.writer is not None
        await self.writer.call(partial(handover.ask_release, session_id, holder))

    async def owner(self, session_id: str) -> dict[str, Any] | None:
        """The worker that drives the session now (from its lease), or None."""
        if self.store is None:
            return None
        lease = await self._stored(lambda s: s.lease(session_id))
        return lease.to_json() if lease is not None else None

    def worker_json(self) -> dict[str, Any]:
        """This process as a lease names it (``alc_info``)."""
        return {"owner": self._owner, "host": _HOST, "pid": self._pid}

    def _release_lease(self, session_id: str) -> None:
        """Give the session's lease back (queued behind its last writes)."""
        if self._leases.pop(session_id, None) is None or self.writer is None or self.store is None:
            return
        store, owner = self.store, self._owner
        self.writer.submit(lambda: store.release_lease(session_id, owner)).add_done_callback(_ignore)

    async def _adopt(self, session_id: str) -> Dormant | None:
        """The dormant record of a session, registering one the store has as resumable
        (another process started it, or it was finished here and rewound there)."""
        dormant = self._dormant.get(session_id)
        if dormant is not None or self.store is None or session_id in self._sessions:
            return dormant
        row = await self._stored(lambda s: s.get_session(session_id))
        if row is None or row.status not in RESUMABLE:
            return None
        self._finished.pop(session_id, None)
        dormant = self._dormant[session_id] = _dormant(row)
        return dormant

    # --- the guard ---------------------------------------------------------------------

    @asynccontextmanager
    async def _exclusive(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session's guard; see the module docstring for who waits and who is refused."""
        try:
            async with self._guarded(session_id):
                yield
        finally:
            if session_id in self._wanted and not self._is_guarded(session_id):
                self._wanted.discard(session_id)
                session = self._sessions.get(session_id)
                if session is not None:
                    self.hibernate(session)

    @asynccontextmanager
    async def _guarded(self, session_id: str) -> AsyncIterator[None]:
        # fast_acquire: a free guard is taken without yielding to the loop first (anyio's
        # default costs every call one more turn of the event loop).
        guard = self._guards.get(session_id)
        if guard is None:
            guard = self._guards[session_id] = anyio.Lock(fast_acquire=True)
        try:
            if not guard.locked():
                async with guard:
                    yield
                return
            async with self._waited(session_id, guard):
                yield
        finally:
            if session_id not in self._sessions and session_id not in self._dormant:
                self._forget_guard(session_id)  # finished or deleted: no guard kept for good

    @asynccontextmanager
    async def _waited(self, session_id: str, guard: anyio.Lock) -> AsyncIterator[None]:
        """Hold a guard another call holds now, once it is ours, if the pause we came
        for is still open."""
        session = self._sessions.get(session_id)
        if session is not None and session.phase is Phase.RUNNING:
            raise self._busy(session_id)
        pauses = session.pauses if session is not None else None
        async with guard:
            session = self._sessions.get(session_id)
            if session is not None and (
                session.phase is Phase.RUNNING or (pauses is not None and session.pauses != pauses)
            ):
                # The call we waited for resumed the script: our answer was for a pause
                # that is gone (query ids repeat from one pause to the next).
                raise self._busy(session_id)
            yield

    def _busy(self, session_id: str) -> SessionBusy:
        return SessionBusy(
            f"session '{session_id}' is running (another call is resuming it); "
            "wait for that call's result, or check alc_status"
        )

    def _is_guarded(self, session_id: str) -> bool:
        guard = self._guards.get(session_id)
        return guard is not None and guard.locked()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(
        self, program: Program, listener: ProgressListener | None = None, *, principal: str | None = None
    ) -> tuple[str, FeedResult]:
        """Start a session owned by ``principal`` (None: no authentication) and run it to
        its first pause or its end; ``listener`` hears the script's alc.progress calls
        meanwhile."""
        session_id = new_session_id()
        started_at = now_ms()
        name = None
        if self.store is not None:
            preview, owner, pid, ttl_ms = task_preview(program), self._owner, self._pid, self._lease_ttl_ms

            def create(s: SessionStore) -> tuple[str, int]:
                """The row, the start event and the lease in one trip to the writer: nobody
                else can hold the lease of a session that did not exist."""
                named = s.create_session(
                    session_id, program, started_at, task_preview=preview, principal=principal
                )
                return named, s.take_lease(session_id, owner, pid, now_ms(), ttl_ms)

            name, self._leases[session_id] = await self._stored(create)
        session = self._new_session(
            session_id, program, name=name, started_at=started_at, principal=principal
        )
        telemetry.emit("session.started", session_id=session_id, strategy=program.strategy)
        async with self._exclusive(session_id):
            with _listening(session, listener):
                session.start()
                return session_id, await self._drive(session)

    async def feed(
        self, session_id: str, answers: Sequence[Answer], listener: ProgressListener | None = None
    ) -> FeedResult:
        """Feed one or more answers; resumes the script once its pause is complete (and
        ``listener`` hears its alc.progress calls until the next pause)."""
        if not answers:
            raise SessionError("Empty responses array")
        arrived = None
        if self.store is not None and session_id not in self._sessions:
            # The pause this call came to answer: if another worker answers it while we
            # wait for the session, ours is for a pause that is gone.
            arrived = await self._stored(lambda s: s.count_entries(session_id, (_ASK_KIND,)))
        async with self._exclusive(session_id):
            session, replay, revived = await self._live(
                session_id, listener, answering=(arrived, answers[0].query_id or SINGLE_ID)
            )
            if replay is not None and revived is not None and replay.supersedes(revived):
                return revived
            with _listening(session, listener):
                try:
                    accepted = await session.feed(answers)
                    return accepted if accepted is not None else await self._drive(session)
                except SessionElsewhere:
                    # Our lease was taken over (we missed heartbeats): this VM is stale.
                    # Let the session go dormant here; its journal is the other process's now.
                    self._let_go(session)
                    raise

    def _let_go(self, session: Session) -> None:
        """Drop a live session whose lease another process holds now, keeping it dormant."""
        if self._sessions.get(session.id) is not session:
            return
        session.close()
        del self._sessions[session.id]
        self._leases.pop(session.id, None)
        self._dormant[session.id] = _dormant_of(session)

    async def cancel(self, session_id: str) -> FeedResult:
        session = self._sessions.get(session_id)
        if session is not None and session.phase is Phase.RUNNING and self._is_guarded(session_id):
            try:
                return await session.cancel_running()
            finally:
                self._retire(session)
        async with self._exclusive(session_id):
            session = self._sessions.get(session_id)
            if session is not None:
                try:
                    return await session.cancel()
                finally:
                    self._retire(session)
            return await self._cancel_dormant(session_id)

    async def _cancel_dormant(self, session_id: str) -> FeedResult:
        async with self._holding_dormant(session_id) as history:
            now = now_ms()
            history.metrics.on_finished(now)
            stats = history.metrics.stats_json(now)
            await self._recorder(session_id).finish(Finished(Phase.CANCELLED.value, stats=stats), now)
        telemetry.emit(
            "session.cancelled",
            {"elapsed_ms": stats["auto"]["elapsed_ms"], "llm_calls": stats["auto"]["llm_calls"]},
            session_id=session_id,
            strategy=history.program.strategy,
        )
        self._dormant.pop(session_id, None)
        self._forget_guard(session_id)
        return Cancelled(stats)

    async def rewind(self, session_id: str, query_index: int) -> FeedResult:
        """Forget everything from the given answered query on, and pause there again.

        Everything is checked before anything changes: a refused rewind leaves the
        session exactly as it was."""
        if self.store is None:
            raise SessionError("rewind needs the session journal, but durability is off (see alc_info)")
        async with self._exclusive(session_id):
            row = await self._stored(lambda s: s.get_session(session_id))
            if row is None:
                raise await self._not_found(session_id)
            answered = fold(await self._stored(lambda s: s.journal(session_id))).answered
            if not 0 <= query_index < len(answered):
                raise SessionError(
                    f"query_index {query_index} is out of range: session '{session_id}' has "
                    f"{len(answered)} answered queries (0..{len(answered) - 1}); alc_log_view lists them"
                )
            session = self._sessions.pop(session_id, None)
            if session is not None:
                session.close()
            else:
                await self._take_lease(session_id)
            seq = answered[query_index].seq
            try:
                await self._stored(lambda s: s.truncate_from(session_id, seq))
                await self._stored(
                    lambda s: s.update_session(session_id, status="paused", updated_at=now_ms())
                )
            except BaseException:
                self._release_lease(session_id)
                raise
            self._finished.pop(session_id, None)
            self._dormant[session_id] = replace(_dormant(row), last_activity_ms=now_ms())
            _session, _replay, revived = await self._live(session_id)
            assert revived is not None
            return revived

    async def _live(
        self,
        session_id: str,
        listener: ProgressListener | None = None,
        *,
        answering: tuple[int | None, str] = (None, SINGLE_ID),
    ) -> tuple[Session, Replay | None, FeedResult | None]:
        """The live session, reviving a dormant one by replaying its journal (the caller
        holds the guard; ``listener`` hears heartbeats while a long replay runs). Returns
        the session and, after a revival, the replay and the event it ended on.
        ``answering`` is (pauses the journal had when a feed arrived, its first query id):
        with the lease taken, a journal with more pauses means another worker answered
        that pause meanwhile (``AlreadyAnswered``)."""
        arrived, query_id = answering
        session = self._sessions.get(session_id)
        if session is not None:
            # Revived meanwhile by another call here, which may have answered our pause.
            if (
                arrived is not None
                and await self._stored(lambda s: s.count_entries(session_id, (_ASK_KIND,))) != arrived
            ):
                raise AlreadyAnswered(str(AnswerTaken(session_id, query_id)))
            return session, None, None
        dormant = await self._adopt(session_id)
        if dormant is None:
            raise await self._not_found(session_id)
        await self._take_lease(session_id)
        try:
            entries = await self._stored(lambda s: s.journal(session_id))
            if arrived is not None and sum(isinstance(e.event, Asked) for e in entries) != arrived:
                raise AlreadyAnswered(str(AnswerTaken(session_id, query_id)))
            history = fold(entries)
        except BaseException:
            self._release_lease(session_id)
            raise
        dormant.history = None
        if history.finished is not None:
            self._release_lease(session_id)
            self._dormant.pop(session_id, None)
            raise SessionFinished(f"session '{session_id}' has already finished ({history.finished.phase})")
        replay = Replay(history)
        session = self._new_session(
            session_id, history.program, name=dormant.name, replay=replay, principal=dormant.principal
        )
        self._dormant.pop(session_id, None)
        began = time.perf_counter()
        try:
            with _listening(session, listener):
                session.start()
                result = await self._drive(session)
        except RevivalFailed as exc:
            self._retire(session, dormant=dormant)
            raise SessionError(
                f"session '{session_id}' could not be brought back from its journal: {exc}. Nothing was "
                "changed: it is still paused where it was. If a limit stopped the replay, raise it and "
                "call again; alc_log_view shows the journal, alc_rewind goes back to an earlier answer"
            ) from None
        telemetry.emit(
            "session.replayed",
            {"answers": len(history.answered), "duration_ms": (time.perf_counter() - began) * 1000},
            session_id=session_id,
            strategy=history.program.strategy,
        )
        return session, replay, result

    async def _drive(self, session: Session) -> FeedResult:
        """Wait for the session's next pause or end (the caller holds its guard)."""
        try:
            result = await session.next_event()
        except (RevivalFailed, SessionError):  # a replay stopped; answers the store refused
            raise
        except BaseException:
            # The caller went away mid-run (a cancelled request, shutdown): stop the script
            # and record that it was cancelled, rather than leave a thread nobody will ever
            # answer and a journal that says "running" forever.
            if not session.state.is_terminal:
                session.close()
                with anyio.CancelScope(shield=True):
                    await session.abandon()
                self._retire(session, "cancelled")
            raise
        if not isinstance(result, Paused):
            self._retire(session)
        return result

    def _new_session(
        self, session_id: str, program: Program, *, principal: str | None = None, **options: Any
    ) -> Session:
        """A session for this registry's limits, store and packages (made room for), and
        ``alc.state`` as its principal's scripts see it."""
        self._make_room()
        session = Session(
            session_id,
            program,
            self.config.limits,
            current_token(),
            self._recorder(session_id),
            self.shared if principal is None else PrincipalState(self.shared, principal),
            self.resolver,
            principal=principal,
            facilities=self.facilities,
            **options,
        )
        self._sessions[session_id] = session
        return session

    def _retire(self, session: Session, phase: str | None = None, *, dormant: Dormant | None = None) -> None:
        """Take ``session`` itself (not whatever now holds its id) out of the live set:
        to the finished list, or back to ``dormant`` when its revival failed."""
        if self._sessions.get(session.id) is not session:
            return
        del self._sessions[session.id]
        self._release_lease(session.id)
        if dormant is not None:
            session.close()
            self._dormant[session.id] = dormant
            return
        self._finished[session.id] = phase or session.phase.value
        while len(self._finished) > FINISHED_MEMORY:
            self._finished.popitem(last=False)
        self._forget_guard(session.id)

    def _forget_guard(self, session_id: str) -> None:
        if not self._is_guarded(session_id):
            self._guards.pop(session_id, None)

    # --- hibernation ------------------------------------------------------------------

    def _can_hibernate(self, session: Session) -> bool:
        return (
            self.durable
            and session.phase is Phase.PAUSED
            and not self._is_guarded(session.id)
            and not session.recorder.lost_writes
        )

    def hibernate(self, session: Session) -> bool:
        """Drop the VM and thread of a paused session; its journal brings it back.
        False (and nothing done) if a call is working on it."""
        if not self._can_hibernate(session) or self._sessions.get(session.id) is not session:
            return False
        telemetry.emit(
            "session.hibernated",
            {"idle_ms": now_ms() - session.last_activity_ms},
            session_id=session.id,
            strategy=session.strategy,
        )
        session.close()
        del self._sessions[session.id]
        self._release_lease(session.id)
        self._forget_guard(session.id)  # unguarded (see _can_hibernate): made anew when needed
        self._dormant[session.id] = _dormant_of(session)
        return True

    def _make_room(self) -> None:
        """Keep the number of live VMs under the cap by hibernating the least recently
        used paused sessions (running ones cannot be hibernated). One sort by last
        activity, not a scan of every live session per hibernation: at the cap, every
        start and revival makes room."""
        excess = len(self._sessions) - self.config.max_live_sessions + 1
        if excess <= 0:
            return
        for session in sorted(self._sessions.values(), key=_last_activity):
            if self.hibernate(session):
                excess -= 1
                if excess == 0:
                    return

    def hibernate_idle(self) -> list[str]:
        cutoff = now_ms() - int(self.config.hibernate_after_seconds * 1000)
        idle = [s for s in self._sessions.values() if s.last_activity_ms <= cutoff]
        return [s.id for s in idle if self.hibernate(s)]

    # --- lookups -----------------------------------------------------------------

    async def resolve(self, key: str) -> str:
        """A session id from an id or a name."""
        if key in self._sessions or key in self._dormant:
            return key
        named = [s.id for s in self._sessions.values() if s.name == key]
        named += [d.id for d in self._dormant.values() if d.name == key]
        if named:
            return named[0]
        if self.store is not None:
            found = await self._stored(lambda s: s.resolve(key))
            if found is not None:
                return found
        return key

    async def _not_found(self, session_id: str) -> SessionError:
        phase = self._finished.get(session_id)
        if phase is None and self.store is not None:
            row = await self._stored(lambda s: s.get_session(session_id))
            if row is not None and row.status in FINISHED:
                phase = row.status
        if phase == "expired":
            return SessionNotFound(
                f"session '{session_id}' not found: it expired after "
                f"{self.config.idle_ttl_seconds:g} s without activity (ALC_IDLE_TTL_SECONDS); "
                "start it again with alc_run"
            )
        if phase is not None:
            return SessionFinished(
                f"session '{session_id}' not found: it has already finished ({phase}); "
                "start a new one with alc_run or alc_advice"
            )
        return unknown_session(session_id)

    async def principal_of(self, session_id: str) -> str | None:
        """Who started the session; None if nobody authenticated did, or it is unknown."""
        session = self._sessions.get(session_id)
        if session is not None:
            return session.principal
        dormant = self._dormant.get(session_id)
        if dormant is not None:
            return dormant.principal
        if self.store is None:
            return None
        row = await self._stored(lambda s: s.get_session(session_id))
        return row.principal if row is not None else None

    def live_session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    @asynccontextmanager
    async def stopped(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session still (no VM, nothing in flight) while the caller changes its
        record, e.g. deletes it; then forget it. Refused while it is running."""
        session = self._sessions.get(session_id)
        if session is not None and self._is_guarded(session_id):
            raise SessionBusy(f"session '{session_id}' is running; cancel it (alc_cancel) first")
        async with self._exclusive(session_id):
            session = self._sessions.pop(session_id, None)
            if session is not None:
                session.close()
            else:
                await self._take_lease(session_id)  # refused while another process drives it
            try:
                yield
            finally:
                self._release_lease(session_id)
            self._dormant.pop(session_id, None)
            self._finished.pop(session_id, None)
        self._forget_guard(session_id)

    @asynccontextmanager
    async def _holding_dormant(self, session_id: str) -> AsyncIterator[History]:
        """A dormant session's history read afresh under its lease (another process may
        have moved it on since we folded it), for a change the caller journals; the lease
        is given back after."""
        dormant = await self._adopt(session_id)
        if dormant is None:
            raise await self._not_found(session_id)
        await self._take_lease(session_id)
        try:
            dormant.history = None
            yield await self._history(dormant)
        finally:
            self._release_lease(session_id)

    async def _history(self, dormant: Dormant) -> History:
        if dormant.history is None:
            history = fold(await self._stored(lambda s: s.journal(dormant.id)))
            history.variables = with_limits(history.variables, self.config.limits)
            dormant.history = history
        return dormant.history

    async def snapshot(
        self, session_id: str, pending_filter: PendingFilter | None = None, include_history: bool = False
    ) -> dict[str, Any]:
        session = self._sessions.get(session_id)
        if session is not None:
            return session.snapshot(pending_filter, include_history)
        dormant = await self._adopt(session_id)
        if dormant is None:
            raise await self._not_found(session_id)
        if self.store is not None:
            row = await self._stored(lambda s: s.get_session(session_id))
            if row is None or row.status not in RESUMABLE:
                # Another process finished or deleted it.
                self._dormant.pop(session_id, None)
                raise await self._not_found(session_id)
            if row.updated_at != dormant.last_activity_ms:
                dormant.history, dormant.last_activity_ms = None, row.updated_at
        return await self._dormant_snapshot(dormant, pending_filter, include_history)

    async def _dormant_snapshot(
        self, dormant: Dormant, pending_filter: PendingFilter | None, include_history: bool
    ) -> dict[str, Any]:
        history = await self._history(dormant)
        return build_snapshot(
            dormant.id,
            history.state,
            history.metrics,
            name=dormant.name,
            strategy=history.program.strategy,
            live=False,
            pending_filter=pending_filter,
            include_history=include_history,
            variables=history.variables,
        )

    async def _refresh_dormant(self) -> None:
        """Bring the dormant set in line with the store: sessions another process started
        appear, ones it finished or deleted go, and ones it moved on are folded afresh."""
        if self.store is None:
            return
        rows = await self._stored(lambda s: s.list_sessions(limit=sys.maxsize, statuses=RESUMABLE))
        resumable = {row.id: row for row in rows}
        for row in rows:
            dormant = self._dormant.get(row.id)
            if dormant is None and row.id not in self._sessions:
                self._dormant[row.id] = _dormant(row)
            elif dormant is not None and dormant.last_activity_ms != row.updated_at:
                dormant.history = None
                dormant.last_activity_ms = row.updated_at
        for session_id in [s for s in self._dormant if s not in resumable and not self._is_guarded(s)]:
            del self._dormant[session_id]

    async def snapshots(
        self,
        pending_filter: PendingFilter | None = None,
        include_history: bool = False,
        *,
        principal: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every resumable session; with ``principal``, only the ones it started."""
        await self._refresh_dormant()
        snaps = [
            s.snapshot(pending_filter, include_history)
            for s in list(self._sessions.values())
            if principal is None or s.principal == principal
        ]
        for dormant in list(self._dormant.values()):
            if principal is None or dormant.principal == principal:
                snaps.append(await self._dormant_snapshot(dormant, pending_filter, include_history))
        return sorted(snaps, key=lambda s: (s["started_at"], s["session_id"]))

    # --- session variables from the host -------------------------------------------------

    async def read_variables(self, session_id: str, read: Callable[[VariableOps], T]) -> T:
        """Read a session's variables, live, dormant or finished (from its journal)."""
        session = self._sessions.get(session_id)
        if session is not None:
            result: T = session.read_variables(read)
            return result
        dormant = self._dormant.get(session_id)
        if dormant is not None:
            return read(VariableOps(session_id, (await self._history(dormant)).variables))
        if self.store is not None and await self._stored(lambda s: s.get_session(session_id)) is not None:
            history = fold(await self._stored(lambda s: s.journal(session_id)))
            return read(VariableOps(session_id, history.variables))
        raise await self._not_found(session_id)

    async def change_variables(self, session_id: str, change: Callable[[VariableOps], Outcome]) -> Outcome:
        """Change a paused (live or hibernated) session's variables; journaled before it returns."""
        async with self._exclusive(session_id):
            session = self._sessions.get(session_id)
            if session is not None:
                return await session.change_variables(change)
            async with self._holding_dormant(session_id) as history:
                if history.state.phase is not Phase.PAUSED:
                    raise SessionBusy(
                        f"session '{session_id}' was interrupted mid-run; continue it (alc_continue) "
                        "before changing its variables"
                    )
                outcome = change(VariableOps(session_id, history.variables))
                await self._recorder(session_id).commit(*outcome.events)
                return outcome

    @property
    def live_count(self) -> int:
        return len(self._sessions)

    def __len__(self) -> int:
        return len(self._sessions) + len(self._dormant)

    # --- housekeeping ------------------------------------------------------------

    def reap_idle(self) -> list[str]:
        """Without a store, drop paused sessions idle longer than the TTL (there is no
        journal to bring them back); with one, idle sessions hibernate instead."""
        if self.durable:
            return self.hibernate_idle()
        cutoff = now_ms() - int(self.config.idle_ttl_seconds * 1000)
        expired = [
            s
            for s in self._sessions.values()
            if s.phase is Phase.PAUSED and s.last_activity_ms <= cutoff and not self._is_guarded(s.id)
        ]
        for session in expired:
            session.close()
            self._retire(session, "expired")
        return [s.id for s in expired]

    @property
    def reap_interval(self) -> float:
        """Often enough to renew leases well before they expire."""
        return min(self.config.reap_interval_seconds, self.config.lease_seconds / 3)

    def renew_leases(self) -> None:
        """Heartbeat: move the time on every lease this process holds (queued)."""
        if self._leases and self.store is not None and self.writer is not None:
            store, owner = self.store, self._owner
            self.writer.submit(lambda: store.renew_leases(owner, now_ms())).add_done_callback(_ignore)

    async def run_reaper(self) -> None:
        while True:
            await anyio.sleep(self.reap_interval)
            self.renew_leases()
            self.reap_idle()

    def close(self) -> None:
        """Stop every session's thread (server shutdown); journals keep paused ones."""
        if self._handover is not None:
            self._handover.close()
        for session in list(self._sessions.values()):
            session.close()
            self._retire(session, "cancelled")
        if self.store is not None and self.writer is not None:
            store, owner = self.store, self._owner
            with contextlib.suppress(RuntimeError):
                self.writer.submit(lambda: store.release_leases(owner)).add_done_callback(_ignore)


_HOST = socket.gethostname()


def _dormant(row: SessionRow) -> Dormant:
    return Dormant(row.id, row.name, row.strategy, row.updated_at, row.principal)


def _dormant_of(session: Session) -> Dormant:
    return Dormant(session.id, session.name, session.strategy, session.last_activity_ms, session.principal)


def _is_dead(owner: str | None, pid: int | None) -> bool:
    """Whether a lease holder is a process of this host that no longer exists. Another
    host (or another pid namespace, with its own host name) is never judged: its lease
    only expires."""
    if owner is None or pid is None or owner.partition("/")[0] != _HOST or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but is not ours to signal
        return False
    return False


def _last_activity(session: Session) -> int:
    return session.last_activity_ms


@contextmanager
def _listening(session: Session, listener: ProgressListener | None) -> Iterator[None]:
    """``listener`` hears the session's progress for one call, and only that call."""
    session.progress_listener = listener
    try:
        yield
    finally:
        session.progress_listener = None


def _ignore(future: Any) -> None:
    """A lease write nobody waits for: a failure only means the lease expires later."""
    future.exception()
