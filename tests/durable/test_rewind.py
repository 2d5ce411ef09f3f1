"""alc_rewind: forget everything from an answered query on, ask it again, and go on
from there with a different answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Host

pytestmark = pytest.mark.anyio

#: Four questions in a row; each prompt carries the previous answer.
FOUR = """
local prev = "nothing"
local answers = {}
for i = 1, 4 do
  prev = alc.llm("Q" .. i .. " after " .. prev)
  answers[i] = prev
end
return answers
"""

BATCH = """
local intro = alc.llm("intro")
local r = alc.llm_batch({
  {prompt = "b1 after " .. intro},
  {prompt = "b2 after " .. intro},
  {prompt = "b3 after " .. intro},
})
local outro = alc.llm("outro after " .. r[1] .. "," .. r[2] .. "," .. r[3])
return {intro, r[1], r[2], r[3], outro}
"""


async def answer_all(host: Host, reply: dict[str, Any], answers: list[str]) -> dict[str, Any]:
    """Answer single-query pauses in turn; returns the last reply."""
    session_id = reply["session_id"]
    for text in answers:
        assert reply["status"] == "needs_response", reply
        reply = await host.ok("alc_continue", session_id=session_id, response=text)
    return reply


async def completed_four(host: Host) -> tuple[str, dict[str, Any]]:
    reply = await host.run(FOUR)
    session_id = reply["session_id"]
    assert reply["prompt"] == "Q1 after nothing"
    reply = await answer_all(host, reply, ["A1", "A2", "A3", "A4"])
    assert reply["status"] == "completed" and reply["result"] == ["A1", "A2", "A3", "A4"], reply
    return session_id, reply


def transcript_pairs(view: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(q["index"], q["prompt"], q["response"]) for q in view["queries"]]


async def test_rewind_a_completed_session_to_the_second_question(host: Host) -> None:
    session_id, _ = await completed_four(host)

    reply = await host.ok("alc_rewind", session_id=session_id, query_index=1)
    assert reply["status"] == "needs_response", reply
    assert reply["session_id"] == session_id
    assert reply["query_id"] == "q-0"
    assert reply["prompt"] == "Q2 after A1"

    # The completed session is open again.
    snap = await host.ok("alc_status", session_id=session_id)
    assert snap["phase"] == "paused" and snap["pending_queries"] == 1
    view = await host.ok("alc_log_view", session_id=session_id)
    assert view["status"] == "paused"
    assert transcript_pairs(view) == [(0, "Q1 after nothing", "A1")]
    assert [p["prompt"] for p in view["pending"]] == ["Q2 after A1"]
    assert "result" not in view and "stats" not in view

    reply = await host.ok("alc_continue", session_id=session_id, response="B2")
    assert reply["status"] == "needs_response" and reply["prompt"] == "Q3 after B2", reply
    reply = await host.ok("alc_continue", session_id=session_id, response="B3")
    assert reply["prompt"] == "Q4 after B3", reply
    reply = await host.ok("alc_continue", session_id=session_id, response="B4")
    assert reply["status"] == "completed", reply
    assert reply["result"] == ["A1", "B2", "B3", "B4"]
    # The forgotten answers are not counted any more: the run looks as if it was asked
    # Q1, then answered Q2..Q4 differently.
    auto = reply["stats"]["auto"]
    assert (auto["llm_calls"], auto["pauses"], auto["rounds"]) == (4, 4, 4)
    prompts = ["Q1 after nothing", "Q2 after A1", "Q3 after B2", "Q4 after B3"]
    assert auto["total_prompt_chars"] == sum(len(p) for p in prompts)
    assert auto["total_response_chars"] == len("A1B2B3B4")

    view = await host.ok("alc_log_view", session_id=session_id)
    assert view["status"] == "completed"
    assert view["answered_queries"] == 4
    assert transcript_pairs(view) == [
        (0, "Q1 after nothing", "A1"),
        (1, "Q2 after A1", "B2"),
        (2, "Q3 after B2", "B3"),
        (3, "Q4 after B3", "B4"),
    ]
    assert view["result"] == ["A1", "B2", "B3", "B4"]
    assert view["stats"]["auto"]["llm_calls"] == 4
    assert view["next_cursor"] is None
    assert view["pending"] == []


async def test_rewind_a_paused_session_by_name(host: Host) -> None:
    reply = await host.run(FOUR)
    session_id = reply["session_id"]
    reply = await answer_all(host, reply, ["A1", "A2", "A3"])
    assert reply["prompt"] == "Q4 after A3"
    name = (await host.ok("alc_status", session_id=session_id))["name"]

    reply = await host.ok("alc_rewind", session_id=name, query_index=2)
    assert reply["status"] == "needs_response"
    assert reply["session_id"] == session_id  # the id, not the name
    assert reply["prompt"] == "Q3 after A2"
    reply = await host.ok("alc_continue", session_id=name, response="C3")
    assert reply["prompt"] == "Q4 after C3"
    reply = await host.ok("alc_continue", session_id=session_id, response="C4")
    assert reply["result"] == ["A1", "A2", "C3", "C4"]


async def test_rewind_to_the_first_question(host: Host) -> None:
    session_id, _ = await completed_four(host)
    reply = await host.ok("alc_rewind", session_id=session_id, query_index=0)
    assert reply["prompt"] == "Q1 after nothing"
    reply = await answer_all(host, reply, ["Z1", "Z2", "Z3", "Z4"])
    assert reply["result"] == ["Z1", "Z2", "Z3", "Z4"]
    view = await host.ok("alc_log_view", session_id=session_id)
    assert [q["response"] for q in view["queries"]] == ["Z1", "Z2", "Z3", "Z4"]


async def test_rewind_twice(host: Host) -> None:
    session_id, _ = await completed_four(host)
    await host.ok("alc_rewind", session_id=session_id, query_index=2)
    reply = await host.ok("alc_continue", session_id=session_id, response="B3")
    assert reply["prompt"] == "Q4 after B3"
    reply = await host.ok("alc_rewind", session_id=session_id, query_index=1)
    assert reply["prompt"] == "Q2 after A1"
    reply = await answer_all(host, reply, ["C2", "C3", "C4"])
    assert reply["result"] == ["A1", "C2", "C3", "C4"]


async def test_out_of_range_index_names_the_valid_range(host: Host) -> None:
    session_id, _ = await completed_four(host)
    message = await host.error("alc_rewind", session_id=session_id, query_index=4)
    assert "out of range" in message
    assert "0..3" in message
    # Nothing was changed: the session is still complete with its answers.
    view = await host.ok("alc_log_view", session_id=session_id)
    assert view["status"] == "completed"
    assert [q["response"] for q in view["queries"]] == ["A1", "A2", "A3", "A4"]
    assert "not found" in await host.error("alc_status", session_id=session_id)


async def test_refused_rewind_leaves_a_paused_session_as_it_was(host: Host) -> None:
    reply = await host.run(FOUR)
    session_id = reply["session_id"]
    reply = await answer_all(host, reply, ["A1", "A2"])
    message = await host.error("alc_rewind", session_id=session_id, query_index=7)
    assert "out of range" in message and "0..1" in message
    snap = await host.ok("alc_status", session_id=session_id)
    assert snap["phase"] == "paused" and snap["pending_queries"] == 1
    reply = await host.ok("alc_continue", session_id=session_id, response="A3")
    assert reply["prompt"] == "Q4 after A3"
    reply = await host.ok("alc_continue", session_id=session_id, response="A4")
    assert reply["result"] == ["A1", "A2", "A3", "A4"]


async def test_rewind_of_a_session_with_no_answer_yet(host: Host) -> None:
    reply = await host.run(FOUR)
    message = await host.error("alc_rewind", session_id=reply["session_id"], query_index=0)
    assert "out of range" in message and "0 answered" in message
    # Still paused where it was, and can be answered.
    reply = await answer_all(host, reply, ["A1", "A2", "A3", "A4"])
    assert reply["status"] == "completed"


async def test_rewind_of_an_unknown_session(host: Host) -> None:
    message = await host.error("alc_rewind", session_id="no-such-session", query_index=0)
    assert "no-such-session" in message
    assert "not found" in message


async def test_negative_index_is_refused(host: Host) -> None:
    session_id, _ = await completed_four(host)
    await host.error("alc_rewind", session_id=session_id, query_index=-1)


# --- batches ------------------------------------------------------------------------------


async def completed_batch(host: Host) -> str:
    reply = await host.run(BATCH)
    session_id = reply["session_id"]
    reply = await host.ok("alc_continue", session_id=session_id, response="I")
    assert [q["id"] for q in reply["queries"]] == ["q-0", "q-1", "q-2"]
    # One at a time, in order: answered indices 1, 2, 3.
    for query_id, text in (("q-0", "X1"), ("q-1", "X2"), ("q-2", "X3")):
        reply = await host.ok("alc_continue", session_id=session_id, query_id=query_id, response=text)
    assert reply["prompt"] == "outro after X1,X2,X3", reply
    reply = await host.ok("alc_continue", session_id=session_id, response="O")
    assert reply["result"] == ["I", "X1", "X2", "X3", "O"]
    return session_id


async def test_rewind_into_a_batch_asks_only_its_unanswered_queries(host: Host) -> None:
    session_id = await completed_batch(host)
    reply = await host.ok("alc_rewind", session_id=session_id, query_index=2)  # q-1 of the batch
    assert reply["status"] == "needs_response", reply
    # q-0 keeps its answer (X1); q-1 and q-2 are asked again.
    assert [(q["id"], q["prompt"]) for q in reply["queries"]] == [
        ("q-1", "b2 after I"),
        ("q-2", "b3 after I"),
    ]


async def test_rewind_into_a_batch_keeps_the_earlier_answer_of_that_batch(host: Host) -> None:
    session_id = await completed_batch(host)
    await host.ok("alc_rewind", session_id=session_id, query_index=2)
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="meta")
    assert snap["pending_queries"] == 2
    assert [p["query_id"] for p in snap["pending"]] == ["q-1", "q-2"]
    view = await host.ok("alc_log_view", session_id=session_id)
    assert transcript_pairs(view) == [(0, "intro", "I"), (1, "b1 after I", "X1")]
    assert [p["query_id"] for p in view["pending"]] == ["q-1", "q-2"]

    reply = await host.ok(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": "q-1", "response": "Y2"}, {"query_id": "q-2", "response": "Y3"}],
    )
    assert reply["status"] == "needs_response" and reply["prompt"] == "outro after X1,Y2,Y3", reply
    reply = await host.ok("alc_continue", session_id=session_id, response="O2")
    assert reply["result"] == ["I", "X1", "Y2", "Y3", "O2"]
    assert reply["stats"]["auto"]["llm_calls"] == 5


async def test_rewind_to_the_first_query_of_a_batch_asks_the_whole_batch(host: Host) -> None:
    session_id = await completed_batch(host)
    reply = await host.ok("alc_rewind", session_id=session_id, query_index=1)
    assert [(q["id"], q["prompt"]) for q in reply["queries"]] == [
        ("q-0", "b1 after I"),
        ("q-1", "b2 after I"),
        ("q-2", "b3 after I"),
    ]
    reply = await host.ok(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": f"q-{i}", "response": f"W{i}"} for i in range(3)],
    )
    assert reply["prompt"] == "outro after W0,W1,W2"
