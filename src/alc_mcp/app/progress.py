"""Progress of one call, told to a caller that asked for it (over MCP: a request with a
``progressToken``; the server passes its ``report_progress``).

The caller hears each ``alc.progress`` of the script as it happens, where the call
ends (a pause, a partial answer taken, the end), and, while the script runs without
either, a heartbeat at least every ``every_seconds``: a host that resets its idle timer
on progress (Claude Code does) never takes a long run for a dead one. Values count the
notifications (1, 2, 3, …), so they rise even when a script's own steps go back.

Progress is a courtesy: a report that fails (the caller went away) stops the reports,
never the call.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import anyio

from alc_mcp.domain.feed_result import Accepted, Cancelled, Completed, Failed, FeedResult, Paused
from alc_mcp.domain.journal import ProgressSet
from alc_mcp.engine.session import ProgressListener

__all__ = ["Report", "describe_result", "describe_step", "reporting"]

#: How a caller is told: ``(progress, total, message)``, the SDK's ``report_progress``.
Report = Callable[[float, float | None, str | None], Awaitable[None]]


class _Outcome(Protocol):
    @property
    def result(self) -> FeedResult: ...


T = TypeVar("T", bound=_Outcome)


async def reporting(
    report: Report, every_seconds: float, call: Callable[[ProgressListener], Awaitable[T]]
) -> T:
    """Run ``call`` (given the listener to hand the session) while telling ``report``
    how it goes; returns what ``call`` returns, raises what it raises."""
    watch = _CallProgress(report, every_seconds)
    failure: Exception | None = None
    outcome: T | None = None
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch.pump)
        try:
            outcome = await call(watch.heard)
        except Exception as exc:  # raised after the reports are done, as itself (not in a group)
            failure = exc
        else:
            watch.tell(describe_result(outcome.result))
        finally:
            watch.send.close()
    if failure is not None:
        raise failure
    assert outcome is not None
    return outcome


class _CallProgress:
    def __init__(self, report: Report, every_seconds: float) -> None:
        self._report = report
        self._every = every_seconds
        self._started = anyio.current_time()
        self._count = 0
        self._step: str | None = None
        self._broken = False
        # Unbounded: the session thread hands events over without ever waiting for the host.
        self.send, self.receive = anyio.create_memory_object_stream[str](math.inf)

    def heard(self, event: ProgressSet) -> None:
        """The session's listener (on the loop): one alc.progress of the script."""
        self._step = describe_step(event)
        self.tell(self._step)

    def tell(self, message: str) -> None:
        self.send.send_nowait(message)

    async def pump(self) -> None:
        """Report every message in order, and a heartbeat whenever ``every_seconds``
        pass without one; ends once the call is over and every message is out."""
        receive = self.receive
        async with receive:
            while True:
                message = None
                with anyio.move_on_after(self._every):
                    try:
                        message = await receive.receive()
                    except anyio.EndOfStream:
                        return
                await self._report_one(message if message is not None else self._heartbeat())

    def _heartbeat(self) -> str:
        running = f"running for {anyio.current_time() - self._started:.0f} s"
        return f"{running} ({self._step})" if self._step else running

    async def _report_one(self, message: str) -> None:
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
