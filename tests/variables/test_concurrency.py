"""Concurrent variable access: many sessions updating their own variables at once (from
Lua and from the host) never see each other's values nor lose an update; a host update
racing a resume of the same session lands wholly before the resume or is refused as
"running", is never half-applied, and once acknowledged is never lost (live, in the
journal, and after a restart)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from alc_mcp.domain.journal import Answered, Asked, Observed, ObservedBatch, VarChanged
from tests.conftest import Host
from tests.durable.support import serve, wait_until
from tests.variables.support import RUNNING, config_for, journal, variables

pytestmark = pytest.mark.anyio

SESSIONS = 20
STEPS = 3

OWN = """
local n = ctx.n
alc.vars.define("owner", "string", "session-" .. n)
alc.vars.define("counter", "integer", 0)
alc.vars.define("host_value", "integer", -1)
alc.vars.define("mine_" .. n, "integer", n)
for i = 1, 3 do
  alc.vars.set("counter", alc.vars.get("counter") + n)
  alc.vars.set_many({["mine_" .. n] = n * 10 + i}, {atomic = true})
  alc.llm("n=" .. n .. " i=" .. i .. " owner=" .. alc.vars.get("owner")
    .. " host=" .. alc.vars.get("host_value") .. " counter=" .. alc.vars.get("counter")
    .. " mine=" .. alc.vars.get("mine_" .. n))
end
return {owner = alc.vars.info("owner"), counter = alc.vars.info("counter"),
        host_value = alc.vars.info("host_value"), mine = alc.vars.info("mine_" .. n)}
"""


def expected_prompt(n: int, step: int) -> str:
    host = -1 if step == 1 else host_value(n, step - 1)
    return f"n={n} i={step} owner={owner(n, step - 1)} host={host} counter={n * step} mine={n * 10 + step}"


def host_value(n: int, step: int) -> int:
    return n * 100 + step


def owner(n: int, step: int) -> str:
    return f"session-{n}" if step == 0 else f"host-{n}-{step}"


async def drive_own_session(host: Host, n: int, finals: dict[int, Any]) -> None:
    reply = await host.run(OWN, ctx={"n": n})
    session_id = reply["session_id"]
    for step in range(1, STEPS + 1):
        assert reply["status"] == "needs_response", reply
        assert reply["prompt"] == expected_prompt(n, step)
        changed = await host.ok(
            "alc_vars_set",
            session_id=session_id,
            updates={"host_value": host_value(n, step), "owner": owner(n, step)},
            atomic=True,
        )
        assert changed == {
            "status": "applied",
            "results": {"host_value": {"version": step}, "owner": {"version": step}},
        }
        reply = await host.ok("alc_continue", session_id=session_id, response=f"answer {n}.{step}")
    assert reply["status"] == "completed", reply
    finals[n] = (session_id, reply["result"])


async def test_many_sessions_update_their_own_variables_at_once(tmp_path: Path) -> None:
    config = config_for(tmp_path / "home")
    finals: dict[int, Any] = {}
    async with serve(config) as host, anyio.create_task_group() as tasks:
        for n in range(1, SESSIONS + 1):
            tasks.start_soon(drive_own_session, host, n, finals)
    assert sorted(finals) == list(range(1, SESSIONS + 1))

    expected_values = {}
    for n, (session_id, result) in finals.items():
        got = {name: (record["value"], record["version"]) for name, record in result.items()}
        expected_values[session_id] = {
            "owner": (owner(n, STEPS), STEPS),
            "counter": (n * STEPS, STEPS),
            "host_value": (host_value(n, STEPS), STEPS),
            f"mine_{n}": (n * 10 + STEPS, STEPS),
        }
        assert got == {
            "owner": (owner(n, STEPS), STEPS),
            "counter": (n * STEPS, STEPS),
            "host_value": (host_value(n, STEPS), STEPS),
            "mine": (n * 10 + STEPS, STEPS),
        }, n
        assert result["owner"]["metadata"]["source"] == "host"
        assert result["counter"]["metadata"]["source"] == "lua"

    # A new server reads the same values and versions from the journals, nothing more.
    async with serve(config) as host:
        for session_id, expected in expected_values.items():
            listed = await variables(host, session_id)
            assert {name: (r["value"], r["version"]) for name, r in listed.items()} == expected


# ── a host update racing a resume ────────────────────────────────────────────────────

ROUNDS = 25

RACED = f"""
alc.vars.define("knob", "integer", 0)
local seen = {{}}
for i = 1, {ROUNDS} do
  alc.llm("step " .. i)
  seen[i] = alc.vars.get("knob")
