"""The service answering for a principal (``SessionService.acting_as``), in process over
a real SQLite store: a session stays its starter's through hibernation and a restart,
the principal None (stdio) sees every session as before, and an eval's session is its
starter's like any other."""

from __future__ import annotations

import pytest

from alc_mcp.app import Answer, SessionService
from alc_mcp.app.evaluation import EvalRequest
from alc_mcp.config import Config
from alc_mcp.engine.session import SessionError

pytestmark = pytest.mark.anyio

CODE = "return alc.llm('who asks?')"


async def _listed(service: SessionService) -> list[str]:
    return [s["session_id"] for s in (await service.status_all(None, False))["sessions"]]


async def test_a_session_stays_its_starters_through_hibernation_and_restart(config: Config) -> None:
    first = SessionService.open(config)
    async with first.running():
        alice, bob = first.acting_as("alice"), first.acting_as("bob")
        session_id = (await alice.run(CODE, None, None, None)).session_id
        live = first.registry.live_session(session_id)
        assert live is not None and first.registry.hibernate(live)
        with pytest.raises(SessionError, match=f"^session '{session_id}' not found$"):
            await bob.feed(session_id, [Answer(None, "bob")])
        assert await _listed(bob) == []
        assert await _listed(alice) == [session_id]
        assert await _listed(first) == [session_id]  # stdio's view: everything

    again = SessionService.open(config)
    async with again.running():
        with pytest.raises(SessionError, match="not found"):
            await again.acting_as("bob").feed(session_id, [Answer(None, "bob")])
        done = await again.acting_as("alice").feed(session_id, [Answer(None, "alice")])
        assert done.to_json()["result"] == "alice"


async def test_stdio_continues_any_session_as_before(config: Config) -> None:
    service = SessionService.open(config)
    async with service.running():
        session_id = (await service.acting_as("alice").run(CODE, None, None, None)).session_id
        done = await service.feed(session_id, [Answer(None, "the operator")])
        assert done.to_json()["result"] == "the operator"


async def test_an_evals_session_is_its_starters(config: Config) -> None:
    service = SessionService.open(config)
    async with service.running():
        alice = service.acting_as("alice")
        started = await alice.evaluate(EvalRequest(strategy="cot", scenario_name="factual", auto_card=False))
        assert await _listed(alice) == [started.session_id]
        assert await _listed(service.acting_as("bob")) == []
        status = await alice.status(started.session_id, None, False)
        assert status["session_id"] == started.session_id


async def test_alc_state_is_each_principals_own(config: Config) -> None:
    service = SessionService.open(config)
    async with service.running():
        alice, bob = service.acting_as("alice"), service.acting_as("bob")

        async def run(who: SessionService, code: str) -> object:
            return (await who.run(code, None, None, None)).to_json()["result"]

        await run(alice, "alc.state.set('plan', 'alice only') alc.state.incr('n', 1) return true")
        assert await run(bob, "return {alc.state.get('plan'), alc.state.keys()}") == [None, []]
        assert await run(alice, "return {alc.state.get('plan'), alc.state.get('n')}") == ["alice only", 1]
        assert await run(service, "return alc.state.get('plan')") is None  # stdio's state: as before
