"""Lua <-> JSON conversion with algocline's (mlua/serde) rules, spec §4.2.

lupa's own table->dict conversion cannot tell `{}` from `[]`, has no notion of a JSON
null that is distinct from nil, and follows metamethods. This module walks Lua values
itself so that:

* JSON null is a truthy userdata sentinel (`LuaJson.null`), never nil;
* arrays decoded from JSON carry a marker metatable (`LuaJson.array_mt`), so
  `json_decode("[]")` re-encodes as `[]` while an empty plain table encodes as `{}`;
* Lua integers and floats stay distinct in both directions (`10/2` -> `5.0`);
* all table access is raw, so scripts' `__index`/`__pairs`/`__len` cannot fake content.

The runtime must be created with ``encoding=None``: Lua strings arrive as ``bytes`` and
strings are handed to Lua as UTF-8 ``bytes`` (a Python ``str`` would become userdata).
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from lupa import lua54

from alc_mcp.domain.jsonfmt import dumps_compact

__all__ = ["MAX_DEPTH", "LuaJson", "LuaNull", "LuaValueError"]

#: Deepest container nesting accepted in either direction. It keeps the recursive walk far
#: from Python's recursion limit and below orjson's own serialisation limit (255).
MAX_DEPTH = 200

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# Compiled once per runtime while the standard library is still intact: the sandbox
# later removes or wraps globals (`debug`, `getmetatable`, ...), and scripts may
# overwrite any global, so every function the helpers use is captured as an upvalue.
#
# `inspect(t)` answers everything Python needs about a table in a single Lua call:
# its identity (for cycle detection; lupa wrappers are not identity-stable), its raw
# length, whether it is an array, and the Lua type of the first value that cannot be
# encoded. The type check has to happen in Lua because lupa hands a not-yet-started
# coroutine to Python as a function wrapper, so Python alone would misname it.
_HELPERS_LUA = """
local null = ...
local format, rawlen, rawequal, getmetatable, setmetatable, next, type, math_type =
    string.format, rawlen, rawequal, getmetatable, setmetatable, next, type, math.type

local array_mt = {__name = "alc.array"}

local function unsupported(v)
    local tv = type(v)
    if tv == "function" or tv == "thread" or (tv == "userdata" and not rawequal(v, null)) then
        return tv
    end
    return nil
end

local function inspect(t)
    local n = rawlen(t)
    local is_array = n > 0 or rawequal(getmetatable(t), array_mt)
    for k, v in next, t do
        local bad = unsupported(v)
        -- Arrays only encode 1..n; anything else in them is dropped, so it cannot fail.
        if bad and (not is_array or (math_type(k) == "integer" and k >= 1 and k <= n)) then
            return format("%p", t), n, is_array, bad
        end
    end
    return format("%p", t), n, is_array, nil
end

local function mark_array(t)
    return setmetatable(t, array_mt)
end

return array_mt, inspect, mark_array
"""


class LuaValueError(Exception):
    """A value cannot cross between Lua and JSON; the message says what was wrong."""


class LuaNull:
    """Type of the JSON null sentinel seen by Lua.

    Lua sees the instance as a truthy userdata (``type(x) == "userdata"``), exactly like
    mlua's NULL light userdata, so `ctx.task` on a null ctx fails with an index error
    instead of silently yielding nil. lupa reuses one userdata per Python object, so
    sentinels compare equal inside Lua.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        # Also what Lua's tostring() shows for the sentinel.
        return "null"


def lua_type_of(value: Any) -> str:
    """Lua's name for a value Python cannot convert; non-Lua Python objects are userdata to Lua.

    lupa hands a coroutine that has not started yet to Python as a callable wrapper that
    ``lua_type`` calls a function; to Lua it is a thread."""
    if type(value).__name__ == "_LuaCoroutineFunction":
        return "thread"
    return lua54.lua_type(value) or "userdata"


