-- alc.math's random streams, in Lua: a draw is a Lua call, not a call into Python.
-- Agent simulations draw millions of numbers, and a call into Python costs many times
-- what a xoshiro256** step costs in Lua.
--
-- Loaded on the first use of one of these functions (rng_lazy.lua), with an
-- environment holding only the standard functions captured before the script ran.
-- Arguments: new_handle(observe), a Python callback returning an opaque handle and,
-- when observe is true, a seed drawn through the session's journal (so a revived
-- session gets the same one); array_mt, the metatable that tags JSON arrays. Returns
-- the functions by name.
--
-- A stream is that handle (a userdata the sandbox refuses every attribute of; tostring
-- gives "alc.math.rng"); its state lives here, in a table the script cannot reach,
-- keyed weakly by the handle. The generator is xoshiro256** (Blackman and Vigna)
-- seeded by SplitMix64 from the seed taken as u64, on Lua 5.4's wrapping 64-bit
-- integers: the same seed gives the same numbers in every VM, on every machine and
-- on replay.
--
-- Argument checks and their messages are the ones the Python functions had (numbers
-- in messages are written as Python writes them: "got number 1.5", "got 0.0").
local new_handle, array_mt = ...

local type, tostring, tonumber, error, rawlen, rawget = type, tostring, tonumber, error, rawlen, rawget
local setmetatable = setmetatable
local math_type, tointeger, floor = math.type, math.tointeger, math.floor
local log, sqrt, cos, ult = math.log, math.sqrt, math.cos, math.ult
local huge, TAU = 1.0 / 0.0, 2 * 3.141592653589793
local format, match, rep, sub = string.format, string.match, string.rep, string.sub

-- handle -> {s0, s1, s2, s3}
local streams = setmetatable({}, { __mode = "k" })

-- ---------------------------------------------------------------------------
-- messages
-- ---------------------------------------------------------------------------

