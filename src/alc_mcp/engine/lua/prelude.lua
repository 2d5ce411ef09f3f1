-- Layer 1 of the alc.* library: pure Lua on top of the Layer 0 functions.
--
-- Our own implementation of the semantics in algocline-compat.md §4.4. It runs once in
-- every VM, inside the sandbox, right after Layer 0 is installed.
--
-- Robustness rules:
-- * Every standard function used here is captured below as a local upvalue, so a script
--   that reassigns a global (`string = nil`, `table.insert = nil`, `pairs = nil`) cannot
--   break the library. `pcall` and `pairs` are the sandbox's versions (limits cannot be
--   swallowed; keys come in a fixed order, so replays take the same path).
-- * The `alc` table itself is captured too (`alc = nil` breaks nothing), but Layer 0
--   functions are looked up in it at call time (`A.llm`, `A.log`, `A.state.get`...), as
--   algocline does: scripts and package tests that wrap or mock `alc.llm` see their
--   wrapper used by `alc.cache`, `alc.llm_json` and the rest.
-- * Layer 1 functions call each other through locals (`llm_json` uses the local
--   `json_extract`), so replacing `alc.json_extract` does not change `alc.llm_json`.

local A = alc

local type, tostring, tonumber, error, pcall = type, tostring, tonumber, error, pcall
local pairs, ipairs, rawget = pairs, ipairs, rawget
local s_byte, s_find, s_format, s_gmatch, s_gsub, s_match, s_sub =
  string.byte, string.find, string.format, string.gmatch, string.gsub, string.match, string.sub
local t_remove = table.remove
local captured_require = require
local G = _G

-- JSON null as Layer 0 hands it to Lua: a truthy userdata, never nil (spec §4.2).
local NULL = A.json_decode("null")

-- The C-locale whitespace set, spelled out: `%s` follows the process locale (Python sets
-- LC_CTYPE at start-up), and these functions must give the same answer everywhere.
local SPACE_RUN = "[ \t\n\v\f\r]+"
local NOT_SPACE = "[^ \t\n\v\f\r]"
local IS_SPACE = { [9] = true, [10] = true, [11] = true, [12] = true, [13] = true, [32] = true }

local function trim(s)
  local first = s_find(s, NOT_SPACE)
  if first == nil then return "" end
  local last = #s
  while IS_SPACE[s_byte(s, last)] do last = last - 1 end
  return s_sub(s, first, last)
end

local function shallow_copy(t)
  local out = {}
  if type(t) == "table" then
    for k, v in pairs(t) do out[k] = v end
  end
  return out
end

-- ---------------------------------------------------------------------------
-- fingerprint
-- ---------------------------------------------------------------------------

-- ASCII-only lower-casing, as specified (trap 22 kept on purpose): a fingerprint must not
-- depend on the locale, and bytes >= 0x80 (UTF-8) are left as they are.
local ASCII_LOWER = {}
for c = 65, 90 do ASCII_LOWER[string.char(c)] = string.char(c + 32) end

local function fingerprint(str)
  local s = tostring(str)
  s = s_gsub(s, "[A-Z]", ASCII_LOWER)
  s = s_gsub(s, SPACE_RUN, " ")
  s = trim(s)
  -- DJB2: h = h * 33 + byte, modulo 2^32.
  local h = 5381
  local n = #s
  local i = 1
  while i <= n do
    local j = i + 63
    if j > n then j = n end
    local bytes = { s_byte(s, i, j) }
    for k = 1, #bytes do
      h = (h * 33 + bytes[k]) & 0xFFFFFFFF
    end
    i = j + 1
  end
  return s_format("%08x", h)
end
A.fingerprint = fingerprint

-- ---------------------------------------------------------------------------
-- cache
-- ---------------------------------------------------------------------------

local CACHE_MAX = 256
local cache_values, cache_order = {}, {}
local cache_hits, cache_misses = 0, 0

