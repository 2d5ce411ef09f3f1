"""The core loop through a real MCP client: alc_run → needs_response → alc_continue → completed.

Every assertion here is something a host would notice: the exact wire shapes, which
answer reaches the script, and which mistakes come back as tool errors with which text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from alc_mcp.config import Config
from tests.conftest import Host

pytestmark = pytest.mark.anyio


def compact(value: Any) -> str:
    """The wire format of tool results: compact JSON with sorted keys."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


async def pending_count(host: Host, session_id: str) -> int:
    snap = await host.ok("alc_status", session_id=session_id)
    return snap["pending_queries"]


BATCH3 = "return alc.llm_batch({{prompt = 'first'}, {prompt = 'second'}, {prompt = 'third'}})"


# --- the single round trip ---------------------------------------------------------


async def test_single_round_trip(host: Host) -> None:
    start = await host.call("alc_run", code="return alc.llm('What is 2+2?')")
    assert not start.is_error
    paused = start.json
    session_id = paused["session_id"]
    assert session_id.startswith("s-")
    assert start.text == compact(
        {
            "status": "needs_response",
            "session_id": session_id,
            "query_id": "q-0",
            "prompt": "What is 2+2?",
            "system": None,
            "max_tokens": 1024,
        }
    )

    done = await host.call("alc_continue", session_id=session_id, response="4")
    assert not done.is_error
    reply = done.json
    assert done.text == compact(reply)
    assert reply["status"] == "completed"
    assert reply["result"] == "4"
    auto = reply["stats"]["auto"]
    assert (auto["llm_calls"], auto["rounds"], auto["pauses"]) == (1, 1, 1)
    assert auto["total_prompt_chars"] == len("What is 2+2?")
    assert auto["total_response_chars"] == 1
    assert reply["stats"]["custom"] == {}
    assert "session_id" not in reply

    # The session is over: answering again is a caller mistake.
    gone = await host.error("alc_continue", session_id=session_id, response="4")
    assert "not found" in gone


async def test_pure_lua_completes_without_a_pause(host: Host) -> None:
    reply = await host.run("return 1 + 2")
    assert reply["status"] == "completed"
    assert reply["result"] == 3
    assert reply["stats"]["auto"]["llm_calls"] == 0
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}


async def test_explicit_query_id_on_a_single_query(host: Host) -> None:
    paused = await host.run("return alc.llm('hi')")
    done = await host.ok("alc_continue", session_id=paused["session_id"], query_id="q-0", response="hello")
    assert done["status"] == "completed"
    assert done["result"] == "hello"


async def test_llm_options_reach_the_wire(host: Host) -> None:
    code = """
    return alc.llm('Summarise', {
      system = 'You are terse.', max_tokens = 50, grounded = true, underspecified = true,
    })
    """
    paused = await host.run(code)
    assert paused == {
        "status": "needs_response",
        "session_id": paused["session_id"],
        "query_id": "q-0",
        "prompt": "Summarise",
        "system": "You are terse.",
        "max_tokens": 50,
        "grounded": True,
        "underspecified": True,
    }
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="ok")
    assert done["result"] == "ok"


async def test_false_flags_are_absent_from_the_wire(host: Host) -> None:
    paused = await host.run("return alc.llm('p', {grounded = false, underspecified = false})")
    assert "grounded" not in paused
    assert "underspecified" not in paused
    assert paused["system"] is None
    assert paused["max_tokens"] == 1024


async def test_batch_items_carry_their_own_options(host: Host) -> None:
    code = """
    return alc.llm_batch({
      {prompt = 'a', system = 'sys-a', max_tokens = 10, grounded = true},
      {prompt = 'b', underspecified = true},
    })
    """
    paused = await host.run(code)
    assert "prompt" not in paused and "query_id" not in paused
    assert paused["queries"] == [
        {"id": "q-0", "prompt": "a", "system": "sys-a", "max_tokens": 10, "grounded": True},
        {"id": "q-1", "prompt": "b", "system": None, "max_tokens": 1024, "underspecified": True},
    ]


