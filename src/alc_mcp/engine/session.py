"""One session as the async side sees it: the domain state machine and metrics,
the worker thread running the script, and the channel between the two.

State and metrics are touched from the event loop (pauses, feeds, snapshots) and from
the session thread (logs, progress, stats, budget checks), so every access holds
``_lock``. Events travel thread → loop through a memory stream fed with
``anyio.from_thread.run_sync``; answers travel loop → thread through the worker's inbox.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
from anyio.lowlevel import EventLoopToken

from alc_mcp.config import Limits
from alc_mcp.domain.budget import Budget
from alc_mcp.domain.feed_result import Accepted, Cancelled, Completed, Failed, FeedResult, Paused
from alc_mcp.domain.logs import LogEntry
from alc_mcp.domain.metrics import ExecutionMetrics
from alc_mcp.domain.pending_filter import PendingFilter, project
from alc_mcp.domain.query import TokenUsage
from alc_mcp.domain.state import AlreadyResponded, ExecutionState, Phase, UnknownQuery
from alc_mcp.engine.sandbox import time_limit_message
from alc_mcp.engine.worker import (
    LuaWorker,
    PauseRequest,
    Program,
    ScriptCancelled,
    ScriptFailed,
    ScriptReturned,
    WorkerEvent,
    WorkerGone,
    now_ms,
)

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
    query_id: str
    response: str
    usage: TokenUsage | None = None


class Session:
    def __init__(
        self,
        session_id: str,
        program: Program,
        limits: Limits,
        token: EventLoopToken,
        *,
        strategy: str | None = None,
    ) -> None:
        self.id = session_id
        self.strategy = strategy
        self._limits = limits
        self._token = token
        self._lock = threading.Lock()
        self.state = ExecutionState()
        self.metrics = ExecutionMetrics(now_ms(), Budget.from_ctx(program.ctx))
        self._send, self._receive = anyio.create_memory_object_stream[WorkerEvent](max_buffer_size=4)
        self._finished = anyio.Event()
        self.final: FeedResult | None = None
        self.worker = LuaWorker(program, self, self._post_from_thread, limits, name=f"alc-{session_id}")

    # --- SessionPort (called on the session thread) ----------------------------

    def log(self, level: str, source: str, message: str) -> None:
        with self._lock:
            self.metrics.push_log(LogEntry(ts=now_ms(), level=level, source=source, message=message))

    def record_stat(self, key: str, value: Any) -> None:
        with self._lock:
            self.metrics.record_custom(key, value)

    def get_stat(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            return key in self.metrics.custom, self.metrics.custom.get(key)

    def set_progress(self, step: int, total: int, message: str | None) -> None:
        with self._lock:
            self.metrics.set_progress(step, total, message)

    def check_budget(self) -> str | None:
        with self._lock:
            return self.metrics.check_budget(now_ms())

    def budget_remaining(self) -> dict[str, Any] | None:
        with self._lock:
            return self.metrics.budget_remaining(now_ms())

    def _post_from_thread(self, event: WorkerEvent) -> None:
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
        """Wait until the script pauses or ends, and apply that to the state machine."""
        with anyio.move_on_after(self._limits.max_run_seconds + WATCHDOG_GRACE_SECONDS):
            event = await self._receive.receive()
            return self._apply(event)
        # The thread is stuck where the hook cannot fire (a C call). Give up on it: it
        # trips the limit as soon as it returns to Lua, and nobody waits for it.
        message = time_limit_message(self._limits)
        self.worker.cancel(message)
        return self._finish(ScriptFailed(message))

    def _apply(self, event: WorkerEvent) -> FeedResult:
        if isinstance(event, PauseRequest):
            with self._lock:
                self.state.pause(event.queries)
                self.metrics.on_paused(event.queries, now_ms())
            return Paused(event.queries)
        return self._finish(event)

    def _finish(self, event: ScriptReturned | ScriptFailed | ScriptCancelled) -> FeedResult:
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
        self.final = result
        self._finished.set()
        return result

    def feed(self, answers: Sequence[Answer]) -> Accepted | None:
        """Apply answers atomically: all are valid and applied, or none is.

        Returns ``Accepted`` while answers are still missing, or None once the pause is
        complete and the script has been resumed (the caller then awaits ``next_event``).
        """
        with self._lock:
            self._require_paused()
            pending = self.state.pending
            assert pending is not None
            known = {query.id for query in pending.queries}
            seen: set[str] = set()
            for answer in answers:
                if answer.query_id not in known:
                    raise UnknownQuery(answer.query_id)
                if answer.query_id in seen or pending.is_answered(answer.query_id):
                    raise AlreadyResponded(answer.query_id)
                seen.add(answer.query_id)
            now = now_ms()
            complete = False
            for answer in answers:
                self.metrics.on_response_fed(answer.query_id, answer.response, answer.usage, now)
                complete = self.state.feed(answer.query_id, answer.response)
            if not complete:
                return Accepted(self.state.remaining())
            responses = self.state.take_responses()
            self.metrics.on_resumed(now)
        self.worker.answer(responses)
        return None

    def sole_pending_id(self) -> str:
        with self._lock:
            self._require_paused()
            assert self.state.pending is not None
            unanswered = self.state.pending.unanswered_ids()
        if len(unanswered) == 1:
            return unanswered[0]
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

    async def cancel(self) -> FeedResult:
        """Cancel a paused or running session and return its final result."""
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
            return self._finish(ScriptCancelled())
        return self.final

    def close(self) -> None:
        """Stop the thread (if any) without waiting for it; used on shutdown and reaping."""
        if not self.state.is_terminal:
            self.worker.cancel()
        self._send.close()

    def snapshot(self, pending_filter: PendingFilter | None = None, include_history: bool = False) -> dict:
        now = now_ms()
        with self._lock:
            phase = self.state.phase
            snap: dict[str, Any] = {
                "session_id": self.id,
                "state": phase.value if phase in (Phase.RUNNING, Phase.PAUSED) else "terminal",
                "phase": phase.value,
                "started_at": self.metrics.started_at_ms,
                "last_activity_at": self.metrics.last_activity_ms,
                "metrics": self.metrics.snapshot_json(now, include_history),
            }
            pending = self.state.pending
            if phase is Phase.PAUSED and pending is not None:
                snap["pending_queries"] = pending.remaining()
                if pending_filter is not None:
                    unanswered = set(pending.unanswered_ids())
                    snap["pending"] = [
                        project(query, pending_filter) for query in pending.queries if query.id in unanswered
                    ]
        if self.strategy is not None:
            snap["strategy"] = self.strategy
        return snap
