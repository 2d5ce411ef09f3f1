"""Registry behaviour below the MCP layer: ids, idle reaping, shutdown."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest

from alc_mcp.config import Config
from alc_mcp.domain.feed_result import Completed, Paused
from alc_mcp.domain.program import Program
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.registry import SessionNotFound, SessionRegistry, new_session_id
from alc_mcp.engine.session import Answer
from alc_mcp.store.memory import MemoryShared
from tests.conftest import TEST_LIMITS

pytestmark = pytest.mark.anyio


def in_memory(config: Config) -> SessionRegistry:
    """A registry without a store, as a server with ALC_DURABLE=0 has."""
    return SessionRegistry(
        config, PackageResolver.from_dirs(config.packages_path, config.home), MemoryShared()
    )


def test_session_ids_are_unguessable_and_unique() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    for session_id in ids:
        assert re.fullmatch(r"s-[0-9a-f]+-[0-9a-f]{16}", session_id)
    # The random halves differ even for ids minted in the same nanosecond window.
    assert len({s.rsplit("-", 1)[1] for s in ids}) == 1000


async def test_idle_paused_sessions_are_reaped_and_say_so(tmp_path: Path) -> None:
    # The TTL leaves the fresh session's start a second of room on a loaded machine.
    registry = in_memory(Config(home=tmp_path, limits=TEST_LIMITS, idle_ttl_seconds=1.0))
    idle_id, paused = await registry.start(Program("return alc.llm('hello?')", "=t"))
    assert isinstance(paused, Paused)
    await anyio.sleep(1.05)
    busy_id, _ = await registry.start(Program("return alc.llm('fresh')", "=t"))

    assert registry.reap_idle() == [idle_id]

    with pytest.raises(SessionNotFound, match=r"expired after .* \(ALC_IDLE_TTL_SECONDS\)"):
        await registry.feed(idle_id, [Answer("q-0", "too late")])
    done = await registry.feed(busy_id, [Answer("q-0", "still here")])
    assert isinstance(done, Completed)
    registry.close()


async def test_active_sessions_survive_reaping(tmp_path: Path) -> None:
    registry = in_memory(Config(home=tmp_path, limits=TEST_LIMITS, idle_ttl_seconds=3600))
    session_id, _ = await registry.start(Program("return alc.llm('hello?')", "=t"))
    assert registry.reap_idle() == []
    done = await registry.feed(session_id, [Answer("q-0", "hi")])
    assert isinstance(done, Completed)
    assert done.result == "hi"


async def test_close_stops_every_session_thread(tmp_path: Path) -> None:
    registry = in_memory(Config(home=tmp_path, limits=TEST_LIMITS))
    started = [await registry.start(Program(f"return alc.llm('q{i}')", "=t")) for i in range(5)]
    workers = [registry.live_session(session_id).worker for session_id, _ in started]
    registry.close()
    assert len(registry) == 0
    for worker in workers:
        assert worker.join(timeout=5), "a session thread kept running after close()"