-- Python's repr of a float: the shortest digits that read back as x, positional
-- between 1e-4 and 1e16, "e+XX" notation outside.
local function float_text(x)
  if x ~= x then return "nan" end
  if x == huge then return "inf" elseif x == -huge then return "-inf" end
  if x == 0 then return 1 / x < 0 and "-0.0" or "0.0" end
  local s
  for digits = 0, 16 do
    s = format("%." .. digits .. "e", x)
    if tonumber(s) == x then break end
  end
  local sign, lead, rest, exp = match(s, "^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local e = tointeger(tonumber(exp))
  if e < -4 or e >= 16 then
    local mantissa = rest == "" and lead or lead .. "." .. rest
    return format("%s%se%s%02d", sign, mantissa, e < 0 and "-" or "+", e < 0 and -e or e)
  end
  local digits = lead .. rest
  if e < 0 then return sign .. "0." .. rep("0", -e - 1) .. digits end
  if #digits <= e + 1 then return sign .. digits .. rep("0", e + 1 - #digits) .. ".0" end
  return sign .. sub(digits, 1, e + 1) .. "." .. sub(digits, e + 2)
end

local function describe(v)
  local kind = math_type(v)
  if kind == "integer" then return "number " .. tostring(v) end
  if kind == "float" then return "number " .. float_text(v) end
  return type(v)
end

-- Errors point at the script's line, as the Python functions' did: level 2 from an
-- alc.math function, level 3 from a check it calls (checks are never tail calls).
local function fail(level, name, message)
  error("alc.math." .. name .. ": " .. message, level + 1)
end

local function stream_of(name, rng)
  local s = streams[rng]
  if s == nil then
    fail(3, name, "rng must be a generator from alc.math.rng_create, got " .. type(rng))
  end
  return s
end

-- An integral float beyond the integer range, as u64 (the seed's bits): v mod 2^64
-- and its shift into the signed range are exact for such floats.
local function wrapped(v)
  local r = v % 2 ^ 64
  if r >= 2 ^ 63 then r = r - 2 ^ 64 end
  return tointeger(r)
end

-- An integer, or an integral float that is one. A seed may be any integral float (taken
-- mod 2^64, as u64); lo, hi and n beyond the integer range are refused, as they could not
-- be drawn.
local function integer(name, v, what, default)
  if v == nil and default ~= nil then return default end
  local kind = math_type(v)
  if kind == "integer" then return v end
  if kind == "float" then
    local i = tointeger(v)
    if i ~= nil then return i end
    if what == "seed" and v == floor(v) and v - v == 0 then return wrapped(v) end
  end
  fail(3, name, what .. " must be an integer, got " .. describe(v))
end

local function number(name, v, what, default)
  if v == nil and default ~= nil then return default end
  if type(v) ~= "number" then fail(3, name, what .. " must be a number, got " .. type(v)) end
  return v * 1.0
end

local function positive(name, v, what, default)
  if v == nil and default ~= nil then return default end
  if type(v) ~= "number" then fail(3, name, what .. " must be a number, got " .. type(v)) end
  local x = v * 1.0
  if not (x > 0) then fail(3, name, what .. " must be a positive number, got " .. float_text(x)) end
  return x
end

-- The values at 1..#t, read raw (no metamethods).
local function raw_array(name, t)
  if type(t) ~= "table" then fail(3, name, "array must be an array, got " .. type(t)) end
  local items, n = {}, rawlen(t)
  for i = 1, n do items[i] = rawget(t, i) end
  return items, n
end

-- ---------------------------------------------------------------------------
-- the generator
-- ---------------------------------------------------------------------------

local function seeded(x)
  local s = {}
  for i = 1, 4 do
    x = x + 0x9E3779B97F4A7C15
    local z = x
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    s[i] = z ~ (z >> 31)
  end
  return s
end

-- The next 64 bits (as a wrapping integer).
local function next64(s)
  local s0, s1, s2, s3 = s[1], s[2], s[3], s[4]
  local r = s1 * 5
  r = ((r << 7) | (r >> 57)) * 9
  local t = s1 << 17
  s2 = s2 ~ s0
  s3 = s3 ~ s1
  s[1] = s0 ~ s3
  s[2] = s1 ~ s2
  s[3] = s2 ~ t
  s[4] = (s3 << 45) | (s3 >> 19)
  return r
end

-- Uniform in [0, 1): the top 53 bits.
local function unit(s)
  return (next64(s) >> 11) * 0x1p-53
end

-- Uniform in [0, span], span read as u64 (-1 is the whole range): masked rejection,
-- so every value is equally likely.
local function upto(s, span)
  if span == -1 then return next64(s) end
  local mask = span
  mask = mask | (mask >> 1)
  mask = mask | (mask >> 2)
  mask = mask | (mask >> 4)
  mask = mask | (mask >> 8)
  mask = mask | (mask >> 16)
  mask = mask | (mask >> 32)
  while true do
    local x = next64(s) & mask
    if not ult(span, x) then return x end
  end
end

-- Standard normal (Box-Muller; 1 - u is in (0, 1], so the log is finite).
local function gaussian(s)
  local u = 1.0 - unit(s)
  return sqrt(-2.0 * log(u)) * cos(TAU * unit(s))
end

-- Gamma(shape, 1): Marsaglia and Tsang; below shape 1, boosted by U^(1/shape).
local function gamma(s, shape)
  if shape < 1 then
    return gamma(s, shape + 1.0) * (1.0 - unit(s)) ^ (1.0 / shape)
  end
  local d = shape - 1.0 / 3.0
  local c = 1.0 / sqrt(9.0 * d)
  while true do
    local x, v
    repeat
      x = gaussian(s)
      v = 1.0 + c * x
    until v > 0
    v = v * v * v
    local u = 1.0 - unit(s)
    local x2 = x * x
    if u < 1.0 - 0.0331 * x2 * x2 or log(u) < 0.5 * x2 + d * (1.0 - v + log(v)) then
      return d * v
    end
  end
end

-- ---------------------------------------------------------------------------
-- alc.math
-- ---------------------------------------------------------------------------

local M = {}

function M.rng_create(seed)
  if seed == nil then
    local handle, observed = new_handle(true)
    streams[handle] = seeded(observed)
    return handle
  end
  local value = integer("rng_create", seed, "seed")
  local handle = new_handle(false)
  streams[handle] = seeded(value)
  return handle
end

function M.rng_float(rng)
  local s = streams[rng]
  if s == nil then s = stream_of("rng_float", rng) end
  return unit(s)
end

function M.rng_int(rng, lo, hi)
  local s = stream_of("rng_int", rng)
  local low = integer("rng_int", lo, "lo")
  local high = integer("rng_int", hi, "hi")
  if low > high then fail(2, "rng_int", "lo must not exceed hi, got " .. low .. " > " .. high) end
  return low + upto(s, high - low)
end

function M.rng_normal(rng, mu, sigma)
  local s = stream_of("rng_normal", rng)
  local centre = number("rng_normal", mu, "mean", 0.0)
  local spread = number("rng_normal", sigma, "stddev", 1.0)
  if spread < 0 then fail(2, "rng_normal", "stddev must not be negative, got " .. float_text(spread)) end
  return centre + spread * gaussian(s)
end

function M.rng_beta(rng, alpha, beta)
  local s = stream_of("rng_beta", rng)
  local a = positive("rng_beta", alpha, "alpha")
  local b = positive("rng_beta", beta, "beta")
  local x = gamma(s, a)
  if x == 0 then return 0.0 end
  return x / (x + gamma(s, b))
end

function M.rng_gamma(rng, shape, scale)
  local s = stream_of("rng_gamma", rng)
  local k = positive("rng_gamma", shape, "shape")
  local theta = positive("rng_gamma", scale, "scale", 1.0)
  return gamma(s, k) * theta
end

function M.rng_exponential(rng, rate)
  local s = stream_of("rng_exponential", rng)
  local lambda = positive("rng_exponential", rate, "rate", 1.0)
  return -log(1.0 - unit(s)) / lambda
end

-- A shuffled copy (Fisher-Yates); the array itself is left as it is.
function M.shuffle(rng, array)
  local s = stream_of("shuffle", rng)
  local items, n = raw_array("shuffle", array)
  for i = n, 2, -1 do
    local j = 1 + upto(s, i - 1)
    items[i], items[j] = items[j], items[i]
  end
  return setmetatable(items, array_mt)
end

function M.sample_with_replacement(rng, array, n)
  local s = stream_of("sample_with_replacement", rng)
  local items, size = raw_array("sample_with_replacement", array)
  local count = integer("sample_with_replacement", n, "n", size)
  if count < 0 then fail(2, "sample_with_replacement", "n must not be negative, got " .. count) end
  if count > 0 and size == 0 then fail(2, "sample_with_replacement", "array must not be empty") end
  local out = {}
  for i = 1, count do out[i] = items[1 + upto(s, size - 1)] end
  return setmetatable(out, array_mt)
end

return M
