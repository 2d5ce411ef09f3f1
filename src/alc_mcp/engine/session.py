"""One live session as the async side sees it: the domain state machine and metrics,
the worker thread running the script, the channel between the two, and its journal.

State and metrics are touched from the event loop (pauses, feeds, snapshots) and from
the session thread (logs, progress, stats, budget checks, resuming), so every access
holds ``_lock``. Events travel thread → loop through a memory stream fed by a call
posted to the loop (``engine.handoff``); answers travel loop → thread through the
worker's inbox. Everything the host is told has been journaled first.

The resume path costs two thread hand-offs, loop → session thread → loop: the session
thread journals the answers that complete a pause before the script sees them (and
applies them to the state machine only once they are durable), and journals the next
pause before the loop hears of it, writing through the journal writer on its own
thread (``JournalWriter.run``) rather than sending the loop to the writer thread and
back twice. An answer the store refuses is never applied: the thread tells the loop
(``_Refused``) and waits on the same pause again.

Calls that change a session (feed, cancel of a paused session, variable changes) are
serialized by the registry's per-session guard, held by the caller; a session never
has two of them in flight.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.lowlevel import EventLoopToken

from alc_mcp import telemetry
from alc_mcp.config import Limits
from alc_mcp.domain.budget import Budget
from alc_mcp.domain.feed_result import Accepted, Cancelled, Completed, Failed, FeedResult, Paused
from alc_mcp.domain.journal import (
    Answered,
    Asked,
    Finished,
    JournalEvent,
    Logged,
    ProgressSet,
    StatRecorded,
)
from alc_mcp.domain.logs import LogEntry
from alc_mcp.domain.metrics import ExecutionMetrics
from alc_mcp.domain.pending_filter import PendingFilter, project
from alc_mcp.domain.program import Program
from alc_mcp.domain.query import TokenUsage
from alc_mcp.domain.state import AlreadyResponded, ExecutionState, Phase, UnknownQuery
from alc_mcp.domain.variables import VariableError, VariableSet
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.effects import Effects, Pauser
from alc_mcp.engine.events import (
    PauseRequest,
    ScriptCancelled,
    ScriptFailed,
    ScriptReturned,
    WorkerEvent,
)
from alc_mcp.engine.handoff import LoopGone, launch, post
from alc_mcp.engine.journal import SessionRecorder
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.port import NO_FACILITIES, Facilities
from alc_mcp.engine.progress import ProgressListener
from alc_mcp.engine.replay import CaughtUp, Replay, ReplayEffects, RevivalFailed
from alc_mcp.engine.sandbox import LimitMonitor, time_limit_message
from alc_mcp.engine.stdlib.state import namespace_of
from alc_mcp.engine.storage import AnswerTaken, LeaseHeld, SharedStore, StoreUnavailable
from alc_mcp.engine.variables import Outcome, VariableOps, script_call, with_limits
from alc_mcp.engine.worker import LuaWorker, WorkerGone

__all__ = [
    "AlreadyAnswered",
    "Answer",
    "Session",
    "SessionBusy",
    "SessionElsewhere",
    "SessionError",
    "SessionFinished",
    "StoreDown",
    "build_snapshot",
]


class SessionError(Exception):
    """A caller mistake about a session; the message says what to do."""


class SessionBusy(SessionError):
    pass


class SessionFinished(SessionError):
    pass


class SessionElsewhere(SessionBusy):
    """Another live alc-mcp process on the same ALC_HOME drives this session."""


class AlreadyAnswered(SessionError):
    """Another call (perhaps on another worker) answered this pause first."""


class StoreDown(SessionError):
    """The journal cannot be written right now; nothing was applied."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer from the host; ``query_id`` None means "the only pending query"."""

    query_id: str | None
    response: str
    usage: TokenUsage | None = None


@dataclass(frozen=True, slots=True)
class _Journaled:
    """A pause as the session thread hands it to the loop: journaled already (or, if the
    store refused it, kept to be journaled with its first answers), or ``caught_up``:
    the recorded pause a replay ended on, which the journal holds."""

    request: PauseRequest
    at: int
    caught_up: CaughtUp | None


