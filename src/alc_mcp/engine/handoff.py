"""Handing a call from a thread to the event loop without waiting for it.

``anyio.from_thread.run_sync`` blocks the calling thread until the loop has run the
call and handed the result back: two thread switches more than a notification needs.
On the resume path (the journal writer telling the loop a write is durable, the session
thread telling it the script paused) nobody needs that result, and the blocked thread
then fights the loop for the GIL at the worst moment. ``post`` queues the call the way
anyio's own portals do (the backend's ``run_sync_soon``) and returns at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio.lowlevel import EventLoopToken

__all__ = ["LoopGone", "post"]


class LoopGone(RuntimeError):
    """The event loop has stopped: nothing will run the call."""


def post(token: EventLoopToken, func: Callable[..., object], *args: Any) -> None:
    """Run ``func(*args)`` on the loop of ``token`` soon; raises ``LoopGone`` if it stopped."""
    try:
        token.backend_class.run_sync_soon(func, args, token.native_token)
    except RuntimeError as exc:  # a closed loop (anyio's RunFinishedError is one)
        raise LoopGone(str(exc) or "the event loop has stopped") from exc
