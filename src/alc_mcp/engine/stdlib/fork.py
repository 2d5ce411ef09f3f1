"""``alc.fork(strategies, ctx, opts?)``: run packages side by side (see engine/fork.py)."""

from __future__ import annotations

import re
from typing import Any

from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import Callback, is_table, lua_callback, lua_type_name
from alc_mcp.engine.port import BridgeContext

__all__ = ["MODULE_NAME", "ON_ERROR", "STRATEGY_NAME", "functions"]

#: The names require() accepts for a top-level package.
STRATEGY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: alc.fork_each also takes dotted module names.
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
#: "fail" aborts too: that is what its name promises (algocline treats it as "skip").
#: Anything else is refused rather than silently skipping, as alc.pipe does.
ON_ERROR = {None: False, b"skip": False, b"continue": False, b"abort": True, b"fail": True}


def functions(context: BridgeContext) -> dict[str, Callback]:
    json = context.json

    @lua_callback("alc.fork")
    def fork(strategies: Any = None, ctx: Any = None, opts: Any = None) -> Any:
        if not is_table(strategies) or len(strategies) == 0:
            raise BridgeError("strategies must be a non-empty array")
        names = []
        for index in range(1, len(strategies) + 1):
            name = strategies[index]
            text = name.decode("utf-8", "replace") if isinstance(name, bytes) else lua_type_name(name)
            if not isinstance(name, bytes) or not STRATEGY_NAME.fullmatch(text):
                raise BridgeError(
                    f"invalid strategy name '{text}' (only alphanumeric and underscore allowed)"
                )
            names.append(text)
        if not is_table(ctx):
            raise BridgeError(f"ctx must be a table, got {lua_type_name(ctx)}")
        if opts is not None and not is_table(opts):
            raise BridgeError(f"opts must be a table, got {lua_type_name(opts)}")
        on_error = opts[b"on_error"] if opts is not None else None
        if on_error not in ON_ERROR:
            shown = (
                on_error.decode("utf-8", "replace")
                if isinstance(on_error, bytes)
                else lua_type_name(on_error)
            )
            raise BridgeError(f'unknown on_error \'{shown}\' (use "abort", "fail", "skip" or "continue")')
        outcomes = context.forker.run(names, json.from_lua(ctx), abort_on_error=ON_ERROR[on_error])
        return json.to_lua([outcome.to_json() for outcome in outcomes])

    @lua_callback("alc.fork_each")
    def fork_each(items: Any = None, opts: Any = None) -> Any:
        """Like alc.fork, but each child has its own package and ctx:
        ``alc.fork_each({{strategy = "cot", ctx = {...}}, ...})`` (the eval runner's way to
        run many cases in one pause). Package names may be dotted (``evalframe.child``)."""
        if not is_table(items) or len(items) == 0:
            raise BridgeError("items must be a non-empty array of {strategy = name, ctx = table}")
        names, contexts = [], []
        for index in range(1, len(items) + 1):
            item = items[index]
            if not is_table(item):
                raise BridgeError(f"items[{index}] must be a table, got {lua_type_name(item)}")
            name = item[b"strategy"]
            text = name.decode("utf-8", "replace") if isinstance(name, bytes) else lua_type_name(name)
            if not isinstance(name, bytes) or not MODULE_NAME.fullmatch(text):
                raise BridgeError(f"items[{index}]: invalid strategy name '{text}'")
            child_ctx = item[b"ctx"]
            if not is_table(child_ctx):
                raise BridgeError(f"items[{index}].ctx must be a table, got {lua_type_name(child_ctx)}")
            names.append(text)
            contexts.append(json.from_lua(child_ctx))
        if opts is not None and not is_table(opts):
            raise BridgeError(f"opts must be a table, got {lua_type_name(opts)}")
        on_error = opts[b"on_error"] if opts is not None else None
        if on_error not in ON_ERROR:
            raise BridgeError('unknown on_error (use "abort", "fail", "skip" or "continue")')
        outcomes = context.forker.run(names, None, abort_on_error=ON_ERROR[on_error], contexts=contexts)
        return json.to_lua([outcome.to_json() for outcome in outcomes])

    return {"fork": fork, "fork_each": fork_each}