# --- batches -------------------------------------------------------------------------


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0), (2, 1, 0)])
async def test_batch_fed_one_by_one_in_any_order(host: Host, order: tuple[int, int, int]) -> None:
    paused = await host.run(BATCH3)
    session_id = paused["session_id"]
    assert [q["id"] for q in paused["queries"]] == ["q-0", "q-1", "q-2"]
    assert [q["prompt"] for q in paused["queries"]] == ["first", "second", "third"]

    answers = {0: "one", 1: "two", 2: "three"}
    first, second, last = order
    partial = await host.call(
        "alc_continue", session_id=session_id, query_id=f"q-{first}", response=answers[first]
    )
    assert partial.text == '{"remaining":2,"status":"accepted"}'
    assert await pending_count(host, session_id) == 2
    partial = await host.call(
        "alc_continue", session_id=session_id, query_id=f"q-{second}", response=answers[second]
    )
    assert partial.text == '{"remaining":1,"status":"accepted"}'
    assert await pending_count(host, session_id) == 1

    done = await host.ok("alc_continue", session_id=session_id, query_id=f"q-{last}", response=answers[last])
    assert done["status"] == "completed"
    assert done["result"] == ["one", "two", "three"]  # input order, whatever the feed order
    auto = done["stats"]["auto"]
    assert (auto["llm_calls"], auto["pauses"], auto["rounds"]) == (3, 1, 1)


async def test_batch_answered_in_one_call(host: Host) -> None:
    paused = await host.run(BATCH3)
    responses = [
        {"query_id": "q-2", "response": "three"},
        {"query_id": "q-0", "response": "one"},
        {"query_id": "q-1", "response": "two"},
    ]
    done = await host.ok("alc_continue", session_id=paused["session_id"], responses=responses)
    assert done["status"] == "completed"
    assert done["result"] == ["one", "two", "three"]


async def test_batch_partly_answered_in_one_call_then_finished(host: Host) -> None:
    paused = await host.run(BATCH3)
    session_id = paused["session_id"]
    partial = await host.call(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": "q-1", "response": "two"}, {"query_id": "q-2", "response": "three"}],
    )
    assert partial.text == '{"remaining":1,"status":"accepted"}'
    # The last pending query can now be answered without naming it.
    done = await host.ok("alc_continue", session_id=session_id, response="one")
    assert done["result"] == ["one", "two", "three"]


async def test_one_item_batch_uses_the_single_shape(host: Host) -> None:
    paused = await host.run("return alc.llm_batch({{prompt = 'only', system = 's'}})")
    assert paused == {
        "status": "needs_response",
        "session_id": paused["session_id"],
        "query_id": "q-0",
        "prompt": "only",
        "system": "s",
        "max_tokens": 1024,
    }
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="yes")
    assert done["result"] == ["yes"]


async def test_batch_then_single_pause_in_one_script(host: Host) -> None:
    code = """
    local rs = alc.llm_batch({{prompt = 'x'}, {prompt = 'y'}})
    local final = alc.llm('combine ' .. rs[1] .. '+' .. rs[2])
    return final
    """
    paused = await host.run(code)
    session_id = paused["session_id"]
    nxt = await host.ok(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": "q-0", "response": "X"}, {"query_id": "q-1", "response": "Y"}],
    )
    assert nxt["status"] == "needs_response"
    assert nxt["session_id"] == session_id
    assert nxt["query_id"] == "q-0"
    assert nxt["prompt"] == "combine X+Y"
    done = await host.ok("alc_continue", session_id=session_id, response="XY")
    assert done["result"] == "XY"
    auto = done["stats"]["auto"]
    assert (auto["llm_calls"], auto["pauses"], auto["rounds"]) == (3, 2, 2)


# --- several pauses --------------------------------------------------------------------


async def test_several_pauses_each_answer_feeds_the_next_prompt(host: Host) -> None:
    code = """
    local answer, seen = "start", {}
    for i = 1, 3 do
      answer = alc.llm("step " .. i .. " after " .. answer)
      seen[#seen + 1] = answer
    end
    return seen
    """
    reply = await host.run(code)
    session_id = reply["session_id"]
    previous = "start"
    for i in range(1, 4):
        assert reply["status"] == "needs_response", reply
        assert reply["session_id"] == session_id
        assert reply["query_id"] == "q-0"  # ids start again at every pause
        assert reply["prompt"] == f"step {i} after {previous}"
        snap = await host.ok("alc_status", session_id=session_id)
        assert snap["metrics"]["rounds"] == i - 1
        assert snap["metrics"]["llm_calls"] == i
        previous = f"a{i}"
        reply = await host.ok("alc_continue", session_id=session_id, response=previous)
    assert reply["status"] == "completed"
    assert reply["result"] == ["a1", "a2", "a3"]
    auto = reply["stats"]["auto"]
    assert (auto["llm_calls"], auto["pauses"], auto["rounds"]) == (3, 3, 3)


# --- answers that look like JSON stay strings (DESIGN pitfall) ------------------------

JSON_LOOKING = ['{"verdict": "yes"}', "[1,2]", "42", "null", "true", '"quoted"', "  {}  ", "3.0"]
ECHO = "local a = alc.llm('x') return {value = a, kind = type(a), bytes = #a}"


