"""alc.json_encode / alc.json_decode and the Lua <-> JSON rules of spec §4.2 and §4.6
(traps 8 and 9), through real sessions."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.conftest import Host
from tests.stdlib.support import lua_error, result

pytestmark = pytest.mark.anyio


def typed(value: Any) -> Any:
    """``value`` with every number tagged by its type, so 5 and 5.0 compare different."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return (type(value).__name__, value)
    if isinstance(value, list):
        return [typed(v) for v in value]
    return {k: typed(v) for k, v in value.items()}


async def raw_result(host: Host, code: str, **arguments: Any) -> str:
    """The ``result`` member of a completed run as the JSON text the host received."""
    reply = await host.call("alc_run", code=code, **arguments)
    assert not reply.is_error, reply.text
    data = reply.json
    assert data["status"] == "completed", data
    return orjson.dumps(data["result"]).decode()


# --------------------------------------------------------------------------- null sentinel


async def test_json_null_is_a_truthy_userdata_not_nil(host: Host) -> None:
    code = """
    local v = alc.json_decode("null")
    return {type(v), v and true or false, v == nil, v == alc.json_decode("[null]")[1]}
    """
    assert await result(host, code) == ["userdata", True, False, True]


async def test_null_inside_decoded_values_and_ctx_is_the_sentinel(host: Host) -> None:
    code = """
    local t = alc.json_decode('{"a": null, "b": [null, 1]}')
    return {type(t.a), t.a ~= nil, #t.b, type(t.b[1]), type(ctx.x), ctx.x ~= nil, ctx.y == nil}
    """
    assert await result(host, code, ctx={"x": None}) == [
        "userdata",
        True,
        2,
        "userdata",
        "userdata",
        True,
        True,
    ]


async def test_the_sentinel_encodes_as_null(host: Host) -> None:
    code = """
    local null = alc.json_decode("null")
    return {alc.json_encode(null), alc.json_encode({a = null}), alc.json_encode({1, null, 3}), null}
    """
    assert await result(host, code) == ["null", '{"a":null}', "[1,null,3]", None]


async def test_without_ctx_ctx_is_the_sentinel(host: Host) -> None:
    code = "local ok, err = pcall(function() return ctx.task end) return {type(ctx), ok, tostring(err)}"
    kind, ok, message = await result(host, code)
    assert (kind, ok) == ("userdata", False)
    assert "attempt to index a userdata value" in message


# --------------------------------------------------------------------------- arrays and objects


async def test_empty_table_is_an_object(host: Host) -> None:
    assert await raw_result(host, "return {}") == "{}"
    assert await result(host, "return alc.json_encode({})") == "{}"
    assert await result(host, "return alc.json_encode({t = {}})") == '{"t":{}}'


async def test_decoded_empty_array_re_encodes_as_an_array(host: Host) -> None:
    assert await raw_result(host, 'return alc.json_decode("[]")') == "[]"
    code = """
    return {alc.json_encode(alc.json_decode("[]")), alc.json_encode(alc.json_decode("{}")),
            alc.json_encode(alc.json_decode('{"a": [], "b": {}, "c": [[]]}'))}
    """
    assert await result(host, code) == ["[]", "{}", '{"a":[],"b":{},"c":[[]]}']


async def test_a_decoded_array_stays_an_array_when_changed(host: Host) -> None:
    code = """
    local grown = alc.json_decode("[]")
    grown[1] = "x"
    local emptied = alc.json_decode("[1]")
    emptied[1] = nil
    return {grown, emptied, #alc.json_decode("[1,2,3]")}
    """
    assert await raw_result(host, code) == '[["x"],[],3]'


async def test_mixed_table_keeps_only_its_sequence(host: Host) -> None:
    assert await raw_result(host, "return {1, 2, x = 3}") == "[1,2]"
    assert await result(host, "return alc.json_encode({1, 2, x = 3})") == "[1,2]"


async def test_integer_key_outside_a_sequence_is_an_error(host: Host) -> None:
    code = 'local ok, err = pcall(alc.json_encode, {[2] = "b"}) return {ok, err}'
    ok, message = await result(host, code)
    assert ok is False
    assert message.startswith("alc.json_encode: ")
    assert "cannot encode table key 2" in message and "keys must be strings" in message
    error = await lua_error(host, 'return {[2] = "b"}')
    assert "cannot encode table key 2" in error


async def test_object_keys_come_out_sorted(host: Host) -> None:
    code = 'return alc.json_encode({b = 1, a = 2, c = {z = 1, y = 2}, A = 0, ["10"] = 1, ["9"] = 2})'
    assert await result(host, code) == '{"10":1,"9":2,"A":0,"a":2,"b":1,"c":{"y":2,"z":1}}'


async def test_strings_are_escaped(host: Host) -> None:
    code = r"""return alc.json_encode('he said "hi"' .. "\n\t\\ / \1")"""
    assert await result(host, code) == '"he said \\"hi\\"\\n\\t\\\\ / \\u0001"'


# --------------------------------------------------------------------------- integers and floats


async def test_integers_and_floats_stay_apart(host: Host) -> None:
    assert await raw_result(host, "return 1 + 2") == "3"
    assert await raw_result(host, "return 10 / 2") == "5.0"
    assert await raw_result(host, 'return alc.state.incr("k")') == "1.0"
    assert await raw_result(host, "return 7 // 2") == "3"
    assert await raw_result(host, "return math.maxinteger") == "9223372036854775807"
    code = """
    return {alc.json_encode(10 / 2), alc.json_encode(3), alc.json_encode(0.1), alc.json_encode(-2.5),
            math.type(alc.json_decode("1.0")), math.type(alc.json_decode("1")),
            alc.json_encode(alc.json_decode("[1.0, 1]"))}
    """
    assert await result(host, code) == ["5.0", "3", "0.1", "-2.5", "float", "integer", "[1.0,1]"]


