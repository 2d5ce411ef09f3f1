"""Two calls answering one pause of a hibernated session at once: one is accepted, the
other is told the pause was answered (before, the second answer went to the next pause)."""

from __future__ import annotations

import anyio
import pytest

from tests.conftest import EngineHost, ToolResult

pytestmark = pytest.mark.anyio


async def test_two_calls_on_a_hibernated_session_answer_its_pause_once(
    durable_engine_host: EngineHost,
) -> None:
    host = durable_engine_host
    reply = await host.run("return alc.llm('first') .. '/' .. alc.llm('second')")
    session_id = reply["session_id"]
    registry = host.service.registry
    session = registry.live_session(session_id)
    assert session is not None and registry.hibernate(session)
    outcomes: dict[str, ToolResult] = {}

    async def answer(name: str) -> None:
        outcomes[name] = await host.call("alc_continue", session_id=session_id, response=name)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(answer, "x")
        tasks.start_soon(answer, "y")

    accepted = [name for name, result in outcomes.items() if not result.is_error]
    (refused,) = [result.text for result in outcomes.values() if result.is_error]
    assert len(accepted) == 1
    assert f"query q-0 of session '{session_id}' was already answered" in refused
    status = await host.ok("alc_status", session_id=session_id)
    assert status["pending_queries"] == 1  # 'second' still waits for its answer
    done = await host.ok("alc_continue", session_id=session_id, response="z")
    assert done["result"] == f"{accepted[0]}/z"
