"""alc_cancel: a host abandons a session, paused or still running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from alc_mcp.config import Config, Limits
from alc_mcp.server.app import build_server
from tests.conftest import Host

pytestmark = pytest.mark.anyio

#: A spinning script must still be running when we cancel it, long after the conftest's
#: small limits would have stopped it: counted (an instruction budget) and ticked (none,
#: the default, where only the CPU timer lets the hook see the cancellation).
LONG_LIMITS = {
    "counted": Limits(max_instructions=10**12, max_run_seconds=60),
    "ticked": Limits(max_cpu_seconds=60, max_run_seconds=60),
}


@pytest.fixture(params=sorted(LONG_LIMITS))
async def patient_host(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Host]:
    async with Client(build_server(Config(home=tmp_path, limits=LONG_LIMITS[request.param]))) as client:
        yield Host(client)


async def wait_until_running(host: Host, session_id: str | None = None) -> str:
    """Poll alc_status until a running session shows up; returns its id."""
    with anyio.fail_after(5):
        while True:
            listing = await host.ok("alc_status")
            for snap in listing["sessions"]:
                if snap["phase"] == "running" and session_id in (None, snap["session_id"]):
                    assert snap["state"] == "running"
                    assert "pending_queries" not in snap
                    return snap["session_id"]
            await anyio.sleep(0.01)


async def test_cancel_a_paused_session(host: Host) -> None:
    paused = await host.run("local a = alc.llm('q') return a")
    session_id = paused["session_id"]
    result = await host.call("alc_cancel", session_id=session_id)
    assert not result.is_error
    reply = result.json
    assert set(reply) == {"status", "stats"}
    assert reply["status"] == "cancelled"
    auto = reply["stats"]["auto"]
    assert (auto["llm_calls"], auto["pauses"], auto["rounds"]) == (1, 1, 0)

    assert "not found" in await host.error("alc_continue", session_id=session_id, response="late")
    assert "not found" in await host.error("alc_status", session_id=session_id)
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}


async def test_cancel_keeps_custom_stats(host: Host) -> None:
    paused = await host.run("alc.stats.record('phase', 'drafting') return alc.llm('q')")
    reply = await host.ok("alc_cancel", session_id=paused["session_id"])
    assert reply["stats"]["custom"] == {"phase": "drafting"}


async def test_cancel_a_partially_answered_batch(host: Host) -> None:
    paused = await host.run("return alc.llm_batch({{prompt = 'a'}, {prompt = 'b'}})")
    session_id = paused["session_id"]
    await host.ok("alc_continue", session_id=session_id, query_id="q-0", response="A")
    reply = await host.ok("alc_cancel", session_id=session_id)
    assert reply["status"] == "cancelled"
    assert reply["stats"]["auto"]["rounds"] == 0
    assert "not found" in await host.error(
        "alc_continue", session_id=session_id, query_id="q-1", response="B"
    )


async def test_cancel_twice(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    await host.ok("alc_cancel", session_id=paused["session_id"])
    message = await host.error("alc_cancel", session_id=paused["session_id"])
    assert "not found" in message


async def test_cancel_of_an_unknown_session(host: Host) -> None:
    message = await host.error("alc_cancel", session_id="s-0-0000000000000000")
    assert "not found" in message
    assert "s-0-0000000000000000" in message


async def test_cancel_of_a_completed_session(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    await host.ok("alc_continue", session_id=paused["session_id"], response="a")
    message = await host.error("alc_cancel", session_id=paused["session_id"])
    assert "not found" in message


async def test_cancel_one_session_leaves_the_other(host: Host) -> None:
    keep = await host.run("return 'kept ' .. alc.llm('keep')")
    drop = await host.run("return alc.llm('drop')")
    await host.ok("alc_cancel", session_id=drop["session_id"])
    listing = await host.ok("alc_status")
    assert [s["session_id"] for s in listing["sessions"]] == [keep["session_id"]]
    done = await host.ok("alc_continue", session_id=keep["session_id"], response="yes")
    assert done["result"] == "kept yes"


async def test_cancel_a_running_session(patient_host: Host) -> None:
    host = patient_host
    outcome: dict[str, Any] = {}

    async def run() -> None:
        outcome["run"] = await host.call("alc_run", code="while true do end")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            session_id = await wait_until_running(host)
            outcome["cancel"] = await host.call("alc_cancel", session_id=session_id)

    for name in ("run", "cancel"):
        result = outcome[name]
        assert not result.is_error, (name, result.text)
        assert result.json["status"] == "cancelled", (name, result.text)
        assert result.json["stats"]["auto"]["llm_calls"] == 0
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}
    assert "not found" in await host.error("alc_cancel", session_id=session_id)


async def test_cancel_a_session_running_after_a_continue(patient_host: Host) -> None:
    host = patient_host
    paused = await host.run("local a = alc.llm('q') while true do end")
    session_id = paused["session_id"]
    outcome: dict[str, Any] = {}

    async def resume() -> None:
        outcome["continue"] = await host.call("alc_continue", session_id=session_id, response="go")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(resume)
            await wait_until_running(host, session_id)
            # While it runs, a second answer is refused with a clear message.
            busy = await host.error("alc_continue", session_id=session_id, response="again")
            assert "is running" in busy
            outcome["cancel"] = await host.call("alc_cancel", session_id=session_id)

    for name in ("continue", "cancel"):
        result = outcome[name]
        assert not result.is_error, (name, result.text)
        assert result.json["status"] == "cancelled", (name, result.text)
        assert result.json["stats"]["auto"]["rounds"] == 1
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}


async def test_cancelling_a_running_session_leaves_a_paused_one(patient_host: Host) -> None:
    host = patient_host
    paused = await host.run("return alc.llm('still here?')")
    outcome: dict[str, Any] = {}

    async def run() -> None:
        outcome["run"] = await host.ok("alc_run", code="while true do end")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            spinner = await wait_until_running(host)
            assert spinner != paused["session_id"]
            await host.ok("alc_cancel", session_id=spinner)

    assert outcome["run"]["status"] == "cancelled"
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="yes")
    assert done["result"] == "yes"
