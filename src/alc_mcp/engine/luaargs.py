"""Turning Lua arguments into Python values the way Lua's own C API would, and
adapting Python functions to the calling protocol of the sandbox's ``wrap``.

Callbacks never raise into Lua: they return ``(True, ...)``, ``(False, message)`` for
an ordinary Lua error, or ``(None, message)`` for a fatal one, and the Lua wrapper
raises. That keeps errors plain strings with the caller's line, and keeps Python
exceptions (which Lua would see as opaque userdata) out of the script.
"""

from __future__ import annotations

import math
import sys
import traceback
from collections.abc import Callable
from typing import Any

from lupa import lua54

from alc_mcp.domain.query import DEFAULT_MAX_TOKENS
from alc_mcp.engine.errors import BridgeError, BudgetExceeded, FatalError
from alc_mcp.engine.luajson import LuaNull, LuaValueError, lua_type_of

__all__ = [
    "MAX_U32",
    "Callback",
    "as_count",
    "as_text",
    "describe",
    "is_table",
    "lua_callback",
    "lua_number_text",
    "lua_type_name",
    "max_tokens_option",
    "truthy",
]

MAX_U32 = 2**32 - 1

Callback = Callable[..., tuple[Any, ...]]


def lua_callback(name: str) -> Callable[[Callable[..., Any]], Callback]:
    """Adapt a Python function to the (ok, ...) protocol the Lua wrapper expects."""

    def decorate(fn: Callable[..., Any]) -> Callback:
        def call(*args: Any) -> tuple[Any, ...]:
            try:
                result = fn(*args)
            except FatalError as exc:
                return (None, str(exc).encode())
            except BudgetExceeded as exc:
                return (False, str(exc).encode())
            except (BridgeError, LuaValueError) as exc:
                return (False, f"{name}: {exc}".encode())
            except Exception as exc:  # a bug of ours must not look like userdata garbage in Lua
                traceback.print_exc(file=sys.stderr)
                return (False, f"{name}: internal error: {type(exc).__name__}: {exc}".encode())
            if isinstance(result, tuple):
                return (True, *result)
            return (True, result)

        # Only the name, for tracebacks: every VM wraps ~90 callbacks, and copying the
        # full metadata with functools.wraps was a fifth of a session's start-up.
        call.__name__ = call.__qualname__ = fn.__name__
        return call

    return decorate


def lua_type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, bytes):
        return "string"
    if isinstance(value, LuaNull):
        return "userdata"
    return lua_type_of(value)


def lua_number_text(value: float) -> str:
    """How Lua 5.4's tostring renders a float (``3.0``, ``0.1``, ``1e+100``)."""
    if math.isnan(value):
        return "nan" if math.copysign(1.0, value) > 0 else "-nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.14g}"
    if all(ch in "-0123456789" for ch in text):
        text += ".0"
    return text


def as_text(value: Any, what: str) -> str:
    """Lua's string coercion: strings as they are, numbers as Lua prints them."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return lua_number_text(value)
    raise BridgeError(f"{what} must be a string, got {lua_type_name(value)}")


def as_count(value: Any, what: str) -> int:
    """A non-negative integer (integral floats accepted, like Lua's own conversion)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise BridgeError(f"{what} must be a non-negative integer, got {describe(value)}")


def describe(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{lua_type_name(value)} {value!r}"
    return lua_type_name(value)


def is_table(value: Any) -> bool:
    return (
        value is not None
        and not isinstance(value, bytes | int | float | bool | LuaNull)
        and (lua54.lua_type(value) == "table")
    )


def truthy(value: Any) -> bool:
    return value is not None and value is not False


def max_tokens_option(value: Any) -> int:
    """Option fields of the wrong type fall back to the default, as in algocline."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_U32:
        return value
    return DEFAULT_MAX_TOKENS
