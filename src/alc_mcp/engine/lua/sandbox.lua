-- Sandbox bootstrap: runs once in every fresh VM while the full standard library
-- is still present. It keeps what it needs in locals, then removes or replaces every
-- global that could reach the filesystem, the process or Python.
--
-- Arguments: host (a table of Python callbacks) and hook_every (instructions between
-- two limit checks). Returns a table of functions the Python engine drives.
local host, hook_every = ...

local sethook, traceback, raw_metatable = debug.sethook, debug.traceback, debug.getmetatable
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local raw_type, raw_tostring, raw_select = type, tostring, select
local raw_setmetatable, raw_getmetatable, raw_rawget = setmetatable, getmetatable, rawget
local raw_load = load
local co_create, co_resume, co_close = coroutine.create, coroutine.resume, coroutine.close
local pack, concat, sort = table.pack, table.concat, table.sort
local raw_next, raw_rawget_t = next, rawget
local host_check, host_log, host_write, host_seed = host.check, host.log, host.write, host.random_seed
local host_time, host_clock = host.os_time, host.os_clock
local raw_os = os

local OUT_OF_MEMORY = "not enough memory"

-- Sticky once a limit trips or the session is cancelled: from then on every guard
-- re-raises it, so neither pcall nor a coroutine can swallow it.
local fatal = nil

local hook
hook = function()
  local msg = fatal or host_check()
  if msg then
    fatal = msg
    -- Check on every instruction from now on, so an error handler cannot keep going.
    sethook(hook, "", 1)
    raw_error(msg, 0)
  end
end

local function trip(msg)
  fatal = msg
  sethook(hook, "", 1)
  raw_error(msg, 0)
end

-- Re-raise a tripped limit (or an out-of-memory error) that a protected call caught.
local function guard(ok, ...)
  if not ok then
    if fatal then raw_error(fatal, 0) end
    if (...) == OUT_OF_MEMORY then trip(OUT_OF_MEMORY) end
  end
  return ok, ...
end

pcall = function(f, ...)
  return guard(raw_pcall(f, ...))
end

-- Lua calls a message handler at the point of the error; for an error raised by our
-- hook that is inside the hook, where hooks are off. A looping handler could then
-- never be stopped, so once a limit has tripped the user's handler is not called.
xpcall = function(f, handler, ...)
  local function guarded(e)
    if fatal then return fatal end
    return handler(e)
  end
  return guard(raw_xpcall(f, guarded, ...))
end

-- Hooks are per coroutine: arm every coroutine the script creates.
local function arm(co)
  sethook(co, hook, "", hook_every)
  return co
end

coroutine.create = function(f)
  return arm(co_create(f))
end

coroutine.resume = function(co, ...)
  return guard(co_resume(co, ...))
end

coroutine.close = function(co)
  return guard(co_close(co))
end

local function wrap_result(co, ok, ...)
  if ok then return ... end
  if fatal then raw_error(fatal, 0) end
  local err = ...
  if err == OUT_OF_MEMORY then trip(OUT_OF_MEMORY) end
  co_close(co)
  raw_error(err, 0)
end

-- The C coroutine.wrap would create an unarmed coroutine, so rebuild it in Lua.
coroutine.wrap = function(f)
  local co = arm(co_create(f))
  return function(...)
    return wrap_result(co, co_resume(co, ...))
  end
end

-- pairs walks keys in a fixed order (numbers ascending, then strings in byte order,
-- then booleans, then anything else), not in hash order. Lua seeds its string hash per
-- VM, so the stock order changes from one VM to the next; a script that asks the LLM
-- inside a pairs loop would then ask in a different order when its session is
-- replayed after a restart. A fixed order makes every run of a script take the same path.
local key_rank = { number = 1, string = 2, boolean = 3 }
local function key_before(a, b)
  local ta, tb = raw_type(a), raw_type(b)
  if ta ~= tb then return (key_rank[ta] or 4) < (key_rank[tb] or 4) end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return b and not a end
  return raw_tostring(a) < raw_tostring(b)
