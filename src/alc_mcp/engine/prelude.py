"""Layer 1 of ``alc.*`` (``lua/prelude.lua``): loaded into a VM on first use.

The prelude is ~30 KiB of every VM's Lua heap (a fifth of a paused session), and a
session that only calls Layer 0 (``alc.llm``, ``alc.state``...) never needs it. So a
VM gets it deferred (``api.defer`` in ``lua/sandbox.lua``): alc, and the sub-tables
the prelude extends, load it when a key they lack is read or they are walked with
``pairs``. What the deferral needs to know about the prelude is the same in every VM
and worked out once per process by running it in a throwaway runtime (``Plan``): the
globals it reads while it loads (copied at VM start, so a script that clobbers
``string`` first cannot break it) and the Layer 0 sub-tables it adds keys to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lupa import lua54

from alc_mcp.engine.sandbox import precompiled

__all__ = ["PRELUDE_CHUNK", "PRELUDE_SOURCE", "Plan", "plan", "prelude_bytecode"]

PRELUDE_SOURCE = resources.files("alc_mcp.engine").joinpath("lua/prelude.lua").read_bytes()
PRELUDE_CHUNK = "=[alc prelude]"


def prelude_bytecode() -> bytes:
    """The prelude compiled once per process. A VM that defers it calls this when it
    loads it, rather than holding a copy (~20 KiB) until then; it holds no reference
    to any runtime, so the VM stays collectable."""
    return precompiled(PRELUDE_SOURCE, PRELUDE_CHUNK)


#: Runs the prelude against a stub alc table (Layer 0 names as no-op functions) with a
#: recording environment; returns the globals it read while loading and the Layer 0
#: sub-tables it added keys to. A prelude that replaces a Layer 0 function or sets a
#: global while it loads raises instead: deferring it would change what a script sees
#: before the load, so VMs load it at start.
_RECORD_LUA = """
local code, chunkname, names = ...
local alc, layer0 = {}, {}
for i = 1, #names do
  local table_name, key = names[i]:match("^([^.]+)%.(.+)$")
  if table_name then
    alc[table_name] = alc[table_name] or {}
    alc[table_name][key] = function() end
    layer0[table_name] = layer0[table_name] or { table = alc[table_name], keys = {} }
    layer0[table_name].keys[key] = alc[table_name][key]
  else
    alc[names[i]] = function() end
    layer0[names[i]] = alc[names[i]]
  end
end
local reads, seen = {}, {}
local function record(entry, key)
  if not seen[key] then seen[key] = true; reads[#reads + 1] = entry end
end
local env = setmetatable({}, {
  __index = function(_, name)
    if name == "alc" then return alc end
    local value = _G[name]
    record(name, name)
    if type(value) == "table" and name ~= "_G" then
      return setmetatable({}, { __index = function(_, field)
        record({ name, field }, name .. "." .. field)
        return value[field]
      end })
    end
    return value
  end,
  __newindex = function(_, name) error("the prelude sets the global " .. name .. " while it loads") end,
})
assert(load(code, chunkname, "t", env))()
local extended = {}
for name, layer in pairs(layer0) do
  if type(layer) == "table" then
    if alc[name] ~= layer.table then error("the prelude replaces alc." .. name) end
    local added = false
    for key, value in pairs(alc[name]) do
      if layer.keys[key] == nil then added = true
      elseif layer.keys[key] ~= value then error("the prelude replaces alc." .. name .. "." .. key) end
    end
    if added then extended[#extended + 1] = name end
  elseif alc[name] ~= layer then
    error("the prelude replaces alc." .. name)
  end
end
table.sort(extended)
return reads, extended
"""


@dataclass(frozen=True, slots=True)
class Plan:
    """How a VM defers the prelude: the globals it reads while loading (``b"type"``, or
    ``b"string.byte"`` for a library's field) and the Layer 0 sub-tables it adds keys to."""

    reads: tuple[bytes, ...]
    extended: tuple[bytes, ...]

    def arguments(self, runtime: Any) -> tuple[Any, Any]:
        """The two as Lua tables of ``runtime``, for ``api.defer``."""
        return runtime.table_from(self.reads), runtime.table_from(self.extended)


_plans: dict[tuple[str, ...], Plan | None] = {}


def plan(names: Sequence[str]) -> Plan | None:
    """The plan for a VM whose Layer 0 has ``names``; None if the prelude cannot be
    deferred (it failed against the stub), in which case VMs load it at start."""
    key = tuple(names)
    if key not in _plans:  # a race works out the same plan twice, harmlessly
        _plans[key] = _record(key)
    return _plans[key]


def _record(names: tuple[str, ...]) -> Plan | None:
    runtime = lua54.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    try:
        reads, extended = runtime.execute(
            _RECORD_LUA,
            PRELUDE_SOURCE,
            PRELUDE_CHUNK.encode(),
            runtime.table_from([n.encode() for n in names]),
        )
    except lua54.LuaError:
        return None
    recorded = tuple(read if isinstance(read, bytes) else read[1] + b"." + read[2] for read in reads.values())
    return Plan(recorded, tuple(extended.values()))
