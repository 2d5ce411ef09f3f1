"""The session registry: starts sessions, routes answers, snapshots, cancels and
reaps idle ones. Async (anyio); it never blocks the event loop on a session thread.

Every state change of a session happens synchronously on the loop (feeds, pauses),
so two concurrent calls on one session cannot interleave: the first resumes it, the
second finds it running and gets a clear "busy" error.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import anyio
from anyio.lowlevel import current_token

from alc_mcp.config import Config
from alc_mcp.domain.feed_result import FeedResult, Paused
from alc_mcp.domain.pending_filter import PendingFilter
from alc_mcp.domain.state import Phase
from alc_mcp.engine.session import Answer, Session, SessionError
from alc_mcp.engine.worker import Program, now_ms

#: How many finished session ids are remembered, to tell "finished" from "never existed".
FINISHED_MEMORY = 1024


class SessionNotFound(SessionError):
    pass


def new_session_id() -> str:
    """``s-<unix ns hex>-<64 random bits>``: the random half comes from a CSPRNG, so ids
    cannot be guessed (the MCP spec's guard against session hijacking)."""
    return f"s-{time.time_ns():x}-{secrets.randbits(64):016x}"


class SessionRegistry:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._sessions: dict[str, Session] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()

    # --- lifecycle ---------------------------------------------------------------

    async def start(self, program: Program, *, strategy: str | None = None) -> tuple[str, FeedResult]:
        session_id = new_session_id()
        session = Session(session_id, program, self.config.limits, current_token(), strategy=strategy)
        self._sessions[session_id] = session
        session.start()
        return session_id, await self._drive(session)

    async def feed(self, session_id: str, answers: Sequence[Answer]) -> FeedResult:
        """Feed one or more answers; resumes the script once its pause is complete."""
        if not answers:
            raise SessionError("Empty responses array")
        session = self.get(session_id)
        accepted = session.feed(answers)
        if accepted is not None:
            return accepted
        return await self._drive(session)

    async def cancel(self, session_id: str) -> FeedResult:
        session = self.get(session_id)
        try:
            return await session.cancel()
        finally:
            self._retire(session)

    async def _drive(self, session: Session) -> FeedResult:
        try:
            result = await session.next_event()
        except BaseException:
            # The caller went away mid-run (cancelled request, shutdown): stop the script
            # rather than leave a thread nobody will ever answer.
            if not session.state.is_terminal:
                session.close()
                self._retire(session, "cancelled")
            raise
        if not isinstance(result, Paused):
            self._retire(session)
        return result

    def _retire(self, session: Session, phase: str | None = None) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        self._finished[session.id] = phase or session.phase.value
        while len(self._finished) > FINISHED_MEMORY:
            self._finished.popitem(last=False)

    # --- lookups -----------------------------------------------------------------

    def get(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is not None:
            return session
        phase = self._finished.get(session_id)
        if phase == "expired":
            raise SessionNotFound(
                f"session '{session_id}' not found: it expired after "
                f"{self.config.idle_ttl_seconds:g} s without activity (ALC_IDLE_TTL_SECONDS); "
                "start it again with alc_run"
            )
        if phase is not None:
            raise SessionNotFound(
                f"session '{session_id}' not found: it has already finished ({phase}); "
                "start a new one with alc_run or alc_advice"
            )
        raise SessionNotFound(f"session '{session_id}' not found")

    def sole_pending_id(self, session_id: str) -> str:
        return self.get(session_id).sole_pending_id()

    def snapshot(
        self, session_id: str, pending_filter: PendingFilter | None = None, include_history: bool = False
    ) -> dict[str, Any]:
        return self.get(session_id).snapshot(pending_filter, include_history)

    def snapshots(
        self, pending_filter: PendingFilter | None = None, include_history: bool = False
    ) -> list[dict]:
        sessions = sorted(self._sessions.values(), key=lambda s: (s.metrics.started_at_ms, s.id))
        return [s.snapshot(pending_filter, include_history) for s in sessions]

    def __len__(self) -> int:
        return len(self._sessions)

    # --- housekeeping ------------------------------------------------------------

    def reap_idle(self) -> list[str]:
        """Drop paused sessions idle for longer than the TTL; returns their ids."""
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
        """Stop every session's thread (server shutdown)."""
        for session in list(self._sessions.values()):
            session.close()
            self._retire(session, "cancelled")
