"""``alc.vars.*``: typed, constrained, versioned variables the script and the host share.

Every call is an observed effect: live, it runs against the session's variables (and
its changes are journaled); on replay the journaled result comes back unchanged, so a
restarted session sees the values it saw, at the same steps, including changes the
host made while it was paused.
"""

from __future__ import annotations

from typing import Any

import orjson

from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import Callback, as_text, is_table, lua_callback, lua_type_name, truthy
from alc_mcp.engine.port import BridgeContext

__all__ = ["functions"]


def functions(context: BridgeContext) -> dict[str, Callback]:
    port, json, effects = context.port, context.json, context.effects

    def call(op: str, key: str, args: dict[str, Any]) -> Any:
        outcome = effects.observe(f"vars.{op}", lambda: port.vars_call(op, args), key=key)
        if "error" in outcome:
            raise BridgeError(outcome["error"])
        return outcome["ok"]

    def table_arg(value: Any, what: str) -> Any:
        if value is None:
            return None
        if not is_table(value):
            raise BridgeError(f"{what} must be a table, got {lua_type_name(value)}")
        return json.from_lua(value)

    @lua_callback("alc.vars.define")
    def define(name: Any = None, var_type: Any = None, initial: Any = None, opts: Any = None) -> bytes:
        options = table_arg(opts, "opts") or {}
        if not isinstance(options, dict):
            raise BridgeError("opts must be a table of {constraints=, description=, metadata=}")
        args = {
            "name": as_text(name, "name"),
            "type": as_text(var_type, "type"),
            "initial": json.from_lua(initial),
            "constraints": options.get("constraints"),
            "description": options.get("description"),
            "metadata": options.get("metadata"),
        }
        return str(call("define", args["name"], args)).encode()

    @lua_callback("alc.vars.get")
    def get(key: Any = None) -> Any:
        name = as_text(key, "name_or_id")
        return json.to_lua(call("get", name, {"key": name}))

    @lua_callback("alc.vars.info")
    def info(key: Any = None) -> Any:
        name = as_text(key, "name_or_id")
        return json.to_lua(call("info", name, {"key": name}))

    @lua_callback("alc.vars.has")
    def has(key: Any = None) -> bool:
        name = as_text(key, "name_or_id")
        return bool(call("has", name, {"key": name}))

    @lua_callback("alc.vars.set")
    def set_(key: Any = None, value: Any = None, metadata: Any = None) -> int:
        name = as_text(key, "name_or_id")
        args = {"key": name, "value": json.from_lua(value), "metadata": table_arg(metadata, "metadata")}
        return int(call("set", name, args))

    @lua_callback("alc.vars.delete")
    def delete(key: Any = None) -> bool:
        name = as_text(key, "name_or_id")
        return bool(call("delete", name, {"key": name}))

    @lua_callback("alc.vars.list")
    def list_(pattern: Any = None) -> Any:
        glob = None if pattern is None else as_text(pattern, "pattern")
        return json.to_lua(call("list", glob or "", {"pattern": glob}))

    @lua_callback("alc.vars.get_many")
    def get_many(names: Any = None) -> Any:
        keys = table_arg(names, "names")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise BridgeError("names must be an array of variable names or ids")
        return json.to_lua(call("get_many", "\0".join(keys), {"keys": keys}))

    @lua_callback("alc.vars.set_many")
    def set_many(updates: Any = None, opts: Any = None) -> Any:
        values = table_arg(updates, "updates")
        if not isinstance(values, dict):
            raise BridgeError("updates must be a table of name = value")
        atomic = truthy(opts[b"atomic"]) if is_table(opts) else False
        key = orjson.dumps(sorted(values)).decode()
        return json.to_lua(call("set_many", key, {"updates": values, "atomic": atomic}))

    return {
        "vars.define": define,
        "vars.get": get,
        "vars.info": info,
        "vars.has": has,
        "vars.set": set_,
        "vars.delete": delete,
        "vars.list": list_,
        "vars.get_many": get_many,
        "vars.set_many": set_many,
    }
