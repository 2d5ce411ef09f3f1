"""alc.state.*: the key-value store shared by every session (spec §4.3, §5.1), through
real sessions: the examples and error texts, namespaces, persistence, concurrency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from alc_mcp.config import Config
from tests.conftest import TEST_LIMITS, EngineHost, Host
from tests.durable.support import serve
from tests.stdlib.support import lua_error, result

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(durable_engine_host: EngineHost) -> EngineHost:
    """alc.state lives in the store: keep it on, as it is by default."""
    return durable_engine_host


def config(home: Path, **overrides: Any) -> Config:
    settings: dict[str, Any] = {"home": home, "limits": TEST_LIMITS}
    settings.update(overrides)
    return Config(**settings)


async def raw_result(host: Host, code: str, **arguments: Any) -> str:
    reply = await host.call("alc_run", code=code, **arguments)
    assert not reply.is_error, reply.text
    assert reply.json["status"] == "completed", reply.json
    return orjson.dumps(reply.json["result"]).decode()


# --------------------------------------------------------------------------- the operations


async def test_has_set_nx_incr_sequence(host: Host) -> None:
    code = """
    local s = alc.state
    return {s.has("n"), s.set_nx("n", 1), s.set_nx("n", 99), s.has("n"), s.get("n"),
            s.incr("n", 5), s.incr("n", 10), s.get("n")}
    """
    assert await raw_result(host, code) == "[false,true,false,true,1,6.0,16.0,16.0]"


async def test_incr_defaults(host: Host) -> None:
    code = """
    local s = alc.state
    return {s.incr("a"), s.incr("a"), s.incr("b", 2), s.incr("c", 1, 10), s.incr("c", -0.5, 100),
            s.incr("d", 0.25, 0.5)}
    """
    assert await raw_result(host, code) == "[1.0,2.0,2.0,11.0,10.5,0.75]"


async def test_incr_result_is_a_float_in_lua_too(host: Host) -> None:
    code = 'alc.state.set("i", 3) local v = alc.state.incr("i") return {math.type(v), v}'
    assert await raw_result(host, code) == '["float",4.0]'


async def test_get_set_round_trips_json_values(host: Host) -> None:
    value = {"list": [1, 2.5, "x", None, []], "obj": {"k": {}}, "flag": True, "n": 7}
    code = """
    alc.state.set("v", ctx.value)
    alc.state.set("empty", {})
    alc.state.set("arr", alc.json_decode("[]"))
    return {alc.state.get("v"), alc.state.get("empty"), alc.state.get("arr"), math.type(alc.state.get("v").n)}
    """
    got = await result(host, code, ctx={"value": value})
    assert got == [value, {}, [], "integer"]
    # In a later session too (values are stored as JSON, not as Lua objects).
    assert await result(host, 'return alc.state.get("v")') == value
    assert await raw_result(host, 'return {alc.state.get("empty"), alc.state.get("arr")}') == "[{},[]]"


async def test_set_overwrites(host: Host) -> None:
    code = 'alc.state.set("k", 1) alc.state.set("k", "two") return alc.state.get("k")'
    assert await result(host, code) == "two"


async def test_get_default(host: Host) -> None:
    code = """
    local t = {1}
    return {alc.state.get("missing", "dflt"), alc.state.get("missing") == nil,
            alc.state.get("missing", t) == t, alc.state.get("missing", 0)}
    """
    assert await result(host, code) == ["dflt", True, True, 0]


async def test_a_stored_null_is_the_sentinel_not_the_default(host: Host) -> None:
    code = """
    alc.state.set("z", alc.json_decode("null"))
    local v = alc.state.get("z", "dflt")
    return {type(v), v == alc.json_decode("null"), alc.state.has("z")}
    """
    assert await result(host, code) == ["userdata", True, True]


async def test_set_nil_stores_null_and_does_not_delete(host: Host) -> None:
    code = """
    alc.state.set("z", 1)
    alc.state.set("z", nil)
    return {alc.state.has("z"), type(alc.state.get("z", "dflt")), alc.state.keys()}
    """
    assert await result(host, code) == [True, "userdata", ["z"]]
    assert await result(host, 'return {alc.state.get("z", "d")}') == [None]


async def test_keys_are_sorted_and_an_array(host: Host) -> None:
    assert await raw_result(host, "return alc.state.keys()") == "[]"
    code = """
    for _, k in ipairs({"c", "a", "B", "b", "10", "9"}) do alc.state.set(k, true) end
    return alc.state.keys()
    """
    assert await result(host, code) == ["10", "9", "B", "a", "b", "c"]


async def test_delete_says_whether_the_key_existed(host: Host) -> None:
    code = """
    alc.state.set("a", 1)
    alc.state.set("b", 2)
    return {alc.state.delete("a"), alc.state.delete("a"), alc.state.delete("never"), alc.state.has("a"),
            alc.state.keys()}
    """
    assert await result(host, code) == [True, False, False, False, ["b"]]


async def test_incr_on_a_non_number_is_an_error(host: Host) -> None:
    code = 'alc.state.set("k", "text") local ok, err = pcall(alc.state.incr, "k") return {ok, err}'
    ok, message = await result(host, code)
    assert ok is False
    assert "incr: value at 'k' is not a number" in message
    error = await lua_error(host, 'alc.state.set("t", {1}) return alc.state.incr("t")')
    assert "incr: value at 't' is not a number" in error
    # A failed incr leaves the value alone.
    assert await result(host, 'return alc.state.get("k")') == "text"


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "in-memory"])
async def test_incr_on_a_stored_null_is_an_error(tmp_path: Path, durable: bool) -> None:
    """A key stored with null exists and is not a number: no fallback to the default."""
    code = """
    alc.state.set("k", nil)
    local ok, err = pcall(alc.state.incr, "k", 1, 5)
    return {ok, err, type(alc.state.get("k"))}
    """
    async with serve(config(tmp_path / "home", durable=durable)) as host:
        ok, message, kind = await result(host, code)
    assert (ok, kind) == (False, "userdata")
    assert "incr: value at 'k' is not a number" in message


async def test_unserialisable_values_are_refused(host: Host) -> None:
    code = """
    local ok, err = pcall(alc.state.set, "f", function() end)
    local ok2 = pcall(alc.state.set_nx, "g", {print})
    return {ok, err, ok2, alc.state.has("f"), alc.state.has("g")}
    """
    ok, message, ok2, has_f, has_g = await result(host, code)
    assert (ok, ok2, has_f, has_g) == (False, False, False, False)
    assert "unsupported value type `function`" in message


@pytest.mark.parametrize("namespace", ["../x", "a/b", "a\\b", "", "x\0y"])
async def test_invalid_namespace(host: Host, namespace: str) -> None:
    code = """
    local out = {}
    for i, op in ipairs({
      function() return alc.state.get("k") end,
      function() return alc.state.set("k", 1) end,
      function() return alc.state.keys() end,
      function() return alc.state.incr("k") end,
      function() return alc.state.has("k") end,
      function() return alc.state.delete("k") end,
      function() return alc.state.set_nx("k", 1) end,
    }) do
      local ok, err = pcall(op)
      out[i] = {ok, tostring(err)}
    end
    return out
    """
    for ok, message in await result(host, code, ctx={"_ns": namespace}):
        assert ok is False
        assert f"Invalid namespace: '{namespace}'" in message, message


async def test_spec_invalid_namespace_text(host: Host) -> None:
    error = await lua_error(host, 'return alc.state.get("k")', ctx={"_ns": "../x"})
    assert "Invalid namespace: '../x'" in error


# --------------------------------------------------------------------------- namespaces and sharing


async def test_namespaces_are_isolated(host: Host) -> None:
    await result(host, 'alc.state.set("x", "one") return true', ctx={"_ns": "one"})
    await result(host, 'alc.state.set("x", "two") return true', ctx={"_ns": "two"})
    await result(host, 'alc.state.set("x", "default") return true')
    read = 'return {alc.state.get("x"), alc.state.keys()}'
    assert await result(host, read, ctx={"_ns": "one"}) == ["one", ["x"]]
    assert await result(host, read, ctx={"_ns": "two"}) == ["two", ["x"]]
    assert await result(host, read, ctx={"_ns": "three"}) == [None, []]
    assert await result(host, read) == ["default", ["x"]]
    # "default" is the namespace used when ctx._ns is absent or not a string.
    assert await result(host, read, ctx={"_ns": "default"}) == ["default", ["x"]]
    assert await result(host, read, ctx={"_ns": 42}) == ["default", ["x"]]
    assert await result(host, read, ctx={"task": "no namespace"}) == ["default", ["x"]]


async def test_state_is_shared_across_sessions(host: Host) -> None:
    first = await host.run('alc.state.set("seen", alc.llm("value?")) return alc.state.get("seen")')
    second = await host.run('return alc.state.get("seen", "nothing yet")')
    assert second["result"] == "nothing yet"
    done = await host.ok("alc_continue", session_id=first["session_id"], response="answer")
    assert done["result"] == "answer"
    assert await result(host, 'return alc.state.get("seen")') == "answer"


async def test_state_survives_a_server_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve(config(home)) as host:
        await result(host, 'alc.state.set("k", {1, "two"}) alc.state.incr("n") return true', ctx={"_ns": "p"})
        await result(host, 'alc.state.set("k", "default ns") return true')
    async with serve(config(home)) as host:
        assert await raw_result(
            host, 'return {alc.state.get("k"), alc.state.incr("n")}', ctx={"_ns": "p"}
        ) == ('[[1,"two"],2.0]')
        assert await result(host, 'return alc.state.get("k")') == "default ns"


async def test_in_memory_state_without_durability(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serve(config(home, durable=False)) as host:
        info = await host.ok("alc_info")
        assert info["durability"]["enabled"] is False
        paused = await host.run('alc.state.set("k", "v") alc.state.incr("n") return alc.llm("go")')
        # Shared with other sessions of the same server ...
        assert await raw_result(host, 'return {alc.state.get("k"), alc.state.incr("n")}') == '["v",2.0]'
        await host.ok("alc_continue", session_id=paused["session_id"], response="done")
    assert not (home / "alc.db").exists()
    # ... and gone with it.
    async with serve(config(home, durable=False)) as host:
        assert await result(host, 'return {alc.state.has("k"), alc.state.keys()}') == [False, []]


# --------------------------------------------------------------------------- concurrency

COUNT_TO = 1000
INCR_LOOP = f"""
local seen = {{}}
for i = 1, {COUNT_TO} do seen[i] = alc.state.incr("c", 1, 0) end
return seen
"""


async def run_concurrently(host: Host, codes: list[str], ctx: Any) -> list[Any]:
    results: list[Any] = [None] * len(codes)

    async def one(index: int, code: str) -> None:
        results[index] = await result(host, code, ctx=ctx)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            for index, code in enumerate(codes):
                tasks.start_soon(one, index, code)
    return results


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "in-memory"])
async def test_no_lost_update_under_concurrent_incr(tmp_path: Path, durable: bool) -> None:
    async with serve(config(tmp_path / "home", durable=durable)) as host:
        first, second = await run_concurrently(host, [INCR_LOOP, INCR_LOOP], {"_ns": "race"})
        # Every increment saw a distinct value: none was lost or applied twice.
        assert sorted(first + second) == [float(n) for n in range(1, 2 * COUNT_TO + 1)]
        assert first == sorted(first) and second == sorted(second)
        assert await raw_result(host, 'return alc.state.get("c")', ctx={"_ns": "race"}) == "2000.0"


async def test_two_concurrent_single_increments(tmp_path: Path) -> None:
    """The spec's e2e test: two concurrent ``incr("c", 1, 0)`` give {1.0, 2.0}."""
    async with serve(config(tmp_path / "home")) as host:
        code = 'return alc.state.incr("c", 1, 0)'
        results = await run_concurrently(host, [code, code], {"_ns": "e2e"})
        assert sorted(results) == [1.0, 2.0]
        assert all(isinstance(v, float) for v in results)


async def test_concurrent_set_nx_has_one_winner(tmp_path: Path) -> None:
    async with serve(config(tmp_path / "home")) as host:
        codes = [f'return alc.state.set_nx("owner", {i})' for i in range(4)]
        won = await run_concurrently(host, codes, {"_ns": "nx"})
        assert sorted(won) == [False, False, False, True]
        owner = await result(host, 'return alc.state.get("owner")', ctx={"_ns": "nx"})
        assert won[owner] is True


async def test_state_update_is_get_fn_set(host: Host) -> None:
    code = """
    local v1 = alc.state.update("list", function(t) t[#t + 1] = "a" return t end, {})
    local v2 = alc.state.update("list", function(t) t[#t + 1] = "b" return t end, {})
    return {v1, v2, alc.state.get("list")}
    """
    assert await result(host, code) == [["a"], ["a", "b"], ["a", "b"]]