@pytest.mark.parametrize("answer", JSON_LOOKING)
async def test_json_looking_answer_reaches_the_script_verbatim(host: Host, answer: str) -> None:
    paused = await host.run(ECHO)
    done = await host.ok("alc_continue", session_id=paused["session_id"], response=answer)
    assert done["result"] == {"value": answer, "kind": "string", "bytes": len(answer.encode())}


@pytest.mark.parametrize("answer", JSON_LOOKING)
async def test_json_looking_answer_in_a_batch_reaches_the_script_verbatim(host: Host, answer: str) -> None:
    code = "local r = alc.llm_batch({{prompt = 'a'}, {prompt = 'b'}}) return {r[1], type(r[1]), r[2]}"
    paused = await host.run(code)
    done = await host.ok(
        "alc_continue",
        session_id=paused["session_id"],
        responses=[{"query_id": "q-0", "response": answer}, {"query_id": "q-1", "response": "plain"}],
    )
    assert done["result"] == [answer, "string", "plain"]


@pytest.mark.parametrize("answer", JSON_LOOKING)
async def test_json_looking_answer_fed_by_query_id_stays_a_string(host: Host, answer: str) -> None:
    paused = await host.run(ECHO)
    done = await host.ok("alc_continue", session_id=paused["session_id"], query_id="q-0", response=answer)
    assert done["result"]["value"] == answer


# --- script failures are results, not tool errors -----------------------------------------


async def test_lua_error_is_an_error_result(host: Host) -> None:
    result = await host.call("alc_run", code="error('intentional test error')")
    assert not result.is_error
    reply = result.json
    assert set(reply) == {"status", "error"}  # no stats, no session id
    assert reply["status"] == "error"
    assert "intentional test error" in reply["error"]
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}


async def test_syntax_error_is_an_error_result(host: Host) -> None:
    result = await host.call("alc_run", code="return (")
    assert not result.is_error
    assert result.json["status"] == "error"
    assert result.json["error"]


async def test_lua_error_after_a_pause_ends_the_session(host: Host) -> None:
    paused = await host.run("local a = alc.llm('q') error('bad answer: ' .. a)")
    session_id = paused["session_id"]
    result = await host.call("alc_continue", session_id=session_id, response="nope")
    assert not result.is_error
    reply = result.json
    assert set(reply) == {"status", "error"}
    assert reply["status"] == "error"
    assert "bad answer: nope" in reply["error"]

    assert "not found" in await host.error("alc_continue", session_id=session_id, response="again")
    assert "not found" in await host.error("alc_status", session_id=session_id)
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}


async def test_caught_error_does_not_fail_the_session(host: Host) -> None:
    code = "local ok, err = pcall(error, 'caught') local a = alc.llm('go on') return {ok, err, a}"
    paused = await host.run(code)
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="fine")
    assert done["status"] == "completed"
    assert done["result"] == [False, "caught", "fine"]


# --- caller mistakes are tool errors ----------------------------------------------------


async def test_unknown_session(host: Host) -> None:
    message = await host.error("alc_continue", session_id="s-0-0000000000000000", response="x")
    assert "not found" in message
    assert "s-0-0000000000000000" in message


