"""Replay after a restart still holds for scripts that use alc.state, alc.math random
streams and alc.fork.

Each scenario pauses mid-way on server A, which then shuts down; a session on another
server (same home) changes the shared state meanwhile; server B (same home) carries
the paused session to the end. The result must equal an uninterrupted run that saw the
same change at the same point: the replayed part sees the values it saw live (prompts
built from them must come out identical, or the replay would diverge) and nothing it
wrote is written twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from alc_mcp.config import Config
from tests.conftest import Host
from tests.durable.support import durable_config, serve
from tests.strategies.harness import Run, drive, queries_of

pytestmark = pytest.mark.anyio


def echo(prompt: str, _system: str | None) -> str:
    return "re: " + prompt


@dataclass
class Scenario:
    code: str
    ctx: dict[str, Any]
    #: (Lua code, ctx) run by other sessions while the scenario is paused.
    mutations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    #: (Lua code, ctx) run by other sessions at the end, to read the shared state.
    reads: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Outcome:
    live_pauses: list[list[dict[str, Any]]]  # the pauses the host saw before the interruption
    run: Run
    reads: list[Any]  # the results of the scenario's reads, after the run

    @property
    def result(self) -> Any:
        assert self.run.final["status"] == "completed", self.run.final
        return self.run.final["result"]


def config_for(tmp_path: Path, scenario: Scenario, home: str) -> Config:
    packages = tmp_path / "pkgs"
    for name, source in scenario.packages.items():
        (packages / name).mkdir(parents=True, exist_ok=True)
        (packages / name / "init.lua").write_text(source, encoding="utf-8")
    return durable_config(tmp_path / home, packages_path=(packages,))


async def answer_pauses(host: Host, reply: dict[str, Any], count: int) -> tuple[dict[str, Any], list[Any]]:
    pauses = []
    for _ in range(count):
        assert reply["status"] == "needs_response", reply
        queries = queries_of(reply)
        pauses.append(queries)
        responses = [{"query_id": q["id"], "response": echo(q["prompt"], q.get("system"))} for q in queries]
        reply = await host.ok("alc_continue", session_id=reply["session_id"], responses=responses)
    assert reply["status"] == "needs_response", reply
    pauses.append(queries_of(reply))
    return reply, pauses


async def run_all(host: Host, scripts: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    results = []
    for code, ctx in scripts:
        reply = await host.run(code, ctx=ctx)
        assert reply["status"] == "completed", reply
        results.append(reply["result"])
    return results


async def interrupted(tmp_path: Path, scenario: Scenario, restart_after: int) -> Outcome:
    config = config_for(tmp_path, scenario, "home")
    async with serve(config) as server_a:
        reply = await server_a.run(scenario.code, ctx=scenario.ctx)
        reply, live = await answer_pauses(server_a, reply, restart_after)
    async with serve(config) as other_server:
        await run_all(other_server, scenario.mutations)
    async with serve(config) as server_b:
        snap = await server_b.ok("alc_status", session_id=reply["session_id"])
        assert snap["live"] is False and snap["phase"] == "paused"
        run = await drive(server_b, reply, echo)
        reads = await run_all(server_b, scenario.reads)
    return Outcome(live, run, reads)


async def uninterrupted(tmp_path: Path, scenario: Scenario, mutate_after: int) -> Outcome:
    config = config_for(tmp_path, scenario, "reference")
    async with serve(config) as host:
        reply = await host.run(scenario.code, ctx=scenario.ctx)
        reply, live = await answer_pauses(host, reply, mutate_after)
        await run_all(host, scenario.mutations)
        run = await drive(host, reply, echo)
        reads = await run_all(host, scenario.reads)
    return Outcome(live, run, reads)


# --------------------------------------------------------------------------- alc.state

STATE = Scenario(
    code="""
