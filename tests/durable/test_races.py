"""Bug: one session's calls could interleave. ``alc_rewind`` checked "busy" and acted
only after four awaited store calls, so a continue could resume the script in between;
retiring a session removed whatever held its id, so a session revived meanwhile could
vanish from the registry while the store still had it paused. One guard per session now
serializes every call that changes it, and a session is retired by identity.

Each round fires continue, rewind, cancel and hibernation at one session at once; every
call must either succeed or refuse with a message that says why, and afterwards the
session must be exactly what its journal says: reachable, and able to finish."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from alc_mcp.app import SessionService
from alc_mcp.config import Limits
from alc_mcp.server.app import build_server
from tests.conftest import Host, ToolResult
from tests.durable.support import durable_config

pytestmark = pytest.mark.anyio

STEPS = 4
SCRIPT = """
local got = {}
for i = 1, ctx.steps do
  local x = 0
  for j = 1, ctx.work do x = x + j % 7 end
  got[i] = alc.llm("step " .. i)
end
return got
"""

#: What a refused call may say: each names the reason and what to do.
#: "was already answered": a continue that waited while another answered its pause (it
#: used to answer the next pause instead).
CLEAR_REFUSALS = (
    "is running",
    "already finished",
    "out of range",
    "has 0 answered queries",
    "was already answered",
)


def refused_clearly(result: ToolResult) -> bool:
    return result.is_error and any(reason in result.text for reason in CLEAR_REFUSALS)


async def finish(host: Host, session_id: str) -> dict[str, Any]:
    """Answer whatever the session asks until it ends; its final reply."""
    transcript = await host.ok("alc_log_view", session_id=session_id)
    if transcript["status"] not in ("paused", "running"):
        return {"status": transcript["status"]}
    reply = None
    for _ in range(STEPS + 1):
        result = await host.call("alc_continue", session_id=session_id, response="end")
        if result.is_error:
            assert "already finished" in result.text, result.text
            return {"status": "finished"}
        reply = result.json
        if reply["status"] != "needs_response":
            return reply
    raise AssertionError(f"session {session_id} never finished: {reply}")


async def one_round(host: Host, service: SessionService, rng: random.Random) -> None:
    reply = await host.run(SCRIPT, ctx={"steps": STEPS, "work": rng.choice([1, 20_000, 200_000])})
    session_id = reply["session_id"]
    for step in range(rng.randint(1, 2)):
        reply = await host.ok("alc_continue", session_id=session_id, response=f"a{step}")

    calls: list[tuple[str, dict[str, Any]]] = [
        ("alc_continue", {"session_id": session_id, "response": "raced"}),
        ("alc_rewind", {"session_id": session_id, "query_index": 0}),
        ("alc_continue", {"session_id": session_id, "response": "raced again"}),
    ]
    if rng.random() < 0.3:
        calls.append(("alc_cancel", {"session_id": session_id}))
    rng.shuffle(calls)
    results: list[ToolResult] = []

    async def call(tool: str, arguments: dict[str, Any], delay: float) -> None:
        await anyio.sleep(delay)
        results.append(await host.call(tool, **arguments))

    async def hibernate_now_and_then() -> None:
        for _ in range(20):
            live = service.registry.live_session(session_id)
            if live is not None:
                service.registry.hibernate(live)
            await anyio.sleep(rng.choice([0, 0.001, 0.003]))

    async with anyio.create_task_group() as tasks:
        for tool, arguments in calls:
            tasks.start_soon(call, tool, arguments, rng.choice([0, 0, 0.001, 0.002]))
        tasks.start_soon(hibernate_now_and_then)

    for result in results:
        assert not result.is_error or refused_clearly(result), result.text

    # The journal folds, and the registry agrees with it about where the session is.
    transcript = await host.ok("alc_log_view", session_id=session_id)
    status = await host.call("alc_status", session_id=session_id)
    if transcript["status"] in ("paused", "running"):
        assert not status.is_error, f"{status.text} but the store has it {transcript['status']}"
    done = await finish(host, session_id)
    assert done["status"] in ("completed", "cancelled", "finished"), done
    final = await host.ok("alc_log_view", session_id=session_id)
    assert final["status"] in ("completed", "cancelled"), final
    if final["status"] == "completed":
        answers = [q["response"] for q in final["queries"]]
        assert final["result"] == answers[-STEPS:], final


async def test_concurrent_rewind_continue_cancel_and_hibernate_on_one_session(tmp_path: Path) -> None:
    limits = Limits(max_memory_mb=64, max_instructions=10**10, max_run_seconds=10.0)
    service = SessionService.open(durable_config(tmp_path / "home", limits=limits))
    rng = random.Random(20261203)
    async with Client(build_server(service=service)) as client:
        host = Host(client)
        for _ in range(25):
            await one_round(host, service, rng)
