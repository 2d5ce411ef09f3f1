"""The journal writer: store operations run in order on one thread, and the event loop
waits for them without blocking and without deadlocking."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import anyio
import pytest

from alc_mcp.engine.journal import JournalWriter, wait_future

pytestmark = pytest.mark.anyio


class FinishedWhileChecked(Future[int]):
    """Reports "not done" once although it is: the race where a write completes between
    the done() check and add_done_callback, so the callback runs on the loop itself."""

    def __init__(self) -> None:
        super().__init__()
        self._asked = False

    def done(self) -> bool:
        if not self._asked:
            self._asked = True
            return False
        return super().done()


def test_a_future_finished_during_the_check_does_not_deadlock_the_loop() -> None:
    # Broken, this deadlocks the loop thread itself (no timeout inside it could fire), so
    # the loop runs on a thread of its own and the test gives up on it after a while.
    future = FinishedWhileChecked()
    future.set_result(7)
    outcome: dict[str, int] = {}
    loop = threading.Thread(target=lambda: outcome.update(value=anyio.run(wait_future, future)), daemon=True)
    loop.start()
    loop.join(timeout=10)
    assert not loop.is_alive(), "wait_future deadlocked the event loop"
    assert outcome == {"value": 7}


async def test_operations_run_in_submission_order_and_results_come_back() -> None:
    writer = JournalWriter()
    seen: list[int] = []
    try:
        for i in range(50):
            writer.submit(lambda i=i: seen.append(i))
        assert await writer.call(lambda: len(seen)) == 50
        assert seen == list(range(50))
    finally:
        writer.close()


async def test_an_operation_error_reaches_the_caller() -> None:
    writer = JournalWriter()
    try:
        with pytest.raises(ZeroDivisionError):
            await writer.call(lambda: 1 / 0)
        assert await writer.call(lambda: "still serving") == "still serving"
    finally:
        writer.close()