local before = alc.state.incr("counter")
local seen = alc.state.get("shared", "none")
local a = alc.llm("first " .. before .. " " .. tostring(seen))
alc.state.set("mine", a)
local mid = alc.state.incr("counter")
local b = alc.llm("second " .. mid .. " " .. tostring(alc.state.get("shared", "none"))
  .. " " .. tostring(alc.state.has("mine")))
local after = alc.state.incr("counter")
local c = alc.llm("third " .. after .. " " .. tostring(alc.state.get("shared", "none")))
return {before = before, seen = seen, a = a, mid = mid, b = b, after = after, c = c,
        shared = alc.state.get("shared", "none"), keys = alc.state.keys()}
""",
    ctx={"_ns": "replay"},
    mutations=[
        ('alc.state.incr("counter", 100) alc.state.set("shared", "changed") return true', {"_ns": "replay"})
    ],
    reads=[('return {alc.state.get("counter"), alc.state.get("mine")}', {"_ns": "replay"})],
)


@pytest.mark.parametrize("restart_after", [0, 1, 2])
async def test_state_reads_and_increments_replay_as_they_were(tmp_path: Path, restart_after: int) -> None:
    outcome = await interrupted(tmp_path, STATE, restart_after)
    reference = await uninterrupted(tmp_path, STATE, restart_after)
    assert outcome.result == reference.result
    assert outcome.run.prompts == reference.run.prompts
    # The values the session saw live before the restart are what it still sees.
    first_prompt = outcome.live_pauses[0][0]["prompt"]
    assert first_prompt == "first 1.0 none"
    assert outcome.result["before"] == 1.0 and outcome.result["seen"] == "none"
    # Three increments of its own plus the other server's 100: none applied twice.
    assert outcome.result["after"] == 3.0 + 100 * (restart_after < 2)
    assert outcome.reads == reference.reads == [[103.0, "re: first 1.0 none"]]


# --------------------------------------------------------------------------- alc.math random streams

RANDOM = Scenario(
    code="""
local seeded = alc.math.rng_create(ctx.seed)
local free = alc.math.rng_create()
local xs = {seeded = {alc.math.rng_float(seeded), alc.math.rng_int(seeded, 1, 1000)},
            free = {alc.math.rng_float(free), alc.math.rng_int(free, 1, 1000000000),
                    math.random(1, 1000000000)}}
local a = alc.llm("first " .. alc.json_encode(xs))
local free2 = alc.math.rng_create()
local ys = {seeded = {alc.math.rng_float(seeded), alc.math.rng_int(seeded, -5, 5)},
            free = {alc.math.rng_float(free), math.random(), alc.math.rng_int(free2, 1, 1000000000)}}
local b = alc.llm("second " .. alc.json_encode(ys))
local zs = {seeded = {alc.math.rng_float(seeded)},
            free = {alc.math.rng_float(free), alc.math.rng_float(free2)}}
local c = alc.llm("third " .. alc.json_encode(zs))
return {xs = xs, ys = ys, zs = zs, a = a, b = b, c = c}
""",
    ctx={"seed": 20240601},
    mutations=[("return alc.math.rng_float(alc.math.rng_create()) + math.random()", {})],
)


def shown(pauses: list[list[dict[str, Any]]], index: int, prefix: str) -> Any:
    prompt = pauses[index][0]["prompt"]
    assert prompt.startswith(prefix + " "), prompt
    return orjson.loads(prompt[len(prefix) + 1 :])


@pytest.mark.parametrize("restart_after", [0, 1, 2])
async def test_random_streams_replay_as_they_were(tmp_path: Path, restart_after: int) -> None:
    outcome = await interrupted(tmp_path, RANDOM, restart_after)
    reference = await uninterrupted(tmp_path, RANDOM, restart_after)
    result = outcome.result
    # Seeded streams: the same numbers as an uninterrupted run.
    for part in ("xs", "ys", "zs"):
        assert result[part]["seeded"] == reference.result[part]["seeded"]
    # Unseeded streams (and math.random): the numbers the host saw before the restart.
    for index, (part, prefix) in enumerate([("xs", "first"), ("ys", "second"), ("zs", "third")]):
        if index <= restart_after:
            assert result[part] == shown(outcome.live_pauses, index, prefix)
    assert result["a"] == "re: first " + orjson.dumps(result["xs"], option=orjson.OPT_SORT_KEYS).decode()
    # Unseeded draws really are fresh per session.
    assert result["xs"]["free"] != reference.result["xs"]["free"]


# --------------------------------------------------------------------------- alc.fork

FORK_PACKAGES = {
    "child_state": """local M = {}
