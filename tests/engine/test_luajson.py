"""Lua <-> JSON conversion (spec §4.2, §4.6, traps 8 and 9).

Most cases build their values in Lua, because the rules are about what a script sees
and produces, and lupa's Python-side views of Lua values hide details (raw length,
metatables, threads) that the conversion must get right.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lupa import lua54

from alc_mcp.domain.jsonfmt import dumps_compact
from alc_mcp.engine.luajson import MAX_DEPTH, LuaJson, LuaNull, LuaValueError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def deny_all(obj: Any, attr_name: Any, is_setting: bool) -> Any:
    """The engine's attribute filter: Lua must not reach into any Python object."""
    raise AttributeError("attribute access denied")


def make_runtime() -> lua54.LuaRuntime:
    return lua54.LuaRuntime(
        encoding=None,
        register_eval=False,
        register_builtins=False,
        unpack_returned_tuples=True,
        attribute_filter=deny_all,
    )


def make_converter(runtime: lua54.LuaRuntime) -> LuaJson:
    """A converter whose decode/encode are reachable from Lua, like alc.json_decode/json_encode."""
    converter = LuaJson(runtime)
    lua_globals = runtime.globals()
    lua_globals[b"json_decode"] = converter.decode
    lua_globals[b"json_encode"] = converter.encode
    lua_globals[b"null"] = converter.null
    lua_globals[b"array_mt"] = converter.array_mt
    return converter


@pytest.fixture
def runtime() -> lua54.LuaRuntime:
    return make_runtime()


@pytest.fixture
def lj(runtime: lua54.LuaRuntime) -> LuaJson:
    return make_converter(runtime)


@pytest.fixture(scope="module")
def shared_lj() -> LuaJson:
    """One runtime for the property tests (hypothesis refuses function-scoped fixtures)."""
    return make_converter(make_runtime())


def dumps(value: Any) -> bytes:
    """Canonical JSON text: equal texts mean equal values *and* equal int/float types."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


NESTED_LUA = """
local depth = ...
local root = {}
local cur = root
for _ = 2, depth do
    local child = {}
    cur[1] = child
    cur = child
