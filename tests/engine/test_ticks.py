"""Limits under CPU ticks (the default: ALC_MAX_INSTRUCTIONS not set): Lua runs with no
count hook, a timer on the session thread's CPU clock arms the hook every few ms, and
every runaway script of tests/engine/test_limits.py still ends by a limit that names its
variable, never by the wall clock, while other sessions keep answering."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from alc_mcp.config import Config, Limits
from alc_mcp.engine import ticks
from alc_mcp.server.app import build_server
from tests.conftest import TICKED_LIMITS, Host
from tests.engine.test_limits import (
    DODGES,
    GOOD_BUILTIN_USE,
    INSTRUCTION_BOMBS,
    LIMIT_VARIABLES,
    MEMORY_BOMBS,
)

pytestmark = pytest.mark.anyio


def test_the_library_is_built_and_used_by_default() -> None:
    # Built by the wheel's build hook on Linux; without it the sandbox counts (slower).
    assert ticks.load() is not None
    assert not Limits().counts_instructions
    assert Limits(max_instructions=5).counts_instructions
    assert Config.from_env({}).limits.max_instructions is None
    assert Config.from_env({"ALC_MAX_INSTRUCTIONS": "off"}).limits.max_instructions is None
    assert Config.from_env({"ALC_MAX_INSTRUCTIONS": "123"}).limits.max_instructions == 123


# A tick that armed the dispatcher on a VM whose hook table did not exist yet (before
# the sandbox's first debug.sethook) crashed the process: run it in a child process.
EARLY_TICK = """
import sys
from lupa import lua54
from alc_mcp.engine import ticks

library = ticks.load()
warm = lua54.LuaRuntime(encoding=None)
library.register(warm)
warm.execute("debug.sethook(function() end, '', 1 << 30) __alc_tick_capture() debug.sethook()")
fresh = lua54.LuaRuntime(encoding=None)
library.register(fresh)
with library.running():
    print(fresh.execute("local x = 0 for i = 1, 3e7 do x = x + i % 7 end return x"))
