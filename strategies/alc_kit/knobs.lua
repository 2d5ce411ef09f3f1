--- alc_kit.knobs: reading a strategy's inputs (its "knobs") from ctx.
--
-- Shared by the bundled strategies, required as `require("alc_kit.knobs")`. This folder has
-- no init.lua on purpose: it is a library, not a strategy, so alc_pkg_list does not list it
-- and the server gives it no MCP prompt.
--
-- Every helper here is forgiving: a knob comes from a caller (or a host model filling in
-- opts), and a value of the wrong type must fall back to something sensible rather than
-- break the run.

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

--- A whole number within [lo, hi] (hi may be nil: no upper bound).
-- Anything that is not a whole number ("lots", 2.5, nil) means the default; a number out
-- of range is clamped, since asking for 100 samples is a request for as many as allowed.
function K.count(value, default, lo, hi)
  local n = math.tointeger(tonumber(value)) or default
  if n < lo then n = lo end
  if hi ~= nil and n > hi then n = hi end
  return n
end

--- A whole number of at least `min`, else the default.
-- Unlike count, a value below the floor is not clamped: for open-ended sizes (a summary of
-- 0 words, a merge fanout of 1) it is a mistake, and the default serves the caller better.
function K.whole(value, default, min)
  local n = math.tointeger(tonumber(value))
  if n == nil or n < min then return default end
  return n
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
