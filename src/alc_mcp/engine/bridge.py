"""Layer 0: the ``alc.*`` functions implemented in Python.

Each function is a Python callback wrapped into a genuine Lua function by the
sandbox (``type(alc.llm) == "function"``, as packages feature-test). Callbacks never
raise into Lua: they return ``(True, ...)``, ``(False, message)`` for an ordinary Lua
error, or ``(None, message)`` for a fatal one, and the Lua wrapper raises. That keeps
errors plain strings with the caller's line, and keeps Python exceptions (which Lua
would see as opaque userdata) out of the script.
"""

from __future__ import annotations

import functools
import math
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from lupa import lua54

from alc_mcp.domain.query import DEFAULT_MAX_TOKENS, LlmQuery, batch_id
from alc_mcp.engine.effects import Effects
from alc_mcp.engine.errors import BridgeError, BudgetExceeded, FatalError
from alc_mcp.engine.luajson import LuaJson, LuaNull, LuaValueError

MAX_U32 = 2**32 - 1


class SessionPort(Protocol):
    """What the bridge needs from its session. Called on the session thread; the
    implementation is responsible for its own locking."""

    def log(self, level: str, source: str, message: str) -> None: ...

    def record_stat(self, key: str, value: Any) -> None: ...

    def get_stat(self, key: str) -> tuple[bool, Any]: ...

    def set_progress(self, step: int, total: int, message: str | None) -> None: ...

    def check_budget(self) -> str | None: ...

    def budget_remaining(self) -> dict[str, Any] | None: ...


Callback = Callable[..., tuple[Any, ...]]


def lua_callback(name: str) -> Callable[[Callable[..., Any]], Callback]:
    """Adapt a Python function to the (ok, ...) protocol the Lua wrapper expects."""

    def decorate(fn: Callable[..., Any]) -> Callback:
        @functools.wraps(fn)
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
    kind = lua54.lua_type(value)
    return kind if kind is not None else "userdata"


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
    raise BridgeError(f"{what} must be a non-negative integer, got {_describe(value)}")


def _describe(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{lua_type_name(value)} {value!r}"
    return lua_type_name(value)


def _is_table(value: Any) -> bool:
    return (
        value is not None
        and not isinstance(value, bytes | int | float | bool | LuaNull)
        and (lua54.lua_type(value) == "table")
    )


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


def _max_tokens(value: Any) -> int:
    """Option fields of the wrong type fall back to the default, as in algocline."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_U32:
        return value
    return DEFAULT_MAX_TOKENS


class Bridge:
    """The Layer 0 ``alc`` table for one VM."""

    def __init__(self, json: LuaJson, port: SessionPort, effects: Effects) -> None:
        self.json = json
        self.port = port
        self.effects = effects

    def functions(self) -> dict[str, Callback]:
        """Name → callback for every Layer 0 function (dots name sub-tables)."""
        return {
            "llm": self.llm,
            "llm_batch": self.llm_batch,
            "json_encode": self.json_encode,
            "json_decode": self.json_decode,
            "log": self.log,
            "time": self.time,
            "progress": self.progress,
            "budget_remaining": self.budget_remaining,
            "stats.record": self.stats_record,
            "stats.get": self.stats_get,
        }

    # --- LLM -----------------------------------------------------------------

    def _query(self, query_id: str, prompt: Any, opts: Any, what: str) -> LlmQuery:
        text = as_text(prompt, what)
        if opts is None:
            return LlmQuery(id=query_id, prompt=text)
        if not _is_table(opts):
            raise BridgeError(f"options must be a table, got {lua_type_name(opts)}")
        system = opts[b"system"]
        return LlmQuery(
            id=query_id,
            prompt=text,
            system=system.decode("utf-8", "replace") if isinstance(system, bytes) else None,
            max_tokens=_max_tokens(opts[b"max_tokens"]),
            grounded=_truthy(opts[b"grounded"]),
            underspecified=_truthy(opts[b"underspecified"]),
        )

    def _ask(self, queries: Sequence[LlmQuery]) -> list[str]:
        return self.effects.ask(queries, self.port.check_budget)

    @lua_callback("alc.llm")
    def llm(self, prompt: Any = None, opts: Any = None) -> bytes:
        query = self._query("q-0", prompt, opts, "prompt")
        (answer,) = self._ask([query])
        return answer.encode()

    @lua_callback("alc.llm_batch")
    def llm_batch(self, items: Any = None) -> Any:
        if not _is_table(items):
            raise BridgeError(f"items must be an array of {{prompt=...}} tables, got {lua_type_name(items)}")
        count = len(items)
        if count == 0:
            raise BridgeError("empty items array")
        queries = []
        for index in range(1, count + 1):
            item = items[index]
            if not _is_table(item):
                raise BridgeError(f"item {index} must be a table with a prompt, got {lua_type_name(item)}")
            prompt = item[b"prompt"]
            if prompt is None:
                raise BridgeError(f'item {index} has no prompt (each item needs prompt = "...")')
            queries.append(self._query(batch_id(index - 1), prompt, item, f"item {index} prompt"))
        answers = self._ask(queries)
        return self.json.to_lua(answers)

    # --- data ----------------------------------------------------------------

    @lua_callback("alc.json_encode")
    def json_encode(self, value: Any = None) -> bytes:
        return self.json.encode(value)

    @lua_callback("alc.json_decode")
    def json_decode(self, text: Any = None) -> Any:
        return self.json.decode(as_text(text, "argument"))

    @lua_callback("alc.log")
    def log(self, level: Any = None, message: Any = None) -> None:
        self.port.log(as_text(level, "level"), "alc.log", as_text(message, "message"))

    @lua_callback("alc.time")
    def time(self) -> float:
        return self.effects.wall_time()

    @lua_callback("alc.progress")
    def progress(self, step: Any = None, total: Any = None, message: Any = None) -> None:
        text = None if message is None else as_text(message, "message")
        self.port.set_progress(as_count(step, "step"), as_count(total, "total"), text)

    @lua_callback("alc.budget_remaining")
    def budget_remaining(self) -> Any:
        remaining = self.port.budget_remaining()
        return None if remaining is None else self.json.to_lua(remaining)

    @lua_callback("alc.stats.record")
    def stats_record(self, key: Any = None, value: Any = None) -> None:
        self.port.record_stat(as_text(key, "key"), self.json.from_lua(value))

    @lua_callback("alc.stats.get")
    def stats_get(self, key: Any = None) -> Any:
        found, value = self.port.get_stat(as_text(key, "key"))
        return self.json.to_lua(value) if found else None
