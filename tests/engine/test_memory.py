"""Sessions give their memory back when they end: the VM goes at once (not at the next
run of Python's cycle collector), however the session ended, and its thread with it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from lupa import lua54

from alc_mcp.config import Config
from alc_mcp.domain.feed_result import Completed, Failed, Paused
from alc_mcp.domain.program import Program
from alc_mcp.engine.bridge import Library
from alc_mcp.engine.session import Answer, Session
from alc_mcp.engine.worker import LuaWorker
from tests.conftest import TEST_LIMITS
from tests.engine.test_registry import in_memory

pytestmark = pytest.mark.anyio

LOOP = 'local i = 0 while true do i = i + 1; alc.llm("q" .. i) end'


def live_runtimes() -> int:
    return sum(isinstance(o, lua54.LuaRuntime) for o in gc.get_objects())


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def settled(before: int) -> int:
    """Runtimes alive once the session threads have exited (they free the VM last)."""
    with anyio.move_on_after(5):
        while threading.active_count() > before:
            await anyio.sleep(0.01)
    return live_runtimes()


@pytest.mark.usefixtures("no_cycle_collector")
async def test_ended_sessions_free_their_vm_without_the_cycle_collector(tmp_path: Path) -> None:
    registry = in_memory(Config(home=tmp_path, limits=TEST_LIMITS))
    threads, runtimes = threading.active_count(), live_runtimes()
    # Every way a session ends: it returns, fails, hits a limit inside pcall, is
    # cancelled while paused, or is answered and then returns.
    done = await registry.start(Program("local t = setmetatable({}, {__index = alc}) return 1", "=t"))
    failed = await registry.start(Program("string.rep = alc.llm error('boom')", "=t"))
    limited = await registry.start(Program("pcall(function() while true do end end)", "=t"))
    paused_id, paused = await registry.start(Program(LOOP, "=t"))
    answered_id, _ = await registry.start(Program("return alc.llm('x') .. '!'", "=t"))
    assert isinstance(done[1], Completed) and isinstance(failed[1], Failed)
    assert isinstance(limited[1], Failed) and "limit exceeded" in limited[1].error
    assert isinstance(paused, Paused)
    await registry.cancel(paused_id)
    assert isinstance(await registry.feed(answered_id, [Answer(None, "ok")]), Completed)
    assert await settled(threads) == runtimes
    registry.close()


def live_libraries() -> int:
    return sum(isinstance(o, Library) for o in gc.get_objects())


@pytest.mark.usefixtures("no_cycle_collector")
async def test_callbacks_a_session_built_go_with_its_vm(tmp_path: Path) -> None:
    # Each group of alc.* callbacks is built on its first call; whatever a session built
    # (core, state, math, text, host, vars) must go when it ends, not linger per session.
    registry = in_memory(Config(home=tmp_path, limits=TEST_LIMITS))
    threads, libraries = threading.active_count(), live_libraries()
    script = """
        alc.state.set("k", alc.math.mean({1, 2, 3}))
        local parts = alc.chunk("a b c")
        return {alc.state.get("k"), #parts, #alc.hash("x"), alc.llm("q")}
    """
    session_id, paused = await registry.start(Program(script, "=t"))
    assert isinstance(paused, Paused)
    assert live_libraries() == libraries + 1
    result = await registry.feed(session_id, [Answer(None, "ok")])
    assert isinstance(result, Completed) and result.result == [2.0, 1, 64, "ok"]
    with anyio.move_on_after(5):
        while threading.active_count() > threads:
            await anyio.sleep(0.01)
    assert live_libraries() == libraries
    registry.close()


def live_sessions() -> int:
    return sum(isinstance(o, Session) for o in gc.get_objects())


@pytest.mark.usefixtures("no_cycle_collector")
async def test_ended_sessions_themselves_go_without_the_cycle_collector(tmp_path: Path) -> None:
    # A session and its worker pointed at each other until the worker's thread ended;
    # then they went only at the cycle collector's next full pass, holding their Python
    # memory (and fragmenting the heap) long after the session ended.
    registry = in_memory(Config(home=tmp_path, limits=TEST_LIMITS))
    threads, sessions = threading.active_count(), live_sessions()
    paused_id, paused = await registry.start(Program(LOOP, "=t"))
    answered_id, _ = await registry.start(Program("return alc.llm('x') .. '!'", "=t"))
    done = await registry.start(Program("return alc.state.get('k', 1)", "=t"))
    assert isinstance(paused, Paused) and isinstance(done[1], Completed)
    assert live_sessions() >= sessions + 2
    await registry.cancel(paused_id)
    assert isinstance(await registry.feed(answered_id, [Answer(None, "ok")]), Completed)
    await settled(threads)
    assert live_sessions() == sessions
    registry.close()


async def test_a_session_whose_thread_starts_late_is_not_timed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a loaded machine the loop may wait for the session's first event before its
    # new thread has run a line; the run's deadline must already be set by then. The OS
    # scheduler cannot be made to do that here, so the thread's start is delayed.
    start = LuaWorker.start

    def late_start(worker: LuaWorker) -> None:
        threading.Timer(0.2, start, (worker,)).start()

    monkeypatch.setattr(LuaWorker, "start", late_start)
    registry = in_memory(Config(home=tmp_path, limits=TEST_LIMITS))
    _, result = await registry.start(Program("return alc.llm('q')", "=t"))
    assert isinstance(result, Paused), result
    registry.close()