@dataclass(frozen=True, slots=True)
class _Refused:
    """The answers handed to the session thread could not be journaled: nothing was
    applied, and the thread waits on the same pause again."""

    error: SessionError


@dataclass(frozen=True, slots=True)
class _Resume:
    """Answers that complete a pause, handed to the session thread to journal and apply."""

    answers: list[Answer]
    events: tuple[JournalEvent, ...]
    at: int


def build_snapshot(
    session_id: str,
    state: ExecutionState,
    metrics: ExecutionMetrics,
    *,
    name: str | None,
    strategy: str | None,
    live: bool,
    pending_filter: PendingFilter | None,
    include_history: bool,
    variables: VariableSet,
    journal_warning: str | None = None,
) -> dict[str, Any]:
    """The ``alc_status`` object of one session, live or rebuilt from its journal."""
    phase = state.phase
    snap: dict[str, Any] = {
        "session_id": session_id,
        "state": phase.value if phase in (Phase.RUNNING, Phase.PAUSED) else "terminal",
        "phase": phase.value,
        "live": live,
        "started_at": metrics.started_at_ms,
        "last_activity_at": metrics.last_activity_ms,
        "metrics": metrics.snapshot_json(now_ms(), include_history),
    }
    if name is not None:
        snap["name"] = name
    snap["variables"] = {"count": len(variables), "names": variables.names()}
    pending = state.pending
    if phase is Phase.PAUSED and pending is not None:
        snap["pending_queries"] = pending.remaining()
        if pending_filter is not None:
            unanswered = set(pending.unanswered_ids())
            snap["pending"] = [project(q, pending_filter) for q in pending.queries if q.id in unanswered]
    if strategy is not None:
        snap["strategy"] = strategy
    if journal_warning is not None:
        snap["journal_warning"] = journal_warning
    return snap


