"""alc.state.update(key, fn, default): read-modify-write over alc.state (spec §4.4, §9.2)."""

from __future__ import annotations

import pytest

from tests.conftest import EngineHost, Host
from tests.prelude.support import completed

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(durable_engine_host: EngineHost) -> EngineHost:
    """alc.state lives in the store: keep it on, as it is by default."""
    return durable_engine_host


async def test_default_is_used_for_a_missing_key(host: Host) -> None:
    code = "return {alc.state.update('count', function(v) return v + 1 end, 10), alc.state.get('count')}"
    assert await completed(host, code) == [11, 11]


async def test_existing_value_wins_over_the_default(host: Host) -> None:
    code = """
    alc.state.set('count', 5)
    return alc.state.update('count', function(v) return v * 2 end, 100)
    """
    assert await completed(host, code) == 10


async def test_tables(host: Host) -> None:
    code = """
    alc.state.update('seen', function(list) list[#list + 1] = 'a' return list end, {})
    alc.state.update('seen', function(list) list[#list + 1] = 'b' return list end, {})
    return alc.state.get('seen')
    """
    assert await completed(host, code) == ["a", "b"]


async def test_nil_default_passes_nil(host: Host) -> None:
    code = "return alc.state.update('k', function(v) return {was_nil = v == nil} end)"
    assert await completed(host, code) == {"was_nil": True}


async def test_update_persists_across_sessions(host: Host) -> None:
    code = "return alc.state.update('runs', function(n) return n + 1 end, 0)"
    assert await completed(host, code, ctx={"_ns": "upd"}) == 1
    assert await completed(host, code, ctx={"_ns": "upd"}) == 2
    assert await completed(host, code, ctx={"_ns": "other"}) == 1


async def test_state_table_keeps_layer0_functions(host: Host) -> None:
    # The prelude adds update to the existing alc.state; it must not replace the table.
    code = "return {type(alc.state.get), type(alc.state.set), type(alc.state.update)}"
    assert await completed(host, code) == ["function", "function", "function"]