"""


def test_ticks_wait_for_the_sandbox_to_name_its_state() -> None:
    ran = subprocess.run([sys.executable, "-c", EARLY_TICK], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran
    assert ran.stdout.strip() == str(sum(i % 7 for i in range(1, 30_000_001)))


@pytest.fixture
async def ticked(tmp_path: Path) -> AsyncIterator[Host]:
    async with Client(build_server(Config(home=tmp_path, limits=TICKED_LIMITS))) as client:
        yield Host(client)


def stopped_by_a_limit(reply: Any) -> str:
    assert reply["status"] == "error", reply
    error: str = reply["error"]
    assert "limit exceeded" in error, error
    assert any(name in error for name in LIMIT_VARIABLES), error
    assert "ALC_MAX_RUN_SECONDS" not in error, error  # the ticks stopped it, not the wall clock
    return error


@pytest.mark.parametrize("code", INSTRUCTION_BOMBS.values(), ids=INSTRUCTION_BOMBS.keys())
async def test_pure_lua_loops_end_by_the_cpu_limit(ticked: Host, code: str) -> None:
    error = stopped_by_a_limit(await ticked.run(code))
    assert error.startswith("cpu time limit exceeded"), error
    assert "ALC_MAX_CPU_SECONDS=0.5" in error


@pytest.mark.parametrize("code", DODGES.values(), ids=DODGES.keys())
async def test_limits_cannot_be_dodged(ticked: Host, code: str) -> None:
    stopped_by_a_limit(await ticked.run(code))


@pytest.mark.parametrize("code", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
async def test_memory_limit_cannot_be_swallowed(ticked: Host, code: str) -> None:
    reply = await ticked.run(code)
    assert reply["status"] == "error"
    assert "ALC_MAX_MEMORY_MB" in reply["error"] or "ALC_MAX_CPU_SECONDS" in reply["error"], reply


SWITCHING_BOMBS = {
    # The timer arms the coroutine that runs; each of these leaves the thread in a
    # coroutine other than the one the last resume named, or in the main state after one.
    "loop after a finished coroutine": ("coroutine.wrap(function() return 1 end)() while true do end"),
    "loop after a yield": (
        "local co = coroutine.create(function() coroutine.yield(1) end)\n"
        "coroutine.resume(co) while true do end"
    ),
    "loop in a nested coroutine": (
        "coroutine.wrap(function() coroutine.wrap(function() while true do end end)() end)()"
    ),
    "loop in the outer coroutine after the inner one yields": (
        "coroutine.wrap(function()\n"
        "  local inner = coroutine.create(function() coroutine.yield() end)\n"
        "  coroutine.resume(inner) while true do end\n"
        "end)()"
    ),
    "loop after resuming a dead coroutine": (
        "local co = coroutine.create(function() end)\n"
        "coroutine.resume(co) coroutine.resume(co) while true do end"
    ),
    "loop after a resume that raised": "pcall(coroutine.resume, 42) while true do end",
    "loop after closing a normal coroutine failed": (
        "local outer outer = coroutine.create(function()\n"
        "  coroutine.wrap(function() pcall(coroutine.close, outer) while true do end end)()\n"
        "end) coroutine.resume(outer)"
    ),
    "loop in a __close handler run by coroutine.close": (
        "local co = coroutine.create(function()\n"
        "  local x <close> = setmetatable({}, {__close = function() while true do end end})\n"
        "  coroutine.yield()\n"
        "end) coroutine.resume(co) coroutine.close(co)"
    ),
    "loop in a __close handler after the coroutine failed": (
        "local f = coroutine.wrap(function()\n"
        "  local x <close> = setmetatable({}, {__close = function() while true do end end})\n"
        "  error('boom')\n"
        "end) f()"
    ),
}


@pytest.mark.parametrize("code", SWITCHING_BOMBS.values(), ids=SWITCHING_BOMBS.keys())
async def test_the_running_coroutine_is_the_one_checked(ticked: Host, code: str) -> None:
    error = stopped_by_a_limit(await ticked.run(code))
    assert error.startswith("cpu time limit exceeded"), error


@pytest.mark.parametrize("case", GOOD_BUILTIN_USE.values(), ids=GOOD_BUILTIN_USE.keys())
async def test_good_scripts_still_work(ticked: Host, case: tuple[str, Any]) -> None:
    code, expected = case
    reply = await ticked.run(code)
    while reply["status"] == "needs_response":
        reply = await ticked.ok("alc_continue", session_id=reply["session_id"], response="x")
    assert reply == {**reply, "status": "completed", "result": expected}


async def test_llm_calls_inside_coroutines_and_a_loop_after_them(ticked: Host) -> None:
    # alc.llm from a coroutine parks the thread; after the answer the coroutine goes on,
    # yields, and the main state runs again: each stretch is checked on its own state.
    code = (
        "local gen = coroutine.wrap(function()\n"
        "  for i = 1, 3 do coroutine.yield(alc.llm('q' .. i)) end\n"
        "end)\n"
        "local got = {} for i = 1, 3 do got[i] = gen() end\n"
        "local n = 0 for i = 1, 2e6 do n = n + i % 3 end\n"
        "return table.concat(got, ',') .. ':' .. n"
    )
    reply = await ticked.run(code)
    for answer in ("a", "b", "c"):
        assert reply["status"] == "needs_response", reply
        reply = await ticked.ok("alc_continue", session_id=reply["session_id"], response=answer)
    assert reply == {**reply, "status": "completed", "result": "a,b,c:2000001"}


async def test_the_cpu_budget_is_per_run_between_pauses(ticked: Host) -> None:
    # Three stretches of ~0.3 s of CPU each: 0.9 s in all, never 0.5 s in one run.
    spin = "local t = os.clock() while os.clock() - t < 0.3 do end"
    code = f"{spin} alc.llm('1') {spin} alc.llm('2') {spin} return 'done'"
    reply = await ticked.run(code)
    for _ in range(2):
        assert reply["status"] == "needs_response", reply
        reply = await ticked.ok("alc_continue", session_id=reply["session_id"], response="ok")
    assert reply == {**reply, "status": "completed", "result": "done"}


async def test_many_ticked_sessions_burn_while_one_answers(ticked: Host) -> None:
    paused = await ticked.run("local a = alc.llm('first?') local b = alc.llm('second?') return a .. b")
    outcomes: list[Any] = []

    async def burn(code: str) -> None:
        outcomes.append(await ticked.run(code))

    async with anyio.create_task_group() as tasks:
        for code in list(INSTRUCTION_BOMBS.values())[:4]:
            tasks.start_soon(burn, code)
        await anyio.sleep(0.05)
        step = await ticked.ok("alc_continue", session_id=paused["session_id"], response="1")
        assert step["status"] == "needs_response"
        done = await ticked.ok("alc_continue", session_id=paused["session_id"], response="2")
        assert done == {**done, "status": "completed", "result": "12"}
    assert len(outcomes) == 4
    for reply in outcomes:
        stopped_by_a_limit(reply)
