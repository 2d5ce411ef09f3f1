"""Resource limits: a runaway script ends only its own session, with an error that
names the limit and the variable that raises it, whatever the script does to hide."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from alc_mcp.config import Config, ConfigError, Limits
from alc_mcp.engine.sandbox import LimitMonitor
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


# --- limits that cannot be dodged ----------------------------------------------------------

#: Scripts that once ran until the wall clock: a limit error caught in a loop, or little
#: Lua doing heavy builtin work the instruction hook cannot see.
DODGES = {
    "coroutine.resume in a loop": (
        "while true do local co = coroutine.create(function() while true do end end) coroutine.resume(co) end"
    ),
    "a tripped coroutine resumed again": (
        "local co = coroutine.create(function() while true do end end)\n"
        "while true do local ok = coroutine.resume(co) ok = coroutine.resume(co) end"
    ),
    "coroutine.wrap under pcall in a loop": (
        "while true do pcall(coroutine.wrap(function() while true do end end)) end"
    ),
    "pcall inside a coroutine inside pcall": (
        "while true do pcall(function()\n"
        "  local co = coroutine.create(function()\n"
        "    while true do pcall(function() while true do end end) end\n"
        "  end)\n"
        "  while true do coroutine.resume(co) end\n"
        "end) end"
    ),
    "a load reader that loops": "while true do load(function() while true do end end) end",
    "a looping to-be-closed handler": (
        "while true do pcall(function()\n"
        "  local x <close> = setmetatable({}, {__close = function() while true do end end})\n"
        "  while true do end\n"
        "end) end"
    ),
    "string.rep of 8 MiB per iteration": (
        "local n = 0 while true do n = n + #string.rep('x', 8 * 1024 * 1024) end"
    ),
    "an empty string.rep repeated a trillion times": "while true do string.rep('', 1e12) end",
    "a big table.concat per iteration": (
        "local t = {} for i = 1, 1000 do t[i] = string.rep('y', 8192) end\n"
        "while true do local s = table.concat(t) end"
    ),
    "string.format with huge widths": (
        "local f = string.rep('%99d', 10000) local args = {} for i = 1, 10000 do args[i] = i end\n"
        "while true do local s = string.format(f, table.unpack(args)) end"
    ),
    "a catastrophic string.find": "local s = string.rep('a', 100000) while true do s:find('.-.-.-b') end",
    "a catastrophic string.gsub": "local s = string.rep(' ', 200000) .. 'x' return s:gsub('%s+$', '')",
    "a catastrophic string.match under pcall": (
        "local s = string.rep('a', 5000) while true do pcall(string.match, s, '(a*)*b') end"
    ),
    "a catastrophic plain find": (
        "local s = string.rep('a', 1000000) local p = string.rep('a', 100000) .. 'b'\n"
        "while true do s:find(p, 1, true) end"
    ),
}

LIMIT_VARIABLES = ("ALC_MAX_INSTRUCTIONS", "ALC_MAX_CPU_SECONDS", "ALC_MAX_MEMORY_MB")


@pytest.mark.parametrize("code", DODGES.values(), ids=DODGES.keys())
async def test_limits_cannot_be_dodged(host: Host, code: str) -> None:
    reply = await host.run(code)
    assert reply["status"] == "error", reply
    assert "limit exceeded" in reply["error"]
    assert any(name in reply["error"] for name in LIMIT_VARIABLES), reply["error"]
    assert "ALC_MAX_RUN_SECONDS" not in reply["error"]  # not the wall clock


async def test_cpu_time_limit(tmp_path: Path) -> None:
    # A string doubled once per instruction: the instruction budget never runs out.
    config = Config(home=tmp_path, limits=Limits(max_instructions=10**15, max_cpu_seconds=0.3))
    async with Client(build_server(config)) as client:
        reply = await Host(client).run(
            "local s = string.rep('x', 4 * 1024 * 1024) while true do local t = s .. s end"
        )
    assert reply["status"] == "error"
    assert reply["error"].startswith("cpu time limit exceeded")
    assert "ALC_MAX_CPU_SECONDS=0.3" in reply["error"]


def test_the_cpu_limit_comes_from_the_environment() -> None:
    assert Config.from_env({}).limits.max_cpu_seconds == 6.0
    assert Config.from_env({"ALC_MAX_CPU_SECONDS": "2.5"}).limits.max_cpu_seconds == 2.5
    assert Limits(max_cpu_seconds=2.5).to_json()["ALC_MAX_CPU_SECONDS"] == 2.5
    with pytest.raises(ConfigError, match="ALC_MAX_CPU_SECONDS"):
        Config.from_env({"ALC_MAX_CPU_SECONDS": "0"})


def test_the_cpu_budget_is_per_run_between_pauses() -> None:
    cpu = [0.0]
    monitor = LimitMonitor(Limits(max_instructions=10**15, max_cpu_seconds=1.0), cpu_clock=lambda: cpu[0])
    for _ in range(3):  # three runs of 0.6 s each: 1.8 s in all, never 1 s in one run
        monitor.start_run()
        cpu[0] += 0.6
        assert monitor.check(1000) is None
    cpu[0] += 0.5
    message = monitor.check(1000)
    assert message is not None
    assert message.decode().startswith("cpu time limit exceeded")
    assert monitor.check(0) == message  # sticky


@pytest.mark.parametrize(
    "code",
    [
        DODGES["coroutine.resume in a loop"],
        DODGES["string.rep of 8 MiB per iteration"],
        DODGES["a catastrophic string.find"],
    ],
    ids=["coroutines", "string.rep", "string.find"],
)
async def test_another_session_answers_while_one_burns(host: Host, code: str) -> None:
    paused = await host.run("local a = alc.llm('first?') local b = alc.llm('second?') return a .. b")
    assert paused["status"] == "needs_response"
    outcome: dict[str, object] = {}

    async def burn() -> None:
        outcome["bomb"] = await host.run(code)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(burn)
        await anyio.sleep(0.05)
        step = await host.ok("alc_continue", session_id=paused["session_id"], response="1")
        assert step["status"] == "needs_response"
        done = await host.ok("alc_continue", session_id=paused["session_id"], response="2")
        assert done == {**done, "status": "completed", "result": "12"}
    assert outcome["bomb"]["status"] == "error"  # type: ignore[index]


GOOD_BUILTIN_USE = {
    "gsub callback asks the LLM": (
        "return (string.gsub('a b', '%a', function(c) return alc.llm('say ' .. c) end))",
        "x x",
    ),
    "gsub callback in the Lua matcher asks the LLM": (
        "local s = string.rep(' ', 3000) .. 'a' "
        "return (#s:gsub('(%s*)(%a)$', function(_, c) return alc.llm('say ' .. c) end))",
        1,
    ),
    "trimming a long text": (
        "local s = '  ' .. string.rep('word ', 2000) .. '  ' return #s:match('^%s*(.-)%s*$')",
        9999,
    ),
    "errors keep the script's line": (
        "local ok, e = pcall(function()\n local x = string.rep(nil, 2)\n end) return e",
        "alc_run:2: bad argument #1 to 'rep' (string expected, got nil)",
    ),
    "pattern errors keep the script's line": (
        "local ok, e = pcall(function()\n local r = ('x'):rep(10):find('x%')\n end) return e",
        "alc_run:2: malformed pattern (ends with '%')",
    ),
}


@pytest.mark.parametrize(("code", "expected"), GOOD_BUILTIN_USE.values(), ids=GOOD_BUILTIN_USE.keys())
async def test_charged_builtins_keep_working(host: Host, code: str, expected: object) -> None:
    reply = await host.run(code)
    while reply["status"] == "needs_response":
        reply = await host.ok("alc_continue", session_id=reply["session_id"], response="x")
    assert reply["status"] == "completed", reply
    assert reply["result"] == expected
