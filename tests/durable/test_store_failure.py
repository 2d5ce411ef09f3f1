"""A store that cannot be used must not stop the server: it starts, says on stderr and in
alc_info that durability is off and why, and serves sessions in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from tests.conftest import Host
from tests.durable.support import durable_config, serve

pytestmark = pytest.mark.anyio

GARBAGE = b"this is not an SQLite database\x00\xff\xfe" * 200

TWO_STEPS = """
alc.log("info", "in memory")
local a = alc.llm("first")
local r = alc.llm_batch({{prompt = "x " .. a}, {prompt = "y " .. a}})
return {a, r[1], r[2]}
"""

HISTORY_TOOLS: list[tuple[str, dict[str, Any]]] = [
    ("alc_log_view", {}),
    ("alc_log_view", {"session_id": "SESSION"}),
    ("alc_note", {"session_id": "SESSION", "content": "a note"}),
    ("alc_stats", {}),
    ("alc_log_delete", {"session_id": "SESSION"}),
    ("alc_rewind", {"session_id": "SESSION", "query_index": 0}),
]


async def serves_in_memory(host: Host) -> str:
    """A full run → needs_response → continue → completed; returns a paused session's id
    for the history-tool checks."""
    reply = await host.run(TWO_STEPS)
    assert reply["status"] == "needs_response" and reply["prompt"] == "first", reply
    session_id = reply["session_id"]
    (snap,) = (await host.ok("alc_status"))["sessions"]
    assert snap["session_id"] == session_id and snap["live"] is True
    reply = await host.ok("alc_continue", session_id=session_id, response="A")
    assert [q["prompt"] for q in reply["queries"]] == ["x A", "y A"]
    assert await host.ok("alc_continue", session_id=session_id, query_id="q-1", response="Y") == {
        "status": "accepted",
        "remaining": 1,
    }
    reply = await host.ok("alc_continue", session_id=session_id, query_id="q-0", response="X")
    assert reply["status"] == "completed", reply
    assert reply["result"] == ["A", "X", "Y"]
    assert reply["stats"]["auto"]["llm_calls"] == 3
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}

    paused = await host.run(TWO_STEPS)
    assert paused["status"] == "needs_response"
    return paused["session_id"]


async def history_tools_say_durability_is_off(host: Host, session_id: str) -> None:
    for tool, arguments in HISTORY_TOOLS:
        arguments = {k: (session_id if v == "SESSION" else v) for k, v in arguments.items()}
        message = await host.error(tool, **arguments)
        assert "durability is off" in message, (tool, message)
    # The refusals changed nothing: the paused session still runs to the end.
    reply = await host.ok("alc_continue", session_id=session_id, response="B")
    reply = await host.ok(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": "q-0", "response": "1"}, {"query_id": "q-1", "response": "2"}],
    )
    assert reply["result"] == ["B", "1", "2"]


async def durability_info(host: Host) -> dict[str, Any]:
    info = await host.ok("alc_info")
    return info["durability"]


async def test_garbage_database_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = home / "alc.db"
    db.write_bytes(GARBAGE)
    config = durable_config(home)

    build_server(config)  # must not raise

    async with serve(config) as host:
        err = capfd.readouterr().err
        assert "durability is OFF" in err
        assert str(db) in err
        info = await durability_info(host)
        assert info["enabled"] is False
        assert str(db) in info["reason"]
        assert info["database"] == str(db)
        session_id = await serves_in_memory(host)
        await history_tools_say_durability_is_off(host, session_id)
    # The broken file is the user's to inspect or move: never overwritten or deleted.
    assert db.read_bytes() == GARBAGE


async def test_truncated_database_header(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A file that starts like SQLite but is cut short is just as unusable."""
    home = tmp_path / "home"
    home.mkdir()
    db = home / "alc.db"
    db.write_bytes(b"SQLite format 3\x00" + b"\x10\x00\x02\x02" + b"\x00" * 80)
    async with serve(durable_config(home)) as host:
        info = await durability_info(host)
        assert info["enabled"] is False and str(db) in info["reason"]
        reply = await host.run("return alc.llm('still works?')")
        reply = await host.ok("alc_continue", session_id=reply["session_id"], response="yes")
        assert reply["result"] == "yes"
    assert "durability is OFF" in capfd.readouterr().err


async def test_home_under_a_regular_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # Tests run as root, so a read-only directory would still be writable: put ALC_HOME
    # under a regular file instead, which nobody can create a directory in.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    home = blocker / "home"
    config = durable_config(home)

    async with serve(config) as host:
        info = await durability_info(host)
        assert info["enabled"] is False
        assert str(config.db_path) in info["reason"]
        assert info["database"] == str(config.db_path)
        session_id = await serves_in_memory(host)
        await history_tools_say_durability_is_off(host, session_id)
    err = capfd.readouterr().err
    assert "durability is OFF" in err
    assert str(config.db_path) in err
    assert blocker.read_text() == "not a directory"


async def test_durability_turned_off(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    config = Config(home=home, limits=durable_config(home).limits, durable=False)
    async with serve(config) as host:
        info = await durability_info(host)
        assert info["enabled"] is False
        assert "ALC_DURABLE" in info["reason"]
        session_id = await serves_in_memory(host)
        await history_tools_say_durability_is_off(host, session_id)
    assert not config.db_path.exists()
    assert "durability is OFF" not in capfd.readouterr().err  # asked for, not a failure


async def test_in_memory_sessions_are_never_hibernated(tmp_path: Path) -> None:
    """Without a journal there is nothing to revive from: the live cap cannot put a paused
    session away (it would be lost), so it is exceeded instead."""
    home = tmp_path / "home"
    config = Config(home=home, limits=durable_config(home).limits, durable=False, max_live_sessions=2)
    async with serve(config) as host:
        ids = [(await host.run(f"return alc.llm('q{i}')"))["session_id"] for i in range(4)]
        sessions = (await host.ok("alc_status"))["sessions"]
        assert {s["session_id"] for s in sessions} == set(ids)
        assert all(s["live"] is True for s in sessions)
        for i, session_id in enumerate(ids):
            reply = await host.ok("alc_continue", session_id=session_id, response=f"a{i}")
            assert reply["result"] == f"a{i}"


async def test_a_good_store_says_enabled(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    config = durable_config(tmp_path / "home")
    async with serve(config) as host:
        info = await durability_info(host)
        assert info == {"enabled": True, "database": str(config.db_path)}
    assert "durability is OFF" not in capfd.readouterr().err
    assert config.db_path.exists()
