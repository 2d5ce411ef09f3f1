"""Transcripts through the MCP client: alc_log_view (list and paged detail), alc_note,
alc_stats, alc_log_delete, and session names accepted wherever a session id is."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from alc_mcp.config import Limits
from alc_mcp.store.stats import rounded_average
from tests.conftest import Host
from tests.durable.support import durable_config, serve, status_of, wait_until

pytestmark = pytest.mark.anyio

ONE = "return alc.llm(ctx.task)"

TWO = """
local a = alc.llm("first " .. ctx.task)
local b = alc.llm("second " .. a)
return a .. "+" .. b
"""


async def finish(host: Host, reply: dict[str, Any], answers: list[str]) -> dict[str, Any]:
    for text in answers:
        assert reply["status"] == "needs_response", reply
        reply = await host.ok("alc_continue", session_id=reply["session_id"], response=text)
    return reply


# --- list mode ----------------------------------------------------------------------------


async def test_list_mode_is_newest_first_with_summaries(host: Host) -> None:
    first = await host.run(ONE, ctx={"task": "task one"})
    done_first = await finish(host, first, ["answer one"])
    second = await host.run(TWO, ctx={"task": "task two"})
    await host.ok("alc_continue", session_id=second["session_id"], response="A")  # paused on call 2
    third = await host.run(ONE, ctx={"task": "task three"})
    done_third = await finish(host, third, ["answer three"])

    listed = (await host.ok("alc_log_view"))["sessions"]
    assert [s["id"] for s in listed] == [third["session_id"], second["session_id"], first["session_id"]]
    for summary in listed:
        assert {"id", "name", "strategy", "status", "llm_calls", "elapsed_ms", "task_preview"} <= set(summary)
        assert summary["strategy"] is None
        assert re.fullmatch(r"[a-z]+-[a-z]+(-\d+)?", summary["name"]), summary["name"]
        assert summary["notes_count"] == 0
    assert len({s["name"] for s in listed}) == 3
    by_id = {s["id"]: s for s in listed}

    s1, s2, s3 = (by_id[r["session_id"]] for r in (first, second, third))
    assert (s1["status"], s1["llm_calls"], s1["task_preview"]) == ("completed", 1, "task one")
    assert (s2["status"], s2["llm_calls"], s2["task_preview"]) == ("paused", 2, "task two")
    assert (s3["status"], s3["llm_calls"], s3["task_preview"]) == ("completed", 1, "task three")
    assert s1["elapsed_ms"] == done_first["stats"]["auto"]["elapsed_ms"]
    assert s3["elapsed_ms"] == done_third["stats"]["auto"]["elapsed_ms"]
    # Names are the ones alc_status shows.
    assert (await status_of(host, second["session_id"]))["name"] == s2["name"]

    newest_two = (await host.ok("alc_log_view", limit=2))["sessions"]
    assert [s["id"] for s in newest_two] == [third["session_id"], second["session_id"]]


async def test_task_preview_falls_back_to_the_code_and_is_shortened(host: Host) -> None:
    long_task = "word " * 100
    await host.run(ONE, ctx={"task": long_task})
    await host.run("return alc.llm('no task here')")
    no_task, long_one = (await host.ok("alc_log_view"))["sessions"]
    assert no_task["task_preview"] == "return alc.llm('no task here')"
    preview = long_one["task_preview"]
    assert len(preview) <= 100 and preview.endswith("...")
    assert preview.startswith("word word word")


async def test_empty_list(host: Host) -> None:
    assert await host.ok("alc_log_view") == {"sessions": []}


# --- detail mode and pagination -------------------------------------------------------------

#: 120 answered calls: ten batches of ten, then twenty single calls; then one more call
#: that stays pending.
HUNDRED_TWENTY = """
local n, total = 0, 0
for round = 1, 10 do
  local items = {}
  for j = 1, 10 do items[j] = {prompt = "p" .. (n + j)} end
  local answers = alc.llm_batch(items)
  for j = 1, 10 do total = total + #answers[j] end
  n = n + 10
