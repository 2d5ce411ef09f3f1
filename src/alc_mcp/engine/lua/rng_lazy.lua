-- alc.math's random-stream functions, loaded on the first use of one of them: most
-- sessions never draw a number, and the streams' code would be ~15 KiB of every paused
-- session's Lua heap. alc.math gets a (protected) metatable whose __index loads rng.lua
-- the first time a stream function is looked up and stores its functions in alc.math,
-- so the script calls them directly (their errors and tracebacks are those of a plain
-- call). Until then pairs(alc.math) does not list them.
--
-- Arguments: M (the alc.math table), new_handle and array_mt (handed on to rng.lua),
-- and source(), which returns rng.lua's text and chunk name. This runs before the
-- script, so the standard functions rng.lua needs are captured here, in the
-- environment it is loaded with, out of the script's reach.
local M, new_handle, array_mt, source = ...

local load, next, rawget, rawset = load, next, rawget, rawset
local env = {
  type = type, tostring = tostring, tonumber = tonumber, error = error, rawlen = rawlen,
  rawget = rawget, setmetatable = setmetatable,
  math = { type = math.type, tointeger = math.tointeger, floor = math.floor, log = math.log,
           sqrt = math.sqrt, cos = math.cos, ult = math.ult },
  string = { format = string.format, match = string.match, rep = string.rep, sub = string.sub },
}

local pending = {
  rng_create = true, rng_float = true, rng_int = true, rng_normal = true, rng_beta = true,
  rng_gamma = true, rng_exponential = true, shuffle = true, sample_with_replacement = true,
}

setmetatable(M, {
  __metatable = false,
  __index = function(t, key)
    if pending == nil or not pending[key] then return nil end
    pending = nil
    local text, name = source()
    -- A function the script has already put in alc.math (a mock, a wrapper) stays.
    for fn, f in next, load(text, name, "t", env)(new_handle, array_mt) do
      if rawget(t, fn) == nil then rawset(t, fn, f) end
    end
    return rawget(t, key)
  end,
})
