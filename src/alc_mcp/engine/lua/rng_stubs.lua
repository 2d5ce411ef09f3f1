-- alc.math's random-stream functions as stubs that load rng.lua on their first call:
-- most sessions never draw a number, and the streams' code would be ~15 KiB of every
-- paused session's Lua heap; the stubs are a fraction of that.
--
-- Arguments: M (the alc.math table), new_handle and array_mt (handed on to rng.lua),
-- and source(), which returns rng.lua's text and chunk name. This runs before the
-- script, so the standard functions rng.lua needs are captured here, in the
-- environment it is loaded with, out of the script's reach.
local M, new_handle, array_mt, source = ...

local load = load
local env = {
  type = type, tostring = tostring, tonumber = tonumber, error = error, rawlen = rawlen,
  rawget = rawget, setmetatable = setmetatable, next = next,
  math = { type = math.type, tointeger = math.tointeger, floor = math.floor, log = math.log,
           sqrt = math.sqrt, cos = math.cos, ult = math.ult },
  string = { format = string.format, match = string.match, rep = string.rep, sub = string.sub },
}

local stubs, streams = {}, nil

local function loaded()
  if streams == nil then
    local text, name = source()
    streams = load(text, name, "t", env)(new_handle, array_mt, M, stubs)
  end
  return streams
end

for _, fn in next, { "rng_create", "rng_float", "rng_int", "rng_normal", "rng_beta", "rng_gamma",
                     "rng_exponential", "shuffle", "sample_with_replacement" } do
  -- A tail call: the function's errors still point at the script's line.
  stubs[fn] = function(...) return loaded()[fn](...) end
  M[fn] = stubs[fn]
end
