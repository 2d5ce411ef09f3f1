"""Every session belongs to the principal that started it. Over a real ``serve --http``
with two tokens, bob gets, for each of alice's sessions and every tool that takes a
session, exactly the error a session id (or name) that exists nowhere gets, changes
nothing, and lists none of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import Host
from tests.http.servers import ALICE, BOB, HttpServer, connect, http_server, tokens_file
from tests.server.test_tasks import ANY, CancelTask, Ref, answer, get, update

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SCRIPT = """
alc.vars.define("temperature", "float", 0.7)
local a = alc.llm("first?")
local b = alc.llm("second after " .. a)
return {a, b, alc.vars.get("temperature")}
"""

#: Every tool that names a session, with arguments that would change it if they reached it.
SESSION_TOOLS: dict[str, dict[str, Any]] = {
    "alc_continue": {"response": "hijacked"},
    "alc_status": {},
    "alc_log_view": {},
    "alc_note": {"content": "bob was here"},
    "alc_vars_list": {},
    "alc_vars_get": {"names": ["temperature"]},
    "alc_vars_set": {"updates": {"temperature": 1.5}},
    "alc_vars_delete": {"names": ["temperature"]},
    "alc_vars_export": {},
    "alc_vars_import": {"variables": [{"name": "bobs", "type": "string", "value": "v"}]},
    "alc_rewind": {"query_index": 0},
    "alc_cancel": {},
    "alc_log_delete": {},
}

NOBODY_ID = "s-18f0000000000000-0123456789abcdef"
NOBODY_NAME = "nobody-here"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    tmp_path = tmp_path_factory.mktemp("tenancy")
    with http_server(tmp_path, ALC_AUTH_TOKENS=str(tokens_file(tmp_path))) as running:
        yield running


async def _alices_paused_session(alice: Host) -> tuple[str, str]:
    paused = await alice.run(SCRIPT)
    session_id = paused["session_id"]
    await alice.ok("alc_continue", session_id=session_id, response="one")
    name = (await alice.ok("alc_log_view", session_id=session_id))["name"]
    return session_id, name


async def _as_if_unknown(bob: Host, tool: str, key: str, nobody: str) -> None:
    """Bob's call on ``key`` fails exactly like the same call on ``nobody``."""
    arguments = SESSION_TOOLS[tool]
    foreign = await bob.error(tool, session_id=key, **arguments)
    missing = await bob.error(tool, session_id=nobody, **arguments)
    assert "not found" in missing, (tool, missing)
    assert foreign.replace(key, "KEY") == missing.replace(nobody, "KEY"), tool


async def test_bob_cannot_see_or_touch_alices_sessions(server: HttpServer) -> None:
    async with connect(server.url, ALICE) as alice, connect(server.url, BOB) as bob:
        session_id, name = await _alices_paused_session(alice)
        finished = (await alice.run("return alc.llm('last?')"))["session_id"]
        assert (await alice.ok("alc_continue", session_id=finished, response="x"))["status"] == "completed"
        bobs = await bob.run("return alc.llm('bob asks')")

        for tool in SESSION_TOOLS:
            await _as_if_unknown(bob, tool, session_id, NOBODY_ID)
            await _as_if_unknown(bob, tool, name, NOBODY_NAME)
        for tool in ("alc_continue", "alc_status", "alc_log_view", "alc_log_delete"):
            await _as_if_unknown(bob, tool, finished, NOBODY_ID)

        listed = await bob.ok("alc_status")
        assert [s["session_id"] for s in listed["sessions"]] == [bobs["session_id"]]
        logged = await bob.ok("alc_log_view")
        assert [s["id"] for s in logged["sessions"]] == [bobs["session_id"]]

        # Alice's sessions are exactly as she left them, and hers to list and finish.
        assert {s["session_id"] for s in (await alice.ok("alc_status"))["sessions"]} == {session_id}
        assert {s["id"] for s in (await alice.ok("alc_log_view"))["sessions"]} == {
            session_id,
            finished,
        }
        view = await alice.ok("alc_log_view", session_id=session_id)
        assert view["notes_count"] == 0 and view["answered_queries"] == 1
        done = await alice.ok("alc_continue", session_id=session_id, response="two")
        assert done["status"] == "completed"
        assert done["result"] == ["one", "two", 0.7]


async def _outcome(call: Any, session: Any, task_id: str) -> str:
    """What a tasks/* request answered, as text with the id taken out."""
    try:
        return repr(await call(session, task_id)).replace(task_id, "KEY")
    except MCPError as exc:
        return f"error: {exc}".replace(task_id, "KEY")


async def test_bob_cannot_poll_update_or_cancel_alices_task(server: HttpServer) -> None:
    """A task's id is its session id: tasks/get, tasks/update and tasks/cancel on alice's
    session answer bob exactly as on an id that exists nowhere, and change nothing."""
    async with connect(server.url, ALICE) as alice, connect(server.url, BOB) as bob:
        session_id, _ = await _alices_paused_session(alice)
        (key,) = (await get(alice.client.session, session_id))["inputRequests"]
        calls = {
            "get": lambda session, task: get(session, task),
            "update": lambda session, task: update(session, task, {key: answer("hijacked")}),
            "cancel": lambda session, task: session.send_request(CancelTask(params=Ref(task_id=task)), ANY),
        }
        for method, call in calls.items():
            missing = await _outcome(call, bob.client.session, NOBODY_ID)
            assert await _outcome(call, bob.client.session, session_id) == missing, method
        assert (await _outcome(calls["get"], bob.client.session, NOBODY_ID)).startswith("error: ")
        status = await alice.ok("alc_status", session_id=session_id)
        assert status["state"] == "paused" and status["pending_queries"] == 1
        done = await alice.ok("alc_continue", session_id=session_id, response="two")
        assert done["status"] == "completed" and done["result"][:2] == ["one", "two"]
