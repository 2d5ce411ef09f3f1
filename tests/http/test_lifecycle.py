"""Serving a fleet: stateless streamable HTTP (any connection, any worker, continues any
session: the alc session id is the state) and a graceful SIGTERM (no new calls, the
call in flight finishes, the exit is clean, and a new process resumes every session
with every answer it acknowledged, still owned by its principal)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from tests.conftest import Host
from tests.http.servers import ALICE, BOB, connect, http_server, tokens_file

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

STEPS = """
local answers = {}
for i = 1, 4 do
  answers[i] = alc.llm("step " .. i)
  if answers[i] == "slow" then
    local x = 0
    for j = 1, ctx.spin do x = x + j end
  end
end
return answers
"""


def _post(url: str, body: dict[str, Any], token: str) -> httpx2.Response:
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "authorization": f"Bearer {token}",
    }
    return httpx2.post(url, json=body, headers=headers, timeout=60)


def _rpc_result(response: httpx2.Response) -> Any:
    """The JSON-RPC result of a POST, answered as JSON or as one SSE event."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("application/json"):
        return response.json()["result"]
    (data,) = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
    return json.loads(data)["result"]


async def test_any_connection_continues_a_session_started_on_another(tmp_path: Path) -> None:
    with http_server(tmp_path, ALC_AUTH_TOKENS=str(tokens_file(tmp_path))) as server:
        async with connect(server.url, ALICE) as first:
            session_id = (await first.run(STEPS, ctx={"spin": 1}))["session_id"]
            await first.ok("alc_continue", session_id=session_id, response="a")
        async with connect(server.url, ALICE) as second:
            paused = await second.ok("alc_continue", session_id=session_id, response="b")
            assert paused["prompt"] == "step 3"
        # No MCP session at all: no initialize, no Mcp-Session-Id, one bare POST.
        call = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "alc_continue", "arguments": {"session_id": session_id, "response": "c"}},
        }
        response = _post(server.url, call, ALICE)
        assert "mcp-session-id" not in response.headers
        (content,) = _rpc_result(response)["content"]
        assert json.loads(content["text"])["prompt"] == "step 4"
        async with connect(server.url, ALICE) as third:
            done = await third.ok("alc_continue", session_id=session_id, response="d")
        assert done["result"] == ["a", "b", "c", "d"]


async def _wait_running(host: Host, session_id: str) -> None:
    while (await host.ok("alc_status", session_id=session_id))["phase"] != "running":
        await anyio.sleep(0.02)


async def test_sigterm_hands_every_session_to_the_next_process(tmp_path: Path) -> None:
    home = tmp_path / "alc-home"
    env = {"ALC_AUTH_TOKENS": str(tokens_file(tmp_path)), "ALC_MAX_RUN_SECONDS": "120"}
    env.update(ALC_MAX_CPU_SECONDS="120", ALC_MAX_INSTRUCTIONS="2000000000")
    acknowledged: dict[str, list[str]] = {}
    with http_server(tmp_path, home=home, **env) as server:
        async with connect(server.url, ALICE) as alice:
            for answered in range(3):  # paused after 0, 1 and 2 acknowledged answers
                session_id = (await alice.run(STEPS, ctx={"spin": 150_000_000}))["session_id"]
                acknowledged[session_id] = []
                for step in range(answered):
                    reply = await alice.ok("alc_continue", session_id=session_id, response=f"{step}")
                    assert reply["status"] == "needs_response"
                    acknowledged[session_id].append(f"{step}")
            slow = session_id
            in_flight: dict[str, Any] = {}

            async def answer_slowly() -> None:
                in_flight["reply"] = await alice.ok("alc_continue", session_id=slow, response="slow")

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(answer_slowly)
                async with connect(server.url, ALICE) as watcher:
                    await _wait_running(watcher, slow)
                server.process.send_signal(15)
                # It stops taking calls at once, while the call in flight still runs.
                while True:
                    try:
                        httpx2.get(f"{server.base}/healthz", timeout=5)
                    except httpx2.ConnectError:
                        break
                    await anyio.sleep(0.02)
            assert in_flight["reply"].get("prompt") == "step 4", in_flight
            acknowledged[slow].append("slow")
        assert server.process.wait(timeout=120) == 0
        log = server.stderr()
        assert "Traceback" not in log and "ERROR" not in log, log
    with closing(sqlite3.connect(home / "alc.db")) as db:  # every lease given back
        assert db.execute("SELECT count(*) FROM leases WHERE owner IS NOT NULL").fetchone() == (0,)

    with http_server(tmp_path, home=home, **env) as again:
        async with connect(again.url, BOB) as bob:
            assert (await bob.ok("alc_status"))["sessions"] == []
        async with connect(again.url, ALICE) as alice:
            listed = await alice.ok("alc_status")
            assert {s["session_id"] for s in listed["sessions"]} == set(acknowledged)
            for session_id, answers in acknowledged.items():
                view = await alice.ok("alc_log_view", session_id=session_id)
                assert [q["response"] for q in view["queries"]] == answers
                rest = [f"rest-{i}" for i in range(len(answers), 4)]
                for text in rest:
                    reply = await alice.ok("alc_continue", session_id=session_id, response=text)
                assert reply["status"] == "completed" and reply["result"] == answers + rest
