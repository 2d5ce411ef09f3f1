"""A thread hands a call to the event loop without waiting: the call runs on the loop's
thread, in order, and once the loop has stopped the thread is told so instead of hanging."""

from __future__ import annotations

import threading

import anyio
import pytest
from anyio.lowlevel import EventLoopToken, current_token

from alc_mcp.engine.handoff import LoopGone, post

pytestmark = pytest.mark.anyio


async def test_posted_calls_run_on_the_loop_in_order() -> None:
    token = current_token()
    loop_thread = threading.get_ident()
    seen: list[tuple[int, int]] = []
    done = anyio.Event()

    def record(n: int) -> None:
        seen.append((n, threading.get_ident()))
        if n == 99:
            done.set()

    def from_thread() -> None:
        for n in range(100):
            post(token, record, n)  # returns at once: the loop is busy awaiting us

    await anyio.to_thread.run_sync(from_thread)
    with anyio.fail_after(5):
        await done.wait()
    assert [n for n, _ in seen] == list(range(100))
    assert {thread for _, thread in seen} == {loop_thread}


def test_posting_to_a_stopped_loop_says_so() -> None:
    tokens: list[EventLoopToken] = []

    async def main() -> None:
        tokens.append(current_token())

    anyio.run(main)
    with pytest.raises(LoopGone):
        post(tokens[0], print, "never")