end
for k = 1, 20 do
  n = n + 1
  total = total + #alc.llm("p" .. n)
end
local last = alc.llm("last after " .. n)
return {calls = n + 1, chars = total, last = last}
"""


async def run_hundred_twenty(host: Host) -> str:
    reply = await host.run(HUNDRED_TWENTY)
    session_id = reply["session_id"]
    for _ in range(10):
        assert len(reply["queries"]) == 10
        responses = [{"query_id": q["id"], "response": "r" + q["prompt"][1:]} for q in reply["queries"]]
        reply = await host.ok("alc_continue", session_id=session_id, responses=responses)
    for _ in range(20):
        reply = await host.ok("alc_continue", session_id=session_id, response="r" + reply["prompt"][1:])
    assert reply["status"] == "needs_response" and reply["prompt"] == "last after 120", reply
    return session_id


async def pages(host: Host, session_id: str, limit: int) -> list[dict[str, Any]]:
    result, cursor = [], 0
    while cursor is not None:
        page = await host.ok("alc_log_view", session_id=session_id, cursor=cursor, limit=limit)
        result.append(page)
        cursor = page["next_cursor"]
        assert len(result) <= 200, "pagination does not end"
    return result


async def test_pagination_over_a_120_call_session(host: Host) -> None:
    session_id = await run_hundred_twenty(host)
    got = await pages(host, session_id, limit=50)

    assert [len(p["queries"]) for p in got] == [50, 50, 20]
    assert [p["next_cursor"] for p in got] == [50, 100, None]
    queries = [q for p in got for q in p["queries"]]
    assert [q["index"] for q in queries] == list(range(120))
    assert [q["prompt"] for q in queries] == [f"p{i}" for i in range(1, 121)]
    assert [q["response"] for q in queries] == [f"r{i}" for i in range(1, 121)]
    assert [q["pause"] for q in queries] == [i // 10 for i in range(100)] + list(range(10, 30))
    assert [q["query_id"] for q in queries] == [f"q-{i % 10}" for i in range(100)] + ["q-0"] * 20
    answered_at = [q["answered_at"] for q in queries]
    assert answered_at == sorted(answered_at)
    for page in got:
        assert page["id"] == session_id
        assert page["status"] == "paused"
        assert page["answered_queries"] == 120
        assert page["llm_calls"] == 121

    # The pending query is on the last page only.
    assert "pending" not in got[0] and "pending" not in got[1]
    assert got[2]["pending"] == [
        {"query_id": "q-0", "prompt": "last after 120", "system": None, "max_tokens": 1024}
    ]
    # A paused session has no result yet.
    assert "result" not in got[2] and "stats" not in got[2]

    # Other page sizes cover the same queries, nothing missing or repeated.
    for limit in (1, 7, 119, 120, 500):
        indices = [q["index"] for p in await pages(host, session_id, limit=limit) for q in p["queries"]]
        assert indices == list(range(120)), limit
    # A cursor past the end gives an empty last page.
    tail = await host.ok("alc_log_view", session_id=session_id, cursor=120, limit=50)
    assert tail["queries"] == [] and tail["next_cursor"] is None and len(tail["pending"]) == 1

    reply = await host.ok("alc_continue", session_id=session_id, response="fin")
    assert reply["status"] == "completed"
    assert reply["result"] == {"calls": 121, "chars": sum(len(f"r{i}") for i in range(1, 121)), "last": "fin"}
    finished = await pages(host, session_id, limit=50)
    assert [len(p["queries"]) for p in finished] == [50, 50, 21]
    last = finished[-1]
    assert last["status"] == "completed"
    assert last["queries"][-1]["response"] == "fin"
    assert last["pending"] == []
    assert last["result"] == reply["result"]
    assert last["error"] is None
    assert last["stats"] == reply["stats"]
    assert last["stats"]["auto"]["llm_calls"] == 121


async def test_pending_of_a_partly_answered_batch_on_the_last_page(host: Host) -> None:
    reply = await host.run(
        'local a = alc.llm("one") '
        'local r = alc.llm_batch({{prompt = "x"}, {prompt = "y", system = "sys", max_tokens = 7}}) '
        "return {a, r[1], r[2]}"
    )
    session_id = reply["session_id"]
    await host.ok("alc_continue", session_id=session_id, response="1")
    await host.ok("alc_continue", session_id=session_id, query_id="q-0", response="X")
    view = await host.ok("alc_log_view", session_id=session_id)
    assert [(q["index"], q["prompt"], q["response"]) for q in view["queries"]] == [
        (0, "one", "1"),
        (1, "x", "X"),
    ]
    assert view["pending"] == [{"query_id": "q-1", "prompt": "y", "system": "sys", "max_tokens": 7}]
    assert view["next_cursor"] is None


async def test_failed_session_shows_its_error(host: Host) -> None:
    reply = await host.run('local a = alc.llm("q") error("broke after " .. a)')
    session_id = reply["session_id"]
    reply = await host.ok("alc_continue", session_id=session_id, response="A")
    assert reply["status"] == "error"
    view = await host.ok("alc_log_view", session_id=session_id)
    assert view["status"] == "failed"
    assert "broke after A" in view["error"]
    assert view["result"] is None
    assert [q["response"] for q in view["queries"]] == ["A"]


async def test_unknown_session_in_detail_mode(host: Host) -> None:
    message = await host.error("alc_log_view", session_id="nobody-here")
    assert "nobody-here" in message and "not found" in message


# --- notes ----------------------------------------------------------------------------------


async def test_notes_count_and_show_in_the_transcript(host: Host) -> None:
    reply = await host.run(ONE, ctx={"task": "noted"})
    session_id = reply["session_id"]
    await finish(host, reply, ["done"])

    first = await host.ok("alc_note", session_id=session_id, content="good answer", title="Step 1")
    assert first == {"notes_count": 1, "session_id": session_id}
    second = await host.ok("alc_note", session_id=session_id, content="overall fine")
    assert second == {"notes_count": 2, "session_id": session_id}

    view = await host.ok("alc_log_view", session_id=session_id)
    assert view["notes_count"] == 2
    assert [(n["title"], n["content"]) for n in view["notes"]] == [
        ("Step 1", "good answer"),
        (None, "overall fine"),
    ]
    assert all(isinstance(n["at"], int) for n in view["notes"])
    (summary,) = (await host.ok("alc_log_view"))["sessions"]
    assert summary["notes_count"] == 2
    # A note is not an answer: the transcript and the result are unchanged.
    assert view["answered_queries"] == 1 and view["result"] == "done"


async def test_note_on_a_paused_session_and_on_an_unknown_one(host: Host) -> None:
    reply = await host.run(ONE, ctx={"task": "paused"})
    note = await host.ok("alc_note", session_id=reply["session_id"], content="while waiting", title="wip")
    assert note["notes_count"] == 1
    reply = await finish(host, reply, ["ok"])
    assert reply["status"] == "completed" and reply["result"] == "ok"
    assert "not found" in await host.error("alc_note", session_id="s-unknown", content="x")


# --- stats ----------------------------------------------------------------------------------

CALLS = """
local out = {}
for i = 1, ctx.calls do out[i] = alc.llm("call " .. i .. " of " .. ctx.task) end
return out
"""


def summed(replies: list[dict[str, Any]], key: str) -> int:
    values = [r["stats"]["auto"][key] for r in replies]
    return sum(v["tokens"] if isinstance(v, dict) else v for v in values)


async def test_stats_per_strategy_with_days(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve(durable_config(home)) as host:
        assert await host.ok("alc_stats") == {"total_sessions": 0, "strategies": {}}
        replies, ids = [], []
        for calls in (1, 2, 4):
            reply = await host.run(CALLS, ctx={"calls": calls, "task": f"t{calls}"})
            ids.append(reply["session_id"])
            replies.append(await finish(host, reply, [f"answer {i}" for i in range(calls)]))
        await host.run(CALLS, ctx={"calls": 3, "task": "left paused"})  # not finished: not counted

        stats = await host.ok("alc_stats")
        assert stats["total_sessions"] == 3
        assert set(stats["strategies"]) == {"unknown"}
        unknown = stats["strategies"]["unknown"]
        assert unknown["count"] == 3
        assert unknown["total_llm_calls"] == 7
        assert unknown["avg_llm_calls"] == 2  # 7 / 3 rounded half up
        assert unknown["avg_rounds"] == 2
        assert unknown["avg_elapsed_ms"] == rounded_average(summed(replies, "elapsed_ms"), 3)
        assert unknown["total_prompt_chars"] == summed(replies, "total_prompt_chars")
        assert unknown["total_response_chars"] == summed(replies, "total_response_chars")
        assert unknown["total_response_chars"] == len("answer 0") * 7
        assert unknown["total_prompt_tokens"] == summed(replies, "prompt_tokens")
        assert unknown["total_response_tokens"] == summed(replies, "response_tokens")
        assert unknown["total_tokens"] == summed(replies, "total_tokens")

        assert await host.ok("alc_stats", strategy="unknown") == stats
        assert await host.ok("alc_stats", strategy="sc") == {"total_sessions": 0, "strategies": {}}
        assert await host.ok("alc_stats", days=1) == stats

    # Age the 4-call session by ten days, as if it had finished then.
    ten_days_ago = int(time.time() * 1000) - 10 * 86_400_000
    with sqlite3.connect(home / "alc.db") as db:
        db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (ten_days_ago, ids[2]))
    db.close()

    async with serve(durable_config(home)) as host:
        assert (await host.ok("alc_stats"))["total_sessions"] == 3
        assert (await host.ok("alc_stats", days=30))["total_sessions"] == 3
        recent = await host.ok("alc_stats", days=1)
        assert recent["total_sessions"] == 2
        assert recent["strategies"]["unknown"]["total_llm_calls"] == 3
        assert recent["strategies"]["unknown"]["avg_llm_calls"] == 2  # 3 / 2 rounded half up
        assert (await host.ok("alc_stats", strategy="unknown", days=1)) == recent
        assert (await host.ok("alc_stats", days=0.5))["total_sessions"] == 2
        await host.error("alc_stats", days=0)


# --- deletion -------------------------------------------------------------------------------


async def test_delete_finished_and_paused_sessions(host: Host) -> None:
    done = await host.run(ONE, ctx={"task": "done"})
    await finish(host, done, ["x"])
    paused = await host.run(ONE, ctx={"task": "paused"})
    keep = await host.run(ONE, ctx={"task": "keep"})

    deleted = await host.ok("alc_log_delete", session_id=done["session_id"])
    assert deleted["deleted"] is True and deleted["session_id"] == done["session_id"]
    assert isinstance(deleted["name"], str)
    message = await host.error("alc_log_view", session_id=done["session_id"])
    assert "not found" in message
    assert "not found" in await host.error("alc_log_delete", session_id=done["session_id"])

    await host.ok("alc_log_delete", session_id=paused["session_id"])
    assert "not found" in await host.error("alc_continue", session_id=paused["session_id"], response="y")
    assert "not found" in await host.error("alc_status", session_id=paused["session_id"])
    listed = (await host.ok("alc_status"))["sessions"]
    assert [s["session_id"] for s in listed] == [keep["session_id"]]
    assert [s["id"] for s in (await host.ok("alc_log_view"))["sessions"]] == [keep["session_id"]]
    assert (await host.ok("alc_stats"))["total_sessions"] == 0
    info = await host.ok("alc_info")
    assert info["sessions"]["resumable"] == 1

    reply = await finish(host, keep, ["kept"])
    assert reply["result"] == "kept"


#: Pauses, then after the answer computes for a while (a second or two) before pausing again.
BUSY = """
local a = alc.llm("start")
local x = 0
for i = 1, 100000000 do x = x + i end
return alc.llm("after " .. a)
"""


async def test_delete_refuses_a_running_session(tmp_path: Path) -> None:
    limits = Limits(max_memory_mb=64, max_instructions=2_000_000_000, max_run_seconds=30.0)
    async with serve(durable_config(tmp_path / "home", limits=limits)) as host:
        reply = await host.run(BUSY)
        session_id = reply["session_id"]
        outcome: dict[str, Any] = {}

        async def resume() -> None:
            outcome["reply"] = await host.ok("alc_continue", session_id=session_id, response="go")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(resume)

            async def running() -> bool:
                return (await status_of(host, session_id))["phase"] == "running"

            await wait_until(running, "the session runs")
            message = await host.error("alc_log_delete", session_id=session_id)
            assert "running" in message
            assert "alc_cancel" in message
            cancelled = await host.ok("alc_cancel", session_id=session_id)
            assert cancelled["status"] == "cancelled"
        assert outcome["reply"]["status"] in ("cancelled", "error")

        deleted = await host.ok("alc_log_delete", session_id=session_id)
        assert deleted["deleted"] is True
        assert "not found" in await host.error("alc_log_view", session_id=session_id)


# --- names everywhere -----------------------------------------------------------------------


async def test_every_session_tool_accepts_the_name(host: Host) -> None:
    reply = await host.run(TWO, ctx={"task": "named"})
    session_id = reply["session_id"]
    name = (await status_of(host, session_id))["name"]
    assert name != session_id

    snap = await status_of(host, name)
    assert snap["session_id"] == session_id and snap["name"] == name

    reply = await host.ok("alc_continue", session_id=name, response="A")
    assert reply["status"] == "needs_response" and reply["prompt"] == "second A"

    view = await host.ok("alc_log_view", session_id=name)
    assert view["id"] == session_id and view["name"] == name

    note = await host.ok("alc_note", session_id=name, content="by name", title="n")
    assert note == {"notes_count": 1, "session_id": session_id}

    reply = await host.ok("alc_rewind", session_id=name, query_index=0)
    assert reply["session_id"] == session_id and reply["prompt"] == "first named"

    cancelled = await host.ok("alc_cancel", session_id=name)
    assert cancelled["status"] == "cancelled"
    assert "not found" in await host.error("alc_status", session_id=name)

    deleted = await host.ok("alc_log_delete", session_id=name)
    assert deleted == {"deleted": True, "session_id": session_id, "name": name}
    assert "not found" in await host.error("alc_log_view", session_id=name)


async def test_continue_by_name_answers_with_the_session_id(host: Host) -> None:
    """The needs_response of alc_continue carries the session's id, as alc_run's and
    alc_rewind's do, whatever key the host used to find it."""
    reply = await host.run(TWO, ctx={"task": "named"})
    session_id = reply["session_id"]
    name = (await status_of(host, session_id))["name"]
    reply = await host.ok("alc_continue", session_id=name, response="A")
    assert reply["status"] == "needs_response"
    assert reply["session_id"] == session_id


async def test_a_name_of_a_finished_session_still_finds_its_transcript(host: Host) -> None:
    reply = await host.run(ONE, ctx={"task": "finished"})
    session_id = reply["session_id"]
    name = (await status_of(host, session_id))["name"]
    await finish(host, reply, ["done"])
    view = await host.ok("alc_log_view", session_id=name)
    assert view["id"] == session_id and view["result"] == "done"
    reply = await host.ok("alc_rewind", session_id=name, query_index=0)
    assert reply["session_id"] == session_id
    reply = await host.ok("alc_continue", session_id=name, response="again")
    assert reply["status"] == "completed" and reply["result"] == "again"
