"""Several real ``alc-mcp`` stdio servers on one ALC_HOME: a session is driven by one
process at a time (its lease), the others say so clearly, and a session another process
created, left or lost (SIGKILL) is taken over by replaying its journal."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import TEST_LIMITS, Host, ToolResult

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

STEPS = """
local answers = {}
for i = 1, 4 do
  answers[i] = alc.llm("step " .. i .. " after [" .. table.concat(answers, "|") .. "]")
end
return {answers = answers}
"""

ELSEWHERE = "is live in another alc-mcp process"


def answer(prompt: str) -> str:
    return f"<{prompt[::-1]}>"


def expected_answers() -> list[str]:
    answers: list[str] = []
    for i in range(1, 5):
        answers.append(answer(f"step {i} after [{'|'.join(answers)}]"))
    return answers


def server_pids() -> set[int]:
    return {
        child.pid
        for child in psutil.Process().children(recursive=True)
        if "alc_mcp.cli" in " ".join(child.cmdline())
    }


def params(home: Path, **env: str) -> StdioServerParameters:
    full = {**os.environ, "ALC_HOME": str(home), "ALC_MAX_MEMORY_MB": str(TEST_LIMITS.max_memory_mb), **env}
    return StdioServerParameters(command=sys.executable, args=["-m", "alc_mcp.cli"], env=full)


@asynccontextmanager
async def server(home: Path, **env: str) -> AsyncIterator[tuple[Host, int]]:
    """A real server process; stopped (EOF on stdin) when the block ends."""
    before = server_pids()
    async with Client(params(home, **env)) as client:
        await client.call_tool("alc_info", {})  # up and listening
        (pid,) = server_pids() - before
        yield Host(client), pid


@asynccontextmanager
async def killable(home: Path, **env: str) -> AsyncIterator[tuple[Host, int]]:
    with suppress(Exception, BaseExceptionGroup):  # the transport breaks when it is killed
        async with server(home, **env) as running:
            yield running


async def step(host: Host, reply: dict[str, Any]) -> ToolResult:
    return await host.call("alc_continue", session_id=reply["session_id"], response=answer(reply["prompt"]))


async def finish(host: Host, reply: dict[str, Any]) -> dict[str, Any]:
    while reply["status"] == "needs_response":
        result = await step(host, reply)
        assert not result.is_error, result.text
        reply = result.json
    return reply


async def until_taken(host: Host, reply: dict[str, Any]) -> dict[str, Any]:
    """Continue ``reply`` on ``host``, retrying while another process holds the session."""
    while True:
        result = await step(host, reply)
        if not result.is_error:
            return dict(result.json)
        assert ELSEWHERE in result.text, result.text
        await anyio.sleep(0.1)


async def test_a_session_live_on_one_server_is_refused_on_another_and_finished_where_it_is(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    async with server(home) as (a, a_pid), server(home) as (b, _):
        reply = await a.run(STEPS)
        reply = (await step(a, reply)).json

        refused = await step(b, reply)
        status = await b.ok("alc_status", session_id=reply["session_id"])
        refused_feed_again = await step(b, reply)
        done = await finish(a, reply)

    assert refused.is_error
    assert f"session '{reply['session_id']}' {ELSEWHERE} (pid {a_pid}); retry in a moment" in refused.text
    assert refused_feed_again.is_error and ELSEWHERE in refused_feed_again.text
    assert status["session_id"] == reply["session_id"] and status["live"] is False
    assert done["status"] == "completed", done
    assert done["result"]["answers"] == expected_answers()


async def test_a_session_created_on_b_is_visible_to_a_after_b_stops(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with server(home) as (a, _):
        async with server(home) as (b, _):
            reply = await b.run(STEPS)
            reply = (await step(b, reply)).json
            listed = {s["session_id"]: s for s in (await a.ok("alc_status"))["sessions"]}
        status = await a.ok("alc_status", session_id=reply["session_id"])
        done = await finish(a, reply)

    assert (status["phase"], status["live"]) == ("paused", False), status
    assert listed[reply["session_id"]]["live"] is False  # A lists it while B still holds it
    assert done["status"] == "completed", done
    assert done["result"]["answers"] == expected_answers()


async def test_a_session_created_on_b_is_taken_over_by_a_after_b_hibernates_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    quick = {"ALC_HIBERNATE_AFTER_SECONDS": "0.2", "ALC_LEASE_SECONDS": "0.6"}
    async with server(home) as (a, _), server(home, **quick) as (b, _):
        reply = await b.run(STEPS)
        while (await b.ok("alc_status", session_id=reply["session_id"]))["live"]:
            await anyio.sleep(0.05)
        reply = (await step(a, reply)).json  # B is alive, but let the session go
        back_on_b = await step(b, reply)  # now A drives it
        done = await finish(a, reply)

    assert back_on_b.is_error and ELSEWHERE in back_on_b.text
    assert done["status"] == "completed", done
    assert done["result"]["answers"] == expected_answers()


async def test_racing_continues_from_two_servers_have_exactly_one_winner(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with server(home) as (a, _), server(home) as (b, _):
        replies = []
        async with server(home) as (c, _):
            for _ in range(3):
                replies.append(await c.run(STEPS))
        # C stopped: every session is dormant and free; A and B both go for each.
        for reply in replies:
            results: dict[str, ToolResult] = {}

            async def go(
                name: str, host: Host, reply: dict[str, Any] = reply, results: dict[str, ToolResult] = results
            ) -> None:
                results[name] = await step(host, reply)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(go, "a", a)
                tasks.start_soon(go, "b", b)
            winners = [name for name, result in results.items() if not result.is_error]
            assert len(winners) == 1, {name: r.text for name, r in results.items()}
            (loser,) = set(results) - set(winners)
            assert ELSEWHERE in results[loser].text
            winner = a if winners == ["a"] else b
            done = await finish(winner, results[winners[0]].json)
            assert done["status"] == "completed", done
            assert done["result"]["answers"] == expected_answers()


async def test_sigkill_then_another_server_takes_over_with_every_acknowledged_answer(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    short = {"ALC_LEASE_SECONDS": "1"}
    async with server(home, **short) as (b, _):
        async with killable(home, **short) as (a, a_pid):
            reply = await a.run(STEPS)
            for _ in range(2):
                reply = (await step(a, reply)).json  # acknowledged: journaled before the reply
            refused = await step(b, reply)
            os.kill(a_pid, signal.SIGKILL)
            psutil.Process(a_pid).wait(timeout=10)
        taken = await until_taken(b, reply)
        done = await finish(b, taken)

    assert refused.is_error and f"(pid {a_pid})" in refused.text
    assert taken["status"] == "needs_response" and taken["prompt"].startswith("step 4 after")
    assert done["status"] == "completed", done
    assert done["result"]["answers"] == expected_answers()
    assert done["stats"]["auto"]["llm_calls"] == 4
