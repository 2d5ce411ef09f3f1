-- alc.math's random-stream functions, loaded on the first use of one of them: most
-- sessions never draw a number, and the streams' code would be ~15 KiB of every paused
-- session's Lua heap. Until then alc.math has a protected metatable whose __index
-- (looking up a stream function) and __pairs (walking alc.math) load rng.lua, store its
-- functions in alc.math and drop the metatable: from then on alc.math is a plain table
-- and the script calls the functions directly (their errors and tracebacks are those of
-- a plain call).
--
-- Arguments: new_handle and array_mt (handed on to rng.lua), and source(), which returns
-- rng.lua's text and chunk name. Returns the installer the sandbox calls with alc.math
-- when it builds that sub-table (itself on first use). This runs before the script, so
-- the standard functions rng.lua needs are captured here, in the environment it is
-- loaded with, out of the script's reach. The prelude does not extend alc.math, so the
-- sandbox's own lazy metatable never sits on it (it would replace this one).
local new_handle, array_mt, source = ...

local load, next, pairs, rawget, rawset, setmetatable = load, next, pairs, rawget, rawset, setmetatable
local env = {
  type = type, tostring = tostring, tonumber = tonumber, error = error, rawlen = rawlen,
  rawget = rawget, setmetatable = setmetatable,
  math = { type = math.type, tointeger = math.tointeger, floor = math.floor, log = math.log,
           sqrt = math.sqrt, cos = math.cos, ult = math.ult },
  string = { format = string.format, match = string.match, rep = string.rep, sub = string.sub },
}

local STREAMS = {
  rng_create = true, rng_float = true, rng_int = true, rng_normal = true, rng_beta = true,
  rng_gamma = true, rng_exponential = true, shuffle = true, sample_with_replacement = true,
}

return function(M)
  local lazy = { __metatable = false }

  local function load_streams()
    local text, name = source()
    -- A function the script has already put in alc.math (a mock, a wrapper) stays.
    for fn, f in next, load(text, name, "t", env)(new_handle, array_mt) do
      if rawget(M, fn) == nil then rawset(M, fn, f) end
    end
    lazy.__metatable = nil
    setmetatable(M, nil)
  end

  function lazy.__index(t, key)
    if not STREAMS[key] then return nil end
    load_streams()
    return rawget(t, key)
  end

  function lazy.__pairs(t)
    load_streams()
    return pairs(t)
  end

  setmetatable(M, lazy)
end
