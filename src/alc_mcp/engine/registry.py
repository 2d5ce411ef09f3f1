"""The session registry: starts sessions, routes answers, snapshots, cancels,
hibernates and revives them. Async (anyio); it never blocks the event loop on a
session thread or on the database.

A session is *live* (a VM on a thread) or, with a store, *dormant*: only its journal,
after a restart or hibernation. Any call that needs the VM revives a dormant session
by replaying its journal in a fresh VM.

State changes of one session are serialized (the session's feed lock and the loop),
so two concurrent calls cannot interleave: the first resumes it, the second finds it
running and gets a clear "busy" error.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio.lowlevel import current_token

from alc_mcp import telemetry
from alc_mcp.config import Config
from alc_mcp.domain.feed_result import Cancelled, FeedResult, Paused
from alc_mcp.domain.journal import Finished, History, Started, fold
from alc_mcp.domain.pending_filter import PendingFilter
from alc_mcp.domain.state import Phase
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.journal import JournalWriter, SessionRecorder
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.session import Answer, Session, SessionBusy, SessionError, SessionFinished, build_snapshot
from alc_mcp.engine.storage import SharedStore, Storage
from alc_mcp.engine.variables import Outcome, VariableOps, with_limits
from alc_mcp.engine.worker import Program
from alc_mcp.store.memory import MemoryShared

T = TypeVar("T")

#: How many finished session ids are remembered without a store, to tell "finished"
#: from "never existed".
FINISHED_MEMORY = 1024
TASK_PREVIEW_CHARS = 100
RESUMABLE = ("paused", "running")


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
        self, config: Config, store: Storage | None = None, writer: JournalWriter | None = None
    ) -> None:
        self.config = config
        self.store = store if writer is not None else None
        self.writer = writer
        self.shared: SharedStore = self.store.shared if self.store is not None else MemoryShared()
        self.resolver = PackageResolver.from_dirs(config.packages_path, config.home)
        self._sessions: dict[str, Session] = {}
        self._dormant: dict[str, Dormant] = {}
        # A dormant session being revived, or changed by the host: one at a time.
        self._dormant_busy: dict[str, anyio.Event] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()

    @property
    def durable(self) -> bool:
        return self.store is not None

    async def read(self, operation: Callable[[], T]) -> T:
        """Run a store operation after every write submitted before it."""
        assert self.writer is not None
        return await self.writer.call(operation)

    async def open(self) -> int:
        """Register the resumable sessions found in the store; returns how many."""
        if self.store is None:
            return 0
        rows = await self.read(
            partial(self.store.sessions.list_sessions, limit=sys.maxsize, statuses=RESUMABLE)
        )
        for row in rows:
            self._dormant[row.id] = Dormant(row.id, row.name, row.strategy, row.updated_at)
        return len(rows)

    def _recorder(self, session_id: str) -> SessionRecorder:
        return SessionRecorder(session_id, None if self.store is None else self.store.sessions, self.writer)

    # --- lifecycle ---------------------------------------------------------------

    async def start(self, program: Program, *, strategy: str | None = None) -> tuple[str, FeedResult]:
        session_id = new_session_id()
        started_at = now_ms()
        name = None
        if self.store is not None:
            started = Started(program.source, program.chunkname, program.ctx, strategy, program.vars)
            name = await self.read(
                partial(
                    self.store.sessions.create_session,
                    session_id,
                    started,
                    started_at,
                    task_preview=task_preview(program),
                )
            )
        session = self._new_session(session_id, program, name=name, strategy=strategy, started_at=started_at)
        self._sessions[session_id] = session
        telemetry.emit("session.started", session_id=session_id, strategy=strategy)
        session.start()
        return session_id, await self._drive(session)

    async def feed(self, key: str, answers: Sequence[Answer]) -> FeedResult:
        """Feed one or more answers; resumes the script once its pause is complete."""
        if not answers:
            raise SessionError("Empty responses array")
        session_id = await self.resolve(key)
        session, revived, was_running = await self._live(session_id)
        if revived is not None and (was_running or not isinstance(revived, Paused)):
            # The journal carried the run past the point this answer was meant for
            # (the server stopped mid-run): show where the session is now instead.
            return revived
        accepted = await session.feed(answers)
        if accepted is not None:
            return accepted
        return await self._drive(session)

    async def cancel(self, key: str) -> FeedResult:
        session_id = await self.resolve(key)
        session = self._sessions.get(session_id)
        if session is not None:
            try:
                return await session.cancel()
            finally:
                self._retire(session)
        dormant = self._dormant.get(session_id)
        if dormant is None:
            raise self._not_found(session_id)
        history = await self._history(dormant)
        now = now_ms()
        history.metrics.on_finished(now)
        stats = history.metrics.stats_json(now)
        await self._recorder(session_id).finish(Finished(Phase.CANCELLED.value, stats=stats), now)
        telemetry.emit(
            "session.cancelled",
            {"elapsed_ms": stats["auto"]["elapsed_ms"], "llm_calls": stats["auto"]["llm_calls"]},
            session_id=session_id,
            strategy=history.started.strategy,
        )
        self._dormant.pop(session_id, None)
        return Cancelled(stats)

    async def rewind(self, key: str, query_index: int) -> FeedResult:
        """Forget everything from the given answered query on, and pause there again.

        Everything is checked before anything changes: a refused rewind leaves the
        session exactly as it was."""
        if self.store is None:
            raise SessionError("rewind needs the session journal, but durability is off (see alc_info)")
        session_id = await self.resolve(key)
        session = self._sessions.get(session_id)
        if session is not None and (session.phase is Phase.RUNNING or session.driving or session.feeding):
            raise SessionBusy(f"session '{session_id}' is running; wait until it pauses, then rewind")
        row = await self.read(partial(self.store.sessions.get_session, session_id))
        if row is None:
            raise self._not_found(session_id)
        answered = fold(await self.read(partial(self.store.sessions.journal, session_id))).answered
        if not 0 <= query_index < len(answered):
            raise SessionError(
                f"query_index {query_index} is out of range: session '{session_id}' has {len(answered)} "
                f"answered queries (0..{len(answered) - 1}); alc_log_view lists them"
            )
        if session is not None:
            session.close()
            self._sessions.pop(session_id, None)
        await self.read(partial(self.store.sessions.truncate_from, session_id, answered[query_index].seq))
        await self.read(
            partial(self.store.sessions.update_session, session_id, status="paused", updated_at=now_ms())
        )
        self._finished.pop(session_id, None)
        self._dormant[session_id] = Dormant(session_id, row.name, row.strategy, now_ms())
        _session, revived, _was_running = await self._live(session_id)
        assert revived is not None
        return revived

    async def _live(self, session_id: str) -> tuple[Session, FeedResult | None, bool]:
        """The live session, reviving a dormant one by replaying its journal.

        Returns the session, the event the revival ended on (None if it was live
        already) and whether the journal shows it was running (not paused) when its VM
        went away.
        """
        while session_id in self._dormant_busy:
            await self._dormant_busy[session_id].wait()
        session = self._sessions.get(session_id)
        if session is not None:
            return session, None, False
        dormant = self._dormant.get(session_id)
        if dormant is None:
            raise self._not_found(session_id)
        done = self._dormant_busy[session_id] = anyio.Event()
        try:
            assert self.store is not None
            history = fold(await self.read(partial(self.store.sessions.journal, session_id)))
            if history.finished is not None:
                self._dormant.pop(session_id, None)
                raise SessionFinished(
                    f"session '{session_id}' has already finished ({history.finished.phase})"
                )
            was_running = history.pending is None
            started = history.started
            program = Program(started.source, started.chunkname, started.ctx, started.vars)
            session = self._new_session(
                session_id, program, name=dormant.name, strategy=started.strategy, history=history
            )
            self._dormant.pop(session_id, None)
            self._sessions[session_id] = session
            began = time.perf_counter()
            session.start()
            result = await self._drive(session)
            telemetry.emit(
                "session.replayed",
                {"answers": len(history.answered), "duration_ms": (time.perf_counter() - began) * 1000},
                session_id=session_id,
                strategy=started.strategy,
            )
        finally:
            del self._dormant_busy[session_id]
            done.set()
        return session, result, was_running

    async def _drive(self, session: Session) -> FeedResult:
        session.driving = True
        try:
            result = await session.next_event()
        except BaseException:
            # The caller went away mid-run (cancelled request, shutdown): stop the script
            # rather than leave a thread nobody will ever answer.
            if not session.state.is_terminal:
                session.close()
                self._retire(session, "cancelled")
            raise
        finally:
            session.driving = False
        if not isinstance(result, Paused):
            self._retire(session)
        return result

    def _new_session(self, session_id: str, program: Program, **options: Any) -> Session:
        """A session for this registry's limits, store and packages (made room for)."""
        self._make_room()
        return Session(
            session_id,
            program,
            self.config.limits,
            current_token(),
            self._recorder(session_id),
            self.shared,
            self.resolver,
            **options,
        )

    def _retire(self, session: Session, phase: str | None = None) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        self._finished[session.id] = phase or session.phase.value
        while len(self._finished) > FINISHED_MEMORY:
            self._finished.popitem(last=False)

    # --- hibernation ------------------------------------------------------------------

    def _can_hibernate(self, session: Session) -> bool:
        return self.durable and session.phase is Phase.PAUSED and not session.driving and not session.feeding

    def hibernate(self, session: Session) -> None:
        """Drop the VM and thread of a paused session; its journal brings it back."""
        telemetry.emit(
            "session.hibernated",
            {"idle_ms": now_ms() - session.last_activity_ms},
            session_id=session.id,
            strategy=session.strategy,
        )
        session.close()
        self._sessions.pop(session.id, None)
        self._dormant[session.id] = Dormant(
            session.id, session.name, session.strategy, session.last_activity_ms
        )

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
        idle = [s for s in self._sessions.values() if self._can_hibernate(s) and s.last_activity_ms <= cutoff]
        for session in idle:
            self.hibernate(session)
        return [s.id for s in idle]

    # --- lookups -----------------------------------------------------------------

    async def resolve(self, key: str) -> str:
        """A session id from an id or a name."""
        if key in self._sessions or key in self._dormant:
            return key
        for entry in (*self._sessions.values(), *self._dormant.values()):
            if entry.name == key:
                return entry.id
        if self.store is not None:
            found = await self.read(partial(self.store.sessions.resolve, key))
            if found is not None:
                return found
        return key

    def _not_found(self, session_id: str) -> SessionNotFound:
        phase = self._finished.get(session_id)
        if phase == "expired":
            return SessionNotFound(
                f"session '{session_id}' not found: it expired after "
                f"{self.config.idle_ttl_seconds:g} s without activity (ALC_IDLE_TTL_SECONDS); "
                "start it again with alc_run"
            )
        if phase is not None:
            return SessionNotFound(
                f"session '{session_id}' not found: it has already finished ({phase}); "
                "start a new one with alc_run or alc_advice"
            )
        return SessionNotFound(f"session '{session_id}' not found")

    def live_session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def forget(self, session_id: str) -> None:
        """Drop every trace of a session from memory (its VM must be stopped already)."""
        self._sessions.pop(session_id, None)
        self._dormant.pop(session_id, None)
        self._finished.pop(session_id, None)

    async def _history(self, dormant: Dormant) -> History:
        if dormant.history is None:
            assert self.store is not None
            history = fold(await self.read(partial(self.store.sessions.journal, dormant.id)))
            history.variables = with_limits(history.variables, self.config.limits)
            dormant.history = history
        return dormant.history

    async def snapshot(
        self, key: str, pending_filter: PendingFilter | None = None, include_history: bool = False
    ) -> dict[str, Any]:
        session_id = await self.resolve(key)
        session = self._sessions.get(session_id)
        if session is not None:
            return session.snapshot(pending_filter, include_history)
        dormant = self._dormant.get(session_id)
        if dormant is None:
            raise self._not_found(session_id)
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
            strategy=history.started.strategy,
            live=False,
            pending_filter=pending_filter,
            include_history=include_history,
            variables=history.variables,
        )

    async def snapshots(
        self, pending_filter: PendingFilter | None = None, include_history: bool = False
    ) -> list[dict[str, Any]]:
        snaps = [s.snapshot(pending_filter, include_history) for s in list(self._sessions.values())]
        for dormant in list(self._dormant.values()):
            snaps.append(await self._dormant_snapshot(dormant, pending_filter, include_history))
        return sorted(snaps, key=lambda s: (s["started_at"], s["session_id"]))

    # --- session variables from the host -------------------------------------------------

    async def read_variables(self, key: str, read: Callable[[VariableOps], T]) -> T:
        """Read a session's variables, live, dormant or finished (from its journal)."""
        session_id = await self.resolve(key)
        session = self._sessions.get(session_id)
        if session is not None:
            return session.read_variables(read)
        dormant = self._dormant.get(session_id)
        if dormant is not None:
            return read(VariableOps(session_id, (await self._history(dormant)).variables))
        if (
            self.store is not None
            and await self.read(partial(self.store.sessions.get_session, session_id)) is not None
        ):
            history = fold(await self.read(partial(self.store.sessions.journal, session_id)))
            return read(VariableOps(session_id, history.variables))
        raise self._not_found(session_id)

    async def change_variables(self, key: str, change: Callable[[VariableOps], Outcome]) -> Outcome:
        """Change a paused (live or hibernated) session's variables; journaled before it returns."""
        session_id = await self.resolve(key)
        session = self._sessions.get(session_id)
        if session is not None:
            return await session.change_variables(change)
        while session_id in self._dormant_busy:  # a revival (or another change) is under way
            await self._dormant_busy[session_id].wait()
        session = self._sessions.get(session_id)
        if session is not None:
            return await session.change_variables(change)
        dormant = self._dormant.get(session_id)
        if dormant is None:
            raise self._not_found(session_id)
        # Hold off revivals until the change is journaled: a revival reads the journal,
        # and must either see the whole change or come after it.
        done = self._dormant_busy[session_id] = anyio.Event()
        try:
            history = await self._history(dormant)
            if history.state.phase is not Phase.PAUSED:
                raise SessionBusy(
                    f"session '{session_id}' was interrupted mid-run; continue it (alc_continue) before "
                    "changing its variables"
                )
            outcome = change(VariableOps(session_id, history.variables))
            await self._recorder(session_id).commit(*outcome.events)
            return outcome
        finally:
            del self._dormant_busy[session_id]
            done.set()

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
            s for s in self._sessions.values() if s.phase is Phase.PAUSED and s.last_activity_ms <= cutoff
        ]
        for session in expired:
            session.close()
            self._retire(session, "expired")
        return [s.id for s in expired]

    async def run_reaper(self) -> None:
        while True:
            await anyio.sleep(self.config.reap_interval_seconds)
            self.reap_idle()

    def close(self) -> None:
        """Stop every session's thread (server shutdown); journals keep paused ones."""
        for session in list(self._sessions.values()):
            session.close()
            self._retire(session, "cancelled")
