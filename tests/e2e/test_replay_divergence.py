"""A replay that takes another path than the recorded run fails that session with a
clear error, is never fed a wrong answer, and loses nothing of its journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from mcp import Client

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS, Host

pytestmark = pytest.mark.anyio

CODE = """
local a = alc.llm("first question")
local b = alc.llm("second question, after " .. a)
local c = alc.llm("third question, after " .. b)
return {a, b, c}
"""


def journal_rows(db: Path, session_id: str) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT seq, kind, data FROM journal WHERE session_id = ? ORDER BY seq", (session_id,)
        ).fetchall()


def edit_first_prompt(db: Path, session_id: str, new_prompt: str) -> None:
    """Change what the journal says the script asked first (as a different script would)."""
    with sqlite3.connect(db) as conn:
        seq, data = conn.execute(
            "SELECT seq, data FROM journal WHERE session_id = ? AND kind = 'ask' ORDER BY seq LIMIT 1",
            (session_id,),
        ).fetchone()
        event = orjson.loads(data)
        event["queries"][0]["prompt"] = new_prompt
        conn.execute("UPDATE journal SET data = ? WHERE seq = ?", (orjson.dumps(event).decode(), seq))


async def test_divergent_replay_fails_with_a_clear_error_and_keeps_the_journal(tmp_path: Path) -> None:
    config = Config(home=tmp_path, limits=TEST_LIMITS)
    async with Client(build_server(config)) as client:
        host = Host(client)
        reply = await host.run(CODE)
        reply = await host.ok("alc_continue", session_id=reply["session_id"], response="A")
        assert reply["prompt"] == "second question, after A"
    session_id = reply["session_id"]

    edit_first_prompt(config.db_path, session_id, "a question this script never asks")
    before = journal_rows(config.db_path, session_id)

    async with Client(build_server(config)) as client:
        host = Host(client)
        failed = await host.ok("alc_continue", session_id=session_id, response="B")
        assert failed["status"] == "error"
        assert failed["error"].startswith("replay diverged:")
        assert "'first question'" in failed["error"]
        assert "took another path" in failed["error"]

        after = journal_rows(config.db_path, session_id)
        assert after[: len(before)] == before, "the recorded journal was changed"
        assert [kind for _, kind, _ in after[len(before) :]] == ["finish"]
        assert "B" not in {orjson.loads(data).get("response") for _, kind, data in after if kind == "answer"}

        transcript = await host.ok("alc_log_view", session_id=session_id)
        assert transcript["status"] == "failed"
        assert [q["response"] for q in transcript["queries"]] == ["A"]
        assert transcript["error"].startswith("replay diverged:")
