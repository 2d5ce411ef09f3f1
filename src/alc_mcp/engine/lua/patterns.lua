-- Lua patterns written in Lua: string.find, match, gmatch and gsub with the exact
-- behaviour of Lua 5.4's C matcher (lstrlib.c), for the calls the sandbox judges too
-- expensive to run in C. The C matcher cannot be interrupted: a count hook never fires
-- inside a C function, so `("a"):rep(1e5):find(".-.-.-b")` would run for hours. Here
-- every step is a Lua instruction, so the instruction, CPU-time and wall-clock limits
-- stop it like any other loop.
--
-- Arguments: deps, a table of raw functions captured before the sandbox replaced
-- them (byte, sub, find, gsub, char, concat, unpack, tostring, type), `fail(message)`,
-- which raises a pattern error at the caller's line the way luaL_error would, and
-- `charge(units, work)` (optional), which charges C work to the limits. Returns {find, match, gmatch, gsub}, taking already-checked
-- arguments (strings and integers).
local deps = ...
local byte, sub, c_find, c_gsub = deps.byte, deps.sub, deps.find, deps.gsub
local char, concat, unpack = deps.char, deps.concat, deps.unpack
local tostring, type, fail = deps.tostring, deps.type, deps.fail
local charge = deps.charge or function() end

local MAXCCALLS = 200
local MAXCAPTURES = 32
local CAP_UNFINISHED = -1
local CAP_POSITION = -2

local PERCENT, LBRACKET, RBRACKET, CARET, DOLLAR = 37, 91, 93, 94, 36
local LPAREN, RPAREN, DOT, DASH, STAR, PLUS, QUESTION = 40, 41, 46, 45, 42, 43, 63

-- Character classes as the C matcher sees them in the current locale: ask it once
-- for each class which of the 256 bytes belong.
local classes = {}
do
  local all = {}
  for b = 0, 255 do all[b + 1] = char(b) end
  all = concat(all)
  local names = { "a", "c", "d", "g", "l", "p", "s", "u", "w", "x" }
  for i = 1, #names do
    local cl = names[i]
    local members = {}
    c_gsub(all, "%" .. cl, function(ch) members[byte(ch)] = true end)
    classes[byte(cl)] = members
  end
  classes[byte("z")] = { [0] = true }
end

local function match_class(c, cl)
  local members = classes[cl]
  if members == nil then
    local lower = classes[cl + 32]
    if cl >= 65 and cl <= 90 and lower ~= nil then return not lower[c] end
    return cl == c
  end
  return members[c] == true
end

local function class_end(ms, p)
  local pat, plen = ms.pat, ms.plen
  local c = byte(pat, p)
  p = p + 1
  if c == PERCENT then
    if p > plen then fail("malformed pattern (ends with '%')") end
    return p + 1
  elseif c == LBRACKET then
    if byte(pat, p) == CARET then p = p + 1 end
    repeat
      if p > plen then fail("malformed pattern (missing ']')") end
      local cc = byte(pat, p)
      p = p + 1
      if cc == PERCENT and p <= plen then p = p + 1 end
    until byte(pat, p) == RBRACKET
    return p + 1
  end
  return p
end

-- p: index of '['; ec: index of the closing ']'
local function match_bracket(ms, c, p, ec)
  local pat = ms.pat
  local sig = true
  if byte(pat, p + 1) == CARET then
    sig = false
    p = p + 1
  end
  p = p + 1
  while p < ec do
    local pc = byte(pat, p)
    if pc == PERCENT then
      p = p + 1
      if match_class(c, byte(pat, p)) then return sig end
    elseif byte(pat, p + 1) == DASH and p + 2 < ec then
      if pc <= c and c <= byte(pat, p + 2) then return sig end
      p = p + 2
    elseif pc == c then
      return sig
    end
    p = p + 1
  end
  return not sig
end

local function single_match(ms, s, p, ep)
  if s > ms.slen then return false end
  local c = byte(ms.src, s)
  local pc = byte(ms.pat, p)
  if pc == DOT then return true end
  if pc == PERCENT then return match_class(c, byte(ms.pat, p + 1)) end
  if pc == LBRACKET then return match_bracket(ms, c, p, ep - 1) end
  return pc == c
end

local do_match

local function match_balance(ms, s, p)
  if p >= ms.plen then fail("malformed pattern (missing arguments to '%b')") end
  local src, pat = ms.src, ms.pat
  local open = byte(pat, p)
  if (byte(src, s) or 0) ~= open then return nil end
  local close = byte(pat, p + 1)
  local depth = 1
  local slen = ms.slen
  s = s + 1
  while s <= slen do
    local c = byte(src, s)
    if c == close then
      depth = depth - 1
      if depth == 0 then return s + 1 end
    elseif c == open then
      depth = depth + 1
    end
    s = s + 1
  end
  return nil
end

