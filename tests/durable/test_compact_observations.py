"""Bug: every clock or state read was its own journal row (100,000 ``os.clock()`` calls
wrote 100,000 rows). Reads are now journaled in batches between other events, in the
same order, and a replay still hands back every value exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from alc_mcp.config import Limits
from alc_mcp.store.sqlite import SqliteStore
from tests.durable.support import durable_config, serve

pytestmark = pytest.mark.anyio

READS = 100_000

#: The sum of many clock reads depends on every value read: a replay that handed back
#: one wrong value would return another result.
CLOCKS = f"""
local sum = 0
for i = 1, {READS} do sum = sum + os.clock() end
local seen = string.format("%.9f", sum)
local answer = alc.llm("after the clocks " .. seen)
return {{seen = seen, answer = answer, time = os.time()}}
"""


def rows(config_db: Path, session_id: str) -> int:
    store = SqliteStore(config_db)
    try:
        return store.sessions.count_entries(session_id)
    finally:
        store.close()


async def test_a_hundred_thousand_clock_reads_take_a_few_rows_and_replay_exactly(tmp_path: Path) -> None:
    limits = Limits(max_memory_mb=64, max_instructions=10**10, max_run_seconds=30.0)
    config = durable_config(tmp_path / "home", limits=limits)
    async with serve(config) as host:
        reply = await host.run(CLOCKS)
        session_id = reply["session_id"]
        seen_live = reply["prompt"].removeprefix("after the clocks ")
    assert rows(config.db_path, session_id) <= 1 + READS // 10_000 + 2  # start, batches, the pause

    async with serve(config) as host:  # a restart: the replay reads every clock from the journal
        live = await host.ok("alc_status", session_id=session_id)
        assert live["live"] is False
        done = await host.ok("alc_continue", session_id=session_id, response="ok")
    assert done["status"] == "completed", done
    first = done["result"]
    assert first["seen"] == seen_live

    # The value the script computed from the original reads is the one it computed
    # again from the journal: run the same script fresh and it differs.
    async with serve(config) as host:
        other = await host.run(CLOCKS)
        again = await host.ok("alc_continue", session_id=other["session_id"], response="ok")
    assert again["result"]["seen"] != first["seen"]
