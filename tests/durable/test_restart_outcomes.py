"""What a session says about itself after a restart: a request the client gave up on
mid-run leaves a cancelled session, never a zombie that a restart brings back as
running; a finished session still says it finished (not "not found")."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from alc_mcp.config import Limits
from tests.durable.support import durable_config, listing, serve, wait_until

pytestmark = pytest.mark.anyio

#: A script that pauses once, then spins until something stops it.
SPIN_AFTER_ONE = 'local a = alc.llm("first") while true do end'

#: Long enough that only the client's cancellation can end the spin in this test.
PATIENT = Limits(max_memory_mb=64, max_instructions=10**13, max_run_seconds=60.0)


async def test_a_request_the_client_cancels_leaves_a_cancelled_session(tmp_path: Path) -> None:
    config = durable_config(tmp_path / "home", limits=PATIENT)
    async with serve(config) as host:
        session_id = (await host.run(SPIN_AFTER_ONE))["session_id"]
        with anyio.move_on_after(0.5):  # the client abandons the call: notifications/cancelled
            await host.call("alc_continue", session_id=session_id, response="go")

        async def recorded_as_cancelled() -> bool:
            return (await host.ok("alc_log_view", session_id=session_id))["status"] == "cancelled"

        await wait_until(recorded_as_cancelled, "the abandoned run is journaled as cancelled")
        assert session_id not in await listing(host)

    async with serve(config) as host:
        assert session_id not in await listing(host)
        message = await host.error("alc_continue", session_id=session_id, response="again")
        assert "already finished (cancelled)" in message, message


async def test_a_finished_session_says_so_after_a_restart(tmp_path: Path) -> None:
    config = durable_config(tmp_path / "home")
    async with serve(config) as host:
        reply = await host.run('return alc.llm("only")')
        session_id = reply["session_id"]
        assert (await host.ok("alc_continue", session_id=session_id, response="x"))["status"] == "completed"
        in_process = await host.error("alc_continue", session_id=session_id, response="again")

    async with serve(config) as host:
        after_restart = await host.error("alc_continue", session_id=session_id, response="again")
    assert "already finished (completed)" in in_process, in_process
    assert "already finished (completed)" in after_restart, after_restart
