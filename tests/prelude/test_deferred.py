"""The alc table is built in parts on first use (Layer 0's sub-tables such as alc.math,
and Layer 1, the prelude), and a script cannot tell when: every name is there whichever
way it is first reached, pairs walks the whole library, keys the script set first keep
the script's value, and the memory is only spent by scripts that use a part."""

from __future__ import annotations

import pytest

from alc_mcp.engine import worker
from alc_mcp.engine.prelude import plan
from tests.conftest import Host
from tests.prelude.support import answer, completed

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "first",
    [
        "alc.map({1}, function(x) return x end)",  # a call
        "alc.state.update('k', function(v) return (v or 0) + 1 end)",  # a Layer 0 sub-table it extends
        "setmetatable({}, {__index = alc}).fingerprint('x')",  # through another table's __index
        "(function() for _ in pairs(alc) do end end)()",  # a walk
        "pcall(function() return alc.vote({'a'}) end)",  # inside pcall
        "coroutine.wrap(function() return alc.parse_score('Score: 3') end)()",  # inside a coroutine
    ],
)
async def test_every_way_of_reaching_layer_1_first_loads_all_of_it(host: Host, first: str) -> None:
    code = f"""
    {first}
    return {{alc.map ~= nil, type(alc.state.update), alc.fingerprint('a') == alc.fingerprint('a'),
             alc.parse_score('Score: 7'), getmetatable(alc) == nil, getmetatable(alc.state) == nil}}
    """
    assert await completed(host, code) == [True, "function", True, 7, True, True]


async def test_pairs_lists_layer_1_before_anything_used_it(host: Host) -> None:
    code = """
    local names = {}
    for k in pairs(alc) do names[#names + 1] = k end
    local state = {}
    for k in pairs(alc.state) do state[#state + 1] = k end
    return {names, state}
    """
    names, state = await completed(host, code)
    assert {"llm", "map", "fingerprint", "pipe", "tuning", "eval", "llm_json"} <= set(names)
    assert {"get", "set", "update"} <= set(state)


async def test_keys_the_script_set_first_keep_its_values(host: Host) -> None:
    code = """
    alc.map = function() return "mine" end
    alc.state.update = "kept"
    alc.filter = nil
    local vote = alc.vote({"x", "x", "y"}).winner  -- loads Layer 1
    return {alc.map(), alc.state.update, alc.filter == nil, vote, type(alc.reduce)}
    """
    assert await completed(host, code) == ["mine", "kept", True, "x", "function"]


async def test_layer_1_uses_the_wrapped_layer_0_when_loaded_late(host: Host) -> None:
    # Layer 1 looks Layer 0 up at call time (as algocline does): a mock installed before
    # the load is the one alc.llm_safe calls.
    code = """
    alc.llm = function(prompt) return "mocked " .. prompt end
    return alc.llm_safe("q", nil, "default")
    """
    assert await completed(host, code) == "mocked q"


async def test_errors_inside_a_late_loaded_function_name_the_script_line(host: Host) -> None:
    reply = await host.run("local x = 1\nlocal r = alc.map(nil, 5)\nreturn r")
    assert reply["status"] == "error", reply
    assert "alc_run:2:" in reply["error"], reply["error"]


@pytest.mark.parametrize(("part", "kib"), [("alc.map", 10), ("alc.math", 3)])
async def test_a_session_that_never_uses_a_part_does_not_hold_it(host: Host, part: str, kib: int) -> None:
    code = f"""
    collectgarbage() collectgarbage()
    local before = collectgarbage("count")
    local _ = {part}
    collectgarbage() collectgarbage()
    return {{before, collectgarbage("count")}}
    """
    before, after = await completed(host, code)
    assert after - before > kib, (before, after)  # what the part costs once built


@pytest.mark.parametrize("first", ["alc.math.mean({1, 2})", "#alc.card", "alc.vars", "pairs(alc)"])
async def test_layer_0_sub_tables_are_complete_whenever_first_reached(host: Host, first: str) -> None:
    code = f"""
    local _ = {first}
    local n = 0
    for _, f in pairs(alc.math) do n = n + (type(f) == "function" and 1 or 0) end
    local m = alc.math.mean({{1, 2, 3}})
    return {{n > 30, m, type(alc.card.get), type(alc.vars.get), type(alc.stats.record)}}
    """
    assert await completed(host, code) == [True, 2.0, "function", "function", "function"]


async def test_a_sub_table_the_script_replaced_first_stays_the_scripts(host: Host) -> None:
    code = """
    alc.math = {mean = function() return "mine" end}
    local _ = alc.map  -- builds the rest
    local names = {}
    for k in pairs(alc) do names[#names + 1] = k end
    return {alc.math.mean({1}), alc.math.median == nil, #names > 40}
    """
    assert await completed(host, code) == ["mine", True, True]


async def test_a_prelude_loaded_at_start_still_leaves_sub_tables_for_later(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "plan", lambda _names: None)  # as for a prelude that cannot wait
    code = """
    local loaded = rawget(alc, "map") ~= nil
    return {loaded, alc.state.update ~= nil, alc.math.mean({4, 6}), alc.fingerprint("a") ~= nil}
    """
    assert await completed(host, code) == [True, True, 5.0, True]


async def test_a_paused_session_resumes_into_layer_1(host: Host) -> None:
    paused = await host.run("local a = alc.llm('q') return alc.json_extract(a)")
    done = await answer(host, paused, 'text ```json\n{"k": 1}\n```')
    assert done["result"] == {"k": 1}


def test_a_prelude_that_replaces_layer_0_is_loaded_at_start() -> None:
    # If Layer 1 redefined a Layer 0 function, deferring it would change which one a
    # script calls before the load; such a prelude is not deferred.
    assert plan(("llm", "json_decode", "state.get")) is not None
    assert plan(("llm", "json_decode", "fingerprint")) is None