end
return root
"""


# --------------------------------------------------------------------------- Lua -> JSON


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # §4.6 result examples
        ("return 1 + 2", b"3"),
        ("return 10 / 2", b"5.0"),
        ("return nil", b"null"),
        ("return", b"null"),
        ("return {}", b"{}"),
        ("return json_decode('[]')", b"[]"),
        # numbers
        ("return 2^53", b"9007199254740992.0"),
        ("return math.maxinteger", b"9223372036854775807"),
        ("return math.mininteger", b"-9223372036854775808"),
        ("return 0/0", b"null"),
        ("return math.huge", b"null"),
        ("return {-math.huge, 0/0, 1.5}", b"[null,null,1.5]"),
        ("return json_decode('[1.0, 1, 2.5, -0.0]')", b"[1.0,1,2.5,-0.0]"),
        # scalars
        ("return true", b"true"),
        ("return 'h\\195\\169llo'", '"héllo"'.encode()),
        ("return null", b"null"),
        # arrays vs objects (trap 8)
        ("return {1, 2, x = 3}", b"[1,2]"),
        ("local t = {} t[1] = 'a' t.k = 'v' return t", b'["a"]'),
        ("return {1, nil, 3}", b"[1,null,3]"),
        ("local t = json_decode('[]') t.x = 1 return t", b"[]"),
        ("return {a = {}, b = json_decode('[]'), c = json_decode('{}')}", b'{"a":{},"b":[],"c":{}}'),
        ("return {b = {d = 1, c = 2}, a = true}", b'{"a":true,"b":{"c":2,"d":1}}'),
        ("return {['1'] = 'string key'}", b'{"1":"string key"}'),
        ("local s = {1} return {a = s, b = s}", b'{"a":[1],"b":[1]}'),
        # foreign metatables: contents decide, metamethods are ignored
        ("return setmetatable({}, {__name = 'x'})", b"{}"),
        ("return setmetatable({}, {__len = function() return 3 end})", b"{}"),
        (
            "return setmetatable({1, 2}, {__index = function() return 0 end,"
            " __len = function() return 5 end})",
            b"[1,2]",
        ),
        ("return setmetatable({a = 1}, {__pairs = function() error('no pairs') end})", b'{"a":1}'),
    ],
)
def test_encode_lua_values(runtime: lua54.LuaRuntime, lj: LuaJson, code: str, expected: bytes) -> None:
    assert lj.encode(runtime.execute(code)) == expected


def test_int_and_float_keep_their_python_types(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    assert type(lj.from_lua(runtime.execute("return 1 + 2"))) is int
    assert type(lj.from_lua(runtime.execute("return 10 / 2"))) is float
    assert lj.from_lua(runtime.execute("return {1, 2.0, true}")) == [1, 2.0, True]
    assert [type(x) for x in lj.from_lua(runtime.execute("return {1, 2.0, true}"))] == [int, float, bool]


def test_json_encode_callable_from_lua(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    assert runtime.execute("return json_encode({z = 1, a = {10 / 2}})") == b'{"a":[5.0],"z":1}'


def test_conversion_inside_a_coroutine(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    # Scripts run in coroutines; the helpers are then called while the main thread is suspended.
    code = """
        return coroutine.wrap(function()
            local t = json_decode('{"a":[1,null]}')
            coroutine.yield(json_encode({t, 10 / 2}))
        end)()
    """
    assert runtime.execute(code) == b'[{"a":[1,null]},5.0]'


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("return {[2] = 'b'}", "cannot encode table key 2 (object keys must be strings)"),
        ("return {[1.5] = 'x'}", "cannot encode table key 1.5 (object keys must be strings)"),
        ("return {[true] = 'x'}", "cannot encode table key true (object keys must be strings)"),
        ("return {[{}] = 'x'}", "cannot encode table key of type `table` (object keys must be strings)"),
        ("return print", "unsupported value type `function`"),
        ("return {print}", "unsupported value type `function`"),
        ("return {f = function() end}", "unsupported value type `function`"),
        ("return {coroutine.create(function() end)}", "unsupported value type `thread`"),
        ("return {co = coroutine.running()}", "unsupported value type `thread`"),
        ("return io.stdout", "unsupported value type `userdata`"),
        ("return {a = {io.stdout}}", "unsupported value type `userdata`"),
        ("local t = {} t.self = t return t", "cannot encode recursive table"),
        ("local t = {} t[1] = t return t", "cannot encode recursive table"),
        ("local a, b = {}, {} a.b = b b.a = {b} return a", "cannot encode recursive table"),
        ("local t = json_decode('[]') t[1] = {t} return t", "cannot encode recursive table"),
    ],
)
def test_encode_errors(runtime: lua54.LuaRuntime, lj: LuaJson, code: str, message: str) -> None:
    value = runtime.execute(code)
    with pytest.raises(LuaValueError) as excinfo:
        lj.encode(value)
    assert str(excinfo.value) == message


def test_dropped_array_extras_are_not_checked(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    # mlua drops non-sequence keys of arrays before looking at their values.
    assert lj.encode(runtime.execute("return {1, f = print, [{}] = 2}")) == b"[1]"


def test_python_objects_are_unsupported(lj: LuaJson) -> None:
    with pytest.raises(LuaValueError, match="unsupported value type `userdata`"):
        lj.from_lua(object())
    with pytest.raises(LuaValueError, match="unsupported value type `userdata`"):
        lj.from_lua(LuaNull())  # only this converter's sentinel is null


def test_nesting_limit(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    build = runtime.execute(f"return function(...) {NESTED_LUA} end")
    # The innermost table is empty, hence an object.
    encoded = lj.encode(build(MAX_DEPTH))
    assert encoded == b"[" * (MAX_DEPTH - 1) + b"{}" + b"]" * (MAX_DEPTH - 1)
    with pytest.raises(LuaValueError, match="deeper than 200"):
        lj.encode(build(MAX_DEPTH + 1))
    with pytest.raises(LuaValueError, match="deeper than 200"):
        lj.encode(build(5000))


def test_invalid_utf8_is_replaced_not_raised(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    # A script cutting a multibyte character in half.
    value = runtime.execute("local s = string.sub('\\195\\169t\\195\\169', 1, 4) return {s, [s] = 1}")
    assert lj.from_lua(value) == ["ét\ufffd"]
    assert lj.from_lua(runtime.execute("return {[string.sub('\\195\\169', 1, 1)] = 1}")) == {"\ufffd": 1}
    encoded = runtime.execute("return json_encode(string.sub('\\195\\169', 1, 1))")
    assert orjson.loads(encoded) == "\ufffd"
    assert runtime.execute("return json_decode(json_encode('\\255'))") == "\ufffd".encode()


# --------------------------------------------------------------------------- null sentinel


def test_null_sentinel_is_truthy_userdata(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    kind, truthy, not_nil, same = runtime.execute(
        "local n = json_decode('null') "
        "return type(n), n and true or false, n ~= nil, rawequal(n, json_decode('[null]')[1])"
    )
    assert (kind, truthy, not_nil, same) == (b"userdata", True, True, True)
    assert lj.to_lua(None) is lj.null
    assert lj.from_lua(lj.null) is None


def test_null_field_survives_round_trip(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    present, kind, is_null, encoded = runtime.execute(
        "local t = json_decode('{\"a\":null}') "
        "return t.a ~= nil, type(t.a), rawequal(t.a, null), json_encode(t)"
    )
    assert (present, kind, is_null, encoded) == (True, b"userdata", True, b'{"a":null}')


def test_null_sentinel_denies_attribute_access(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    ok, _ = runtime.execute("return pcall(function() return json_decode('null').task end)")
    assert ok is False


# --------------------------------------------------------------------------- JSON -> Lua


def test_decoded_arrays_carry_array_mt(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    tagged, plain, name = runtime.execute(
        "return rawequal(getmetatable(json_decode('[1]')), array_mt), "
        "getmetatable(json_decode('{\"a\":[]}')) == nil, array_mt.__name"
    )
    assert (tagged, plain, name) == (True, True, b"alc.array")


@pytest.mark.parametrize(
    ("text", "lua_type"),
    [
        ("1", b"integer"),
        ("1.0", b"float"),
        ("1e2", b"float"),
        ("-9223372036854775808", b"integer"),
        ("9223372036854775807", b"integer"),
        ("9223372036854775808", b"float"),
        ("-9223372036854775809", b"float"),
        ("123456789012345678901234567890", b"float"),
    ],
)
def test_decode_number_kinds(runtime: lua54.LuaRuntime, lj: LuaJson, text: str, lua_type: bytes) -> None:
    assert runtime.execute(f"return math.type(json_decode('{text}'))") == lua_type


def test_decode_strings_are_bytes_and_accepts_str_input(lj: LuaJson) -> None:
    table = lj.decode('{"k": "v\\u00e9", "n": [true, false]}')
    assert table[b"k"] == "vé".encode()
    assert lj.from_lua(table) == {"k": "vé", "n": [True, False]}


@pytest.mark.parametrize(
    "text", [b"", b"{", b"[1,]", b"NaN", b"1e400", b"[1] 2", b"'a'", b'"\xff"', b"{1: 2}"]
)
def test_decode_rejects_invalid_json(lj: LuaJson, text: bytes) -> None:
    with pytest.raises(LuaValueError, match=r"^invalid JSON: "):
        lj.decode(text)


def test_decode_error_reaches_lua_as_error(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    # lupa hands the Python exception itself to Lua as the error value (a userdata).
    ok, kind, message = runtime.execute(
        "local ok, err = pcall(json_decode, '{') return ok, type(err), tostring(err)"
    )
    assert (ok, kind) == (False, b"userdata")
    assert message.startswith(b"invalid JSON: ")


def test_to_lua_conversions(runtime: lua54.LuaRuntime, lj: LuaJson) -> None:
    kinds = runtime.execute(
        "return function(t) return math.type(t[1]), math.type(t[2]), type(t[3]), type(t[4]), #t end"
    )
    assert kinds(lj.to_lua([1, 1.0, "s", None])) == (b"integer", b"float", b"string", b"userdata", 4)
    assert lj.from_lua(lj.to_lua((1, [2], {"a": ()}))) == [1, [2], {"a": []}]
    assert lj.from_lua(lj.to_lua(2**64)) == float(2**64)


def test_to_lua_rejects_non_json(lj: LuaJson) -> None:
    with pytest.raises(LuaValueError, match="object keys must be strings"):
        lj.to_lua({1: "a"})
    with pytest.raises(LuaValueError, match="type `set`"):
        lj.to_lua({"a": {1}})
    nested: list[Any] = []
    for _ in range(MAX_DEPTH):
        nested = [nested]
    with pytest.raises(LuaValueError, match="deeper than 200"):
        lj.to_lua(nested)
    assert lj.encode(lj.to_lua(nested[0])) == b"[" * MAX_DEPTH + b"]" * MAX_DEPTH


def test_decode_nesting_limit(lj: LuaJson) -> None:
    with pytest.raises(LuaValueError, match="deeper than 200"):
        lj.decode(b"[" * 201 + b"]" * 201)


# --------------------------------------------------------------------------- sandbox independence


def test_works_after_globals_are_removed() -> None:
    runtime = make_runtime()
    lj = make_converter(runtime)
    runtime.execute(
        "string, math, debug, rawlen, rawequal, getmetatable, setmetatable, next, pairs, type = "
        "nil, nil, nil, nil, nil, nil, nil, nil, nil, nil"
    )
    value = runtime.execute("return {a = json_decode('[1, null, {}]'), b = {x = 10 / 2}}")
    assert lj.encode(value) == b'{"a":[1,null,{}],"b":{"x":5.0}}'
    with pytest.raises(LuaValueError, match="recursive"):
        lj.encode(runtime.execute("local t = {} t[1] = t return t"))


# --------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=16,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_to_lua_from_lua_round_trip(shared_lj: LuaJson, value: Any) -> None:
    assert dumps(shared_lj.from_lua(shared_lj.to_lua(value))) == dumps(value)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_encode_matches_orjson_and_decode_round_trips(shared_lj: LuaJson, value: Any) -> None:
    encoded = shared_lj.encode(shared_lj.to_lua(value))
    # The tool-result format: orjson's output with serde's exponents (1e21, not 1e+21).
    assert encoded == dumps_compact(value).encode()
    assert shared_lj.encode(shared_lj.decode(encoded)) == encoded
    assert dumps(shared_lj.from_lua(shared_lj.decode(encoded))) == dumps(value)
