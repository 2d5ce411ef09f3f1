"""Resource limits: a runaway script ends only its own session, with an error that
names the limit and the variable that raises it, whatever the script does to hide."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from alc_mcp.config import Config, Limits
from alc_mcp.server.app import build_server
from tests.conftest import Host

pytestmark = pytest.mark.anyio

INSTRUCTION_BOMBS = {
    "plain loop": "while true do end",
    "loop inside pcall": "while true do pcall(function() while true do end end) end",
    "loop inside xpcall with a looping handler": (
        "xpcall(function() while true do end end, function(e) while true do end end)"
    ),
    "loop inside coroutine.wrap": "coroutine.wrap(function() while true do end end)()",
    "loop inside a resumed coroutine": (
        "local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end"
    ),
    "loop inside a gsub callback": "string.gsub('abc', '%w', function() while true do end end)",
    "loop inside a sort comparator": "table.sort({3, 2, 1}, function() while true do end end)",
    "loop inside a metamethod": (
        "local t = setmetatable({}, {__index = function() while true do end end}) return t.x"
    ),
    "loop in an error handler after a caught error": (
        "local ok = pcall(error, 'x') while true do pcall(error, 'again') end"
    ),
}

MEMORY_BOMBS = {
    "growing table": "local t = {} for i = 1, 1e9 do t[i] = i end",
    "huge string": "return #string.rep('x', 2^31 - 1)",
    "growing table inside pcall": (
        "while true do pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) end"
    ),
    "string doubling in a coroutine": (
        "coroutine.wrap(function() local s = 'x' while true do s = s .. s end end)()"
    ),
}


@pytest.mark.parametrize("code", INSTRUCTION_BOMBS.values(), ids=INSTRUCTION_BOMBS.keys())
async def test_instruction_limit_cannot_be_swallowed(host: Host, code: str) -> None:
    reply = await host.run(code)
    assert reply["status"] == "error"
    assert reply["error"].startswith("instruction limit exceeded")
    assert "ALC_MAX_INSTRUCTIONS" in reply["error"]


@pytest.mark.parametrize("code", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
async def test_memory_limit_cannot_be_swallowed(host: Host, code: str) -> None:
    reply = await host.run(code)
    assert reply["status"] == "error"
    assert reply["error"].startswith("memory limit exceeded")
    assert "ALC_MAX_MEMORY_MB" in reply["error"]


async def test_time_limit(tmp_path: Path) -> None:
    config = Config(home=tmp_path, limits=Limits(max_instructions=10**15, max_run_seconds=0.5))
    async with Client(build_server(config)) as client:
        reply = await Host(client).run("while true do end")
    assert reply["status"] == "error"
    assert reply["error"].startswith("time limit exceeded")
    assert "ALC_MAX_RUN_SECONDS" in reply["error"]


async def test_the_instruction_budget_is_per_run_between_pauses(host: Host) -> None:
    # Each stretch is ~60% of the 20M-instruction test limit: together they exceed it.
    code = """
    local function spin() local x = 0 for i = 1, 3e6 do x = x + i end return x end
    spin()
    alc.llm("pause 1")
    spin()
    alc.llm("pause 2")
    spin()
    return "done"
    """
    reply = await host.run(code)
    for _ in range(2):
        assert reply["status"] == "needs_response", reply
        reply = await host.ok("alc_continue", session_id=reply["session_id"], response="ok")
    assert reply["status"] == "completed"
    assert reply["result"] == "done"


@pytest.mark.parametrize(
    "bomb", ["while true do end", MEMORY_BOMBS["growing table inside pcall"]], ids=["loop", "memory"]
)
async def test_a_runaway_session_leaves_the_others_serving(host: Host, bomb: str) -> None:
    paused = await host.run("return alc.llm('still here?')")
    assert paused["status"] == "needs_response"
    outcome: dict[str, object] = {}
    seen_running = False

    async def run_bomb() -> None:
        outcome["bomb"] = await host.run(bomb)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run_bomb)
        # While the bomb burns its thread, status keeps answering, and lists it.
        while "bomb" not in outcome:
            listing = await host.ok("alc_status")
            phases = {s["session_id"]: s["phase"] for s in listing["sessions"]}
            assert phases[paused["session_id"]] == "paused"
            seen_running = seen_running or "running" in phases.values()
            await anyio.sleep(0.01)

    assert outcome["bomb"]["status"] == "error"  # type: ignore[index]
    assert seen_running, "alc_status never answered while the runaway script was running"
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="yes")
    assert done == {**done, "status": "completed", "result": "yes"}
