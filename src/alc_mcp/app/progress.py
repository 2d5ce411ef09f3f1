"""Progress of one call, told to a caller that asked for it (over MCP: a request with a
``progressToken``; the server passes its ``report_progress``).

The caller hears each ``alc.progress`` of the script as it happens, where the call
ends (a pause, a partial answer taken, the end), and, while the script runs without
either, a heartbeat at least every ``every_seconds``: a host that resets its idle timer
on progress (Claude Code does) never takes a long run for a dead one. Values count the
notifications (1, 2, 3, …), so they rise even when a script's own steps go back.

The session does the waking (``engine.progress.ProgressListener``), so a call costs no
task of its own. Progress is a courtesy: a report that fails (the caller went away)
stops the reports, never the call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import anyio

from alc_mcp.domain.feed_result import Accepted, Cancelled, Completed, Failed, FeedResult, Paused
from alc_mcp.domain.journal import ProgressSet
from alc_mcp.engine.progress import ProgressListener

__all__ = ["CallProgress", "Outcome", "Report", "describe_result", "describe_step", "reporting"]

#: How a caller is told: ``(progress, total, message)``, the SDK's ``report_progress``.
Report = Callable[[float, float | None, str | None], Awaitable[None]]


class Outcome(Protocol):
    """What a reported call ends with: a session's FeedResult (a Reply, an eval's start)."""

    @property
    def result(self) -> FeedResult: ...


T = TypeVar("T", bound=Outcome)


async def reporting(
    report: Report, every_seconds: float, call: Callable[[ProgressListener], Awaitable[T]]
) -> T:
    """Run ``call`` (given the listener to hand the session) while telling ``report``
    how it goes, then where it ended; returns what ``call`` returns."""
    progress = CallProgress(report, every_seconds)
    outcome = await call(progress)
    await progress.say(describe_result(outcome.result))
    return outcome


class CallProgress:
    """The reporter of one call: a ``ProgressListener`` that numbers what it says."""

    def __init__(self, report: Report, every_seconds: float) -> None:
        self._report = report
        self._every = every_seconds
        self._started = self._last = anyio.current_time()
        self._count = 0
        self._step: str | None = None
        self._broken = False
        # The session thread and the heartbeat may both speak: one at a time, in order.
        self._lock = anyio.Lock(fast_acquire=True)  # no turn of the loop when nobody else speaks

    def due_in(self) -> float:
        return self._last + self._every - anyio.current_time()

    async def progressed(self, event: ProgressSet) -> None:
        self._step = describe_step(event)
        await self.say(self._step)

    async def running(self) -> None:
        elapsed = f"running for {anyio.current_time() - self._started:.0f} s"
        await self.say(f"{elapsed} ({self._step})" if self._step else elapsed)

    async def say(self, message: str) -> None:
        async with self._lock:
            self._last = anyio.current_time()
            if self._broken:
                return
            self._count += 1
            try:
                await self._report(self._count, None, message)
            except Exception:
                self._broken = True


def describe_step(event: ProgressSet) -> str:
    step = f"step {event.step}/{event.total}" if event.total else f"step {event.step}"
    return f"{step}: {event.message}" if event.message else step


def describe_result(result: FeedResult) -> str:
    match result:
        case Paused(queries=(query,)):
            return f"waiting for the answer to {query.id}"
        case Paused(queries=queries):
            return f"waiting for {len(queries)} answers ({queries[0].id} … {queries[-1].id})"
        case Accepted(remaining=remaining):
            return f"answer taken; waiting for {remaining} more"
        case Completed():
            return "completed"
        case Failed():
            return "failed"
        case Cancelled():
            return "cancelled"
    raise TypeError(f"not a FeedResult: {result!r}")
