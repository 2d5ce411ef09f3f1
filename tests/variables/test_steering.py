"""Steering a paused loop: the script reads its knobs at every step, the host changes them
between pauses and the prompts follow. After a SIGKILL and a new server on the same home,
the replayed session sees the values it saw before, at the same steps, and a host change
acknowledged right before the kill is still there."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest
from mcp import Client

from tests.conftest import Host
from tests.e2e.test_sigkill_restart import killable_server, stdio_server
from tests.variables.support import variables

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

STEERED = """
alc.vars.define("style", "choice", "brief",
  {constraints = {choices = {"brief", "detailed"}}, description = "answer style"})
alc.vars.define("rounds", "integer", 1, {constraints = {min = 1, max = 10}, description = "rounds"})
alc.vars.define("steps_done", "integer", 0)
local seen = {}
for i = 1, 5 do
  local style = alc.vars.get("style")
  local rounds = alc.vars.get("rounds")
  local reply = alc.llm("step " .. i .. ": answer " .. style .. " in " .. rounds .. " rounds")
  seen[i] = {style = style, rounds = rounds, reply = reply}
  alc.vars.set("steps_done", i)
end
return {seen = seen, steps_done = alc.vars.info("steps_done")}
"""

PROMPT = re.compile(r"step (\d): answer (\w+) in (\d+) rounds")


def read_prompt(reply: dict[str, Any]) -> tuple[int, str, int]:
    assert reply["status"] == "needs_response", reply
    match = PROMPT.fullmatch(reply["prompt"])
    assert match, reply["prompt"]
    return int(match[1]), match[2], int(match[3])


def answer(step: int) -> str:
    return f"reply {step}"


async def steer(host: Host, session_id: str, updates: dict[str, Any]) -> None:
    reply = await host.ok("alc_vars_set", session_id=session_id, updates=updates, atomic=True, reason="steer")
    assert reply["status"] == "applied", reply


async def test_host_steers_a_loop_and_a_sigkill_restart_replays_the_same_values(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prompts: list[tuple[int, str, int]] = []
    async with killable_server(home) as (host, pid):
        reply = await host.run(STEERED)
        session_id = reply["session_id"]
        prompts.append(read_prompt(reply))

        # Paused at step 1: the next read (step 2) must see the new style.
        await steer(host, session_id, {"style": "detailed"})
        reply = await host.ok("alc_continue", session_id=session_id, response=answer(1))
        prompts.append(read_prompt(reply))

        # Paused at step 2: a refused change leaves everything as it was.
        refused = await host.ok(
            "alc_vars_set", session_id=session_id, updates={"rounds": 3, "style": "long"}, atomic=True
        )
        assert refused["status"] == "rejected"
        await steer(host, session_id, {"rounds": 3})
        reply = await host.ok("alc_continue", session_id=session_id, response=answer(2))
        prompts.append(read_prompt(reply))

        # Paused at step 3: change both, then kill the server at once.
        await steer(host, session_id, {"style": "brief", "rounds": 7})
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=10)

    assert prompts == [(1, "brief", 1), (2, "detailed", 1), (3, "detailed", 3)]

    async with Client(stdio_server(home)) as client:
        host = Host(client)
        status = await host.ok("alc_status", session_id=session_id)
        assert status["live"] is False
        assert status["variables"] == {"count": 3, "names": ["style", "rounds", "steps_done"]}
        listed = await variables(host, session_id)
        # The change acknowledged right before the kill is not lost.
        assert (listed["style"]["value"], listed["style"]["version"]) == ("brief", 2)
        assert (listed["rounds"]["value"], listed["rounds"]["version"]) == (7, 2)
        assert listed["rounds"]["metadata"] == {"source": "host", "reason": "steer"}
        assert (listed["steps_done"]["value"], listed["steps_done"]["version"]) == (2, 2)

        # Answering step 3 replays steps 1-3 from the journal (a different value read at
        # any of them would change its prompt and make the replay diverge), then step 4
        # reads the values the host set before the kill.
        reply = await host.ok("alc_continue", session_id=session_id, response=answer(3))
        assert read_prompt(reply) == (4, "brief", 7)
        await steer(host, session_id, {"rounds": 2})
        reply = await host.ok("alc_continue", session_id=session_id, response=answer(4))
        assert read_prompt(reply) == (5, "brief", 2)
        done = await host.ok("alc_continue", session_id=session_id, response=answer(5))
        assert done["status"] == "completed", done

        after = await variables(host, session_id)  # a finished session's variables, from its journal
        assert (after["steps_done"]["value"], after["steps_done"]["version"]) == (5, 5)
        assert (after["rounds"]["value"], after["rounds"]["version"]) == (2, 3)

    seen = [(entry["style"], entry["rounds"], entry["reply"]) for entry in done["result"]["seen"]]
    before_kill = [(style, rounds, answer(step)) for step, style, rounds in prompts]
    assert seen == [*before_kill, ("brief", 7, answer(4)), ("brief", 2, answer(5))]
    steps_done = done["result"]["steps_done"]
    assert (steps_done["value"], steps_done["version"]) == (5, 5)  # replayed sets were not applied twice
    assert steps_done["metadata"] == {"source": "lua"}