async def test_unknown_query_id_then_the_session_still_works(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    session_id = paused["session_id"]
    message = await host.error("alc_continue", session_id=session_id, query_id="q-9", response="x")
    assert "unknown query_id: q-9" in message
    assert await pending_count(host, session_id) == 1
    done = await host.ok("alc_continue", session_id=session_id, response="right")
    assert done["result"] == "right"
    assert done["stats"]["auto"]["rounds"] == 1


async def test_duplicate_answer_to_the_same_query(host: Host) -> None:
    paused = await host.run(BATCH3)
    session_id = paused["session_id"]
    await host.ok("alc_continue", session_id=session_id, query_id="q-0", response="one")
    message = await host.error("alc_continue", session_id=session_id, query_id="q-0", response="uno")
    assert "already responded to query_id: q-0" in message
    assert await pending_count(host, session_id) == 2
    done = await host.ok(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": "q-1", "response": "two"}, {"query_id": "q-2", "response": "three"}],
    )
    assert done["result"] == ["one", "two", "three"]  # the first answer won, not the duplicate


async def test_duplicate_inside_one_batch_call(host: Host) -> None:
    paused = await host.run(BATCH3)
    session_id = paused["session_id"]
    message = await host.error(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": "q-0", "response": "a"}, {"query_id": "q-0", "response": "b"}],
    )
    assert "already responded to query_id: q-0" in message
    assert await pending_count(host, session_id) == 3


async def test_several_pending_without_query_id(host: Host) -> None:
    paused = await host.run("return alc.llm_batch({{prompt = 'a'}, {prompt = 'b'}})")
    message = await host.error("alc_continue", session_id=paused["session_id"], response="x")
    assert "2 queries pending; specify query_id explicitly" in message
    assert await pending_count(host, paused["session_id"]) == 2


async def test_neither_response_nor_responses(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    message = await host.error("alc_continue", session_id=paused["session_id"])
    assert "Either 'response' or 'responses' must be provided" in message
    message = await host.error("alc_continue", session_id=paused["session_id"], query_id="q-0")
    assert "Either 'response' or 'responses' must be provided" in message
    assert await pending_count(host, paused["session_id"]) == 1


async def test_empty_responses_array(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    message = await host.error("alc_continue", session_id=paused["session_id"], responses=[])
    assert "Empty responses array" in message
    assert await pending_count(host, paused["session_id"]) == 1


async def test_batch_with_one_bad_id_applies_nothing(host: Host) -> None:
    paused = await host.run(BATCH3)
    session_id = paused["session_id"]
    message = await host.error(
        "alc_continue",
        session_id=session_id,
        responses=[
            {"query_id": "q-0", "response": "one"},
            {"query_id": "q-9", "response": "nine"},
            {"query_id": "q-1", "response": "two"},
        ],
    )
    assert "unknown query_id: q-9" in message
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="meta")
    assert snap["pending_queries"] == 3
    assert [p["query_id"] for p in snap["pending"]] == ["q-0", "q-1", "q-2"]
    assert snap["metrics"]["tokens"]["response_total"] == 0
    # q-0 was not applied: answering it now is accepted, not "already responded".
    partial = await host.call("alc_continue", session_id=session_id, query_id="q-0", response="ONE")
    assert partial.text == '{"remaining":2,"status":"accepted"}'
    done = await host.ok(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": "q-1", "response": "TWO"}, {"query_id": "q-2", "response": "THREE"}],
    )
    assert done["result"] == ["ONE", "TWO", "THREE"]


async def test_code_and_code_file_together(host: Host, tmp_path: Path) -> None:
    script = tmp_path / "s.lua"
    script.write_text("return 1")
    message = await host.error("alc_run", code="return 2", code_file=str(script))
    assert "Provide either `code` or `code_file`, not both." in message


async def test_neither_code_nor_code_file(host: Host) -> None:
    message = await host.error("alc_run")
    assert "Either `code` or `code_file` must be provided." in message
    message = await host.error("alc_run", ctx={"task": "x"})
    assert "Either `code` or `code_file` must be provided." in message


async def test_code_file_runs(host: Host, config: Config) -> None:
    scripts = config.home  # code_file reads inside ALC_HOME and the current directory
    scripts.mkdir(parents=True, exist_ok=True)
    script = scripts / "ask.lua"
    script.write_text("local a = alc.llm('from file: ' .. ctx.task)\nreturn a .. '!'\n", encoding="utf-8")
    paused = await host.ok("alc_run", code_file=str(script), ctx={"task": "hello"})
    assert paused["status"] == "needs_response"
    assert paused["prompt"] == "from file: hello"
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="hi")
    assert done["result"] == "hi!"


async def test_code_file_error_names_the_file(host: Host, config: Config) -> None:
    scripts = config.home  # code_file reads inside ALC_HOME and the current directory
    scripts.mkdir(parents=True, exist_ok=True)
    script = scripts / "broken.lua"
    script.write_text("local x = 1\nerror('boom in file')\n", encoding="utf-8")
    reply = await host.ok("alc_run", code_file=str(script))
    assert reply["status"] == "error"
    assert "broken.lua:2:" in reply["error"]
    assert "boom in file" in reply["error"]


async def test_code_file_that_does_not_exist(host: Host, config: Config) -> None:
    scripts = config.home  # code_file reads inside ALC_HOME and the current directory
    scripts.mkdir(parents=True, exist_ok=True)
    missing = scripts / "nope.lua"
    message = await host.error("alc_run", code_file=str(missing))
    assert f"Failed to read {missing}" in message


async def test_ctx_reaches_the_script(host: Host) -> None:
    reply = await host.run("return {ctx.task, ctx.n, ctx.list[2]}", ctx={"task": "t", "n": 3, "list": [1, 2]})
    assert reply["result"] == ["t", 3, 2]


# --- explicit JSON null for an optional parameter means "absent" -----------------------
# Hosts commonly send every optional field, with null for the unused ones; algocline's
# Option<String> parameters accept that (spec §3: every Option field is optional).


async def test_null_query_id_means_absent(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    result = await host.call("alc_continue", session_id=paused["session_id"], response="4", query_id=None)
    assert not result.is_error, result.text
    assert result.json["result"] == "4"


async def test_null_code_file_means_absent(host: Host) -> None:
    result = await host.call("alc_run", code="return 7", code_file=None)
    assert not result.is_error, result.text
    assert result.json["result"] == 7


async def test_null_response_with_responses_means_absent(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    result = await host.call(
        "alc_continue",
        session_id=paused["session_id"],
        response=None,
        query_id=None,
        responses=[{"query_id": "q-0", "response": "ok"}],
    )
    assert not result.is_error, result.text
    assert result.json["result"] == "ok"


# --- concurrency -----------------------------------------------------------------------


@pytest.mark.parametrize("work_after_resume", ["", "local x = 0 for i = 1, 2e6 do x = x + i end"])
async def test_two_concurrent_continues_exactly_one_wins(host: Host, work_after_resume: str) -> None:
    paused = await host.run(f"local a = alc.llm('q') {work_after_resume} return a")
    session_id = paused["session_id"]
    outcomes: dict[str, Any] = {}

    async def answer(text: str) -> None:
        outcomes[text] = await host.call("alc_continue", session_id=session_id, response=text)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(answer, "A")
        tasks.start_soon(answer, "B")

    winners = [text for text, result in outcomes.items() if not result.is_error]
    losers = [text for text, result in outcomes.items() if result.is_error]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    (winner,), (loser,) = winners, losers
    message = outcomes[loser].text
    assert session_id in message
    assert "is running" in message or "already finished" in message
    done = outcomes[winner].json
    assert done["status"] == "completed"
    assert done["result"] == winner
    auto = done["stats"]["auto"]
    assert (auto["llm_calls"], auto["rounds"], auto["pauses"]) == (1, 1, 1)
    assert auto["total_response_chars"] == 1  # only the winner's answer was counted
    assert await host.ok("alc_status") == {"active_sessions": 0, "sessions": []}


async def test_concurrent_partial_feeds_of_one_batch_lose_nothing(host: Host) -> None:
    paused = await host.run(BATCH3)
    session_id = paused["session_id"]
    outcomes: dict[int, Any] = {}

    async def answer(index: int) -> None:
        outcomes[index] = await host.ok(
            "alc_continue", session_id=session_id, query_id=f"q-{index}", response=f"r{index}"
        )

    async with anyio.create_task_group() as tasks:
        for index in (2, 0, 1):
            tasks.start_soon(answer, index)

    statuses = sorted(reply["status"] for reply in outcomes.values())
    assert statuses == ["accepted", "accepted", "completed"], outcomes
    assert sorted(r["remaining"] for r in outcomes.values() if r["status"] == "accepted") == [1, 2]
    (done,) = [r for r in outcomes.values() if r["status"] == "completed"]
    assert done["result"] == ["r0", "r1", "r2"]


async def test_a_failing_session_does_not_disturb_another(host: Host) -> None:
    keeper = await host.run("local a = alc.llm('keep') local b = alc.llm('again ' .. a) return a .. b")
    doomed = await host.run("local a = alc.llm('doom') error('doomed: ' .. a)")
    assert keeper["session_id"] != doomed["session_id"]
    listing = await host.ok("alc_status")
    assert listing["active_sessions"] == 2

    failed = await host.ok("alc_continue", session_id=doomed["session_id"], response="x")
    assert failed["status"] == "error"
    assert "doomed: x" in failed["error"]

    listing = await host.ok("alc_status")
    assert listing["active_sessions"] == 1
    assert listing["sessions"][0]["session_id"] == keeper["session_id"]
    assert listing["sessions"][0]["phase"] == "paused"

    nxt = await host.ok("alc_continue", session_id=keeper["session_id"], response="1")
    assert nxt["prompt"] == "again 1"
    done = await host.ok("alc_continue", session_id=keeper["session_id"], response="2")
    assert done["status"] == "completed"
    assert done["result"] == "12"


async def test_sessions_are_independent(host: Host) -> None:
    first = await host.run("return 'first:' .. alc.llm('one')")
    second = await host.run("return 'second:' .. alc.llm('two')")
    done2 = await host.ok("alc_continue", session_id=second["session_id"], response="B")
    done1 = await host.ok("alc_continue", session_id=first["session_id"], response="A")
    assert done1["result"] == "first:A"
    assert done2["result"] == "second:B"
