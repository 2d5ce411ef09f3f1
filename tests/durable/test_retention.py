"""Retention: finished sessions older than ALC_RETENTION_DAYS go when the server
starts, and it says so; paused sessions are never deleted by retention."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alc_mcp.config import Config
from tests.conftest import TEST_LIMITS
from tests.durable.support import serve

pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000


def age_session(db: Path, session_id: str, days: float) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE sessions SET updated_at = updated_at - ? WHERE id = ?", (int(days * DAY_MS), session_id)
        )


async def test_old_finished_sessions_are_deleted_at_start_and_announced(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config = Config(home=tmp_path, limits=TEST_LIMITS, retention_days=30)
    async with serve(config) as host:
        old = await host.run("return alc.llm('old one')")
        await host.ok("alc_continue", session_id=old["session_id"], response="done")
        recent = await host.run("return alc.llm('recent one')")
        await host.ok("alc_continue", session_id=recent["session_id"], response="done")
        paused = await host.run("return alc.llm('still waiting')")
    age_session(config.db_path, old["session_id"], days=31)
    age_session(config.db_path, paused["session_id"], days=365)
    capfd.readouterr()

    async with serve(config) as host:
        listing = await host.ok("alc_log_view")
        ids = {s["id"] for s in listing["sessions"]}
        assert old["session_id"] not in ids
        assert {recent["session_id"], paused["session_id"]} <= ids
        done = await host.ok("alc_continue", session_id=paused["session_id"], response="yes")
        assert done["result"] == "yes"
    assert "retention deleted 1 finished session(s)" in capfd.readouterr().err


async def test_retention_can_be_turned_off(tmp_path: Path) -> None:
    config = Config(home=tmp_path, limits=TEST_LIMITS, retention_days=None)
    async with serve(config) as host:
        old = await host.run("return alc.llm('q')")
        await host.ok("alc_continue", session_id=old["session_id"], response="done")
    age_session(config.db_path, old["session_id"], days=3650)
    async with serve(config) as host:
        listing = await host.ok("alc_log_view")
        assert old["session_id"] in {s["id"] for s in listing["sessions"]}
