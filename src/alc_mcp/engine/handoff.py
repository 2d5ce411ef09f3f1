"""Handing a call from a thread to the event loop without waiting for it, and starting
a thread without the event loop waiting for it.

``anyio.from_thread.run_sync`` blocks the calling thread until the loop has run the
call and handed the result back: two thread switches more than a notification needs.
On the resume path (the journal writer telling the loop a write is durable, the session
thread telling it the script paused) nobody needs that result, and the blocked thread
then fights the loop for the GIL at the worst moment. ``post`` queues the call the way
anyio's own portals do (the backend's ``run_sync_soon``) and returns at once.

``Thread.start`` waits until the new thread has run its first lines, which takes the
GIL: with fifty sessions starting at once that wait was 1.4 ms a start (p50, up to
200 ms), all of it on the event loop. ``launch`` hands the ``start`` to one launcher
thread instead, which does the waiting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from anyio.lowlevel import EventLoopToken

__all__ = ["LoopGone", "launch", "post"]


class LoopGone(RuntimeError):
    """The event loop has stopped: nothing will run the call."""


def post(token: EventLoopToken, func: Callable[..., object], *args: Any) -> None:
    """Run ``func(*args)`` on the loop of ``token`` soon; raises ``LoopGone`` if it stopped."""
    try:
        token.backend_class.run_sync_soon(func, args, token.native_token)
    except RuntimeError as exc:  # a closed loop (anyio's RunFinishedError is one)
        raise LoopGone(str(exc) or "the event loop has stopped") from exc


_launches: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_launcher_lock = threading.Lock()
_launcher: threading.Thread | None = None


def launch(start: Callable[[], None]) -> None:
    """Run ``start`` (which starts a thread) on the launcher thread; returns at once.
    ``start`` handles its own failure: the launcher only runs it."""
    global _launcher
    with _launcher_lock:
        if _launcher is None:
            _launcher = threading.Thread(target=_launch_forever, name="alc-launcher", daemon=True)
            _launcher.start()
    _launches.put(start)


def _launch_forever() -> None:
    while True:
        _launches.get()()