class Session:
    def __init__(
        self,
        session_id: str,
        program: Program,
        limits: Limits,
        token: EventLoopToken,
        recorder: SessionRecorder,
        shared: SharedStore,
        resolver: PackageResolver,
        *,
        name: str | None = None,
        replay: Replay | None = None,
        started_at: int | None = None,
        principal: str | None = None,
        facilities: Facilities = NO_FACILITIES,
    ) -> None:
        self.id = session_id
        self.name = name
        #: Who started it (None without authentication); only they see it.
        self.principal = principal
        self.strategy = program.strategy
        self.recorder = recorder
        self.replay = replay
        self._limits = limits
        self._token = token
        self._lock = threading.Lock()
        self.state = ExecutionState()
        if replay is None:
            self.metrics = ExecutionMetrics(started_at or now_ms(), Budget.from_ctx(program.ctx))
        else:
            self.metrics = replay.metrics
        variables = with_limits(replay.variables if replay else VariableSet(), limits)
        self.vars = VariableOps(session_id, variables, program.vars)
        #: What the thread handed to the loop, not yet taken (``_next_delivered``): a deque
        #: and an event rather than a memory stream, whose receive yields to the loop once
        #: more than waiting needs.
        self._delivered: deque[WorkerEvent | _Journaled | _Refused] = deque()
        self._arrived: anyio.Event | None = None
        self._finished = anyio.Event()
        self._closed = False
        self._paused_at = 0
        #: Pauses so far (a feed checks it still answers the pause it was sent for).
        self.pauses = 0
        #: A pause the store could not take: journaled together with its first answers.
        self._unsaved_pause: Asked | None = None
        #: Answers on their way to the session thread (set by the loop, cleared by the
        #: thread once they are applied or refused): the session counts as running.
        self._resume: _Resume | None = None
        #: ``_resume`` is set and the thread is still to be woken (``_next_delivered``).
        self._wake_thread = False
        #: The thread told the loop its answers were refused and waits on the pause again.
        self._asking_again = False
        self.final: FeedResult | None = None
        self._cancelled_by_host = False
        #: Who is told of the script's alc.progress calls while a call drives it.
        self.progress_listener: ProgressListener | None = None
        self.worker = LuaWorker(
            program,
            self,
            self._post_from_thread,
            limits,
            name=f"alc-{session_id}",
            effects_factory=self._make_effects,
            shared=shared,
            namespace=namespace_of(program.ctx),
            resolver=resolver,
            facilities=facilities,
        )

    def _make_effects(self, pause: Pauser, monitor: LimitMonitor) -> Effects:
        resuming = self._resuming(pause)
        if self.replay is None:
            return Effects(resuming, self.recorder.record)
        return ReplayEffects(
            resuming, self.recorder.record, self.replay, restart_run=monitor.start_run, stop=monitor.stop
        )

    def _resuming(self, pause: Pauser) -> Pauser:
        """``pause`` (post the pause, wait for the host), then the answers journaled and
        applied on this thread before the script gets them; refused, the loop is told and
        the thread waits on the same pause again."""

        def paused(request: PauseRequest) -> list[str]:
            pause(request)
            while isinstance(outcome := self._resumed(), SessionError):
                self._asking_again = True
                self._hand_over(_Refused(outcome))
                pause(request)
            return outcome

        return paused

    def _resumed(self) -> list[str] | SessionError:
        """Journal the answers the loop handed over; apply them once durable. The script's
        answers in the order it asked, or the refusal to tell the host."""
        resume = self._resume
        assert resume is not None, "answers reached the session thread without a feed"
        try:
            self.recorder.commit_here(*resume.events, at=resume.at)
        except (LeaseHeld, AnswerTaken, StoreUnavailable) as exc:
            self._resume = None
            return self._refusal(exc)
        self._unsaved_pause = None
        with self._lock:
            self._apply(resume.answers, resume.at)
            responses = self.state.take_responses()
            self.metrics.on_resumed(resume.at)
            self._resume = None
        telemetry.emit(
            "session.resumed",
            {"answers": len(responses), "waited_ms": resume.at - self._paused_at},
            session_id=self.id,
            strategy=self.strategy,
        )
        return responses

    @property
    def replaying(self) -> bool:
        return self.replay is not None and self.replay.active

    # --- SessionPort (called on the session thread) ----------------------------
    # While replaying, logs and progress are already in the journal (and in the
    # metrics rebuilt from it): they are not recorded twice.

    def log(self, level: str, source: str, message: str) -> None:
        if self.replaying:
            return
        at = now_ms()
        with self._lock:
            self.metrics.push_log(LogEntry(ts=at, level=level, source=source, message=message))
        self.recorder.record(Logged(level, source, message), at)

    def record_stat(self, key: str, value: Any) -> None:
        with self._lock:
            self.metrics.record_custom(key, value)
        if not self.replaying:
            self.recorder.record(StatRecorded(key, value))

    def get_stat(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            return key in self.metrics.custom, self.metrics.custom.get(key)

    def set_progress(self, step: int, total: int, message: str | None) -> None:
        if self.replaying:
            return
        with self._lock:
            self.metrics.set_progress(step, total, message)
        event = ProgressSet(step, total, message)
        self.recorder.record(event)
        listener = self.progress_listener
        if listener is not None:
            self._tell_listener(listener, event)

    def _tell_listener(self, listener: ProgressListener, event: ProgressSet) -> None:
        """Tell the listener on the loop, and wait until it has been told (so the pause
        that follows is told after it). Progress is a courtesy to the host: a loop that
        is gone or a listener that fails never stops the script."""
        if self._closed:
            return
        try:
            anyio.from_thread.run(listener.progressed, event, token=self._token)
        except Exception:
            return

    def vars_call(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            try:
                outcome = script_call(self.vars, op, args, now_ms())
            except VariableError as exc:
                return {"error": str(exc)}
        for event in outcome.events:
            self.recorder.record(event)
        return {"ok": outcome.result}

    def check_budget(self) -> str | None:
        with self._lock:
            return self.metrics.check_budget(now_ms())

    def budget_remaining(self) -> dict[str, Any] | None:
        with self._lock:
            return self.metrics.budget_remaining(now_ms())

    def _post_from_thread(self, event: WorkerEvent) -> None:
        """Hand an event to the loop without waiting for it (see ``engine.handoff``):
        the thread goes on to wait for its answers at once. A pause is journaled first,
        here, so the loop can tell the host at once."""
        if self._closed:  # nobody will read it; do not wait for the loop at all
            raise WorkerGone("session closed")
        if not isinstance(event, PauseRequest):
            self._hand_over(event)
        elif self._asking_again:  # the loop knows this pause is still open (_Refused)
            self._asking_again = False
        else:
            self._hand_over(self._journal_pause(event))

    def _journal_pause(self, request: PauseRequest) -> _Journaled:
        at = now_ms()
        caught_up = self.replay.take_caught_up() if self.replay is not None else None
        if caught_up is None:
            with self._lock:
                self.metrics.on_paused(request.queries, at)
                llm_calls, rounds = self.metrics.llm_calls, self.metrics.rounds
            asked = Asked(request.queries)
            try:
                self.recorder.commit_here(
                    asked, at=at, status="paused", updated_at=at, llm_calls=llm_calls, rounds=rounds
                )
            except StoreUnavailable:
                # The script is paused all the same; the pause is journaled with its answers.
                self._unsaved_pause = asked
        return _Journaled(request, at, caught_up)

    def _hand_over(self, event: WorkerEvent | _Journaled | _Refused) -> None:
        try:
            post(self._token, self._deliver, event)
        except LoopGone as exc:
            raise WorkerGone(str(exc)) from exc

    def _deliver(self, event: WorkerEvent | _Journaled | _Refused) -> None:
        if self._closed:  # closed meanwhile: nobody will answer, so the thread must not wait
            self.worker.cancel()
            return
        self._delivered.append(event)
        self._wake()

    def _wake(self) -> None:
        if self._arrived is not None:
            self._arrived.set()

    async def _next_delivered(self) -> WorkerEvent | _Journaled | _Refused:
        """The next thing the thread handed over; ``EndOfStream`` once closed and drained.

        Answers handed over by ``feed`` wake the thread here, just before the loop waits,
        not when ``feed`` returns: woken earlier, the thread only waits for the GIL the
        loop holds until then."""
        if self._wake_thread:
            self._wake_thread = False
            self.worker.answer([])
        while not self._delivered:
            if self._closed:
                raise anyio.EndOfStream
            self._arrived = anyio.Event()
            try:
                await self._arrived.wait()
            finally:
                self._arrived = None
        return self._delivered.popleft()

    # --- loop side ------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """Running from the moment answers are handed to the session thread."""
        return Phase.RUNNING if self._resume is not None else self.state.phase

    @property
    def last_activity_ms(self) -> int:
        return self.metrics.last_activity_ms

    def start(self) -> None:
        """Start the session thread (from the launcher: the loop does not wait for it).
        The run's clock starts now, so the watchdog in ``next_event`` has a deadline even
        before the thread runs; the thread starts it again for itself (CPU time is its own)."""
        self.worker.monitor.start_run()
        launch(self._start_worker)

    def _start_worker(self) -> None:
        try:
            self.worker.start()
        except RuntimeError as exc:  # the OS would not give another thread
            with contextlib.suppress(WorkerGone):
                self._hand_over(ScriptFailed(f"internal error: cannot start the session thread: {exc}"))

    async def next_event(self) -> FeedResult:
        """Wait until the script pauses or ends; journal it; apply it to the state machine.

        The watchdog follows the run the script is in: a replay restarts the run at every
        step it answers from the journal, so each step gets the limit the original run
        had, not the whole replay together. A progress listener is woken whenever it is
        due to hear that the script still runs."""
        monitor = self.worker.monitor
        while True:
            left = monitor.deadline + self._limits.watchdog_grace_seconds - monitor.clock()
            if left <= 0:
                break
            listener = self.progress_listener
            due = listener.due_in() if listener is not None else left
            event: WorkerEvent | _Journaled | _Refused | None = None
            with anyio.move_on_after(min(left, due)):
                event = await self._next_delivered()
            # Handled outside the timeout: a heartbeat falling due must not cut its journaling short.
            if isinstance(event, _Journaled):
                return self._pause(event)
            if isinstance(event, _Refused):
                raise event.error
            if isinstance(event, ScriptReturned | ScriptFailed | ScriptCancelled):
                return await self._finish(event)
            if listener is not None and listener.due_in() <= 0:
                await listener.running()
        # The thread is stuck where the hook cannot fire (a C call). Give up on it: it
        # trips the limit as soon as it returns to Lua, and nobody waits for it.
        message = time_limit_message(self._limits)
        self.worker.cancel(message)
        return await self._finish(ScriptFailed(message))

    def _pause(self, paused: _Journaled) -> FeedResult:
        """The script paused (journaled by its thread already): apply it."""
        request, caught_up = paused.request, paused.caught_up
        with self._lock:
            self.state.pause(request.queries)
            if caught_up is not None:
                for query_id, response in caught_up.prefed:
                    self.state.feed(query_id, response)
        self._paused_at = paused.at
        self.pauses += 1
        if caught_up is not None:
            # The host has seen this pause already, and may have answered part of it:
            # show only what is still open, so no question is asked twice.
            return Paused(caught_up.unanswered)
        telemetry.emit(
            "session.paused", {"queries": len(request.queries)}, session_id=self.id, strategy=self.strategy
        )
        return Paused(request.queries)

    async def _finish(self, event: ScriptReturned | ScriptFailed | ScriptCancelled) -> FeedResult:
        revival_stopped = not isinstance(event, ScriptReturned) and not self._cancelled_by_host
        if self.replay is not None and self.replay.behind and revival_stopped:
            # The journal could not be replayed to where the session stopped (a limit,
            # a shutdown): that says nothing about the session, so nothing is recorded.
            self._finished.set()
            reason = event.error if isinstance(event, ScriptFailed) else "the replay was stopped"
            raise RevivalFailed(reason)
        now = now_ms()
        with self._lock:
            if not self.state.is_terminal:
                running = self.state.phase is Phase.RUNNING
                if running and isinstance(event, ScriptReturned):
                    self.state.complete(event.result)
                elif running and isinstance(event, ScriptFailed):
                    self.state.fail(event.error)
                else:
                    self.state.cancel()
            self.metrics.on_finished(now)
            stats = self.metrics.stats_json(now)
            phase = self.state.phase
        result: FeedResult
        if phase is Phase.COMPLETED:
            result = Completed(self.state.result, stats)
        elif phase is Phase.FAILED:
            result = Failed(self.state.error or "")
        else:
            result = Cancelled(stats)
        finished = Finished(phase.value, result=self.state.result, error=self.state.error, stats=stats)
        await self.recorder.finish(finished, now)
        auto = stats["auto"]
        telemetry.emit(
            f"session.{phase.value}",
            {"elapsed_ms": auto["elapsed_ms"], "llm_calls": auto["llm_calls"]},
            session_id=self.id,
            strategy=self.strategy,
        )
        self.final = result
        self._finished.set()
        return result

    async def feed(self, answers: Sequence[Answer]) -> Accepted | None:
        """Apply answers atomically: all are valid and journaled, or none is.

        Returns ``Accepted`` while answers are still missing, or None once the pause is
        complete and its answers are on their way to the script: the caller then awaits
        ``next_event``, which raises the refusal if the store could not take them.
        """
        with self._lock:
            resolved = self._validate(answers)
            completes = len(resolved) == self.state.remaining()
        at = now_ms()
        unsaved = (self._unsaved_pause,) if self._unsaved_pause is not None else ()
        answered = [Answered(a.query_id, a.response, a.usage) for a in resolved if a.query_id is not None]
        events = (*unsaved, *answered)
        if completes:
            # The thread journals and applies them (_resumed); it is woken in
            # _next_delivered, as the loop is about to wait for it.
            self._resume = _Resume(resolved, events, at)
            self._wake_thread = True
            return None
        try:
            await self.recorder.commit(*events, at=at)
        except (LeaseHeld, AnswerTaken, StoreUnavailable) as exc:
            raise self._refusal(exc) from None
        self._unsaved_pause = None
        with self._lock:
            self._apply(resolved, at)
            return Accepted(self.state.remaining())

    def _refusal(self, exc: Exception) -> SessionError:
        """What the host is told when the store refused its answers (nothing was applied)."""
        if isinstance(exc, LeaseHeld):
            return SessionElsewhere(str(exc))
        if isinstance(exc, AnswerTaken):
            return AlreadyAnswered(str(exc))
        return StoreDown(
            f"could not save the answer for session '{self.id}': {exc}. Nothing was applied: the "
            "session is still paused on the same queries; call alc_continue again once the store "
            "is back (alc_info shows its state)"
        )

    def _apply(self, answers: Sequence[Answer], at: int) -> None:
        """Journaled answers into the metrics and the state machine (the caller holds the lock)."""
        for answer in answers:
            assert answer.query_id is not None
            self.metrics.on_response_fed(answer.query_id, answer.response, answer.usage, at)
            self.state.feed(answer.query_id, answer.response)

    def _validate(self, answers: Sequence[Answer]) -> list[Answer]:
        self._require_paused()
        pending = self.state.pending
        assert pending is not None
        known = {query.id for query in pending.queries}
        seen: set[str] = set()
        resolved = []
        for answer in answers:
            query_id = answer.query_id if answer.query_id is not None else self._sole_pending_id()
            if query_id not in known:
                raise UnknownQuery(query_id)
            if query_id in seen or pending.is_answered(query_id):
                raise AlreadyResponded(query_id)
            seen.add(query_id)
            resolved.append(Answer(query_id, answer.response, answer.usage))
        return resolved

    def _sole_pending_id(self) -> str:
        assert self.state.pending is not None
        unanswered = self.state.pending.unanswered_ids()
        if len(unanswered) == 1:
            return unanswered[0]
        if not unanswered:
            raise SessionError("invalid transition: no pending queries")
        raise SessionError(
            f"invalid transition: {len(unanswered)} queries pending; specify query_id explicitly"
        )

    def _require_paused(self) -> None:
        if self.phase is Phase.RUNNING:
            raise SessionBusy(
                f"session '{self.id}' is running (another call is resuming it); "
                "wait for that call's result, or check alc_status"
            )
        if self.state.is_terminal:
            raise SessionFinished(f"session '{self.id}' has already finished ({self.state.phase})")

    async def change_variables(self, change: Callable[[VariableOps], Outcome]) -> Outcome:
        """A host change to the variables: only while paused, journaled before it returns."""
        with self._lock:
            self._require_paused()
            outcome = change(self.vars)
        await self.recorder.commit(*outcome.events)
        return outcome

    def read_variables(self, read: Callable[[VariableOps], Any]) -> Any:
        with self._lock:
            return read(self.vars)

    async def cancel(self) -> FeedResult:
        """Cancel a paused session and return its final result."""
        if self.state.is_terminal:
            raise SessionFinished(f"session '{self.id}' has already finished ({self.state.phase})")
        self._cancelled_by_host = True
        self.worker.cancel()
        return await self.next_event()

    async def abandon(self) -> None:
        """Record that nobody will drive this session any more (its caller went away)."""
        with contextlib.suppress(RevivalFailed):
            await self._finish(ScriptCancelled())

    async def cancel_running(self) -> FeedResult:
        """Cancel a session another call is driving; that call sees the cancellation too."""
        self._cancelled_by_host = True
        self.worker.cancel()
        with anyio.move_on_after(self._limits.max_run_seconds + self._limits.watchdog_grace_seconds):
            await self._finished.wait()
        if self.final is None:
            return await self._finish(ScriptCancelled())
        return self.final

    def close(self) -> None:
        """Stop the thread (if any) without waiting for it; used on shutdown, reaping
        and hibernation. The journal keeps everything needed to bring it back."""
        self._closed = True
        if not self.state.is_terminal:
            self.worker.cancel()
        self._wake()

    def snapshot(
        self, pending_filter: PendingFilter | None = None, include_history: bool = False
    ) -> dict[str, Any]:
        with self._lock:
            return build_snapshot(
                self.id,
                self.state,
                self.metrics,
                name=self.name,
                strategy=self.strategy,
                live=True,
                pending_filter=pending_filter,
                include_history=include_history,
                variables=self.vars.variables,
                journal_warning=self.recorder.warning,
            )
