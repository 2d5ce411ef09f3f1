"""In one process, two servers on one ALC_HOME: a server whose lease was taken over
(it missed its heartbeats) is fenced off and lets its stale VM go."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mcp import Client

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS, Host

pytestmark = pytest.mark.anyio

CODE = 'return {alc.llm("one"), alc.llm("two"), alc.llm("three")}'
ELSEWHERE = "is live in another alc-mcp process"


def stop_heartbeats(home: Path) -> None:
    """What a stalled process looks like to the others: its heartbeats are old."""
    with sqlite3.connect(Config(home=home).db_path) as conn:
        conn.execute("UPDATE leases SET heartbeat = 0")


async def test_a_server_whose_lease_was_taken_over_cannot_write_and_lets_go(tmp_path: Path) -> None:
    config = Config(home=tmp_path / "home", limits=TEST_LIMITS)
    async with Client(build_server(config)) as client_a, Client(build_server(config)) as client_b:
        a, b = Host(client_a), Host(client_b)
        paused = await a.run(CODE)
        sid = paused["session_id"]
        refused = await b.error("alc_continue", session_id=sid, response="1")

        stop_heartbeats(config.home)
        taken = await b.ok("alc_continue", session_id=sid, response="1")
        fenced = await a.error("alc_continue", session_id=sid, response="stale")
        on_a = await a.ok("alc_status", session_id=sid)
        deleting = await a.error("alc_log_delete", session_id=sid)
        done = await b.ok("alc_continue", session_id=sid, response="2")
        done = await b.ok("alc_continue", session_id=sid, response="3")

    assert ELSEWHERE in refused
    assert taken["prompt"] == "two"
    assert ELSEWHERE in fenced and ELSEWHERE in deleting
    assert on_a["live"] is False and on_a["phase"] == "paused"
    assert done["status"] == "completed" and done["result"] == ["1", "2", "3"]
