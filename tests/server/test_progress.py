"""Progress notifications: a call that carries a progressToken hears the script's
alc.progress steps, where the call ends (a pause, a partial answer, the end) and, while
the script works without either, a heartbeat every ALC_PROGRESS_SECONDS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp import Client
from mcp_types import ProgressNotification

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS
from tests.server.test_stdio import server_params

pytestmark = pytest.mark.anyio


class Heard:
    """A client's progress_callback: every notification of one call, in arrival order."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.messages: list[str] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        assert total is None  # the values count notifications; a script's steps are in the message
        self.values.append(progress)
        self.messages.append(message or "")

    def rising(self) -> bool:
        return all(a < b for a, b in zip(self.values, self.values[1:], strict=False))

    def events(self) -> list[str]:
        """The messages other than heartbeats (a loaded machine may add one)."""
        return [m for m in self.messages if not m.startswith("running for")]


async def call(client: Client, tool: str, heard: Heard | None = None, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments, progress_callback=heard)
    assert not result.is_error, result.content
    return orjson.loads(result.content[0].text)  # type: ignore[union-attr]


@pytest.fixture(params=["legacy", "auto"], ids=["2025-11-25", "2026-07-28"])
async def client(config: Config, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A real client on each protocol revision: progress works alike on both."""
    async with Client(build_server(config), mode=request.param) as client:
        yield client


async def test_steps_then_the_pause_in_order_with_rising_values(client: Client) -> None:
    heard = Heard()
    paused = await call(
        client,
        "alc_run",
        heard,
        code="""
        alc.progress(1, 3, "reading")
        alc.progress(2, 3, "thinking")
        local answer = alc.llm("what now?")
        alc.progress(3, 3, "writing up")
        alc.progress(3, 3)
        return answer
        """,
    )
    assert paused["status"] == "needs_response"
    assert heard.events() == ["step 1/3: reading", "step 2/3: thinking", "waiting for the answer to q-0"]
    assert heard.rising()

    heard = Heard()
    done = await call(client, "alc_continue", heard, session_id=paused["session_id"], response="stop")
    assert done["status"] == "completed"
    assert heard.events() == ["step 3/3: writing up", "step 3/3", "completed"]
    assert heard.rising() and heard.values[0] == 1  # each call counts from 1


async def test_a_batch_and_its_partial_answers(client: Client) -> None:
    heard = Heard()
    batch = 'return alc.llm_batch({{prompt = "a"}, {prompt = "b"}, {prompt = "c"}})'
    paused = await call(client, "alc_run", heard, code=batch)
    assert heard.events() == ["waiting for 3 answers (q-0 … q-2)"]
    heard = Heard()
    await call(client, "alc_continue", heard, session_id=paused["session_id"], query_id="q-1", response="B")
    assert heard.events() == ["answer taken; waiting for 2 more"]
    heard = Heard()
    failed = await call(client, "alc_run", heard, code="alc.progress(1, 0, 'going'); error('no')")
    assert failed["status"] == "error"
    assert heard.events() == ["step 1: going", "failed"]


async def test_a_long_run_without_pauses_sends_heartbeats(tmp_path: Path) -> None:
    config = Config(
        home=tmp_path / "alc-home",
        limits=replace(TEST_LIMITS, max_instructions=2_000_000_000),
        progress_seconds=0.5,
    )
    heard = Heard()
    async with Client(build_server(config)) as client:
        done = await call(
            client,
            "alc_run",
            heard,
            code="""
            alc.progress(1, 2, "crunching")
            local t0 = os.clock()
            while os.clock() - t0 < 2 do end
            return "done"
            """,
        )
    assert done["status"] == "completed"
    heartbeats = [m for m in heard.messages if m.startswith("running for")]
    assert len(heartbeats) >= 3, heard.messages
    assert all(m.endswith("(step 1/2: crunching)") for m in heartbeats)
    assert heard.messages[0] == "step 1/2: crunching" and heard.messages[-1] == "completed"
    assert heard.rising()


async def test_a_caller_mistake_with_a_progress_token_is_the_same_tool_error(client: Client) -> None:
    result = await client.call_tool(
        "alc_continue", {"session_id": "s-nope", "response": "x"}, progress_callback=Heard()
    )
    assert result.is_error
    assert result.content[0].text.startswith("Error executing tool alc_continue: Continue failed: ")  # type: ignore[union-attr]
    assert "s-nope" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.slow
async def test_over_stdio_progress_only_when_the_call_asks(tmp_path: Path) -> None:
    """A real subprocess: notifications/progress travel as JSON-RPC with the call's
    token, and a call without a token gets none."""
    params = server_params(tmp_path, ["-m", "alc_mcp.cli"])
    params.env = {**(params.env or {}), "ALC_PROGRESS_SECONDS": "0.2"}
    seen: list[object] = []

    async def record(message: object) -> None:
        seen.append(message)

    code = "alc.progress(1, 1, 'once'); local t0 = os.clock(); while os.clock() - t0 < 0.5 do end; return 1"
    async with Client(params, message_handler=record) as client:
        assert (await call(client, "alc_run", code=code))["status"] == "completed"
        assert not [m for m in seen if isinstance(m, ProgressNotification)], seen
        heard = Heard()
        assert (await call(client, "alc_run", heard, code=code))["status"] == "completed"
    # The handler sees every progress notification (so it would have seen a stray one).
    assert len([m for m in seen if isinstance(m, ProgressNotification)]) == len(heard.messages)
    assert heard.messages[0] == "step 1/1: once" and heard.messages[-1] == "completed"
    assert any(m.startswith("running for") for m in heard.messages) and heard.rising()


async def test_heartbeats_falling_due_never_cut_a_pause_or_an_end_short(tmp_path: Path) -> None:
    """With a heartbeat due every millisecond, every pause and the end are still
    journaled whole and answered: the session runs to completion over the store."""
    config = Config(home=tmp_path / "alc-home", limits=TEST_LIMITS, progress_seconds=0.001)
    code = """
    local total = 0
    for i = 1, 20 do
      local t0 = os.clock()
      while os.clock() - t0 < 0.005 do end
      total = total + #alc.llm("q" .. i)
    end
    return total
    """
    async with Client(build_server(config)) as client:
        reply = await call(client, "alc_run", Heard(), code=code)
        for _ in range(20):
            assert reply["status"] == "needs_response", reply
            reply = await call(client, "alc_continue", Heard(), session_id=reply["session_id"], response="ab")
        assert reply == {"status": "completed", "result": 40, "stats": reply["stats"]}


async def test_an_eval_reports_where_its_cases_wait(client: Client) -> None:
    heard = Heard()
    scenario = 'return {name = "two", graders = {"exact_match"}, cases = {{input = "1+1", expected = "2"},'
    scenario += ' {input = "2+2", expected = "4"}}}'
    started = await call(client, "alc_eval", heard, strategy="cot", scenario=scenario)
    assert started["status"] == "needs_response" and len(started["queries"]) == 2
    first, last = started["queries"][0]["id"], started["queries"][-1]["id"]
    assert heard.events()[-1] == f"waiting for 2 answers ({first} … {last})"


async def test_a_long_revival_sends_heartbeats(tmp_path: Path) -> None:
    """After a restart, alc_continue brings the session back by running its script again
    up to the pause; a call that asked for progress hears heartbeats meanwhile."""
    config = Config(
        home=tmp_path / "alc-home",
        limits=replace(TEST_LIMITS, max_instructions=2_000_000_000),
        progress_seconds=0.2,
    )
    code = "local x = 0 for i = 1, 8e7 do x = x + i % 7 end return alc.llm('sum is ' .. x)"
    async with Client(build_server(config)) as client:
        paused = await call(client, "alc_run", code=code)
    heard = Heard()
    async with Client(build_server(config)) as client:  # a new server: the session is dormant
        done = await call(client, "alc_continue", heard, session_id=paused["session_id"], response="fine")
    assert done["status"] == "completed" and done["result"] == "fine"
    assert heard.messages[-1] == "completed" and heard.rising()
    # Heard during the replay itself, not just once the answer let the script go on.
    assert len([m for m in heard.messages if m.startswith("running for")]) >= 3, heard.messages
