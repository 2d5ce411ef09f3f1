"""``alc.state.*``: persistent key-value state shared across sessions.

Every operation, reads and writes alike, goes through ``effects.observe``: live, it
runs against the store and its result is journaled; on replay the journaled result
comes back and the store is left alone, so a restarted session neither sees a value
another session wrote since, nor applies its own ``incr`` twice.
"""

from __future__ import annotations

from typing import Any

from alc_mcp.domain.shared_state import NotANumber
from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import Callback, as_text, lua_callback, lua_type_name
from alc_mcp.engine.port import BridgeContext

__all__ = ["DEFAULT_NAMESPACE", "check_namespace", "functions", "namespace_of"]

DEFAULT_NAMESPACE = "default"


def namespace_of(ctx: Any) -> str:
    """``ctx._ns`` when it is a string, else ``"default"``."""
    ns = ctx.get("_ns") if isinstance(ctx, dict) else None
    return ns if isinstance(ns, str) else DEFAULT_NAMESPACE


def check_namespace(ns: str) -> str:
    if not ns or "/" in ns or "\\" in ns or ".." in ns or "\0" in ns:
        raise BridgeError(f"Invalid namespace: '{ns}'")
    return ns


def _number(value: Any, what: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BridgeError(f"{what} must be a number, got {lua_type_name(value)}")
    return float(value)


def functions(context: BridgeContext) -> dict[str, Callback]:
    shared, json, effects = context.shared, context.json, context.effects
    ns = context.namespace

    def observe(op: str, key: str, compute: Any) -> Any:
        return effects.observe(f"state.{op}", compute, key=f"{check_namespace(ns)}\0{key}")

    @lua_callback("alc.state.get")
    def get(key: Any = None, default: Any = None) -> Any:
        name = as_text(key, "key")
        found, value = observe("get", name, lambda: list(shared.state_get(ns, name)))
        if found:
            return json.to_lua(value)
        return default

    @lua_callback("alc.state.set")
    def set_(key: Any = None, value: Any = None) -> None:
        name, data = as_text(key, "key"), json.from_lua(value)
        observe("set", name, lambda: shared.state_set(ns, name, data))

    @lua_callback("alc.state.keys")
    def keys() -> Any:
        return json.to_lua(observe("keys", "", lambda: shared.state_keys(check_namespace(ns))))

    @lua_callback("alc.state.delete")
    def delete(key: Any = None) -> bool:
        name = as_text(key, "key")
        return bool(observe("delete", name, lambda: shared.state_delete(ns, name)))

    @lua_callback("alc.state.has")
    def has(key: Any = None) -> bool:
        name = as_text(key, "key")
        return bool(observe("has", name, lambda: shared.state_get(ns, name)[0]))

    @lua_callback("alc.state.set_nx")
    def set_nx(key: Any = None, value: Any = None) -> bool:
        name, data = as_text(key, "key"), json.from_lua(value)
        return bool(observe("set_nx", name, lambda: shared.state_set_nx(ns, name, data)))

    @lua_callback("alc.state.incr")
    def incr(key: Any = None, delta: Any = None, default: Any = None) -> float:
        name = as_text(key, "key")
        step, start = _number(delta, "delta", 1.0), _number(default, "default", 0.0)

        def run() -> float:
            try:
                return shared.state_incr(ns, name, step, start)
            except NotANumber as exc:
                raise BridgeError(str(exc)) from None

        return float(observe("incr", name, run))

    return {
        "state.get": get,
        "state.set": set_,
        "state.keys": keys,
        "state.delete": delete,
        "state.has": has,
        "state.set_nx": set_nx,
        "state.incr": incr,
    }
