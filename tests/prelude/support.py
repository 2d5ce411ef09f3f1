"""Helpers for the prelude conformance tests: drive scripts through real sessions."""

from __future__ import annotations

from typing import Any

from tests.conftest import Host

#: The prompt of the last pause helpers put at the end of a script to read its logs.
END = "__end__"


async def completed(host: Host, code: str, **arguments: Any) -> Any:
    """Run a script that must finish without pausing; return its result."""
    reply = await host.run(code, **arguments)
    assert reply["status"] == "completed", reply
    return reply["result"]


async def failed(host: Host, code: str, **arguments: Any) -> str:
    """Run a script that must fail with a Lua error; return the error text."""
    reply = await host.run(code, **arguments)
    assert reply["status"] == "error", reply
    return reply["error"]


async def answer(host: Host, paused: dict[str, Any], response: str) -> dict[str, Any]:
    """Answer a single-query pause."""
    assert paused["status"] == "needs_response", paused
    assert "query_id" in paused, paused
    return await host.ok("alc_continue", session_id=paused["session_id"], response=response)


async def answer_all(host: Host, paused: dict[str, Any], responses: list[str]) -> dict[str, Any]:
    """Answer a multi-query pause, one response per query in order."""
    assert paused["status"] == "needs_response", paused
    ids = [q["id"] for q in paused["queries"]]
    assert len(ids) == len(responses)
    feed = [{"query_id": qid, "response": r} for qid, r in zip(ids, responses, strict=True)]
    return await host.ok("alc_continue", session_id=paused["session_id"], responses=feed)


async def logs_then_finish(host: Host, paused: dict[str, Any]) -> tuple[list[tuple[str, str]], Any]:
    """At the script's final `alc.llm(END)` pause: read the session's logs, then let it finish.

    Returns ([(level, message) of alc.log entries], result).
    """
    assert paused["status"] == "needs_response", paused
    assert paused.get("prompt") == END, paused
    snap = await host.ok("alc_status", session_id=paused["session_id"])
    logs = [(e["level"], e["message"]) for e in snap["metrics"]["recent_logs"] if e["source"] == "alc.log"]
    done = await answer(host, paused, "end")
    assert done["status"] == "completed", done
    return logs, done["result"]


def djb2(text: str) -> str:
    """Reference for alc.fingerprint's hash, over UTF-8 bytes."""
    h = 5381
    for b in text.encode():
        h = (h * 33 + b) % 2**32
    return f"{h:08x}"