end

pairs = function(t)
  local mt = raw_metatable(t)
  local meta = mt and raw_rawget_t(mt, "__pairs")
  if meta then
    local f, s, c = meta(t)
    return f, s, c
  end
  if raw_type(t) ~= "table" then
    raw_error("bad argument #1 to 'pairs' (table expected, got " .. raw_type(t) .. ")", 2)
  end
  local keys, n = {}, 0
  for k in raw_next, t do
    n = n + 1
    keys[n] = k
  end
  sort(keys, key_before)
  local i = 0
  return function()
    while i < n do
      i = i + 1
      local k = keys[i]
      local v = raw_rawget_t(t, k)
      if v ~= nil then return k, v end  -- skip fields cleared during the traversal
    end
    return nil
  end, t, nil
end

-- Lua 5.4 runs __gc finalizers with hooks switched off, so a looping finalizer could
-- never be stopped. Refuse them (Lua only marks objects whose metatable has __gc at
-- setmetatable time, so checking here is enough).
setmetatable = function(t, mt)
  if raw_type(mt) == "table" and raw_rawget(mt, "__gc") ~= nil then
    raw_error("setmetatable: __gc metamethods are not allowed in the alc-mcp sandbox "
      .. "(finalizers cannot be interrupted by the instruction limit)", 2)
  end
  return raw_setmetatable(t, mt)
end

-- Text chunks only: binary chunks can break the VM's memory safety.
load = function(chunk, chunkname, _mode, ...)
  if raw_select("#", ...) > 0 then
    return raw_load(chunk, chunkname, "t", (...))
  end
  return raw_load(chunk, chunkname, "t")
end

local function unavailable(name, why)
  return function()
    raw_error(name .. " is not available in the alc-mcp sandbox" .. (why or ""), 2)
  end
end

dofile = unavailable("dofile", ": scripts cannot read files; put shared code in a package and use require")
loadfile = unavailable("loadfile", ": scripts cannot read files; use load(string) for code you already have")

local collect = collectgarbage
local allowed_collect = { collect = true, count = true, step = true, isrunning = true }
collectgarbage = function(opt, ...)
  if opt == nil or allowed_collect[opt] then return collect(opt, ...) end
  raw_error("collectgarbage('" .. raw_tostring(opt) .. "') is not available in the alc-mcp sandbox", 2)
end

-- print goes to the session log, never to stdout (the MCP transport).
print = function(...)
  local args = pack(...)
  for i = 1, args.n do args[i] = raw_tostring(args[i]) end
  host_log("info", "alc.lua.print", concat(args, "\t", 1, args.n))
end

-- io: writes go to the session log; opening files fails the guarded way
-- (nil plus a message), so `local f = io.open(p) if f then ... end` keeps working.
local function writer(stream)
  local file = {}
  function file:write(...)
    local args = pack(...)
    for i = 1, args.n do
      local v = args[i]
      local t = raw_type(v)
      if t == "number" then
        args[i] = raw_tostring(v)
      elseif t ~= "string" then
        raw_error("bad argument #" .. i .. " to 'write' (string expected, got " .. t .. ")", 2)
      end
    end
    host_write(stream, concat(args, "", 1, args.n))
    return self
  end
  function file:flush() return self end
  function file:close() return true end
  function file:setvbuf() return true end
  function file:read() return nil end
  function file:lines() raw_error("reading is not available in the alc-mcp sandbox", 2) end
  function file:seek() return nil, "seek is not available in the alc-mcp sandbox" end
  return raw_setmetatable(file, { __name = "FILE*", __tostring = function() return "file (" .. stream .. ")" end })
end

local stdout, stderr, stdin = writer("stdout"), writer("stderr"), writer("stdin")
local function no_files(name)
  return function(path)
    return nil, raw_tostring(path) .. ": " .. name
      .. " is not available in the alc-mcp sandbox (scripts cannot open files or processes)"
  end