async def test_float_exponents_are_written_like_serde(host: Host) -> None:
    """Trap 9: serde prints 1e21, Python prints 1e+21."""
    code = "return {alc.json_encode(1e21), alc.json_encode(1e-7), alc.json_encode(1.5e300)}"
    assert await result(host, code) == ["1e21", "1e-7", "1.5e300"]


async def test_nan_and_infinities_become_null(host: Host) -> None:
    assert await raw_result(host, "return {0/0, 1/0, -1/0, 1.5}") == "[null,null,null,1.5]"
    code = "return {alc.json_encode(0/0), alc.json_encode({x = 1/0}), alc.json_encode(-math.huge)}"
    assert await result(host, code) == ["null", '{"x":null}', "null"]


# --------------------------------------------------------------------------- errors


async def test_functions_cannot_be_encoded(host: Host) -> None:
    code = """
    local results = {}
    for i, v in ipairs({function() end, {f = print}, {1, print}}) do
      local ok, err = pcall(alc.json_encode, v)
      results[i] = {ok, err}
    end
    return results
    """
    for ok, message in await result(host, code):
        assert ok is False
        assert message == "alc.json_encode: unsupported value type `function`"
    error = await lua_error(host, "return function() end")
    assert "unsupported value type `function`" in error


async def test_threads_cannot_be_encoded_and_are_named_as_threads(host: Host) -> None:
    code = """
    local co = coroutine.create(function() end)
    local a_ok, a = pcall(alc.json_encode, {co})
    local b_ok, b = pcall(alc.json_encode, co)
    return {a_ok, a, b_ok, b}
    """
    assert await result(host, code) == [
        False,
        "alc.json_encode: unsupported value type `thread`",
        False,
        "alc.json_encode: unsupported value type `thread`",
    ]


async def test_recursive_tables_cannot_be_encoded(host: Host) -> None:
    code = "local t = {} t.self = t local ok, err = pcall(alc.json_encode, t) return {ok, err}"
    assert await result(host, code) == [False, "alc.json_encode: cannot encode recursive table"]
    error = await lua_error(host, "local t = {1} t[2] = {t} return t")
    assert "recursive" in error
    # The same table twice, but not inside itself, is fine.
    assert await raw_result(host, "local s = {1} return {s, s, {s}}") == "[[1],[1],[[1]]]"


async def test_invalid_json_is_a_lua_error(host: Host) -> None:
    code = """
    local out = {}
    for i, text in ipairs({"{bad", "", "[1,]", "{'a': 1}", "nul", "[1] x"}) do
      local ok, err = pcall(alc.json_decode, text)
      out[i] = {ok, tostring(err)}
    end
    return out
    """
    for ok, message in await result(host, code):
        assert ok is False
        assert message.startswith("alc.json_decode: invalid JSON"), message
    error = await lua_error(host, 'return alc.json_decode("{oops")')
    assert "alc.json_decode: invalid JSON" in error


# --------------------------------------------------------------------------- strings


async def test_unicode_strings_survive(host: Host) -> None:
    text = "héllo 世界 🎉 \u2028"
    code = r"""
    local s = ctx.text
    local encoded = alc.json_encode(s)
    return {s, #s, encoded, alc.json_decode(encoded) == s, alc.json_decode('"caf\\u00e9 \\ud83c\\udf89"'),
            "literal ✓"}
    """
    assert await result(host, code, ctx={"text": text}) == [
        text,
        len(text.encode()),
        orjson.dumps(text).decode(),
        True,
        "café 🎉",
        "literal ✓",
    ]


async def test_invalid_utf8_does_not_break_the_session(host: Host) -> None:
    code = r"""
    local bad = "ok\xff\xfe!"
    alc.state.set("bin", bad)
    return {bad, alc.json_encode(bad), alc.state.get("bin"), #bad}
    """
    value, encoded, stored, length = await result(host, code)
    assert value == "ok\ufffd\ufffd!"
    assert orjson.loads(encoded) == value
    assert stored == value
    assert length == 5  # Lua itself still holds the raw bytes


# --------------------------------------------------------------------------- ctx round trip

NESTED_CTX = {
    "task": "round trip",
    "nested": {
        "list": [1, 2.5, -3, {"deep": [None, True, False, "s"]}, 1.0],
        "empty_obj": {},
        "empty_list": [],
        "unicode": "héllo 世界 🎉",
        "null": None,
        "big": 2**53 + 1,
        "tiny": -0.125,
    },
    "matrix": [[1, 2], [], [[]], [{}]],
    "flag": False,
}


async def test_ctx_round_trips_unchanged(host: Host) -> None:
    reply = await host.run("return ctx", ctx=NESTED_CTX)
    assert reply["status"] == "completed", reply
    assert typed(reply["result"]) == typed(NESTED_CTX)
    text = await raw_result(host, "return ctx", ctx=NESTED_CTX)
    assert text == orjson.dumps(NESTED_CTX, option=orjson.OPT_SORT_KEYS).decode()


async def test_ctx_encodes_like_its_json(host: Host) -> None:
    encoded = await result(host, "return alc.json_encode(ctx)", ctx=NESTED_CTX)
    assert typed(orjson.loads(encoded)) == typed(NESTED_CTX)
    # Sorted keys everywhere; orjson and serde agree on every number in this ctx.
    assert encoded == orjson.dumps(NESTED_CTX, option=orjson.OPT_SORT_KEYS).decode()