-- The greedy run is measured by the C matcher (an anchored "^class*" is linear) and
-- charged; only the backtracking over it costs Lua steps.
local function max_expand(ms, s, p, ep)
  local runs = ms.runs
  local run = runs[p]
  if run == nil then
    run = "^" .. sub(ms.pat, p, ep - 1) .. "*"
    runs[p] = run
  end
  local _, last = c_find(ms.src, run, s)
  local i = last - s + 1
  charge(i // 2, i)
  while i >= 0 do
    local res = do_match(ms, s + i, ep + 1)
    if res then return res end
    i = i - 1
  end
  return nil
end

local function min_expand(ms, s, p, ep)
  while true do
    local res = do_match(ms, s, ep + 1)
    if res then return res end
    if single_match(ms, s, p, ep) then
      s = s + 1
    else
      return nil
    end
  end
end

local function start_capture(ms, s, p, what)
  local level = ms.level
  if level >= MAXCAPTURES then fail("too many captures") end
  ms.cinit[level + 1] = s
  ms.clen[level + 1] = what
  ms.level = level + 1
  local res = do_match(ms, s, p)
  if not res then ms.level = ms.level - 1 end
  return res
end

local function capture_to_close(ms)
  local clen = ms.clen
  for level = ms.level, 1, -1 do
    if clen[level] == CAP_UNFINISHED then return level end
  end
  fail("invalid pattern capture")
end

local function end_capture(ms, s, p)
  local l = capture_to_close(ms)
  ms.clen[l] = s - ms.cinit[l]
  local res = do_match(ms, s, p)
  if not res then ms.clen[l] = CAP_UNFINISHED end
  return res
end

local function check_capture(ms, l)
  l = l - 49 -- '1'
  if l < 0 or l >= ms.level or ms.clen[l + 1] == CAP_UNFINISHED then
    fail("invalid capture index %" .. (l + 1))
  end
  return l + 1
end

local function match_capture(ms, s, l)
  l = check_capture(ms, l)
  local len = ms.clen[l]
  local init = ms.cinit[l]
  -- A position capture has a negative length, huge as C's size_t: it never matches.
  if len >= 0 and ms.slen - s + 1 >= len and sub(ms.src, init, init + len - 1) == sub(ms.src, s, s + len - 1) then
    return s + len
  end
  return nil
end

do_match = function(ms, s, p)
  if ms.depth == 0 then fail("pattern too complex") end
  ms.depth = ms.depth - 1
  local pat, pend = ms.pat, ms.plen + 1
  while p ~= pend do
    local pc = byte(pat, p)
    local nc = byte(pat, p + 1)
    if pc == LPAREN then
      if nc == RPAREN then
        s = start_capture(ms, s, p + 2, CAP_POSITION)
      else
        s = start_capture(ms, s, p + 1, CAP_UNFINISHED)
      end
      break
    elseif pc == RPAREN then
      s = end_capture(ms, s, p + 1)
      break
    elseif pc == DOLLAR and p + 1 == pend then
      if s ~= ms.slen + 1 then s = nil end
      break
    elseif pc == PERCENT and nc == 98 then -- %b
      s = match_balance(ms, s, p + 2)
      if s == nil then break end
      p = p + 4
    elseif pc == PERCENT and nc == 102 then -- %f
      p = p + 2
      if byte(pat, p) ~= LBRACKET then fail("missing '[' after '%f' in pattern") end
      local ep = class_end(ms, p)
      local previous = (s == 1) and 0 or byte(ms.src, s - 1)
      local current = byte(ms.src, s) or 0
      if not match_bracket(ms, previous, p, ep - 1) and match_bracket(ms, current, p, ep - 1) then
        p = ep
      else
        s = nil
        break
      end
    elseif pc == PERCENT and nc ~= nil and nc >= 48 and nc <= 57 then -- %0-%9
      s = match_capture(ms, s, nc)
      if s == nil then break end
      p = p + 2
    else
      local ep = class_end(ms, p)
      local epc = byte(pat, ep)
      if not single_match(ms, s, p, ep) then
        if epc == STAR or epc == QUESTION or epc == DASH then
          p = ep + 1
        else
          s = nil
          break
        end
      elseif epc == QUESTION then
        local res = do_match(ms, s + 1, ep + 1)
        if res then
          s = res
          break
        end
        p = ep + 1
      elseif epc == PLUS then
        s = max_expand(ms, s + 1, p, ep)
        break
      elseif epc == STAR then
        s = max_expand(ms, s, p, ep)
        break
      elseif epc == DASH then
        s = min_expand(ms, s, p, ep)
        break
      else
        s = s + 1
        p = ep
      end
    end
  end
  ms.depth = ms.depth + 1
  return s
end

local function new_state(src, pat, pstart)
  return {
    src = src, slen = #src, pat = pat, plen = #pat, pstart = pstart,
    level = 0, depth = MAXCCALLS, cinit = {}, clen = {}, runs = {},
  }
end

local function one_capture(ms, i, s, e)
  if i > ms.level then
    if i ~= 1 then fail("invalid capture index %" .. i) end
    return sub(ms.src, s, e - 1)
  end
  local len = ms.clen[i]
  local init = ms.cinit[i]
  if len == CAP_UNFINISHED then fail("unfinished capture") end
  if len == CAP_POSITION then return init end
  return sub(ms.src, init, init + len - 1)
end

-- All captures (or the whole match when there are none and s is given).
local function captures(ms, s, e)
  local n = (ms.level == 0 and s) and 1 or ms.level
  if n == 1 then return one_capture(ms, 1, s, e) end
  local out = {}
  for i = 1, n do out[i] = one_capture(ms, i, s, e) end
  return unpack(out, 1, n)
end

local function start_index(init, len)
  if init == nil then return 1 end
  if init > 0 then return init end
  if init == 0 or init < -len then return 1 end
  return len + init + 1
end

-- Plain search (no pattern) step by step: memchr-like candidate search in C is
-- linear, and each candidate is compared in Lua, so a pathological needle costs
-- instructions instead of hiding in one C call.
local function plain_find(s, p, init0)
  local lp = #p
  if lp == 0 then return init0 + 1, init0 end
  local first = sub(p, 1, 1)
  local last_start = #s - lp + 1
  local pos = init0 + 1
  while pos <= last_start do
    local at = c_find(s, first, pos, true)
    if at == nil or at > last_start then return nil end
    local k = 2
    while k <= lp and byte(s, at + k - 1) == byte(p, k) do k = k + 1 end
    if k > lp then return at, at + lp - 1 end
    pos = at + 1
  end
  return nil
end

local function find_aux(find, s, p, init, plain)
  local ls = #s
  local init0 = start_index(init, ls) - 1
  if init0 > ls then return nil end
  if find and plain then return plain_find(s, p, init0) end
  local pstart = 1
  local anchor = byte(p, 1) == CARET
  if anchor then pstart = 2 end
  local ms = new_state(s, p, pstart)
  local s1 = init0 + 1
  repeat
    ms.level = 0
    local e = do_match(ms, s1, pstart)
    if e then
      if find then
        if ms.level == 0 then return s1, e - 1 end
        return s1, e - 1, captures(ms, nil, nil)
      end
      return captures(ms, s1, e)
    end
    s1 = s1 + 1
  until anchor or s1 > ls + 1
  return nil
end

local M = {}

function M.find(s, p, init, plain) return find_aux(true, s, p, init, plain) end
function M.match(s, p, init) return find_aux(false, s, p, init, false) end

function M.gmatch(s, p, init)
  local ls = #s
  local init0 = start_index(init, ls) - 1
  if init0 > ls then init0 = ls + 1 end
  local ms = new_state(s, p, 1)
  local src = init0 + 1
  local lastmatch = nil
  return function()
    local start = src
    while start <= ls + 1 do
      ms.level = 0
      local e = do_match(ms, start, 1)
      if e and e ~= lastmatch then
        src = e
        lastmatch = e
        return captures(ms, start, e)
      end
      start = start + 1
    end
    src = start
  end
end

-- The replacement for one match [s, e): (text, changed).
local function add_string(ms, repl, s, e, out, n)
  local i = 1
  local len = #repl
  while true do
    local at = c_find(repl, "%", i, true)
    if at == nil then
      n = n + 1
      out[n] = sub(repl, i)
      return n
    end
    n = n + 1
    out[n] = sub(repl, i, at - 1)
    local d = byte(repl, at + 1)
    if d == PERCENT then
      n = n + 1
      out[n] = "%"
    elseif d == 48 then
      n = n + 1
      out[n] = sub(ms.src, s, e - 1)
    elseif d ~= nil and d >= 49 and d <= 57 then
      n = n + 1
      out[n] = tostring(one_capture(ms, d - 48, s, e))
    else
      fail("invalid use of '%' in replacement string")
    end
    i = at + 2
    if i > len + 1 then return n end
  end
end

function M.gsub(src, p, repl, max_s)
  local srcl = #src
  local tr = type(repl)
  if max_s == nil then max_s = srcl + 1 end
  local anchor = byte(p, 1) == CARET
  local pstart = anchor and 2 or 1
  local ms = new_state(src, p, pstart)
  local out, n = {}, 0
  local count = 0
  local changed = false
  local lastmatch = nil
  local pos = 1
  local kept = 1 -- start of the text not yet copied to out
  while count < max_s do
    ms.level = 0
    local e = do_match(ms, pos, pstart)
    if e and e ~= lastmatch then
      count = count + 1
      n = n + 1
      out[n] = sub(src, kept, pos - 1)
      if tr == "string" or tr == "number" then
        n = add_string(ms, tostring(repl), pos, e, out, n)
        changed = true
      else
        local value
        if tr == "table" then
          value = repl[one_capture(ms, 1, pos, e)]
        else
          value = repl(captures(ms, pos, e))
        end
        if not value then
          n = n + 1
          out[n] = sub(src, pos, e - 1)
        else
          local tv = type(value)
          if tv ~= "string" and tv ~= "number" then
            fail("invalid replacement value (a " .. tv .. ")")
          end
          n = n + 1
          out[n] = tostring(value)
          changed = true
        end
      end
      pos = e
      lastmatch = e
      kept = e
    elseif pos <= srcl then
      pos = pos + 1
    else
      break
    end
    if anchor then break end
  end
  if not changed then return src, count, false end
  n = n + 1
  out[n] = sub(src, kept)
  return concat(out, "", 1, n), count, true
end

return M
