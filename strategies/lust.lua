-- lust: a small BDD test library for package specs (a system module: `require("lust")`).
--
-- Our own implementation of the lust API that spec files written for algocline use:
--
--   local describe, it, expect = lust.describe, lust.it, lust.expect
--   describe("parser", function()
--     lust.before(function() ... end)          -- before every `it` in this block
--     it("reads numbers", function()
--       expect(parse("4")).to.equal(4)
--       expect(parse).to_not.fail()
--       expect(function() parse(nil) end).to.fail.with("expected a string")
--     end)
--   end)
--
-- Assertions: to / to_not, then equal(v [, eps]) (deep), be(v) (==), be.a(type) /
-- be.an(type), be.truthy(), be.falsy(), exist(), fail() / fail.with(pattern),
-- match(pattern), have(v) (a table holds v), and for spies called([n]) and
-- called_with(...). `lust.spy(fn)` or `lust.spy(table, key [, run])` records every call
-- (`#spy` calls; `spy[i]` is the i-th call's arguments).
--
-- Nothing is printed: every `it` becomes a row of `lust.results` ({name, ok, error,
-- seconds}, name = the describe path joined with " > "), which alc_pkg_test reports;
-- an error raised by a describe block outside any `it` is a failed row of its own.

local type, tostring, pairs, ipairs, pcall, error, select = type, tostring, pairs, ipairs, pcall, error, select
local setmetatable, getmetatable, rawequal = setmetatable, getmetatable, rawequal
local s_format, s_find, t_concat, t_sort = string.format, string.find, table.concat, table.sort
local m_abs = math.abs
local A = alc

local lust = { _VERSION = "alc-mcp/1" }

local stack, befores, afters = {}, {}, {}
lust.results = {}

local function now()
  if A ~= nil and A.time ~= nil then return A.time() end
  return os.clock()
end

-- Forget every result and hook (one spec file's run starts from here).
function lust.reset()
  stack, befores, afters = {}, { [0] = {} }, { [0] = {} }
  lust.results = {}
  return lust
end
lust.reset()

function lust.nocolor() return lust end

local function path_name(leaf)
  if #stack == 0 then return tostring(leaf) end
  if leaf == nil then return t_concat(stack, " > ") end
  return t_concat(stack, " > ") .. " > " .. tostring(leaf)
end

local function record(name, ok, err, seconds)
  local results = lust.results
  results[#results + 1] = { name = name, ok = ok, error = err, seconds = seconds }
end

function lust.describe(name, fn)
  local depth = #stack + 1
  stack[depth] = tostring(name)
  befores[depth], afters[depth] = {}, {}
  local started = now()
  local ok, err = pcall(fn)
  if not ok then record(path_name(nil), false, tostring(err), now() - started) end
  stack[depth], befores[depth], afters[depth] = nil, nil, nil
end

local function run_hooks(hooks, from, to, step, name)
  for depth = from, to, step do
    for _, hook in ipairs(hooks[depth] or {}) do
      local ok, err = pcall(hook, name)
      if not ok then return tostring(err) end
    end
  end
  return nil
end

function lust.it(name, fn)
  local full = path_name(name)
  local started = now()
  local err = run_hooks(befores, 0, #stack, 1, name)
  local ok = err == nil
  if ok then
    local passed, raised = pcall(fn)
    if not passed then ok, err = false, tostring(raised) end
  else
    err = "before: " .. err
  end
  local after_err = run_hooks(afters, #stack, 0, -1, name)
  if after_err ~= nil and ok then ok, err = false, "after: " .. after_err end
  record(full, ok, err, now() - started)
end

function lust.before(fn) local list = befores[#stack]; list[#list + 1] = fn end
function lust.after(fn) local list = afters[#stack]; list[#list + 1] = fn end

-- --- values in messages ------------------------------------------------------------------

local function show(value, depth)
  depth = depth or 0
  if type(value) == "string" then return s_format("%q", value) end
  if type(value) ~= "table" then return tostring(value) end
  if depth >= 2 then return "{...}" end
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  t_sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > 8 then parts[#parts + 1] = "..."; break end
    local label = type(k) == "string" and k or ("[" .. tostring(k) .. "]")
    parts[#parts + 1] = label .. " = " .. show(value[k], depth + 1)
  end
  return "{" .. t_concat(parts, ", ") .. "}"
end
lust.show = show

local function equal(a, b, eps)
  if type(a) == "number" and type(b) == "number" and eps ~= nil then return m_abs(a - b) <= eps end
  if rawequal(a, b) then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not equal(v, b[k], eps) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end
lust.equal = equal

-- --- spies -------------------------------------------------------------------------------

local Spy = {}
Spy.__index = Spy
Spy.__call = function(self, ...)
  self[#self + 1] = { n = select("#", ...), ... }
  if self._fn ~= nil then return self._fn(...) end
end

function lust.spy(target, key, run)
  if type(target) == "table" and key ~= nil then
    local spy = setmetatable({ _fn = target[key] }, Spy)
    target[key] = spy
    if run ~= nil then run() end
    return spy
  end
  return setmetatable({ _fn = target }, Spy)
end

local function is_spy(v) return type(v) == "table" and getmetatable(v) == Spy end

-- --- expect --------------------------------------------------------------------------------

local function assertions(value, negate)
  local function check(ok, message, negated)
    if negate then ok, message = not ok, negated end
    if not ok then error(message, 3) end
  end

  local set = {}
  function set.equal(expected, eps)
    check(equal(value, expected, eps), "expected " .. show(value) .. " to equal " .. show(expected),
      "expected " .. show(value) .. " to not equal " .. show(expected))
  end
  function set.exist()
    check(value ~= nil, "expected " .. show(value) .. " to exist", "expected " .. show(value) .. " to not exist")
  end
  function set.match(pattern)
    local ok = type(value) == "string" and s_find(value, pattern) ~= nil
    check(ok, "expected " .. show(value) .. " to match " .. show(pattern),
      "expected " .. show(value) .. " to not match " .. show(pattern))
  end
  function set.have(item)
    local found = false
    if type(value) == "table" then
      for _, v in pairs(value) do
        if equal(v, item) then found = true; break end
      end
    end
    check(found, "expected " .. show(value) .. " to contain " .. show(item),
      "expected " .. show(value) .. " to not contain " .. show(item))
  end
  local function of_type(kind)
    check(type(value) == kind, "expected " .. show(value) .. " to be a " .. tostring(kind),
      "expected " .. show(value) .. " to not be a " .. tostring(kind))
  end
  set.a, set.an = of_type, of_type
  function set.called(times)
    if not is_spy(value) then error("expected a spy (lust.spy), got " .. type(value), 2) end
    local ok = times == nil and #value > 0 or #value == times
    local wanted = times == nil and "at least once" or (tostring(times) .. " time(s)")
    check(ok, "expected the spy to be called " .. wanted .. ", it was called " .. #value .. " time(s)",
      "expected the spy to not be called " .. wanted)
  end
  function set.called_with(...)
    if not is_spy(value) then error("expected a spy (lust.spy), got " .. type(value), 2) end
    local args = { n = select("#", ...), ... }
    local ok = false
    for _, call in ipairs(value) do
      if equal(call, args) then ok = true; break end
    end
    check(ok, "expected the spy to be called with " .. show(args), "expected the spy to not be called with " .. show(args))
  end

  local function failure(pattern)
    local ok, err = pcall(value)
    local message = tostring(err)
    local matched = not ok and (pattern == nil or s_find(message, pattern) ~= nil)
    if pattern == nil then
      check(matched, "expected the function to fail", "expected the function to not fail, it raised: " .. message)
    else
      check(matched, "expected the function to fail with " .. show(pattern) .. (ok and ", it did not fail"
        or (", it raised: " .. message)), "expected the function to not fail with " .. show(pattern))
    end
  end
  set.fail = setmetatable({ with = failure }, { __call = function(_, ...) return failure(...) end })

  local be = {
    a = of_type,
    an = of_type,
    truthy = function()
      check(value ~= nil and value ~= false, "expected " .. show(value) .. " to be truthy",
        "expected " .. show(value) .. " to not be truthy")
    end,
    falsy = function()
      check(value == nil or value == false, "expected " .. show(value) .. " to be falsy",
        "expected " .. show(value) .. " to not be falsy")
    end,
    called = set.called,
    called_with = set.called_with,
  }
  set.be = setmetatable(be, {
    __call = function(_, expected)
      check(rawequal(value, expected) or value == expected, "expected " .. show(value) .. " to be " .. show(expected),
        "expected " .. show(value) .. " to not be " .. show(expected))
    end,
  })
  set.have_been = be  -- expect(spy).to.have_been.called()
  return set
end

function lust.expect(value)
  return { to = assertions(value, false), to_not = assertions(value, true) }
end

return lust
