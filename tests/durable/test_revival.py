"""Bug: a replay was timed as one run. The event loop's watchdog covered the whole
revival while the Lua-side limit reset per step, so a session whose every step ran well
inside ALC_MAX_RUN_SECONDS failed on revival once its replayed compute added up past the
limit, and was then recorded as failed for good. A replay is judged per step; a revival
that cannot finish records nothing, says why, and can be tried again."""

from __future__ import annotations

from pathlib import Path

import pytest

from alc_mcp.config import Config, Limits
from tests.durable.support import durable_config, serve, status_of

pytestmark = pytest.mark.anyio

STEPS = 16

#: Every step does the same CPU work (no clocks: nothing to journal), then pauses.
BURN = """
local acc = 0
for i = 1, ctx.steps do
  local x = 0
  for j = 1, ctx.work do x = x + j % 7 end
  acc = acc + x
  alc.llm("step " .. i)
end
return acc
"""

#: ~0.1-0.2 s of Lua per step here: each far inside the 1.5 s run limit (room for a
#: machine loaded several times over), all sixteen of them (a whole replay) beyond the
#: limit plus the watchdog's grace.
WORK = 8_000_000


def limits(run_seconds: float) -> Limits:
    return Limits(
        max_memory_mb=64, max_instructions=10**11, max_run_seconds=run_seconds, watchdog_grace_seconds=0.2
    )


def config(home: Path, run_seconds: float = 1.5) -> Config:
    return durable_config(home, limits=limits(run_seconds))


def expected() -> int:
    return STEPS * sum(j % 7 for j in range(1, WORK + 1))


async def paused_before_last_step(home: Path) -> str:
    """A BURN session answered up to its last pause, on a server that is then stopped."""
    async with serve(config(home)) as host:
        reply = await host.run(BURN, ctx={"steps": STEPS, "work": WORK})
        session_id = reply["session_id"]
        for step in range(1, STEPS):
            assert reply["status"] == "needs_response", reply
            assert reply["prompt"] == f"step {step}"
            reply = await host.ok("alc_continue", session_id=session_id, response=f"a{step}")
        assert reply["prompt"] == f"step {STEPS}", reply
    return session_id


async def test_a_long_session_is_revived_step_by_step(tmp_path: Path) -> None:
    session_id = await paused_before_last_step(tmp_path / "home")
    async with serve(config(tmp_path / "home")) as host:
        done = await host.ok("alc_continue", session_id=session_id, response="last")
    assert done["status"] == "completed", done
    assert done["result"] == expected()


async def test_a_revival_stopped_by_a_limit_changes_nothing_and_can_be_retried(tmp_path: Path) -> None:
    home = tmp_path / "home"
    session_id = await paused_before_last_step(home)

    # A server with a limit no replayed step can meet: the revival fails, and says why.
    async with serve(config(home, run_seconds=0.02)) as host:
        message = await host.error("alc_continue", session_id=session_id, response="last")
        assert "could not be brought back from its journal" in message, message
        assert "time limit exceeded" in message and "ALC_MAX_RUN_SECONDS" in message, message
        assert "Nothing was changed" in message, message
        snap = await status_of(host, session_id)
        assert (snap["state"], snap["live"], snap["pending_queries"]) == ("paused", False, 1), snap
        listed = {s["id"]: s for s in (await host.ok("alc_log_view"))["sessions"]}
        assert listed[session_id]["status"] == "paused"

    # With the limit back, the same session goes on as if nothing had happened.
    async with serve(config(home)) as host:
        done = await host.ok("alc_continue", session_id=session_id, response="last")
    assert done["status"] == "completed", done
    assert done["result"] == expected()