end
io = {
  open = no_files("io.open"),
  popen = no_files("io.popen"),
  tmpfile = no_files("io.tmpfile"),
  lines = unavailable("io.lines", ": scripts cannot read files"),
  read = function() return nil end,
  write = function(...) return stdout:write(...) end,
  close = function() return true end,
  flush = function() return stdout end,
  input = function() return stdin end,
  output = function() return stdout end,
  type = function(f)
    if f == stdout or f == stderr or f == stdin then return "file" end
    return nil
  end,
  stdout = stdout,
  stderr = stderr,
  stdin = stdin,
}

-- os: clocks come from the host (so a replay sees the same values); nothing that
-- touches the process, the environment or the filesystem.
local raw_time, raw_date = raw_os.time, raw_os.date
os = {
  time = function(t)
    if t == nil then return host_time() end
    return raw_time(t)
  end,
  clock = function() return host_clock() end,
  date = function(fmt, t)
    return raw_date(fmt, t or host_time())
  end,
  difftime = raw_os.difftime,
  getenv = function() return nil end,
  setlocale = function(locale)
    if locale == nil then return "C" end
    return nil
  end,
  execute = unavailable("os.execute"),
  remove = unavailable("os.remove"),
  rename = unavailable("os.rename"),
  exit = unavailable("os.exit"),
  tmpname = unavailable("os.tmpname"),
}

-- math.random is seeded by the host, and an argument-less randomseed asks the host
-- again, so the sequence a script sees is the one recorded for it.
local raw_randomseed = math.randomseed
math.randomseed = function(...)
  if raw_select("#", ...) == 0 then
    raw_randomseed(host_seed())
    return
  end
  raw_randomseed(...)
end
raw_randomseed(host_seed())

-- Packages: no C modules, no filesystem searchers; package loaders are added by the
-- engine through package.preload / package.searchers.
package.loadlib = nil
package.searchpath = nil
package.cpath = ""
package.path = ""
local searchers = package.searchers
for i = #searchers, 2, -1 do searchers[i] = nil end
package.loaded.io = io
package.loaded.os = os
package.loaded.debug = nil
package.loaded.python = nil
debug = nil
python = nil

-- alc.json_encode, once the alc library is installed (api.set_error_encoder): a table
-- raised as an error (`error({code = 42})`) is shown as its JSON, `{"code":42}`.
local encode_error = nil

local function describe(e)
  local t = raw_type(e)
  if t == "string" then return e end
  if t == "number" or t == "boolean" or t == "nil" then return raw_tostring(e) end
  local mt = raw_getmetatable(e)
  if raw_type(mt) == "table" and raw_rawget(mt, "__tostring") then
    local ok, s = raw_pcall(raw_tostring, e)
    if ok and raw_type(s) == "string" then return s end
  end
  if t == "table" and encode_error ~= nil then
    local ok, s = raw_pcall(encode_error, e)
    if ok and raw_type(s) == "string" then return s end
  end
  return "(error object is a " .. t .. " value)"
end

local function handler(e)
  if fatal then return fatal end
  return traceback(describe(e), 2)
end

local unpack = table.unpack
local api = {}

function api.set_error_encoder(f) encode_error = f end

-- Python callbacks return (true, ...) on success, (false, message) for an ordinary
-- error and (nil, message) for a fatal one (limit, cancellation). Raising here, in a
-- real Lua function that is not a tail call, gives plain string errors that carry the
-- caller's line.
function api.wrap(f)
  return function(...)
    local r = pack(f(...))
    if r[1] then return unpack(r, 2, r.n) end
    if r[1] == nil then trip(r[2]) end
    raw_error(r[2], 2)
  end
end

-- Runs a text chunk on the VM's main thread with the limit hook armed. Returns
-- (true, first result) or (false, message).
function api.run(source, chunkname)
  local fn, err = raw_load(source, chunkname, "t")
  if not fn then return false, err end
  sethook(hook, "", hook_every)
  local ok, result = raw_xpcall(fn, handler)
  return ok, result
end

return api
