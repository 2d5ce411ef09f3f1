"""Bug: when the store failed during a call, alc_continue surfaced a raw StoreUnavailable
and a failed background journal write only printed a traceback. Now the host gets a
tool error saying nothing was applied and what to do, the session stays continuable once
the store is back, and a session whose journal lost a write says so in alc_status.

The outage is real: another connection holds SQLite's write lock on the database file,
as another process writing to the same ALC_HOME would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from alc_mcp.config import Config, Limits
from tests.durable.support import durable_config, serve, status_of

pytestmark = pytest.mark.anyio

TWO = 'local a = alc.llm("one") local b = alc.llm("two " .. a) return a .. b'

#: After the first answer the script works a while, logs, and pauses again: a window in
#: which the test takes the store away from under its background writes.
WORK_THEN_LOG = """
local a = alc.llm("one")
local x = 0
for j = 1, ctx.work do x = x + j % 7 end
alc.log("info", "after the work")
local b = alc.llm("two " .. a)
return a .. b
"""


def config(home: Path) -> Config:
    limits = Limits(max_memory_mb=64, max_instructions=10**10, max_run_seconds=10.0)
    return durable_config(home, db_busy_timeout_ms=100, limits=limits)


@contextmanager
def store_locked(db: Path) -> Iterator[None]:
    """Hold the database's write lock from another connection until the block ends."""
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_an_answer_the_store_cannot_take_is_refused_and_can_be_sent_again(tmp_path: Path) -> None:
    cfg = config(tmp_path / "home")
    async with serve(cfg) as host:
        reply = await host.run(TWO)
        session_id = reply["session_id"]
        with store_locked(cfg.db_path):
            message = await host.error("alc_continue", session_id=session_id, response="A")
        assert "could not save the answer" in message, message
        assert "Nothing was applied" in message and "call alc_continue again" in message, message
        snap = await status_of(host, session_id)
        assert (snap["state"], snap["pending_queries"]) == ("paused", 1), snap
        assert "journal_warning" not in snap

        reply = await host.ok("alc_continue", session_id=session_id, response="A")
        assert reply["prompt"] == "two A", reply
        done = await host.ok("alc_continue", session_id=session_id, response="B")
        assert done == {**done, "status": "completed", "result": "AB"}
        transcript = await host.ok("alc_log_view", session_id=session_id)
        assert [q["response"] for q in transcript["queries"]] == ["A", "B"]


async def test_reads_during_an_outage_are_tool_errors_that_say_what_to_do(tmp_path: Path) -> None:
    cfg = config(tmp_path / "home")
    async with serve(cfg) as host:
        reply = await host.run(TWO)
        session_id = reply["session_id"]
        with store_locked(cfg.db_path):
            message = await host.error("alc_note", session_id=session_id, content="noted")
        assert "the session store is unavailable" in message and "retry" in message, message
        assert (await host.ok("alc_note", session_id=session_id, content="noted"))["notes_count"] == 1


async def test_a_lost_background_write_is_shown_and_the_session_still_completes(tmp_path: Path) -> None:
    cfg = config(tmp_path / "home")
    async with serve(cfg) as host:
        reply = await host.run(WORK_THEN_LOG, ctx={"work": 5_000_000})
        session_id = reply["session_id"]
        other = sqlite3.connect(cfg.db_path, isolation_level=None)
        try:
            async with anyio.create_task_group() as tasks:
                replies: list[dict] = []

                async def answer() -> None:
                    replies.append(await host.ok("alc_continue", session_id=session_id, response="A"))

                tasks.start_soon(answer)
                await anyio.sleep(0.05)  # the answer is journaled; the script is working
                other.execute("BEGIN EXCLUSIVE")
        finally:
            if other.in_transaction:
                other.execute("ROLLBACK")
            other.close()
        (paused,) = replies
        assert paused.get("prompt") == "two A", paused  # the host still got its pause
        snap = await status_of(host, session_id)
        assert "journal write(s) failed" in snap["journal_warning"], snap
        assert snap["live"] is True
        done = await host.ok("alc_continue", session_id=session_id, response="B")
        assert done["result"] == "AB", done