def _describe_key(key: Any) -> str:
    """Render an offending table key the way a Lua programmer would recognise it."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int | float):
        return repr(key)
    return f"of type `{lua_type_of(key)}`"


class LuaJson:
    """Converts between one Lua runtime's values and Python JSON values.

    Construct it right after the runtime, before the sandbox strips globals: the Lua
    helpers it compiles capture the standard functions they need at that moment.
    """

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self.null: LuaNull = LuaNull()
        self.array_mt: Any
        self.array_mt, self._inspect, self._mark_array = runtime.execute(_HELPERS_LUA, self.null)

    # ----------------------------------------------------------------- Lua -> Python

    def from_lua(self, value: Any) -> Any:
        """Convert a Lua value (as lupa returns it) to a Python JSON value.

        Raises LuaValueError for functions, threads, foreign userdata, non-string object
        keys, recursive tables and nesting deeper than MAX_DEPTH.
        """
        return self._from_lua(value, 0, set())

    def _from_lua(self, value: Any, depth: int, path: set[bytes]) -> Any:
        # Exact type checks: lupa returns plain bool/int/float/bytes, and bool must not be
        # mistaken for int.
        cls = type(value)
        if value is None or value is self.null:
            return None
        if cls is bool or cls is int:
            return value
        if cls is float:
            return value if math.isfinite(value) else None
        if cls is bytes:
            return value.decode("utf-8", "replace")
        if lua54.lua_type(value) == "table":
            return self._table_from_lua(value, depth + 1, path)
        raise LuaValueError(f"unsupported value type `{lua_type_of(value)}`")

    def _table_from_lua(self, table: Any, depth: int, path: set[bytes]) -> list[Any] | dict[str, Any]:
        ident, length, is_array, bad_type = self._inspect(table)
        if ident in path:
            raise LuaValueError("cannot encode recursive table")
        if bad_type is not None:
            raise LuaValueError(f"unsupported value type `{bad_type.decode()}`")
        if depth > MAX_DEPTH:
            raise LuaValueError(f"cannot encode tables nested deeper than {MAX_DEPTH} levels")
        path.add(ident)
        result: list[Any] | dict[str, Any]
        # `items()` iterates with lua_next: raw, in one pass, and without __pairs.
        if is_array:
            # Slots that stay None are nil holes inside 1..rawlen: they encode as null.
            result = [None] * length
            for key, item in table.items():
                if type(key) is int and 1 <= key <= length:
                    result[key - 1] = self._from_lua(item, depth, path)
        else:
            result = {}
            for key, item in table.items():
                if type(key) is not bytes:
                    raise LuaValueError(
                        f"cannot encode table key {_describe_key(key)} (object keys must be strings)"
                    )
                result[key.decode("utf-8", "replace")] = self._from_lua(item, depth, path)
        path.discard(ident)
        return result

    def encode(self, value: Any) -> bytes:
        """Compact JSON with sorted keys, as `alc.json_encode` returns it."""
        return dumps_compact(self.from_lua(value)).encode()

    # ----------------------------------------------------------------- Python -> Lua

    def to_lua(self, value: Any) -> Any:
        """Convert a Python JSON value to a Lua value.

        Strings become UTF-8 bytes, lists become tables tagged with `array_mt`, dicts become
        plain tables and None becomes the null sentinel. Integers outside int64 become floats
        because Lua integers cannot hold them.
        """
        return self._to_lua(value, 0)

    def _to_lua(self, value: Any, depth: int) -> Any:
        if value is None:
            return self.null
        if isinstance(value, bool | float):
            return value
        if isinstance(value, int):
            return int(value) if _INT64_MIN <= value <= _INT64_MAX else float(value)
        if isinstance(value, str):
            # "replace" only matters for lone surrogates, which JSON text cannot produce.
            return value.encode("utf-8", "replace")
        if isinstance(value, list | tuple | dict):
            if depth >= MAX_DEPTH:
                raise LuaValueError(f"cannot convert values nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                return self._runtime.table_from(
                    {self._lua_key(k): self._to_lua(v, depth + 1) for k, v in value.items()}
                )
            return self._mark_array(self._runtime.table_from([self._to_lua(v, depth + 1) for v in value]))
        raise LuaValueError(f"cannot convert Python value of type `{type(value).__name__}` to Lua")

    @staticmethod
    def _lua_key(key: Any) -> bytes:
        """JSON object keys are strings; anything else would build a table that encodes differently."""
        if not isinstance(key, str):
            raise LuaValueError(f"object keys must be strings, got `{type(key).__name__}`")
        return key.encode("utf-8", "replace")

    def decode(self, text: bytes | str) -> Any:
        """Parse strict JSON (what `alc.json_decode` accepts) and convert it to Lua."""
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise LuaValueError(f"invalid JSON: {exc}") from None
        return self.to_lua(data)
