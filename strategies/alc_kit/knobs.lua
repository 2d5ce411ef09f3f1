--- alc_kit.knobs: reading a strategy's inputs (its "knobs") from ctx.
--
-- Shared by the bundled strategies, required as `require("alc_kit.knobs")`. This folder has
-- no init.lua on purpose: it is a library, not a strategy, so alc_pkg_list does not list it
-- and the server gives it no MCP prompt.
--
-- A knob comes from a caller (or a host model filling in opts). Numeric knobs are strict:
-- a count out of its range or not a number is refused with an error naming the knob and
-- its range. Flags and texts are forgiving: an unusable value means the default.

local K = {}

--- ctx.task, the input every strategy declares required, as a non-blank string; otherwise a
-- Lua error with `message`, which each strategy words itself (say what the task is for).
-- A number is accepted as its text: a caller asking about 1729 should not be turned away.
-- Level 0: the message is for the caller, not a position in this file.
function K.task(ctx, message)
  local task = type(ctx) == "table" and ctx.task or nil
  if type(task) == "number" then task = tostring(task) end
  if type(task) ~= "string" or not task:find("%S") then error(message, 0) end
  return task
end

--- The strategy's knobs: ctx overrides merged over the defaults declared in meta.inputs.
-- Taking the defaults from meta.inputs means the default that alc_pkg_list documents is
-- the one that runs; alc.tuning reads only those keys, and a JSON null keeps the default.
function K.settings(meta, ctx)
  local defaults = {}
  for name, spec in pairs(meta.inputs or {}) do
    if spec.default ~= nil then defaults[name] = spec.default end
  end
  return alc.tuning(defaults, ctx)
end

-- A knob's value as the caller sent it, for an error message.
local function shown(value)
  if type(value) == "string" then return string.format("%q", value) end
  return tostring(value)
end

--- A whole number within [lo, hi] (hi may be nil: no upper bound); nil (or JSON null)
-- means the default. A numeric string ("3") is read as its number. Anything else (0 where
-- the floor is 1, 2.5, "lots") is a mistake in the caller's options and raises an error that
-- names the knob (`name`, e.g. "sc: n") and its range: silently clamping or falling back
-- would run a different experiment from the one asked for.
function K.count(value, default, lo, hi, name)
  if value == nil or value == alc.Null then return default end
  local n = math.tointeger(tonumber(value))
  if n == nil or n < lo or (hi ~= nil and n > hi) then
    local range = hi ~= nil and string.format("from %d to %d", lo, hi) or string.format("of at least %d", lo)
    error(string.format("%s must be a whole number %s (got %s)", name or "value", range, shown(value)), 0)
  end
  return n
end

--- A whole number of at least `min`, else an error naming the knob (see count).
function K.whole(value, default, min, name)
  return K.count(value, default, min, nil, name)
end

--- A number (not necessarily whole) within [lo, hi] (hi may be nil: no upper bound); nil
-- means the default, anything else out of range or not a number raises an error naming the
-- knob (see count).
function K.number(value, default, lo, hi, name)
  if value == nil or value == alc.Null then return default end
  local x = tonumber(value)
  if x == nil or x ~= x or x < lo or (hi ~= nil and x > hi) then
    local range = hi ~= nil and string.format("from %g to %g", lo, hi) or string.format("of at least %g", lo)
    error(string.format("%s must be a number %s (got %s)", name or "value", range, shown(value)), 0)
  end
  return x
end

--- A boolean knob: true/false, or a string alc.match_bool reads ("yes", "off"...);
-- anything else means the default.
function K.flag(value, default)
  if type(value) == "boolean" then return value end
  if type(value) == "string" then
    local b = alc.match_bool(value)
    if b ~= nil then return b end
  end
  return default
end

--- A text knob: a string with something other than spaces in it, else the default
-- (nil when none is given). The value is returned as given, not trimmed.
function K.text(value, default)
  if type(value) == "string" and value:find("%S") then return value end
  return default
end

return K
