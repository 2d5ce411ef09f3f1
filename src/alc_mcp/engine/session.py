"""One live session as the async side sees it: the domain state machine and metrics,
the worker thread running the script, the channel between the two, and its journal.

State and metrics are touched from the event loop (pauses, feeds, snapshots) and from
the session thread (logs, progress, stats, budget checks), so every access holds
``_lock``. Events travel thread → loop through a memory stream fed with
``anyio.from_thread.run_sync``; answers travel loop → thread through the worker's inbox.
Everything the host is told has been journaled first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
from anyio.lowlevel import EventLoopToken

from alc_mcp import telemetry
from alc_mcp.config import Limits
from alc_mcp.domain.budget import Budget
from alc_mcp.domain.feed_result import Accepted, Cancelled, Completed, Failed, FeedResult, Paused
from alc_mcp.domain.journal import Answered, Asked, Finished, History, Logged, ProgressSet, StatRecorded
from alc_mcp.domain.logs import LogEntry
from alc_mcp.domain.metrics import ExecutionMetrics
from alc_mcp.domain.pending_filter import PendingFilter, project
from alc_mcp.domain.query import TokenUsage
from alc_mcp.domain.state import AlreadyResponded, ExecutionState, Phase, UnknownQuery
from alc_mcp.domain.variables import VariableError, VariableSet
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.effects import Effects, ReplayEffects
from alc_mcp.engine.events import (
    PauseRequest,
    ScriptCancelled,
    ScriptFailed,
    ScriptReturned,
    WorkerEvent,
)
from alc_mcp.engine.journal import SessionRecorder
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.sandbox import LimitMonitor, time_limit_message
from alc_mcp.engine.stdlib.state import namespace_of
from alc_mcp.engine.storage import SharedStore
from alc_mcp.engine.variables import Outcome, VariableOps, script_call, with_limits
from alc_mcp.engine.worker import LuaWorker, Program, WorkerGone

#: Extra seconds the loop waits beyond ALC_MAX_RUN_SECONDS before it stops waiting for
#: a thread stuck inside a C function (where the Lua hook cannot fire).
WATCHDOG_GRACE_SECONDS = 5.0


class SessionError(Exception):
    """A caller mistake about a session; the message says what to do."""


class SessionBusy(SessionError):
    pass


class SessionFinished(SessionError):
    pass


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer from the host; ``query_id`` None means "the only pending query"."""

    query_id: str | None
    response: str
    usage: TokenUsage | None = None


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
        strategy: str | None = None,
        history: History | None = None,
        started_at: int | None = None,
    ) -> None:
        self.id = session_id
        self.name = name
        self.strategy = strategy
        self.recorder = recorder
        self._limits = limits
        self._token = token
        self._lock = threading.Lock()
        self._feed_lock = anyio.Lock()
        self.state = ExecutionState()
        if history is None:
            self.metrics = ExecutionMetrics(started_at or now_ms(), Budget.from_ctx(program.ctx))
        else:
            self.metrics = history.metrics
            self.metrics.custom.clear()  # the replay records them again, in order
        self._history = history
        variables = with_limits(history.variables if history else VariableSet(), limits)
        self.vars = VariableOps(session_id, variables, program.vars)
        self._send, self._receive = anyio.create_memory_object_stream[WorkerEvent](max_buffer_size=4)
        self._finished = anyio.Event()
        self._closed = False
        self.driving = False  # a call is waiting for this session's next event
        self._paused_at = 0
        self.final: FeedResult | None = None
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
        )

    def _make_effects(self, pause: Callable[[PauseRequest], list[str]], monitor: LimitMonitor) -> Effects:
        if self._history is None:
            return Effects(pause, self.recorder.record)
        return ReplayEffects(
            pause, self.recorder.record, self._history, restart_run=monitor.start_run, stop=monitor.stop
        )

    @property
    def feeding(self) -> bool:
        """Answers are being journaled and applied right now."""
        return self._feed_lock.locked()

    @property
    def replaying(self) -> bool:
        return self.worker.effects.replaying

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
        self.recorder.record(ProgressSet(step, total, message))

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
        if self._closed:  # nobody will read it; do not wait for the loop at all
            raise WorkerGone("session closed")
        try:
            anyio.from_thread.run_sync(self._send.send_nowait, event, token=self._token)
        except (RuntimeError, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise WorkerGone(str(exc)) from exc

    # --- loop side ------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self.state.phase

    @property
    def last_activity_ms(self) -> int:
        return self.metrics.last_activity_ms

    def start(self) -> None:
        self.worker.start()

    async def next_event(self) -> FeedResult:
        """Wait until the script pauses or ends; journal it; apply it to the state machine."""
        with anyio.move_on_after(self._limits.max_run_seconds + WATCHDOG_GRACE_SECONDS):
            event = await self._receive.receive()
            if isinstance(event, PauseRequest):
                return await self._pause(event)
            return await self._finish(event)
        # The thread is stuck where the hook cannot fire (a C call). Give up on it: it
        # trips the limit as soon as it returns to Lua, and nobody waits for it.
        message = time_limit_message(self._limits)
        self.worker.cancel(message)
        return await self._finish(ScriptFailed(message))

    async def _pause(self, request: PauseRequest) -> FeedResult:
        at = now_ms()
        with self._lock:
            self.state.pause(request.queries)
            if not request.recorded:
                self.metrics.on_paused(request.queries, at)
            for query_id, response in request.prefed:
                self.state.feed(query_id, response)
            llm_calls, rounds = self.metrics.llm_calls, self.metrics.rounds
        self._paused_at = at
        if not request.recorded:
            telemetry.emit(
                "session.paused",
                {"queries": len(request.queries)},
                session_id=self.id,
                strategy=self.strategy,
            )
            await self.recorder.commit(
                Asked(request.queries),
                at=at,
                status="paused",
                updated_at=at,
                llm_calls=llm_calls,
                rounds=rounds,
            )
        # A pause rebuilt by replay may be partly answered already: show only what is
        # still open, so the host is never asked to answer a question twice.
        answered = {query_id for query_id, _ in request.prefed}
        return Paused(tuple(q for q in request.queries if q.id not in answered))

    async def _finish(self, event: ScriptReturned | ScriptFailed | ScriptCancelled) -> FeedResult:
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
        await self.recorder.finish(
            Finished(phase.value, result=self.state.result, error=self.state.error, stats=stats), now
        )
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
        complete and the script has been resumed (the caller then awaits ``next_event``).
        """
        async with self._feed_lock:
            with self._lock:
                resolved = self._validate(answers)
            at = now_ms()
            await self.recorder.commit(*(Answered(a.query_id, a.response, a.usage) for a in resolved), at=at)
            with self._lock:
                complete = False
                for answer in resolved:
                    assert answer.query_id is not None
                    self.metrics.on_response_fed(answer.query_id, answer.response, answer.usage, at)
                    complete = self.state.feed(answer.query_id, answer.response)
                if not complete:
                    return Accepted(self.state.remaining())
                responses = self.state.take_responses()
                self.metrics.on_resumed(at)
            telemetry.emit(
                "session.resumed",
                {"answers": len(responses), "waited_ms": at - self._paused_at},
                session_id=self.id,
                strategy=self.strategy,
            )
            self.worker.answer(responses)
            return None

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
        if self.state.phase is Phase.RUNNING:
            raise SessionBusy(
                f"session '{self.id}' is running (another call is resuming it); "
                "wait for that call's result, or check alc_status"
            )
        if self.state.is_terminal:
            raise SessionFinished(f"session '{self.id}' has already finished ({self.state.phase})")

    async def change_variables(self, change: Callable[[VariableOps], Outcome]) -> Outcome:
        """A host change to the variables: only while paused, serialized with answers
        (so it lands wholly before or after a resume), journaled before it returns."""
        async with self._feed_lock:
            with self._lock:
                self._require_paused()
                outcome = change(self.vars)
            await self.recorder.commit(*outcome.events)
            return outcome

    def read_variables(self, read: Callable[[VariableOps], Any]) -> Any:
        with self._lock:
            return read(self.vars)

    async def cancel(self) -> FeedResult:
        """Cancel a paused or running session and return its final result."""
        async with self._feed_lock:
            phase = self.state.phase
            if self.state.is_terminal:
                raise SessionFinished(f"session '{self.id}' has already finished ({phase})")
            self.worker.cancel()
        if phase is Phase.PAUSED:
            return await self.next_event()
        # Another call is driving the run; it will see the cancellation too.
        with anyio.move_on_after(self._limits.max_run_seconds + WATCHDOG_GRACE_SECONDS):
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
        self._send.close()

    def snapshot(self, pending_filter: PendingFilter | None = None, include_history: bool = False) -> dict:
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
            )
