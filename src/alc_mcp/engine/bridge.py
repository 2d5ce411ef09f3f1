"""Layer 0: the ``alc.*`` functions implemented in Python.

Each function is a Python callback (see ``luaargs.lua_callback``) wrapped into a
genuine Lua function by the sandbox (``type(alc.llm) == "function"``, as packages
feature-test). The core (LLM, JSON, logs, time, progress, budget, stats) is here; the
rest of the library lives in ``engine/stdlib`` modules, one per area.

A VM reaches them all through one ``Library``: the names are the same in every VM and
worked out once per process, and each group of callbacks (the core, or one stdlib
module) is built for a VM on the first call of one of its functions. Most sessions
call a handful of them, and building all ~90 closures per VM was most of a paused
session's Python memory (~45 of 60 KiB), left behind as fragmented heap when it ended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alc_mcp.domain.query import LlmQuery, batch_id
from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import (
    Callback,
    as_count,
    as_text,
    is_table,
    lua_callback,
    lua_type_name,
    max_tokens_option,
    truthy,
)
from alc_mcp.engine.port import BridgeContext
from alc_mcp.engine.stdlib import MODULES

__all__ = ["BUILDERS", "Bridge", "Builder", "Catalog", "Library", "catalog", "members"]

#: Builds one group of Layer 0 functions for one VM: name → callback.
Builder = Callable[[BridgeContext], dict[str, Callback]]


class Bridge:
    """The Layer 0 ``alc`` table for one VM."""

    def __init__(self, context: BridgeContext) -> None:
        self.context = context
        self.json = context.json
        self.port = context.port
        self.effects = context.effects

    @staticmethod
    def core(context: BridgeContext) -> dict[str, Callback]:
        """The core group: LLM, JSON, logs, time, progress, budget, stats."""
        return Bridge(context)._core()

    def _core(self) -> dict[str, Callback]:
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
        if not is_table(opts):
            raise BridgeError(f"opts must be a table, got {lua_type_name(opts)}")
        system = opts[b"system"]
        return LlmQuery(
            id=query_id,
            prompt=text,
            system=system.decode("utf-8", "replace") if isinstance(system, bytes) else None,
            max_tokens=max_tokens_option(opts[b"max_tokens"]),
            grounded=truthy(opts[b"grounded"]),
            underspecified=truthy(opts[b"underspecified"]),
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
        if not is_table(items):
            raise BridgeError(f"items must be an array of {{prompt=...}} tables, got {lua_type_name(items)}")
        count = len(items)
        if count == 0:
            raise BridgeError("empty items array")
        queries = []
        for index in range(1, count + 1):
            item = items[index]
            if not is_table(item):
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


#: Every group of Layer 0 functions, in the order their names are installed.
BUILDERS: tuple[Builder, ...] = (Bridge.core, *(module.functions for module in MODULES))


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every Layer 0 name (dots name sub-tables) and the group that builds each one:
    the same in every VM, so one per process, shared. ``names`` is the dispatch order
    (1-based in Lua): the names directly under alc (``tops``) first, then the members of
    each sub-table, which a VM builds on first use (``members``)."""

    names: tuple[str, ...]
    groups: tuple[int, ...]  # the group that builds each of names
    tops: tuple[bytes, ...]
    members: dict[bytes, tuple[bytes | int, ...]]  # sub-table → key, index, key, index...


_catalog: Catalog | None = None


def catalog(context: BridgeContext) -> Catalog:
    """The process's catalog, worked out with the first VM's context (the names never
    depend on it; a race between two first VMs builds the same catalog twice)."""
    global _catalog
    if _catalog is None:
        group_of = {name: group for group, build in enumerate(BUILDERS) for name in build(context)}
        names = sorted(group_of, key=lambda name: "." in name)  # stable: tops first
        members: dict[bytes, list[bytes | int]] = {}
        for index, name in enumerate(names, 1):
            sub, dot, key = name.partition(".")
            if dot:
                members.setdefault(sub.encode(), []).extend((key.encode(), index))
        tops = tuple(name.encode() for name in names if "." not in name)
        groups = tuple(group_of[name] for name in names)
        _catalog = Catalog(tuple(names), groups, tops, {sub: tuple(m) for sub, m in members.items()})
    return _catalog


def members(sub: bytes) -> tuple[bytes | int, ...]:
    """The members of Layer 0 sub-table ``sub`` as the sandbox builds it on first use:
    key, dispatch index, key, index... It holds no reference to any VM."""
    assert _catalog is not None, "a VM asks for members only after its Library made the catalog"
    return _catalog.members[sub]


class Library:
    """The Layer 0 functions of one VM behind one dispatcher: ``library(i, *args)``
    calls the i-th of ``catalog.names`` (1-based, as Lua counts). Called on the VM's
    thread only."""

    __slots__ = ("_built", "_context", "catalog")

    def __init__(self, context: BridgeContext) -> None:
        self._context = context
        self.catalog = catalog(context)
        self._built: list[dict[str, Callback] | None] = [None] * len(BUILDERS)

    def __call__(self, index: int, *args: Any) -> tuple[Any, ...]:
        name, group = self.catalog.names[index - 1], self.catalog.groups[index - 1]
        callbacks = self._built[group]
        if callbacks is None:
            callbacks = self._built[group] = BUILDERS[group](self._context)
        return callbacks[name](*args)