function M.run(ctx)
  local n = alc.state.incr("child")
  local x = alc.math.rng_int(alc.math.rng_create(), 1, 1000000000)
  local a = alc.llm("child " .. n .. " " .. x .. " " .. tostring(alc.state.get("note", "none")))
  return {n = n, x = x, a = a, note = alc.state.get("note", "none")}
end
return M
""",
    "child_steps": """local M = {}
function M.run(ctx)
  local a = alc.llm("step one " .. ctx.task)
  local b = alc.llm("step two " .. a)
  return {a = a, b = b}
end
return M
""",
}

FORK = Scenario(
    code="""
local n = alc.state.incr("forks")
local r = alc.fork({"child_state", "child_steps"}, {task = ctx.task})
local after = alc.llm("after " .. n .. " " .. r[1].result.n .. " " .. r[2].result.b)
return {n = n, r = r, after = after, forks = alc.state.get("forks")}
""",
    ctx={"task": "plan"},
    mutations=[
        ('alc.state.incr("child", 100) alc.state.set("note", "changed") return true', {"_ns": "fork-0"}),
        ('alc.state.incr("forks", 100) return true', {}),
    ],
    packages=FORK_PACKAGES,
    reads=[('return alc.state.get("child")', {"_ns": "fork-0"}), ('return alc.state.get("forks")', {})],
)


def without(value: Any, secret: int) -> Any:
    """``value`` with an unseeded draw masked, to compare against another session's."""
    if isinstance(value, dict):
        return {k: without(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [without(v, secret) for v in value]
    if isinstance(value, str):
        return re.sub(rf"\b{secret}\b", "X", value)
    return "X" if value == secret and not isinstance(value, bool) else value


@pytest.mark.parametrize("restart_after", [0, 1, 2])
async def test_fork_replays_as_it_was(tmp_path: Path, restart_after: int) -> None:
    outcome = await interrupted(tmp_path, FORK, restart_after)
    reference = await uninterrupted(tmp_path, FORK, restart_after)
    result = outcome.result

    first = outcome.live_pauses[0]
    assert [q["id"] for q in first] == ["f-0-0", "f-1-0"]
    x = int(first[0]["prompt"].split()[2])
    assert first[0]["prompt"] == f"child 1.0 {x} none"
    # The child read "note" again after its answer: live (changed) if that was after the restart.
    note = "changed" if restart_after == 0 else "none"
    assert result["r"][0] == {
        "strategy": "child_state",
        "ok": True,
        "result": {"n": 1.0, "x": x, "a": f"re: child 1.0 {x} none", "note": note},
    }
    assert result["r"][1] == {
        "strategy": "child_steps",
        "ok": True,
        "result": {"a": "re: step one plan", "b": "re: step two re: step one plan"},
    }
    assert result["n"] == 1.0
    assert result["forks"] == 101.0
    reference_x = reference.result["r"][0]["result"]["x"]
    assert without(result, x) == without(reference.result, reference_x)
    assert [[q["id"] for q in pause] for pause in outcome.live_pauses + outcome.run.pauses[1:]] == [
        ["f-0-0", "f-1-0"],
        ["f-1-1"],
        ["q-0"],
    ]
    # The children's increments were not applied twice either.
    assert outcome.reads == reference.reads == [101.0, 101.0]
