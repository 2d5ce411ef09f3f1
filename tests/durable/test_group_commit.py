"""Group commit: the answers of many sessions arriving at once are journaled in shared
transactions, and the promise stays what it was for one: an answer acknowledged to the
host is in the journal, and an answer the store could not take is refused, with nothing
applied, to every caller whose write was in the failed batch."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS, Host, ToolResult
from tests.durable.support import serve
from tests.durable.test_store_outage import config as outage_config
from tests.durable.test_store_outage import store_locked
from tests.e2e.test_sigkill_restart import killable_server

pytestmark = pytest.mark.anyio

SESSIONS = 24
ROUNDS = 3
#: Pauses forever; each answer becomes part of the next prompt, so a lost answer shows.
ECHO = 'local last = "start" while true do last = alc.llm("after " .. last) end'


async def continue_all(host: Host, ids: list[str], response: str) -> dict[str, ToolResult]:
    """One alc_continue per session, all in flight at once; each session's result."""
    results: dict[str, ToolResult] = {}

    async def one(session_id: str) -> None:
        results[session_id] = await host.call("alc_continue", session_id=session_id, response=response)

    async with anyio.create_task_group() as tasks:
        for session_id in ids:
            tasks.start_soon(one, session_id)
    return results


async def answer_all(host: Host, ids: list[str], response: str) -> dict[str, dict[str, Any]]:
    """``continue_all``, every call of which must succeed; each session's reply."""
    results = await continue_all(host, ids, response)
    assert not [r.text for r in results.values() if r.is_error]
    return {session_id: result.json for session_id, result in results.items()}


async def test_answers_acknowledged_together_survive_a_sigkill_right_after(tmp_path: Path) -> None:
    home = tmp_path / "home"
    acknowledged: dict[str, str] = {}
    async with killable_server(home) as (host, pid):
        ids = [(await host.run(ECHO))["session_id"] for _ in range(SESSIONS)]
        for round_ in range(ROUNDS):
            replies = await answer_all(host, ids, f"a{round_}")
            for session_id, reply in replies.items():
                assert reply["prompt"] == f"after a{round_}", reply
                acknowledged[session_id] = f"a{round_}"
        os.kill(pid, signal.SIGKILL)  # at once: no shutdown, no flush

    async with Client(build_server(Config(home=home, limits=TEST_LIMITS))) as client:
        host = Host(client)
        for session_id in ids:
            transcript = await host.ok("alc_log_view", session_id=session_id)
            assert [q["response"] for q in transcript["queries"]] == [f"a{r}" for r in range(ROUNDS)]
        replies = await answer_all(host, ids, "after the kill")
    assert {reply["prompt"] for reply in replies.values()} == {"after after the kill"}
    assert set(acknowledged.values()) == {f"a{ROUNDS - 1}"}


async def test_a_batch_the_store_refuses_fails_every_caller_in_it_and_applies_nothing(tmp_path: Path) -> None:
    cfg = outage_config(tmp_path / "home")
    async with serve(cfg) as host:
        ids = [(await host.run(ECHO))["session_id"] for _ in range(8)]
        await answer_all(host, ids, "kept")
        with store_locked(cfg.db_path):
            refused = await continue_all(host, ids, "refused")
        for result in refused.values():
            assert result.is_error, result.text
            assert "could not save the answer" in result.text and "Nothing was applied" in result.text

        replies = await answer_all(host, ids, "again")
        assert {reply["prompt"] for reply in replies.values()} == {"after again"}
        for session_id in ids:
            transcript = await host.ok("alc_log_view", session_id=session_id)
            assert [q["response"] for q in transcript["queries"]] == ["kept", "again"]
