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
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio.lowlevel import current_token

from alc_mcp import telemetry
from alc_mcp.config import Config
from alc_mcp.domain.feed_result import Cancelled, FeedResult, Paused
from alc_mcp.domain.journal import Finished, History, fold
from alc_mcp.domain.pending_filter import PendingFilter
from alc_mcp.domain.program import Program
from alc_mcp.domain.state import Phase
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.journal import JournalWriter, SessionRecorder
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.progress import ProgressListener
from alc_mcp.engine.replay import Replay, RevivalFailed
from alc_mcp.engine.session import (
    Answer,
    Session,
    SessionBusy,
    SessionElsewhere,
    SessionError,
    SessionFinished,
    build_snapshot,
)
from alc_mcp.engine.storage import LeaseHeld, SessionStore, SharedStore
from alc_mcp.engine.variables import Outcome, VariableOps, with_limits

__all__ = ["SessionNotFound", "SessionRegistry", "new_session_id"]

T = TypeVar("T")

#: How many finished session ids are remembered without a store, to tell "finished"
#: from "never existed".
FINISHED_MEMORY = 1024
TASK_PREVIEW_CHARS = 100
RESUMABLE = ("paused", "running")
FINISHED = (Phase.COMPLETED.value, Phase.FAILED.value, Phase.CANCELLED.value)


class SessionNotFound(SessionError):
    pass


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
    history: History | None = None  # folded journal, cached while nothing changes it


