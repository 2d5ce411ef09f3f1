-- Sandbox bootstrap: runs once in every fresh VM while the full standard library
-- is still present. It keeps what it needs in locals, then removes or replaces every
-- global that could reach the filesystem, the process or Python.
--
-- Arguments: host (a table of Python callbacks) and settings (hook_every,
-- check_every, clock_quantum, bytes_per_instruction, pattern_safe_steps, ticked, and
-- patterns_source, which returns the Lua matcher's source and chunk name). Returns a
-- table of functions the Python engine drives.
--
-- Ticked (engine/ticks.py): no count hook. A CPU timer arms the hook for one
-- instruction every few ms of the thread's CPU, on the state `tick_running` last named;
-- the hook checks the limits and turns itself off. Otherwise the hook counts
-- instructions, run every hook_every of them.
local host, settings = ...
local hook_every, check_every = settings.hook_every, settings.check_every
local tick_running, tick_capture = __alc_tick_running, __alc_tick_capture
local ticked = settings.ticked and tick_running ~= nil
__alc_tick_running, __alc_tick_capture = nil, nil
-- The hook's count between checks: none when ticked (a tick arms it).
local hook_count = ticked and 0 or hook_every
local clock_quantum, bytes_per_instruction = settings.clock_quantum, settings.bytes_per_instruction
local pattern_safe_steps = settings.pattern_safe_steps

local sethook, traceback, raw_metatable = debug.sethook, debug.traceback, debug.getmetatable
local getinfo, getregistry, raw_setmetatable_any = debug.getinfo, debug.getregistry, debug.setmetatable
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local raw_type, raw_tostring, raw_select = type, tostring, select
local raw_setmetatable, raw_rawget = setmetatable, rawget
local raw_rawset = rawset
local raw_rawlen, tointeger = rawlen, math.tointeger
local raw_load, raw_assert = load, assert
local co_create, co_resume, co_close = coroutine.create, coroutine.resume, coroutine.close
local co_wrap, co_running, co_status = coroutine.wrap, coroutine.running, coroutine.status
local pack, concat, sort, raw_unpack = table.pack, table.concat, table.sort, table.unpack
local raw_next, raw_rawget_t = next, rawget
local host_check, host_log, host_write, host_seed = host.check, host.log, host.write, host.random_seed
local host_time, host_clock = host.os_time, host.os_clock
-- Every Python object in the VM (an alc.math stream, an error a Python object raised)
-- shares lupa's metatable: its C functions (__gc, __index, __call) are lupa's business,
-- so getmetatable shows scripts `false` instead (lupa reads it raw, unaffected).
local python_mt = raw_metatable(host_check)
python_mt.__metatable = false
local raw_os = os
-- The process CPU clock (C clock()): cheap enough for every hook run, and never
-- slower than this thread's own CPU time, which the host measures.
local raw_clock = os.clock

local OUT_OF_MEMORY = "not enough memory"

-- Sticky once a limit trips or the session is cancelled: from then on every hook run
-- and every guard re-raises it, so neither pcall nor a coroutine can swallow it.
local fatal = nil

-- Work done since the host last checked the limits: instructions the hook saw plus
-- units charged for builtins (``pending``), and the worst-case steps of C calls that
-- were not charged as instructions (``unchecked``).
local pending, unchecked = 0, 0
local last_clock = raw_clock()
local poked = false -- a garbage collection cycle ended: check at the next instruction

local hook

-- Raise the limit error; from now on the hook runs on every instruction of this
-- coroutine (and at its next run in any other), so nothing can keep going.
local function trip(msg)
  fatal = msg
  sethook(hook, "", 1)
  raw_error(msg, 0)
end

local function report()
  local units = pending
  pending, unchecked = 0, 0
  last_clock = raw_clock()
  local msg = host_check(units)
  if msg then trip(msg) end
end

hook = function()
  if fatal then trip(fatal) end
  if ticked then
    poked = false
    sethook(hook, "", 0)
    report()
    return
  end
  pending = pending + hook_every
  if poked then
    poked = false
    sethook(hook, "", hook_every)
    report()
  elseif pending >= check_every or raw_clock() - last_clock >= clock_quantum then
    report()
  end
end

-- The timer arms the hook through the debug library's dispatcher; learn its address.
-- Ticks start once this state is named: from here its hook is registered.
if ticked then
  sethook(hook, "", 1 << 30)
  tick_capture()
  sethook(hook, "", 0)
  tick_running((co_running()))
end

-- Charge a builtin's work: `units` instructions against the budget, and `work` steps
-- (default: units) towards the next check of the CPU and wall clocks.
local function charge(units, work)
  if fatal then trip(fatal) end
  pending = pending + units
  unchecked = unchecked + (work or units)
  if pending >= check_every or unchecked >= check_every then report() end
end

local function charge_bytes(n)
  charge(n // bytes_per_instruction)
end

-- Every garbage collection cycle runs this finalizer (and leaves a new one for the
-- next cycle). Big allocations drive cycles, so work the hook cannot see because it
-- happens inside one instruction (`..` on huge strings, a builtin making big strings)
-- is checked at the next instruction. Finalizers run with hooks off: this one only
-- sets flags.
local sentinel_mt = {}
sentinel_mt.__gc = function()
  poked = true
  sethook(hook, "", 1)
  raw_setmetatable({}, sentinel_mt)
end
raw_setmetatable({}, sentinel_mt)

-- An error a Python object raised (calling or indexing an alc.math stream) is a Python
-- exception; the script catches its message, a string, not the object.
local function caught(err)
  if raw_metatable(err) == python_mt then return raw_tostring(err) end
  return err
end

-- Re-raise a tripped limit (or an out-of-memory error) that a protected call caught;
-- a limit that tripped inside a call that returned normally is raised too.
local function guard(ok, ...)
  if fatal then trip(fatal) end
  if ok then return ok, ... end
  local err = ...
  if err == OUT_OF_MEMORY then trip(OUT_OF_MEMORY) end
  return false, caught(err)
end

pcall = function(f, ...)
  if fatal then trip(fatal) end
  return guard(raw_pcall(f, ...))
end

-- Lua calls a message handler at the point of the error; for an error raised by our
-- hook that is inside the hook, where hooks are off. A looping handler could then
-- never be stopped, so once a limit has tripped the user's handler is not called.
xpcall = function(f, handler, ...)
  if fatal then trip(fatal) end
  local function guarded(e)
    if fatal then return fatal end
    return handler(caught(e))
  end
  return guard(raw_xpcall(f, guarded, ...))
end

-- Hooks are per coroutine: arm every coroutine the script creates.
local function arm(co)
  sethook(co, hook, "", hook_count)
  return co
end

coroutine.create = function(f)
  return arm(co_create(f))
end

-- Ticked, the timer must arm the coroutine that runs: name it before switching to it,
-- and name the one that runs again once it is back (before anything can free `co`).
local function back(...)
  tick_running((co_running()))
  return ...
end

-- Only a suspended or dead coroutine runs code when resumed or closed; for any other
-- argument the call raises or returns false at once, and the running state stays named.
local runs_on = { suspended = true, dead = true }

local function enter(f)
  if not ticked then return f end
  return function(co, ...)
    if raw_type(co) ~= "thread" or not runs_on[co_status(co)] then return f(co, ...) end
    tick_running(co)
    return back(f(co, ...))
  end
end

local resume_running, close_running = enter(co_resume), enter(co_close)

coroutine.resume = function(co, ...)
  if fatal then trip(fatal) end
  return guard(resume_running(co, ...))
end

-- Closing a suspended coroutine runs its pending __close handlers on it.
coroutine.close = function(co)
  if fatal then trip(fatal) end
  return guard(close_running(co))
end

local function wrap_result(co, ok, ...)
  if fatal then trip(fatal) end
  if ok then return ... end
  local err = ...
  if err == OUT_OF_MEMORY then trip(OUT_OF_MEMORY) end
  close_running(co)
  raw_error(err, 0)
end

-- The C coroutine.wrap would create an unarmed coroutine, so rebuild it in Lua.
coroutine.wrap = function(f)
  local co = arm(co_create(f))
  return function(...)
    if fatal then trip(fatal) end
    return wrap_result(co, resume_running(co, ...))
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

-- Text chunks only: binary chunks can break the VM's memory safety. Compiling costs
-- in proportion to the source, and a reader function runs inside load's own
-- protected call, so a limit that trips there is raised again here.
local function loaded(fn, ...)
  if fatal then trip(fatal) end
  return fn, ...
end

load = function(chunk, chunkname, _mode, ...)
  if fatal then trip(fatal) end
  if raw_type(chunk) == "string" then charge_bytes(#chunk) end
  if raw_select("#", ...) > 0 then
    return loaded(raw_load(chunk, chunkname, "t", (...)))
  end
  return loaded(raw_load(chunk, chunkname, "t"))
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
    if raw_type(fmt) == "string" then charge(#fmt) end
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

-- Builtins whose work the instruction hook cannot see, because it happens inside one
-- C call: each is charged for what it produces or walks (one instruction per
-- bytes_per_instruction bytes, one per element), so a loop that makes a big string
-- per iteration runs out of instructions as fast as one that computes in Lua.
--
-- A wrapper calls the C function under pcall so that its errors still read as if the
-- script had called it: luaL_error names the calling line, which would be this file.
local OWN_SOURCE = { ["=[alc sandbox]"] = true, ["=[alc patterns]"] = true }
local OWN_PREFIX = "[alc sandbox]:"
local s_byte, s_sub, s_find, s_gsub = string.byte, string.sub, string.find, string.gsub
local s_char = string.char

-- The position luaL_error would give: the first frame that is not sandbox code (a C
-- frame called from sandbox code is the sandbox's own pcall, and is skipped too).
local function user_where()
  local level = 3
  while true do
    local info = getinfo(level, "Sl")
    if info == nil then return "" end
    if not OWN_SOURCE[info.source] then
      local outer = info.what == "C" and getinfo(level + 1, "S")
      if not (outer and OWN_SOURCE[outer.source]) then
        if info.currentline > 0 then return info.short_src .. ":" .. info.currentline .. ": " end
        return ""
      end
    end
    level = level + 1
  end
end

local function rethrow(e)
  if fatal then trip(fatal) end
  if e == OUT_OF_MEMORY then trip(OUT_OF_MEMORY) end
  if raw_type(e) == "string" and s_find(e, OWN_PREFIX, 1, true) == 1 then
    local colon = s_find(e, ": ", #OWN_PREFIX + 1, true)
    if colon then raw_error(user_where() .. s_sub(e, colon + 2), 0) end
  end
  raw_error(e, 0)
end

local function finish(ok, ...)
  if ok then return ... end
  rethrow((...))
end

-- Returns the first result (a string), charged by its length.
local function finish_string(ok, r)
  if not ok then rethrow(r) end
  local units = #r // bytes_per_instruction
  if units > 0 then
    pending = pending + units
    unchecked = unchecked + units
    if pending >= check_every or unchecked >= check_every then report() end
  end
  return r
end

-- Returns all results, charged one instruction each.
local function finish_counted(ok, ...)
  if not ok then rethrow((...)) end
  charge(raw_select("#", ...))
  return ...
end

-- Returns all results; `work` steps count towards the next clock check.
local function finish_work(work, ok, ...)
  if not ok then rethrow((...)) end
  charge(0, work)
  return ...
end

local function start_index(init, len)
  if init > 0 then return init end
  if init == 0 or init < -len then return 1 end
  return len + init + 1
end

do
  local rep, format, upper, lower, reverse = string.rep, string.format, string.upper, string.lower, string.reverse
  local find, match, gmatch, gsub = string.find, string.match, string.gmatch, string.gsub
  local insert, remove, move, unpack = table.insert, table.remove, table.move, table.unpack
  local len, codepoint, char = utf8.len, utf8.codepoint, utf8.char

  -- Called under pcall, a C function would report errors with no line and as '?';
  -- called from these one-line Lua functions it names itself and this file's line,
  -- which rethrow replaces with the script's.
  local function c_rep(...) return rep(...) end
  local function c_format(...) return format(...) end
  local function c_upper(...) return upper(...) end
  local function c_lower(...) return lower(...) end
  local function c_reverse(...) return reverse(...) end
  local function c_find(...) return find(...) end
  local function c_match(...) return match(...) end
  local function c_gmatch(...) return gmatch(...) end
  local function c_gsub(...) return gsub(...) end
  local function c_insert(...) return insert(...) end
  local function c_remove(...) return remove(...) end
  local function c_move(...) return move(...) end
  local function c_unpack(...) return unpack(...) end
  local function c_concat(...) return concat(...) end
  local function c_sort(...) return sort(...) end
  local function c_len(...) return len(...) end
  local function c_codepoint(...) return codepoint(...) end
  local function c_char(...) return char(...) end

  string.rep = function(...)
    local s, n, sep = ...
    if s == "" and (sep == nil or sep == "") and tointeger(n) then
      -- "" whatever the count; C would still loop k times copying nothing.
      return finish(raw_pcall(c_rep, s, 1, sep))
    end
    return finish_string(raw_pcall(c_rep, ...))
  end
  string.format = function(...) return finish_string(raw_pcall(c_format, ...)) end
  string.upper = function(...) return finish_string(raw_pcall(c_upper, ...)) end
  string.lower = function(...) return finish_string(raw_pcall(c_lower, ...)) end
  string.reverse = function(...) return finish_string(raw_pcall(c_reverse, ...)) end
  utf8.char = function(...) return finish_string(raw_pcall(c_char, ...)) end
  utf8.codepoint = function(...) return finish_counted(raw_pcall(c_codepoint, ...)) end
  table.unpack = function(...) return finish_counted(raw_pcall(c_unpack, ...)) end

  utf8.len = function(...)
    local s = ...
    if raw_type(s) == "string" then charge_bytes(#s) end
    return finish(raw_pcall(c_len, ...))
  end

  -- Elements walked by table.concat, table.move: j - i + 1 when both are known.
  local function span(t, i, j)
    if raw_type(t) ~= "table" then return 0 end
    i = i == nil and 1 or tointeger(i)
    j = j == nil and raw_rawlen(t) or tointeger(j)
    if i == nil or j == nil or j < i then return 0 end
    return j - i + 1
  end

  table.concat = function(...)
    local t, _, i, j = ...
    local r = finish(raw_pcall(c_concat, ...))
    charge(#r // bytes_per_instruction + span(t, i, j))
    return r
  end

  table.move = function(...)
    local a1, f, e = ...
    charge(span(a1, f, e))
    return finish(raw_pcall(c_move, ...))
  end

  -- Inserting or removing at a position shifts the elements after it.
  table.insert = function(...)
    if raw_select("#", ...) == 3 then
      local t = ...
      if raw_type(t) == "table" then charge(raw_rawlen(t)) end
    end
    return finish(raw_pcall(c_insert, ...))
  end

  table.remove = function(...)
    if raw_select("#", ...) >= 2 then
      local t = ...
      if raw_type(t) == "table" then charge(raw_rawlen(t)) end
    end
    return finish(raw_pcall(c_remove, ...))
  end

  table.sort = function(...)
    local t = ...
    if raw_type(t) == "table" then
      local n = raw_rawlen(t)
      local depth = 1
      while (1 << depth) < n do depth = depth + 1 end
      charge(n * depth)
    end
    return finish(raw_pcall(c_sort, ...))
  end

  -- Pattern matching. The C matcher backtracks without bound (".-.-.-b" on a long
  -- subject takes hours) and cannot be interrupted, so each call is costed first:
  -- about starts x complexity x L^expanding quantifiers, for a subject of L bytes.
  -- A call that is cheap in the worst case runs in C; any other runs in the Lua
  -- matcher (patterns.lua), where every step is an instruction the hook counts.
  local function fail(message)
    raw_error(user_where() .. message, 0)
  end
  -- Compiled on the first expensive call: most scripts never need it, and every
  -- paused session would otherwise hold its code (about 30 KiB of Lua heap).
  local lua_patterns = nil
  local function matcher(name)
    if lua_patterns == nil then
      -- An empty environment: the matcher uses only what `deps` hands it, never the
      -- script's (possibly clobbered) globals.
      local source, name = settings.patterns_source()
      local chunk = raw_assert(raw_load(source, name, "t", {}))
      lua_patterns = chunk({
        byte = s_byte, sub = s_sub, find = s_find, gsub = s_gsub, char = s_char,
        concat = concat, unpack = unpack, tostring = raw_tostring, type = raw_type, fail = fail,
        charge = charge,
      })
    end
    return lua_patterns[name]
  end

  local SPECIALS = "[%^%$%*%+%?%.%(%[%%%-]"
  local CLOSE = 41

  -- Index after a [set] starting at i, or nil if malformed.
  local function skip_set(p, i, n)
    i = i + 1
    if s_byte(p, i) == 94 then i = i + 1 end
    repeat
      if i > n then return nil end
      local c = s_byte(p, i)
      i = i + 1
      if c == 37 and i <= n then i = i + 1 end
    until s_byte(p, i) == 93
    return i + 1
  end

  -- (exponent, factor): the worst case of one match attempt is about
  -- factor x L^exponent steps. Each * + - counts one in the exponent unless only
  -- capture closes follow it (it then matches at once); %b and back-references too.
  local function analyse(p)
    local n = #p
    local expo, factor = 0, n + 1
    local i = 1
    if s_byte(p, 1) == 94 then i = 2 end
    while i <= n do
      local c = s_byte(p, i)
      local item_end = nil
      if c == 40 or c == CLOSE then
        i = i + 1
      elseif c == 37 then
        local d = s_byte(p, i + 1)
        if d == nil then return 99, factor end
        if d == 98 then
          expo = expo + 1
          i = i + 4
        elseif d == 102 then
          i = skip_set(p, i + 2, n)
          if i == nil then return 99, factor end
        elseif d >= 48 and d <= 57 then
          expo = expo + 1
          i = i + 2
        else
          item_end = i + 2
        end
      elseif c == 91 then
        item_end = skip_set(p, i, n)
        if item_end == nil then return 99, factor end
      else
        item_end = i + 1
      end
      if item_end then
        local q = s_byte(p, item_end)
        if q == 42 or q == 43 or q == 45 then
          local k = item_end + 1
          while s_byte(p, k) == CLOSE do k = k + 1 end
          if k <= n then expo = expo + 1 end
          i = item_end + 1
        elseif q == 63 then
          factor = factor * 2
          i = item_end + 1
        else
          i = item_end
        end
      end
    end
    return expo, factor
  end

  -- Per pattern: { exponent, factor, anchored, no specials }.
  local cache, cached = {}, 0
  local function entry_of(p)
    local entry = cache[p]
    if entry == nil then
      if cached >= 256 then cache, cached = {}, 0 end
      local expo, factor = analyse(p)
      entry = { expo, factor, s_byte(p, 1) == 94, not s_find(p, SPECIALS) }
      cache[p] = entry
      cached = cached + 1
    end
    return entry
  end

  -- Worst-case steps of a search over n start positions (n = subject length + 1).
  local function worst_case(p, n)
    local entry = entry_of(p)
    if entry[3] then return entry[2] * n ^ entry[1] end
    return entry[2] * n ^ (entry[1] + 1)
  end

  -- Returns all results; `cost` steps count towards the next clock check.
  local function worked(cost, ok, ...)
    if not ok then rethrow((...)) end
    if fatal then trip(fatal) end
    unchecked = unchecked + cost
    if unchecked >= check_every then report() end
    return ...
  end

  -- Subject, pattern, init and start positions as the C functions would take them, or
  -- nil when an argument is bad (the C function is then called to report it).
  local function texts(s, p, init)
    local ts, tp = raw_type(s), raw_type(p)
    if (ts ~= "string" and ts ~= "number") or (tp ~= "string" and tp ~= "number") then return nil end
    local i = 1
    if init ~= nil then
      i = tointeger(init)
      if i == nil then return nil end
    end
    s, p = raw_tostring(s), raw_tostring(p)
    local from = start_index(i, #s)
    local subject = #s - from + 2 -- start positions from init, the empty end included
    if subject < 1 then subject = 1 end
    return s, p, i, subject
  end

  -- Each function has a fast path for the common call (two strings, no init) and a
  -- general one (numbers as strings, init, or bad arguments the C function reports).
  local function find_general(...)
    local s, p, i, subject = texts(...)
    if s == nil then return finish(raw_pcall(c_find, ...)) end
    local plain = raw_select(4, ...)
    if plain or entry_of(p)[4] then
      local cost = subject * (#p + 1)
      if cost <= pattern_safe_steps then return worked(cost, raw_pcall(c_find, ...)) end
      return finish(raw_pcall(matcher("find"), s, p, i, true))
    end
    local cost = worst_case(p, subject)
    if cost <= pattern_safe_steps then return worked(cost, raw_pcall(c_find, ...)) end
    return finish(raw_pcall(matcher("find"), s, p, i, false))
  end

  string.find = function(...)
    local s, p, init, plain = ...
    if init == nil and raw_type(s) == "string" and raw_type(p) == "string" then
      local n = #s + 1
      local entry = entry_of(p)
      local cost
      if plain or entry[4] then
        cost = n * (#p + 1)
      elseif entry[3] then
        cost = entry[2] * n ^ entry[1]
      else
        cost = entry[2] * n ^ (entry[1] + 1)
      end
      if cost <= pattern_safe_steps then return worked(cost, raw_pcall(c_find, s, p, nil, plain)) end
    end
    return find_general(...)
  end

  local function match_general(...)
    local s, p, i, subject = texts(...)
    if s == nil then return finish(raw_pcall(c_match, ...)) end
    local cost = worst_case(p, subject)
    if cost <= pattern_safe_steps then return worked(cost, raw_pcall(c_match, ...)) end
    return finish(raw_pcall(matcher("match"), s, p, i))
  end

  string.match = function(...)
    local s, p, init = ...
    if init == nil and raw_type(s) == "string" and raw_type(p) == "string" then
      local cost = worst_case(p, #s + 1)
      if cost <= pattern_safe_steps then return worked(cost, raw_pcall(c_match, s, p)) end
    end
    return match_general(...)
  end

  string.gmatch = function(...)
    local s, p, i, subject = texts(...)
    if s == nil then return finish(raw_pcall(c_gmatch, ...)) end
    -- gmatch treats '^' as a plain character: every start position is tried.
    local entry = entry_of(p)
    local cost = entry[2] * subject ^ (entry[1] + 1)
    if cost <= pattern_safe_steps then return worked(cost, raw_pcall(c_gmatch, ...)) end
    return finish(raw_pcall(matcher("gmatch"), s, p, i))
  end

  local function c_gsub_done(cost, ok, r, count)
    if not ok then rethrow(r) end
    -- gsub always returns a string today; do not rely on it for the charge.
    charge(raw_type(r) == "string" and #r // bytes_per_instruction or 0, cost)
    return r, count
  end

  string.gsub = function(...)
    local src, p, repl, max_n = ...
    local tr = raw_type(repl)
    local s, pat, _, subject = texts(src, p)
    local n = max_n
    if max_n ~= nil then n = tointeger(max_n) end
    if s == nil or (max_n ~= nil and n == nil)
      or (tr ~= "string" and tr ~= "number" and tr ~= "table" and tr ~= "function") then
      return finish(raw_pcall(c_gsub, ...))
    end
    local cost = worst_case(pat, subject)
    if cost <= pattern_safe_steps then return c_gsub_done(cost, raw_pcall(c_gsub, ...)) end
    -- Like C, an unchanged subject comes back as the string it was converted to.
    local ok, r, count = raw_pcall(matcher("gsub"), s, pat, repl, n)
    if not ok then rethrow(r) end
    charge_bytes(#r)
    return r, count
  end
end

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
  local mt = raw_metatable(e)
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

local unpack = raw_unpack
local api = {}

function api.set_error_encoder(f) encode_error = f end

-- Python callbacks return (true, ...) on success, (false, message) for an ordinary
-- error and (nil, message) for a fatal one (limit, cancellation). Raising here, in a
-- real Lua function that is not a tail call, gives plain string errors that carry the
-- caller's line. `over(f)` makes such functions over `f`: `over(f)()` calls f(...),
-- `over(f)(i)` calls f(i, ...); all of them share f, so each alc function is one
-- closure whose only upvalue of its own is its index (two closures and two upvalues
-- each cost a VM ~9 KiB more over its ~90 alc functions).
local function over(f)
  return function(index)
    return function(...)
      local r
      if index then r = pack(f(index, ...)) else r = pack(f(...)) end
      if fatal then trip(fatal) end
      if r[1] then return unpack(r, 2, r.n) end
      if r[1] == nil then trip(r[2]) end
      raw_error(r[2], 2)
    end
  end
end

function api.wrap(f) return over(f)() end

-- The alc table, built in parts as they are first needed: most sessions call a few
-- Layer 0 functions and never the rest. Until every part is built, alc (and a built
-- sub-table the prelude extends) carries `lazy_mt`: reading a key it lacks builds
-- that part, walking it with pairs builds everything, and a key the script sets
-- first keeps the script's value.
local lazy = nil -- { alc, bind, members, extenders, subs = {name = true}, prelude = {...} or nil }
local walk = pairs
local lazy_mt = {}

-- A Layer 0 sub-table (alc.math, alc.state, ...): its functions, from `members(name)`
-- (Python: key, index, key, index, ...), each one closure over the dispatcher.
local function build_sub(name)
  local l = lazy
  l.subs[name] = nil
  local sub = {}
  local function put(key, index, ...)
    if key == nil then return end
    raw_rawset(sub, key, l.bind(index))
    return put(...)
  end
  put(l.members(name))
  local extend = raw_rawget(l.extenders, name)
  if extend ~= nil then extend(sub) end
  raw_rawset(l.alc, name, sub)
  if l.prelude ~= nil and l.prelude.extended[name] then
    raw_setmetatable(sub, lazy_mt)
    l.prelude.hooked[#l.prelude.hooked + 1] = sub
  end
  if l.prelude == nil and raw_next(l.subs) == nil then
    raw_setmetatable(l.alc, nil)
    lazy = nil
  end
  return sub
end

-- Everything at once: every Layer 0 sub-table, then Layer 1 (the prelude).
local function build_all()
  local l = lazy
  if l == nil then return end
  for name in raw_next, l.subs do build_sub(name) end
  local p = l.prelude
  if p ~= nil then
    l.prelude = nil
    for i = 1, #p.hooked do raw_setmetatable(p.hooked[i], nil) end
    local kept = {}
    for i = 1, #p.touched, 2 do kept[i] = raw_rawget(p.touched[i], p.touched[i + 1]) end
    raw_assert(raw_load(p.bytecode(), p.chunkname, "b", p.env))()
    for i = 1, #p.touched, 2 do raw_rawset(p.touched[i], p.touched[i + 1], kept[i]) end
  end
  raw_setmetatable(l.alc, nil)
  lazy = nil
end

lazy_mt.__index = function(t, k)
  local l = lazy
  if l ~= nil and t == l.alc and l.subs[k] then return build_sub(k) end
  build_all()
  return t[k]
end
lazy_mt.__newindex = function(t, k, v)
  local l = lazy
  if l ~= nil then
    if t == l.alc then l.subs[k] = nil end
    local p = l.prelude
    if p ~= nil then
      local n = #p.touched
      p.touched[n + 1], p.touched[n + 2] = t, k
    end
  end
  raw_rawset(t, k, v)
end
lazy_mt.__pairs = function(t)
  build_all()
  return walk(t)
end

-- Layer 0 in one call from Python: `tops` are the names directly under alc, the
-- functions `dispatch(1..#tops, ...)` runs; `subs` the sub-tables, built on first use
-- from `members(name)`, then handed to `extenders[name]` if there is one (alc.math's
-- Lua streams). The VM holds one Python object for all the functions.
function api.install(tops, dispatch, subs, members, extenders)
  local alc, bind = {}, over(dispatch)
  for i = 1, raw_rawlen(tops) do raw_rawset(alc, raw_rawget(tops, i), bind(i)) end
  local pending = {}
  for i = 1, raw_rawlen(subs) do pending[raw_rawget(subs, i)] = true end
  lazy = { alc = alc, bind = bind, members = members, extenders = extenders, subs = pending }
  raw_setmetatable(alc, lazy_mt)
  return alc
end

-- Layer 1 (lua/prelude.lua, as bytecode) loaded on first use too: it is ~30 KiB of a
-- VM's heap. `bytecode()` returns its code (a Python function: the VM holds no copy);
-- `extended` names the Layer 0 sub-tables it adds keys to. `reads` are the globals it
-- reads while it loads ("type", or "string.byte" for a field), copied now, so that a
-- script that clobbers them first (`string = nil`) cannot break it.
function api.defer(alc, bytecode, chunkname, reads, extended)
  local globals = _ENV
  local env = raw_setmetatable({}, { __index = globals, __newindex = globals })
  for i = 1, raw_rawlen(reads) do
    local read = raw_rawget(reads, i)
    local dot = s_find(read, ".", 1, true)
    if dot == nil then
      if raw_rawget(env, read) == nil then raw_rawset(env, read, raw_rawget(globals, read)) end
    else
      local name, field = s_sub(read, 1, dot - 1), s_sub(read, dot + 1)
      local library = raw_rawget(globals, name)
      local copy = raw_rawget(env, name)
      if raw_type(library) == "table" then
        if copy == nil or copy == library then
          copy = raw_setmetatable({}, { __index = library })
          raw_rawset(env, name, copy)
        end
        raw_rawset(copy, field, raw_rawget(library, field))
      end
    end
  end
  raw_rawset(env, "alc", alc) -- even if the script has set the global alc = nil
  local wanted = {}
  for i = 1, raw_rawlen(extended) do wanted[raw_rawget(extended, i)] = true end
  lazy.prelude = {
    bytecode = bytecode, chunkname = chunkname, env = env, extended = wanted, hooked = {}, touched = {},
  }
  raw_setmetatable(alc, lazy_mt)
end

-- Runs a text chunk on the VM's main thread with the limit hook armed. Returns
-- (true, first result) or (false, message).
function api.run(source, chunkname)
  local fn, err = raw_load(source, chunkname, "t")
  if not fn then return false, err end
  collect("collect")
  sethook(hook, "", hook_count)
  local ok, result = raw_xpcall(fn, handler)
  return ok, result
end

-- Called once the run is over: drops everything the script and the library left
-- reachable (globals, loaded modules, the string metatable), then collects. The Python
-- callbacks the VM held go with it, so the VM is freed as soon as the engine lets go of
-- it, not whenever Python's cycle collector next runs (they reference each other).
-- A coroutine.wrap function is a C function, and its coroutine has no hook: a limit
-- that tripped (the hook then fires at every instruction) cannot stop it.
api.release = co_wrap(function()
  sentinel_mt.__gc = nil
  encode_error, lazy = nil, nil
  local registry = getregistry()
  for _, t in raw_next, { registry[2], registry._LOADED, registry._PRELOAD } do
    if raw_type(t) == "table" then
      for k in raw_next, t do raw_rawset(t, k, nil) end
      raw_setmetatable_any(t, nil)
    end
  end
  raw_setmetatable_any("", nil)
  collect("collect")
  collect("collect")
end)

return api