local function cache_key(prompt, opts)
  if opts.cache_key ~= nil then return opts.cache_key end
  local s = tostring(prompt)
  if opts.system ~= nil then s = s .. "\0" .. tostring(opts.system) end
  if opts.max_tokens ~= nil then s = s .. "\0" .. tostring(opts.max_tokens) end
  return fingerprint(s)
end

-- A memoised alc.llm, per session, holding at most 256 answers (oldest evicted first).
-- The whole opts table, cache_* keys included, is passed on to alc.llm.
function A.cache(prompt, opts)
  local o = type(opts) == "table" and opts or {}
  if o.cache_skip then return A.llm(prompt, opts) end
  local key = cache_key(prompt, o)
  local found = cache_values[key]
  if found ~= nil then
    cache_hits = cache_hits + 1
    A.log("debug", "alc.cache: hit " .. tostring(key))
    return found
  end
  cache_misses = cache_misses + 1
  A.log("debug", "alc.cache: miss " .. tostring(key))
  local answer = A.llm(prompt, opts)
  cache_values[key] = answer
  cache_order[#cache_order + 1] = key
  if #cache_order > CACHE_MAX then
    cache_values[t_remove(cache_order, 1)] = nil
  end
  return answer
end

function A.cache_info()
  return { entries = #cache_order, hits = cache_hits, misses = cache_misses, max_entries = CACHE_MAX }
end

-- Decision (trap 22): unlike algocline, clearing also empties the eviction order, so
-- cache_info().entries is 0 after a clear instead of a stale count.
function A.cache_clear()
  cache_values, cache_order = {}, {}
  cache_hits, cache_misses = 0, 0
end

-- ---------------------------------------------------------------------------
-- collections
-- ---------------------------------------------------------------------------

function A.map(items, fn)
  local results = {}
  for i, item in ipairs(items) do
    results[i] = fn(item, i)
  end
  return results
end

-- Without init, starts from items[1] and calls fn from index 2.
function A.reduce(items, fn, init)
  local acc, start = init, 1
  if init == nil then acc, start = items[1], 2 end
  local i = start
  while true do
    local item = items[i]
    if item == nil then break end
    acc = fn(acc, item, i)
    i = i + 1
  end
  return acc
end

function A.filter(items, fn)
  local results, n = {}, 0
  for i, item in ipairs(items) do
    if fn(item, i) then
      n = n + 1
      results[n] = item
    end
  end
  return results
end

-- Majority vote over tostring()'d, trimmed answers; ties go to the answer seen first.
function A.vote(answers)
  local counts, order = {}, {}
  local total = #answers
  for i = 1, total do
    local key = trim(tostring(answers[i]))
    if counts[key] == nil then
      counts[key] = 0
      order[#order + 1] = key
    end
    counts[key] = counts[key] + 1
  end
  local winner, best = nil, 0
  for _, key in ipairs(order) do
    if counts[key] > best then winner, best = key, counts[key] end
  end
  return { winner = winner, count = best, total = total }
end

-- ---------------------------------------------------------------------------
-- parsing
-- ---------------------------------------------------------------------------

-- The first run of digits, clamped to 1..10; `default` (5) when there is none.
function A.parse_score(str, default)
  if default == nil then default = 5 end
  local digits = s_match(tostring(str), "%d+")
  if digits == nil then return default end
  local n = tonumber(digits)
  if n < 1 then return 1 end
  if n > 10 then return 10 end
  return n
end

function A.parse_number(text, pattern)
  if type(text) ~= "string" then return nil end
  local found
  if pattern ~= nil then
    found = s_match(text, pattern)
  else
    found = s_match(text, "%-?%d+%.?%d*")
  end
  if found == nil then return nil end
  return tonumber(found)
end

-- Decodes s; only a table (object or array) counts as success.
local function decode_table(s)
  local ok, value = pcall(A.json_decode, s)
  if ok and type(value) == "table" then return value end
  return nil
end

local function json_extract(raw)
  if type(raw) ~= "string" then return nil end
  local value = decode_table(raw)
  if value ~= nil then return value end
  for _, fence in ipairs({ "```json%s*(.-)%s*```", "```%s*(.-)%s*```" }) do
    local body = s_match(raw, fence)
    if body ~= nil then
      value = decode_table(body)
      if value ~= nil then return value end
    end
  end
  for _, balanced in ipairs({ "%b{}", "%b[]" }) do
    for candidate in s_gmatch(raw, balanced) do
      value = decode_table(candidate)
      if value ~= nil then return value end
    end
  end
  return nil
end
A.json_extract = json_extract

-- ---------------------------------------------------------------------------
-- LLM helpers
-- ---------------------------------------------------------------------------

function A.ground(claim, opts)
  local o = shallow_copy(opts)
  o.grounded = true
  return A.llm(claim, o)
end

function A.specify(prompt, opts)
  local o = shallow_copy(opts)
  o.underspecified = true
  return A.llm(prompt, o)
end

function A.llm_safe(prompt, opts, default)
  local ok, answer = pcall(A.llm, prompt, opts)
  if ok then return answer end
  A.log("warn", "alc.llm_safe: " .. tostring(answer))
  return default
end

local JSON_RETRY_SYSTEM = "Output ONLY valid JSON. No markdown fences, no explanation."

-- Returns (parsed table or nil, last raw answer); one retry with a fixed system prompt.
function A.llm_json(prompt, opts)
  local raw = A.llm(prompt, opts)
  local parsed = json_extract(raw)
  if parsed ~= nil then return parsed, raw end
  A.log("warn", "alc.llm_json: JSON parse failed, retrying")
  local retry_opts = shallow_copy(opts)
  retry_opts.system = JSON_RETRY_SYSTEM
  local retry_prompt = "The previous response was not valid JSON.\n\nPrevious output:\n" .. tostring(raw)
    .. "\n\nFix the JSON and return ONLY valid JSON.\n\nOriginal request:\n" .. tostring(prompt)
  raw = A.llm(retry_prompt, retry_opts)
  parsed = json_extract(raw)
  if parsed == nil then A.log("warn", "alc.llm_json: JSON parse failed after retry") end
  return parsed, raw
end

-- All prompts go out in one alc.llm_batch, i.e. in a single pause.
function A.parallel(items, prompt_fn, opts)
  if type(items) ~= "table" or #items == 0 then
    error("alc.parallel: items must be a non-empty array", 2)
  end
  if type(prompt_fn) ~= "function" then
    error("alc.parallel: prompt_fn must be a function", 2)
  end
  if type(opts) ~= "table" then opts = {} end
  local n = #items
  local batch = {}
  for i = 1, n do
    local p = prompt_fn(items[i], i)
    local kind = type(p)
    if kind == "string" then
      batch[i] = { prompt = p, system = opts.system, max_tokens = opts.max_tokens }
    elseif kind == "table" then
      if p.prompt == nil then
        error(s_format("alc.parallel: prompt_fn returned table without .prompt at index %d", i), 2)
      end
      batch[i] = p
    else
      error(s_format("alc.parallel: prompt_fn must return string or table, got %s at index %d", kind, i), 2)
    end
  end
  local responses = A.llm_batch(batch)
  local post_fn = opts.post_fn
  if post_fn == nil then return responses end
  local results = {}
  for i = 1, n do
    results[i] = post_fn(responses[i], items[i], i)
  end
  return results
end

-- ---------------------------------------------------------------------------
-- state
-- ---------------------------------------------------------------------------

if A.state == nil then A.state = {} end
local state = A.state

-- get (with default), fn, set; returns the new value. Not atomic across sessions.
function state.update(key, fn, default)
  local current = state.get(key, default)
  local value = fn(current)
  state.set(key, value)
  return value
end

-- ---------------------------------------------------------------------------
-- budget and tuning
-- ---------------------------------------------------------------------------

-- Decision (trap 22): a `tokens` budget that is used up counts as exhausted too, like
-- llm_calls and elapsed_ms (algocline ignores it). Unset limits are the null sentinel,
-- hence the type checks.
function A.budget_check()
  local remaining = A.budget_remaining()
  if type(remaining) ~= "table" then return true end
  for _, field in ipairs({ "llm_calls", "elapsed_ms", "tokens" }) do
    local left = remaining[field]
    if type(left) == "number" and left <= 0 then return false end
  end
  return true
end

local function is_dict(t)
  return type(t) == "table" and t[1] == nil
end

-- Decisions beyond the spec:
-- * a JSON null in ctx (the sentinel) counts as "not given", so the default is kept
--   rather than replaced by a userdata a strategy could not use;
-- * nested tables are merged only when both sides are dict-like; a ctx array replaces
--   even an empty default table (algocline would merge it into `{}`, losing it).
local function merge(defaults, source)
  local out = {}
  for k, v in pairs(defaults) do
    if k ~= "_schema" then
      local given = source[k]
      if given == nil or given == NULL then
        out[k] = v
      elseif is_dict(v) and is_dict(given) then
        out[k] = merge(v, given)
      else
        out[k] = given
      end
    end
  end
  return out
end

function A.tuning(defaults, ctx_, opts)
  if type(defaults) ~= "table" then return defaults end
  -- A non-table ctx (nil, or the null sentinel when alc_run got no ctx) means no overrides.
  local source = type(ctx_) == "table" and ctx_ or {}
  local prefix = type(opts) == "table" and opts.prefix or nil
  if prefix ~= nil then
    local sub = source[prefix]
    if type(sub) == "table" then
      source = sub
    else
      if sub ~= nil then
        A.log("warn", "alc.tuning: prefix '" .. tostring(prefix) .. "' exists but is not a table, ignoring")
      end
      source = {}
    end
  end
  return merge(defaults, source)
end

-- ---------------------------------------------------------------------------
-- pipe
-- ---------------------------------------------------------------------------

local function current_require()
  -- Follow the engine's require (package resolver) at call time, but keep working if a
  -- script clobbers the global.
  local r = rawget(G, "require")
  if type(r) == "function" then return r end
  return captured_require
end

local function resolve_stage(entry)
  local ok, mod = pcall(current_require(), entry)
  if not ok then
    error(s_format("alc.pipe: failed to load strategy '%s': %s", entry, tostring(mod)), 0)
  end
  if type(mod) ~= "table" or type(mod.run) ~= "function" then
    error(s_format("alc.pipe: strategy '%s' must export run(ctx)", entry), 0)
  end
  return mod.run
end

local function run_stage(entry, name, c)
  local run = entry
  if type(entry) == "string" then run = resolve_stage(entry) end
  -- The stage gets its own shallow copy, so a stage that fails half-way leaves the
  -- pipeline's ctx as it was.
  local result = run(shallow_copy(c))
  if type(result) ~= "table" then
    error(s_format("alc.pipe: strategy '%s' must return a table (ctx)", name), 0)
  end
  return result
end

-- Decision (trap 22): on_error must be "abort" (default; "fail" is the same), "skip" or "continue"; skip and
-- continue behave the same. Anything else is an error, not a silent skip. Under skip,
-- a package that fails to load or lacks run() is a failed stage like any other.
function A.pipe(strategies, ctx_, opts)
  if type(strategies) ~= "table" or #strategies == 0 then
    error("alc.pipe: strategies must be a non-empty array", 2)
  end
  if type(ctx_) ~= "table" then
    error("alc.pipe: ctx must be a table", 2)
  end
  if type(opts) ~= "table" then opts = {} end
  local on_error = opts.on_error
  if on_error == nil then on_error = "abort" end
  if on_error == "fail" then on_error = "abort" end  -- as in alc.fork: "fail" stops the pipe
  if on_error ~= "abort" and on_error ~= "skip" and on_error ~= "continue" then
    error(s_format('alc.pipe: unknown on_error \'%s\' (use "abort", "fail", "skip" or "continue")',
      tostring(on_error)), 2)
  end
  local n = #strategies
  for i = 1, n do
    local kind = type(strategies[i])
    if kind ~= "string" and kind ~= "function" then
      error(s_format("alc.pipe: strategy[%d] must be a string or function", i), 2)
    end
  end

  local c = shallow_copy(ctx_)
  local history = {}
  c.pipe_history = history
  for i = 1, n do
    local entry = strategies[i]
    local name = type(entry) == "string" and entry or ("(inline-" .. i .. ")")
    local ok, result
    if on_error == "abort" then
      ok, result = true, run_stage(entry, name, c)
    else
      ok, result = pcall(run_stage, entry, name, c)
    end
    if ok then
      c = result
      c.pipe_history = history
      history[#history + 1] = { strategy = name, result = c.result }
      if c.result ~= nil and i < n then
        if type(c.result) == "table" then
          c.task = A.json_encode(c.result)
        else
          c.task = tostring(c.result)
        end
      end
      if opts.on_stage ~= nil then opts.on_stage(i, name, c) end
    else
      A.log("warn", s_format("alc.pipe: stage '%s' failed: %s", name, tostring(result)))
      history[#history + 1] = { strategy = name, error = tostring(result) }
    end
  end
  return c
end

-- ---------------------------------------------------------------------------
-- alc.eval(scenario, strategy, opts): a facade over the evalframe package, the same
-- runner the alc_eval tool uses, so the summary is the same for the same answers.
-- scenario: a table (evalframe's full form or {cases=, graders=}), or a name: a module
-- `require` finds, else a scenario file the server reads (alc.dirs().scenarios, then
-- the bundled ones). opts: strategy_opts, repeats, parallel, auto_card, card_pkg, model.
-- ---------------------------------------------------------------------------

local package_loaded = package.loaded

local function eval_scenario(scenario, ef)
  if type(scenario) == "table" then return scenario, nil end
  local loaded = package_loaded[scenario]
  if loaded == nil then
    local ok, value = pcall(captured_require, scenario)
    if ok then loaded = value end
  end
  if loaded == nil then
    local source, chunkname = A._scenario_source(scenario)
    if source ~= nil then loaded = ef.load_scenario(source, chunkname) end
  end
  if loaded == nil then error("alc.eval: could not resolve scenario '" .. scenario .. "'", 3) end
  if type(loaded) ~= "table" then
    error("alc.eval: scenario resolved to " .. type(loaded) .. ", expected table", 3)
  end
  return loaded, scenario
end

local function eval_samples(report)
  local samples = {}
  for _, case in ipairs(report.cases or {}) do
    for _, run in ipairs(case.runs or {}) do
      samples[#samples + 1] = {
        case = case.name, input = case.input, expected = case.expected, ["repeat"] = run["repeat"],
        ok = run.ok, score = run.score, passed = run.passed, output = run.output, error = run.error,
      }
    end
  end
  return samples
end

function A.eval(scenario, strategy, opts)
  if scenario == nil then error("alc.eval: scenario is required", 2) end
  if type(scenario) ~= "string" and type(scenario) ~= "table" then
    error("alc.eval: scenario must be a string or table", 2)
  end
  if type(strategy) ~= "string" then error("alc.eval: strategy must be a string package name", 2) end
  opts = opts or {}
  local found, ef = pcall(captured_require, "evalframe")
  if not found then error("alc.eval: evalframe not installed. Run alc_pkg_install to add it.", 2) end
  local spec, name = eval_scenario(scenario, ef)
  local ok, shaped = pcall(ef.scenario, spec, name)
  if not ok then error("alc.eval: " .. tostring(shaped), 2) end
  local report = ef.run(shaped, strategy, {
    strategy_opts = opts.strategy_opts, repeats = opts.repeats, parallel = opts.parallel,
  })
  if opts.auto_card then
    local summary = report.summary or {}
    local card = A.card.create({
      pkg = { name = opts.card_pkg or strategy },
      scenario = { name = report.scenario },
      model = opts.model,
      stats = { pass_rate = summary.pass_rate, mean_score = summary.mean, n = summary.n, passed = summary.passed },
      summary = summary,
    })
    A.card.write_samples(card.card_id, eval_samples(report))
    report.card_id = card.card_id
    A.log("info", "alc.eval: card emitted — " .. card.card_id)
  end
  return report
end