class SessionRegistry:
    def __init__(
        self,
        config: Config,
        resolver: PackageResolver,
        shared: SharedStore,
        store: SessionStore | None = None,
        writer: JournalWriter | None = None,
    ) -> None:
        self.config = config
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

    @property
    def durable(self) -> bool:
        return self.store is not None

    async def _stored(self, operation: Callable[[SessionStore], T]) -> T:
        """Run a store operation after every write submitted before it."""
        assert self.store is not None and self.writer is not None
        return await self.writer.call(partial(operation, self.store))

    async def open(self) -> int:
        """Register the resumable sessions found in the store; returns how many."""
        if self.store is None:
            return 0
        rows = await self._stored(lambda s: s.list_sessions(limit=sys.maxsize, statuses=RESUMABLE))
        for row in rows:
            self._dormant[row.id] = Dormant(row.id, row.name, row.strategy, row.updated_at)
        return len(rows)

    def _recorder(self, session_id: str) -> SessionRecorder:
        recorder = SessionRecorder(session_id, self.store, self.writer)
        recorder.lease = self._leases.get(session_id)
        return recorder

    # --- leases --------------------------------------------------------------------------

    async def _take_lease(self, session_id: str) -> None:
        """Become the one process driving the session (the caller holds its guard), or
        raise ``SessionElsewhere`` naming the live process that does."""
        if self.store is None:
            return
        ttl_ms = int(self.config.lease_seconds * 1000)
        owner, pid = self._owner, self._pid
        try:
            token = await self._stored(lambda s: s.take_lease(session_id, owner, pid, now_ms(), ttl_ms))
        except LeaseHeld as exc:
            dead = exc.owner if _is_dead(exc.owner, exc.pid) else None
            if dead is None:
                raise SessionElsewhere(str(exc)) from None
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
        dormant = self._dormant[session_id] = Dormant(row.id, row.name, row.strategy, row.updated_at)
        return dormant

    # --- the guard ---------------------------------------------------------------------

    @asynccontextmanager
    async def _exclusive(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session's guard; see the module docstring for who waits and who is refused."""
        guard = self._guards.setdefault(session_id, anyio.Lock())
        if not guard.locked():
            async with guard:
                yield
            return
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
        self, program: Program, listener: ProgressListener | None = None
    ) -> tuple[str, FeedResult]:
        """Start a session and run it to its first pause or its end; ``listener`` hears
        the script's alc.progress calls meanwhile."""
        session_id = new_session_id()
        started_at = now_ms()
        name = None
        if self.store is not None:
            preview = task_preview(program)
            name = await self._stored(
                lambda s: s.create_session(session_id, program, started_at, task_preview=preview)
            )
            await self._take_lease(session_id)
        session = self._new_session(session_id, program, name=name, started_at=started_at)
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
        async with self._exclusive(session_id):
            session, replay, revived = await self._live(session_id, listener)
            if replay is not None and revived is not None and replay.supersedes(revived):
                return revived
            with _listening(session, listener):
                try:
                    accepted = await session.feed(answers)
                except SessionElsewhere:
                    # Our lease was taken over (we missed heartbeats): this VM is stale.
                    # Let the session go dormant here; its journal is the other process's now.
                    self._let_go(session)
                    raise
                if accepted is not None:
                    return accepted
                return await self._drive(session)

    def _let_go(self, session: Session) -> None:
        """Drop a live session whose lease another process holds now, keeping it dormant."""
        if self._sessions.get(session.id) is not session:
            return
        session.close()
        del self._sessions[session.id]
        self._leases.pop(session.id, None)
        self._dormant[session.id] = Dormant(
            session.id, session.name, session.strategy, session.last_activity_ms
        )

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
        dormant = await self._adopt(session_id)
        if dormant is None:
            raise await self._not_found(session_id)
        await self._take_lease(session_id)
        try:
            dormant.history = None  # another process may have moved it on
            history = await self._history(dormant)
            now = now_ms()
            history.metrics.on_finished(now)
            stats = history.metrics.stats_json(now)
            await self._recorder(session_id).finish(Finished(Phase.CANCELLED.value, stats=stats), now)
        finally:
            self._release_lease(session_id)
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
            self._dormant[session_id] = Dormant(session_id, row.name, row.strategy, now_ms())
            _session, _replay, revived = await self._live(session_id)
            assert revived is not None
            return revived

    async def _live(
        self, session_id: str, listener: ProgressListener | None = None
    ) -> tuple[Session, Replay | None, FeedResult | None]:
        """The live session, reviving a dormant one by replaying its journal (the caller
        holds the guard; ``listener`` hears heartbeats while a long replay runs). Returns
        the session and, after a revival, the replay and the event it ended on."""
        session = self._sessions.get(session_id)
        if session is not None:
            return session, None, None
        dormant = await self._adopt(session_id)
        if dormant is None:
            raise await self._not_found(session_id)
        await self._take_lease(session_id)
        try:
            history = fold(await self._stored(lambda s: s.journal(session_id)))
        except BaseException:
            self._release_lease(session_id)
            raise
        dormant.history = None
        if history.finished is not None:
            self._release_lease(session_id)
            self._dormant.pop(session_id, None)
            raise SessionFinished(f"session '{session_id}' has already finished ({history.finished.phase})")
        replay = Replay(history)
        session = self._new_session(session_id, history.program, name=dormant.name, replay=replay)
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
        except RevivalFailed:
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

    def _new_session(self, session_id: str, program: Program, **options: Any) -> Session:
        """A session for this registry's limits, store and packages (made room for)."""
        self._make_room()
        session = Session(
            session_id,
            program,
            self.config.limits,
            current_token(),
            self._recorder(session_id),
            self.shared,
            self.resolver,
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
        self._dormant[session.id] = Dormant(
            session.id, session.name, session.strategy, session.last_activity_ms
        )
        return True

    def _make_room(self) -> None:
        """Keep the number of live VMs under the cap by hibernating the least recently
        used paused sessions (running ones cannot be hibernated)."""
        while len(self._sessions) >= self.config.max_live_sessions:
            candidates = [s for s in self._sessions.values() if self._can_hibernate(s)]
            if not candidates:
                return
            self.hibernate(min(candidates, key=lambda s: s.last_activity_ms))

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
        return SessionNotFound(f"session '{session_id}' not found")

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
                self._dormant[row.id] = Dormant(row.id, row.name, row.strategy, row.updated_at)
            elif dormant is not None and dormant.last_activity_ms != row.updated_at:
                dormant.history = None
                dormant.last_activity_ms = row.updated_at
        for session_id in [s for s in self._dormant if s not in resumable and not self._is_guarded(s)]:
            del self._dormant[session_id]

    async def snapshots(
        self, pending_filter: PendingFilter | None = None, include_history: bool = False
    ) -> list[dict[str, Any]]:
        await self._refresh_dormant()
        snaps = [s.snapshot(pending_filter, include_history) for s in list(self._sessions.values())]
        for dormant in list(self._dormant.values()):
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
            dormant = await self._adopt(session_id)
            if dormant is None:
                raise await self._not_found(session_id)
            await self._take_lease(session_id)
            try:
                dormant.history = None  # another process may have moved it on
                history = await self._history(dormant)
                if history.state.phase is not Phase.PAUSED:
                    raise SessionBusy(
                        f"session '{session_id}' was interrupted mid-run; continue it (alc_continue) "
                        "before changing its variables"
                    )
                outcome = change(VariableOps(session_id, history.variables))
                await self._recorder(session_id).commit(*outcome.events)
                return outcome
            finally:
                self._release_lease(session_id)

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
        for session in list(self._sessions.values()):
            session.close()
            self._retire(session, "cancelled")
        if self.store is not None and self.writer is not None:
            store, owner = self.store, self._owner
            with contextlib.suppress(RuntimeError):
                self.writer.submit(lambda: store.release_leases(owner)).add_done_callback(_ignore)


_HOST = socket.gethostname()


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