end
alc.llm("done " .. alc.json_encode(seen))
return {{seen = seen, knob = alc.vars.info("knob")}}
"""


async def race(host: Host, session_id: str, step: int) -> tuple[dict[str, Any] | str, dict[str, Any]]:
    """Start alc_vars_set(knob=step) and alc_continue at the same time; return the set's
    outcome (its reply, or the tool error text) and the continue's reply."""
    outcome: dict[str, Any] = {}

    async def change() -> None:
        result = await host.call("alc_vars_set", session_id=session_id, updates={"knob": step})
        outcome["set"] = result.text if result.is_error else result.json

    async def resume() -> None:
        outcome["continue"] = await host.ok("alc_continue", session_id=session_id, response=f"a{step}")

    async with anyio.create_task_group() as tasks:
        if step % 2:
            tasks.start_soon(change)
            tasks.start_soon(resume)
        else:
            tasks.start_soon(resume)
            tasks.start_soon(change)
    return outcome["set"], outcome["continue"]


def expanded(entries: list[Any]) -> list[tuple[Any, Any]]:
    """(entry, event) in journal order, a batch of observed values as its items."""
    events = []
    for entry in entries:
        items = entry.event.items if isinstance(entry.event, ObservedBatch) else (entry.event,)
        events += [(entry, item) for item in items]
    return events


def check_journal(entries: list[Any], acknowledged: dict[int, int], seen: list[int]) -> None:
    """Walk the journal: host changes only while paused, each acknowledged one exactly
    once with its version, and every read after an answer sees the latest change."""
    knob = None
    paused = False
    reads: list[int] = []
    host_changes: list[tuple[int, int]] = []
    for entry, event in expanded(entries):
        if isinstance(event, Asked):
            paused = True
        elif isinstance(event, Answered):
            paused = False
        elif isinstance(event, VarChanged) and event.variable["name"] == "knob":
            if event.variable["metadata"]["source"] == "host":
                assert paused, f"host change journaled while the script was running: {event}"
                host_changes.append((event.variable["value"], event.variable["version"]))
            knob = event.variable["value"]
        elif isinstance(event, Observed) and event.kind == "vars.get" and event.key == "knob":
            assert event.value == {"ok": knob}, (
                f"journal seq {entry.seq}: the script read knob={event.value.get('ok')!r}, but the last "
                f"change journaled before that read (an acknowledged update) set it to {knob!r}"
            )
            reads.append(knob)
    assert host_changes == sorted(acknowledged.items())
    assert reads == seen


@pytest.mark.parametrize("hibernated", [False, True], ids=["live", "hibernated"])
async def test_host_update_racing_a_resume(tmp_path: Path, hibernated: bool) -> None:
    if hibernated:
        config = config_for(tmp_path / "home", hibernate_after_seconds=0.03, reap_interval_seconds=0.02)
    else:
        config = config_for(tmp_path / "home")
    acknowledged: dict[int, int] = {}  # value → version the tool reported
    refused = 0
    async with serve(config) as host:
        reply = await host.run(RACED)
        session_id = reply["session_id"]

        async def dormant() -> bool:
            return (await host.ok("alc_status", session_id=session_id))["live"] is False

        for step in range(1, ROUNDS + 1):
            assert reply["prompt"] == f"step {step}", reply
            if hibernated:
                await wait_until(dormant, f"the session hibernates before step {step}")
            outcome, reply = await race(host, session_id, step)
            assert reply["status"] == "needs_response", reply
            if isinstance(outcome, str):
                assert f"session '{session_id}' {RUNNING}" in outcome, outcome
                refused += 1
            else:
                assert outcome["status"] == "applied", outcome
                acknowledged[step] = outcome["results"]["knob"]["version"]
        assert reply["prompt"].startswith("done "), reply
        assert acknowledged, "no update was applied: the race never let one land"
        if not hibernated:
            assert refused, "no update was refused: the race never hit a running session"
        seen = orjson.loads(reply["prompt"].removeprefix("done "))

        # Versions count the acknowledged updates, in order; the last one is the value.
        assert list(acknowledged.values()) == list(range(1, len(acknowledged) + 1))
        knob = (await variables(host, session_id))["knob"]
        last = max(acknowledged, default=0)
        assert (knob["value"], knob["version"]) == (last, len(acknowledged))

        # Each read sees an acknowledged value no later than its step, and never goes back
        # (the journal check below pins down exactly which one).
        for step, value in enumerate(seen, start=1):
            assert value == 0 or value in acknowledged, (step, value)
            assert value <= step
        assert seen == sorted(seen)
        before_restart = await variables(host, session_id)

    async with serve(config) as host:
        assert await variables(host, session_id) == before_restart
        done = await host.ok("alc_continue", session_id=session_id, response="fin")
        assert done["status"] == "completed", done
        assert done["result"]["seen"] == seen
        assert (done["result"]["knob"]["value"], done["result"]["knob"]["version"]) == (
            last,
            len(acknowledged),
        )
    async with serve(config) as host:
        assert await variables(host, session_id) == before_restart

    # Last, the exact order: each acknowledged update is journaled once, while paused,
    # and the script's read after each answer is the latest journaled value.
    check_journal(journal(config, session_id), acknowledged, seen)
