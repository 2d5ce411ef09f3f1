"""Restart without a subprocess: server A pauses a session and shuts down (its client
session ends, its lifespan closes the store); server B on the same ALC_HOME lists the
session as not live and carries it to the end as if nothing had happened."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Host
from tests.durable.support import counters, durable_config, listing, serve, status_of

pytestmark = pytest.mark.anyio

#: Single calls, a batch (answered in two feeds), usage reports, custom stats and logs.
MULTI_STEP = """
alc.log("info", "starting " .. ctx.task)
alc.stats.record("phase", "one")
local a = alc.llm("Plan for " .. ctx.task, {system = "be brief", max_tokens = 64})
local pair = alc.llm_batch({{prompt = "pro of " .. a}, {prompt = "con of " .. a, max_tokens = 32}})
alc.stats.record("pair_len", #pair[1] + #pair[2])
alc.log("warn", "weighing " .. pair[1] .. " vs " .. pair[2])
local b = alc.llm("Decide between " .. pair[1] .. " and " .. pair[2])
alc.stats.record("phase", "two")
local c = alc.llm("Summarize " .. b)
return {plan = a, pro = pair[1], con = pair[2], decision = b, summary = c}
"""

CTX = {"task": "lunch"}

#: (kind, arguments) in order; the session is restarted after the step at RESTART_AFTER.
STEPS: list[dict[str, Any]] = [
    {"response": "salad", "usage": {"prompt_tokens": 11, "completion_tokens": 2}},
    {"query_id": "q-0", "response": "healthy"},
    {"query_id": "q-1", "response": "boring", "usage": {"completion_tokens": 5}},
    {"response": "salad it is"},
    {"response": "ate salad", "usage": {"prompt_tokens": 9}},
]

EXPECTED = {
    "plan": "salad",
    "pro": "healthy",
    "con": "boring",
    "decision": "salad it is",
    "summary": "ate salad",
}


async def drive(host: Host, session_id: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    reply: dict[str, Any] = {}
    for step in steps:
        reply = await host.ok("alc_continue", session_id=session_id, **step)
        assert reply["status"] in ("needs_response", "accepted", "completed"), reply
    return reply


async def uninterrupted(home: Path) -> dict[str, Any]:
    async with serve(durable_config(home)) as host:
        reply = await host.run(MULTI_STEP, ctx=CTX)
        final = await drive(host, reply["session_id"], STEPS)
    assert final["status"] == "completed", final
    return final


@pytest.mark.parametrize("restart_after", [1, 2, 3, 4])
async def test_restart_mid_way_gives_the_same_result_and_counters(tmp_path: Path, restart_after: int) -> None:
    """restart_after = how many answers server A got before it stopped (2 = one answer of
    the batch given, one still missing)."""
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run(MULTI_STEP, ctx=CTX)
        session_id = reply["session_id"]
        await drive(host, session_id, STEPS[:restart_after])
        before = await status_of(host, session_id)
        assert before["live"] is True

    async with serve(durable_config(home)) as host:
        info = await host.ok("alc_info")
        assert info["durability"]["enabled"] is True
        assert info["sessions"]["live"] == 0 and info["sessions"]["resumable"] == 1
        sessions = await listing(host)
        assert list(sessions) == [session_id]
        snap = sessions[session_id]
        assert snap["live"] is False
        assert snap["phase"] == "paused"
        assert snap["name"] == before["name"]
        assert snap["pending_queries"] == before["pending_queries"]
        assert snap["metrics"]["llm_calls"] == before["metrics"]["llm_calls"]
        assert snap["metrics"]["rounds"] == before["metrics"]["rounds"]
        assert snap["metrics"]["tokens"] == before["metrics"]["tokens"]
        assert snap["started_at"] == before["started_at"]
        final = await drive(host, session_id, STEPS[restart_after:])
        assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}

    assert final["status"] == "completed", final
    assert final["result"] == EXPECTED
    reference = await uninterrupted(tmp_path / "reference")
    assert final["result"] == reference["result"]
    assert counters(final["stats"]) == counters(reference["stats"])
    assert final["stats"]["custom"] == reference["stats"]["custom"] == {"phase": "two", "pair_len": 13}


async def test_partial_batch_answer_survives_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run(MULTI_STEP, ctx=CTX)
        session_id = reply["session_id"]
        reply = await host.ok("alc_continue", session_id=session_id, response="salad")
        assert [q["id"] for q in reply["queries"]] == ["q-0", "q-1"]
        reply = await host.ok("alc_continue", session_id=session_id, query_id="q-0", response="healthy")
        assert reply == {"status": "accepted", "remaining": 1}

    async with serve(durable_config(home)) as host:
        snap = await host.ok("alc_status", session_id=session_id, pending_filter="meta")
        assert snap["live"] is False
        assert snap["pending_queries"] == 1
        assert [p["query_id"] for p in snap["pending"]] == ["q-1"]
        # The answer given before the restart is kept: giving it again is refused.
        message = await host.error("alc_continue", session_id=session_id, query_id="q-0", response="other")
        assert "q-0" in message
        snap = await status_of(host, session_id)
        assert snap["live"] is True and snap["pending_queries"] == 1
        reply = await host.ok("alc_continue", session_id=session_id, query_id="q-1", response="boring")
        assert reply["status"] == "needs_response"
        assert reply["prompt"] == "Decide between healthy and boring"
        reply = await drive(host, session_id, STEPS[3:])
    assert reply["result"] == EXPECTED


async def test_partial_batch_answered_without_query_id_after_restart(tmp_path: Path) -> None:
    """With one query left, a plain `response` answers it, after a restart too."""
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run(MULTI_STEP, ctx=CTX)
        session_id = reply["session_id"]
        await drive(host, session_id, STEPS[:2])
    async with serve(durable_config(home)) as host:
        reply = await host.ok("alc_continue", session_id=session_id, response="boring")
        assert reply["prompt"] == "Decide between healthy and boring", reply


async def test_logs_and_custom_stats_survive_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run(MULTI_STEP, ctx=CTX)
        session_id = reply["session_id"]
        await drive(host, session_id, STEPS[:3])  # paused on "Decide …"
        before = await status_of(host, session_id)
    logs_before = [(entry["level"], entry["message"]) for entry in before["metrics"]["recent_logs"]]
    assert logs_before == [("info", "starting lunch"), ("warn", "weighing healthy vs boring")]

    async with serve(durable_config(home)) as host:
        dormant = await status_of(host, session_id)
        assert dormant["live"] is False
        assert [(e["level"], e["message"]) for e in dormant["metrics"]["recent_logs"]] == logs_before
        reply = await host.ok("alc_continue", session_id=session_id, response="salad it is")
        assert reply["prompt"] == "Summarize salad it is"
        # Replay ran the script's alc.log calls again; they are not logged twice.
        revived = await status_of(host, session_id)
        assert revived["live"] is True
        assert [(e["level"], e["message"]) for e in revived["metrics"]["recent_logs"]] == logs_before
        final = await host.ok("alc_continue", session_id=session_id, response="ate salad")
    assert final["stats"]["custom"] == {"phase": "two", "pair_len": 13}


#: Shows in its prompts the random numbers and times it saw, and returns them.
NONDETERMINISTIC = """
local r1 = math.random(1000000)
local t1 = alc.time()
local o1 = os.time()
local a = alc.llm(string.format("seen %d %.17g %d", r1, t1, o1))
local r2 = math.random(1000000)
local b = alc.llm(string.format("then %s %d", a, r2))
local r3 = math.random(1000000)
return {r1 = r1, t1 = string.format("%.17g", t1), o1 = o1, r2 = r2, r3 = r3, a = a, b = b}
"""


@pytest.mark.parametrize("restart_after", [0, 1])
async def test_random_and_time_are_the_same_after_a_restart(tmp_path: Path, restart_after: int) -> None:
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run(NONDETERMINISTIC)
        session_id = reply["session_id"]
        seen = re.fullmatch(r"seen (\d+) (\S+) (\d+)", reply["prompt"])
        assert seen is not None, reply["prompt"]
        r1, t1, o1 = int(seen[1]), seen[2], int(seen[3])
        r2 = None
        if restart_after == 1:
            reply = await host.ok("alc_continue", session_id=session_id, response="A")
            then = re.fullmatch(r"then A (\d+)", reply["prompt"])
            assert then is not None, reply["prompt"]
            r2 = int(then[1])

    async with serve(durable_config(home)) as host:
        if restart_after == 0:
            reply = await host.ok("alc_continue", session_id=session_id, response="A")
            then = re.fullmatch(r"then A (\d+)", reply["prompt"])
            assert then is not None, reply["prompt"]
            r2 = int(then[1])
        final = await host.ok("alc_continue", session_id=session_id, response="B")

    assert final["status"] == "completed", final
    result = final["result"]
    assert (result["r1"], result["t1"], result["o1"]) == (r1, t1, o1)
    assert result["r2"] == r2
    assert (result["a"], result["b"]) == ("A", "B")
    assert 1 <= result["r3"] <= 1_000_000


async def test_two_restarts_and_a_rewind_across_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run(NONDETERMINISTIC)
        session_id = reply["session_id"]
        first_prompt = reply["prompt"]
        name = (await status_of(host, session_id))["name"]
    async with serve(durable_config(home)) as host:
        reply = await host.ok("alc_continue", session_id=name, response="A")
        then_prompt = reply["prompt"]
    async with serve(durable_config(home)) as host:
        # Rewind to the first question: the script sees the same values again.
        reply = await host.ok("alc_rewind", session_id=name, query_index=0)
        assert reply["prompt"] == first_prompt
        reply = await host.ok("alc_continue", session_id=name, response="A")
        assert reply["prompt"] == then_prompt
        final = await host.ok("alc_continue", session_id=name, response="B")
    assert final["status"] == "completed"
    assert f"seen {final['result']['r1']} {final['result']['t1']} {final['result']['o1']}" == first_prompt


async def test_finished_session_after_restart(tmp_path: Path) -> None:
    """A session that finished before the restart is history, not resumable."""
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run("return alc.llm('only')")
        session_id = reply["session_id"]
        done = await host.ok("alc_continue", session_id=session_id, response="x")
    async with serve(durable_config(home)) as host:
        assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}
        assert (await host.ok("alc_info"))["sessions"]["resumable"] == 0
        message = await host.error("alc_continue", session_id=session_id, response="y")
        assert "finished" in message or "not found" in message
        view = await host.ok("alc_log_view", session_id=session_id)
        assert view["status"] == "completed" and view["result"] == "x"
        assert view["stats"] == done["stats"]


async def test_cancel_after_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        reply = await host.run(MULTI_STEP, ctx=CTX)
        session_id = reply["session_id"]
        await drive(host, session_id, STEPS[:1])
    async with serve(durable_config(home)) as host:
        cancelled = await host.ok("alc_cancel", session_id=session_id)
        assert cancelled["status"] == "cancelled"
        assert cancelled["stats"]["auto"]["llm_calls"] == 3
        assert cancelled["stats"]["custom"] == {"phase": "one"}
    async with serve(durable_config(home)) as host:
        assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}
        (summary,) = (await host.ok("alc_log_view"))["sessions"]
        assert summary["status"] == "cancelled"
