-- evalframe: the scenario DSL and the eval runner (a system module: `require("evalframe")`).
--
-- Our own implementation of the public evalframe surface, so scenario files written for
-- algocline run unchanged:
--
--   local ef = require("evalframe")
--   return {
--     ef.bind { ef.graders.contains, weight = 1.0 },
--     cases = {
--       ef.case "planet" { input = "Largest planet?", expected = "Jupiter", tags = {"geo"} },
--       ef.case { input = "2+2?", expected = {"4", "four"} },
--     },
--   }
--
-- Pipeline: a case's input goes to the strategy under test (each case x repeat is one
-- alc.fork child, so the questions of independent cases reach the host together in one
-- pause); the reply becomes a response `{text=, raw=}`; every binding's grader turns
-- it into a raw grade and the binding's scorer maps that to [0,1]; the case's score is
-- the weighted mean, and it passes when the score reaches `pass_threshold` (default 0.5).
-- LLM-judge graders (rubric, yes_no, factuality) ask their question with alc.llm; the
-- runner asks all of them in one alc.llm_batch. Summary statistics (mean, CI, pass@k,
-- by tag) are computed on the Python side (`alc._eval_summary`), so the alc_eval tool
-- and Lua code get the same numbers.
--
-- A flat file rather than evalframe/init.lua: system modules are not listed as packages.

local type, tostring, tonumber, error, pcall = type, tostring, tonumber, error, pcall
local pairs, ipairs, setmetatable = pairs, ipairs, setmetatable
local s_find, s_format, s_gmatch, s_gsub, s_lower, s_match, s_sub =
  string.find, string.format, string.gmatch, string.gsub, string.lower, string.match, string.sub
local m_abs, m_floor, m_max, m_min = math.abs, math.floor, math.max, math.min
local t_concat = table.concat
local A = alc
local NULL = A.json_decode("null")  -- JSON null in ctx: truthy userdata, treated as absent

local function given(v)
  if v == NULL then return nil end
  return v
end

local M = { _VERSION = "alc-mcp/1" }

M.DEFAULT_PASS_THRESHOLD = 0.5
M.DEFAULT_PARALLEL = 16
M.MAX_REPEATS = 100

-- --- helpers --------------------------------------------------------------------------

local function trim(s)
  return (s_gsub(s_gsub(s, "^[ \t\r\n]+", ""), "[ \t\r\n]+$", ""))
end

-- Lower-case, collapse white space, drop surrounding quotes/emphasis and a final full stop.
local function normalize(s)
  s = s_lower(trim(tostring(s)))
  s = s_gsub(s, "[ \t\r\n]+", " ")
  s = s_gsub(s, "^[%*_`\"']+", "")
  s = s_gsub(s, "[%*_`\"']+$", "")
  s = s_gsub(s, "[%.!]+$", "")
  return trim(s)
end
M.normalize = normalize

local function expected_list(expected)
  if expected == nil then return {} end
  if type(expected) == "table" then
    local out = {}
    for _, v in ipairs(expected) do out[#out + 1] = tostring(v) end
    return out
  end
  return { tostring(expected) }
end
M.expected_list = expected_list

local function kind_of(v)
  return type(v) == "table" and v._kind or nil
end

local function copy(t)
  local out = {}
  if type(t) == "table" then
    for k, v in pairs(t) do out[k] = v end
  end
  return out
end

-- Numbers in a text ("1,234.5", "-3", "2e3"), in order.
local function numbers_in(text)
  local found = {}
  for token in s_gmatch(text, "[%-%+]?%d[%d,]*%.?%d*[eE]?[%-%+]?%d*") do
    local clean = s_gsub(token, ",", "")
    local n = tonumber(clean)
    if n == nil then n = tonumber((s_match(clean, "^[%-%+]?%d+%.?%d*"))) end
    if n ~= nil then found[#found + 1] = n end
  end
  return found
end
M.numbers_in = numbers_in

-- --- cases ----------------------------------------------------------------------------

local function make_case(spec, name)
  if type(spec) ~= "table" then
    error("ef.case: expected a table, got " .. type(spec), 3)
  end
  local case = copy(spec)
  case._kind = "case"
  case.name = name or spec.name
  if case.tags ~= nil and type(case.tags) ~= "table" then case.tags = { tostring(case.tags) } end
  return case
end

-- ef.case { ... } or ef.case "name" { ... }
function M.case(a)
  if type(a) == "string" then
    return function(spec) return make_case(spec, a) end
  end
  return make_case(a, nil)
end

-- --- scorers --------------------------------------------------------------------------

local function scorer(name, fn)
  return { _kind = "scorer", name = name, score = fn }
end

local function clamp01(x)
  if x ~= x then return 0 end
  return m_max(0, m_min(1, x))
end

local function linear(lo, hi)
  return function(v)
    v = tonumber(v)
    if v == nil then return 0 end
    return clamp01((v - lo) / (hi - lo))
  end
end

local function threshold(at)
  return function(v)
    if type(v) == "boolean" then return v and 1 or 0 end
    v = tonumber(v)
    return (v ~= nil and v >= at) and 1 or 0
  end
end

M.scorers = {
  bool = scorer("bool", function(v)
    if type(v) == "boolean" then return v and 1 or 0 end
    if type(v) == "number" then return clamp01(v) end
    return 0
  end),
  linear_1_5 = scorer("linear_1_5", linear(1, 5)),
  linear_1_10 = scorer("linear_1_10", linear(1, 10)),
  linear_0_100 = scorer("linear_0_100", linear(0, 100)),
  pass_50 = scorer("pass_50", threshold(0.5)),
  pass_80 = scorer("pass_80", threshold(0.8)),
  inverse_linear = scorer("inverse_linear", function(v)
    v = tonumber(v)
    if v == nil then return 0 end
    return clamp01(1 / (1 + m_max(0, v) / 1000))
  end),
}

function M.scorers.linear(lo, hi)
  return scorer(s_format("linear_%g_%g", lo, hi), linear(lo, hi))
end

function M.scorers.threshold(at)
  return scorer(s_format("threshold_%g", at), threshold(at))
end

-- ef.scorer "name" { score = function(raw) ... end }
function M.scorer(name)
  return function(spec)
    if type(spec) ~= "table" or type(spec.score) ~= "function" then
      error("ef.scorer '" .. tostring(name) .. "': needs a score function", 2)
    end
    return scorer(name, spec.score)
  end
end

-- --- graders --------------------------------------------------------------------------
-- A grader is {_kind="grader", name=, check=function(resp, case) -> raw [, reason]}.
-- LLM judges also carry judge = {prompt=function(resp, case) -> text, parse=function(text) -> raw,
-- system=, max_tokens=} so the runner can ask every judge question in one batch; their
-- check() asks alone.

local function grader(name, check, extra)
  local g = copy(extra)
  g._kind, g.name, g.check = "grader", name, check
  return g
end

-- A grader usable as it is and callable with options for a configured copy.
local function configurable(name, build)
  local default = build({})
  return setmetatable(default, {
    __call = function(_, opts)
      if type(opts) ~= "table" then opts = { opts } end
      return build(opts)
    end,
  })
end

local function any_expected(case, test)
  local list = expected_list(case.expected)
  if #list == 0 then return false end
  for _, want in ipairs(list) do
    if test(want) then return true end
  end
  return false
end

local G = {}
M.graders = G

G.exact_match = configurable("exact_match", function(opts)
  local strict = opts.case_sensitive
  return grader("exact_match", function(resp, case)
    local got = resp.text
    return any_expected(case, function(want)
      if strict then return trim(got) == trim(want) end
      return normalize(got) == normalize(want)
    end)
  end)
end)

G.contains = configurable("contains", function(opts)
  local strict = opts.case_sensitive
  return grader("contains", function(resp, case)
    local got = strict and resp.text or s_lower(resp.text)
    return any_expected(case, function(want)
      want = strict and trim(want) or s_lower(trim(want))
      return want ~= "" and s_find(got, want, 1, true) ~= nil
    end)
  end)
end)

G.starts_with = configurable("starts_with", function(_opts)
  return grader("starts_with", function(resp, case)
    local got = normalize(resp.text)
    return any_expected(case, function(want)
      want = normalize(want)
      return s_sub(got, 1, #want) == want
    end)
  end)
end)

-- Lua pattern: opts.pattern, else case.context.pattern, else case.pattern, else each expected.
G.regex = configurable("regex", function(opts)
  local fixed = opts.pattern or opts[1]
  return grader("regex", function(resp, case)
    local pattern = fixed or (type(case.context) == "table" and case.context.pattern) or case.pattern
    if pattern ~= nil then
      return s_find(resp.text, pattern) ~= nil
    end
    return any_expected(case, function(want) return s_find(resp.text, want) ~= nil end)
  end)
end)

-- The answer's number (the only one, else the last one in the text) against expected,
-- within opts.tolerance (absolute, default 1e-6) or opts.relative (a fraction).
G.numeric = configurable("numeric", function(opts)
  local tolerance = tonumber(opts.tolerance or opts[1]) or 1e-6
  local relative = tonumber(opts.relative)
  return grader("numeric", function(resp, case)
    local found = numbers_in(resp.text)
    if #found == 0 then return false, "no number in the response" end
    local got = found[#found]
    return any_expected(case, function(want)
      local target = tonumber((s_gsub(want, ",", "")))
      if target == nil then return false end
      local allowed = tolerance
      if relative then allowed = m_max(allowed, m_abs(target) * relative) end
      return m_abs(got - target) <= allowed
    end), "got " .. tostring(got)
  end)
end)

local function field_of(value, path)
  for part in s_gmatch(path, "[^%.]+") do
    if type(value) ~= "table" then return nil end
    local index = tonumber(part)
    local nextv = value[part]
    if nextv == nil and index ~= nil then nextv = value[index] end
    value = nextv
  end
  return value
end

-- The response parsed as JSON (or the first JSON value in it); opts.field (a dotted path)
-- compared with expected (numbers numerically, everything else normalized).
G.json_field = configurable("json_field", function(opts)
  local path = opts.field or opts[1]
  return grader("json_field", function(resp, case)
    local field = path or (type(case.context) == "table" and case.context.field) or case.field
    if field == nil then error("json_field: no field given (ef.graders.json_field{field = 'a.b'})", 0) end
    local decoded = A.json_extract(resp.text)
    if decoded == nil then return false, "the response holds no JSON" end
    local value = field_of(decoded, field)
    if value == nil then return false, "no field '" .. field .. "'" end
    return any_expected(case, function(want)
      if type(value) == "number" and tonumber(want) ~= nil then
        return m_abs(value - tonumber(want)) <= 1e-9
      end
      if type(value) == "table" then value = A.json_encode(value) end
      return normalize(tostring(value)) == normalize(want)
    end)
  end)
end)

G.json_valid = grader("json_valid", function(resp)
  local ok, value = pcall(A.json_decode, trim(resp.text))
  return ok and value ~= nil
end)

G.not_empty = grader("not_empty", function(resp) return trim(resp.text) ~= "" end)

G.length = grader("length", function(resp) return #resp.text end)

-- ef.grader "name" { check = function(resp, case) ... end }
function M.grader(name)
  return function(spec)
    if type(spec) ~= "table" or type(spec.check) ~= "function" then
      error("ef.grader '" .. tostring(name) .. "': needs a check function", 2)
    end
    return grader(name, spec.check, { default_scorer = spec.scorer })
  end
end

-- --- LLM-judge graders -----------------------------------------------------------------

local JUDGE_SYSTEM = "You are a strict, fair evaluator of answers. Follow the requested reply format exactly."

local function judge(name, prompt, parse, default_scorer, opts)
  local spec = {
    prompt = prompt,
    parse = parse,
    system = opts.system or JUDGE_SYSTEM,
    max_tokens = opts.max_tokens or 16,
  }
  local function check(resp, case)
    local answer = A.llm(spec.prompt(resp, case), { system = spec.system, max_tokens = spec.max_tokens })
    return spec.parse(answer)
  end
  return grader(name, check, { judge = spec, default_scorer = default_scorer })
end

local function first_integer(text, lo, hi)
  for token in s_gmatch(tostring(text), "%-?%d+") do
    local n = tonumber(token)
    if n ~= nil and n >= lo and n <= hi then return n end
  end
  return nil
end

local function reference_block(case)
  local list = expected_list(case.expected)
  if #list == 0 then return "" end
  return "Reference answer: " .. t_concat(list, " | ") .. "\n"
end

-- A 1-5 rating against a rubric; scored linearly to [0,1].
function M.rubric(criteria, opts)
  opts = opts or {}
  criteria = tostring(criteria or "Rate the answer for correctness, completeness and clarity.")
  return judge("rubric", function(resp, case)
    return "Grade the response below against this rubric.\n\nRubric: " .. criteria .. "\n\n"
      .. "Question: " .. tostring(case.input) .. "\n" .. reference_block(case)
      .. "Response:\n" .. resp.text .. "\n\n"
      .. "Reply with a single integer from 1 (fails the rubric) to 5 (fully meets it), nothing else."
  end, function(answer) return first_integer(answer, 1, 5) or 1 end, M.scorers.linear_1_5, opts)
end

-- A yes/no question about the response; yes scores 1.
function M.yes_no(question, opts)
  opts = opts or {}
  question = tostring(question or "Does the response answer the question correctly?")
  return judge("yes_no", function(resp, case)
    return "Question about a response: " .. question .. "\n\n"
      .. "Original question: " .. tostring(case.input) .. "\n" .. reference_block(case)
      .. "Response:\n" .. resp.text .. "\n\nReply with exactly one word: yes or no."
  end, function(answer)
    local word = s_match(s_lower(tostring(answer)), "%a+")
    return word == "yes" or word == "y" or word == "true"
  end, M.scorers.bool, opts)
end

-- Factual consistency of the response with the reference answer, 1-5.
function M.factuality(opts)
  opts = opts or {}
  return judge("factuality", function(resp, case)
    return "Compare a submitted answer with an expert reference answer for factual consistency. "
      .. "Ignore style and length; judge only whether the facts agree.\n\n"
      .. "Question: " .. tostring(case.input) .. "\n" .. reference_block(case)
      .. "Submitted answer:\n" .. resp.text .. "\n\n"
      .. "Reply with a single integer: 5 = consistent with the reference, 4 = consistent but less "
      .. "complete, 3 = partly consistent, 2 = mostly inconsistent, 1 = contradicts the reference."
  end, function(answer) return first_integer(answer, 1, 5) or 1 end, M.scorers.linear_1_5, opts)
end

M.llm_graders = { rubric = M.rubric, yes_no = M.yes_no, factuality = M.factuality }
G.rubric = setmetatable(M.rubric(), { __call = function(_, c, o) return M.rubric(c, o) end })
G.yes_no = setmetatable(M.yes_no(), { __call = function(_, q, o) return M.yes_no(q, o) end })
G.factuality = setmetatable(M.factuality(), { __call = function(_, o) return M.factuality(o) end })

-- --- bindings ---------------------------------------------------------------------------

-- ef.bind { grader [, scorer] [, weight = w] [, name = n] }: order does not matter.
function M.bind(spec)
  if kind_of(spec) == "grader" then spec = { spec } end
  if type(spec) ~= "table" then error("ef.bind: expected a table, got " .. type(spec), 2) end
  local binding = { _kind = "binding", weight = tonumber(spec.weight) or 1.0, name = spec.name }
  for _, item in ipairs(spec) do
    local k = kind_of(item)
    if k == "grader" then
      binding.grader = item
    elseif k == "scorer" then
      binding.scorer = item
    elseif type(item) == "string" then
      binding.grader = G[item] or error("ef.bind: unknown grader '" .. item .. "'", 2)
    else
      error("ef.bind: entries must be graders or scorers, got " .. type(item), 2)
    end
  end
  if spec.grader ~= nil then binding.grader = spec.grader end
  if spec.scorer ~= nil then binding.scorer = spec.scorer end
  if binding.grader == nil then error("ef.bind: no grader given", 2) end
  if binding.weight < 0 then error("ef.bind: weight must be >= 0", 2) end
  binding.scorer = binding.scorer or binding.grader.default_scorer or M.scorers.bool
  binding.name = binding.name or binding.grader.name
  return binding
end

-- --- scenarios --------------------------------------------------------------------------

-- A scenario table (full form with ef.bind entries at integer indices, or the simple form
-- {cases = {{input=, expected=}}, graders = {"exact_match", ...}}) in one shape.
function M.scenario(t, name)
  if type(t) ~= "table" then
    error("scenario resolved to " .. type(t) .. ", expected table", 0)
  end
  if type(t.spec) == "table" and type(t.run) == "function" then  -- a file that returns ef.suite "x" {...}
    return M.scenario(t.spec, name or t.name)
  end
  local bindings = {}
  for _, item in ipairs(t) do
    local k = kind_of(item)
    if k == "binding" then
      bindings[#bindings + 1] = item
    elseif k == "grader" then
      bindings[#bindings + 1] = M.bind { item }
    end
  end
  if type(t.graders) == "table" then
    for _, g in ipairs(t.graders) do
      if type(g) == "string" then
        if G[g] == nil then error("unknown grader '" .. g .. "'", 0) end
        bindings[#bindings + 1] = M.bind { G[g] }
      elseif kind_of(g) == "grader" or kind_of(g) == "binding" then
        bindings[#bindings + 1] = kind_of(g) == "binding" and g or M.bind { g }
      else
        error("graders entries must be grader names or graders", 0)
      end
    end
  end
  if #bindings == 0 then bindings[1] = M.bind { G.exact_match } end
  if type(t.cases) ~= "table" or #t.cases == 0 then
    error("scenario has no cases (give cases = { ef.case { input = ..., expected = ... }, ... })", 0)
  end
  local cases = {}
  for i, c in ipairs(t.cases) do
    if type(c) ~= "table" or c.input == nil then
      error("case #" .. i .. " must have an 'input' field", 0)
    end
    local case = kind_of(c) == "case" and c or make_case(c, nil)
    case.index = i
    case.name = case.name or ("case_" .. i)
    cases[#cases + 1] = case
  end
  local threshold_ = tonumber(t.pass_threshold) or M.DEFAULT_PASS_THRESHOLD
  return {
    _kind = "scenario",
    name = t.name or name,
    description = t.description,
    bindings = bindings,
    cases = cases,
    pass_threshold = threshold_,
  }
end

-- Compile scenario source text (a chunk returning the scenario table) in this VM.
function M.load_scenario(source, chunkname)
  local chunk, err = load(source, chunkname or "=scenario", "t")
  if not chunk then error("scenario does not compile: " .. tostring(err), 0) end
  local ok, value = pcall(chunk)
  if not ok then error("scenario failed to load: " .. tostring(value), 0) end
  return value
end

-- --- responses --------------------------------------------------------------------------

-- The text a strategy's result stands for: a string as it is; a table's answer (cot, sc,
-- ... put theirs in ctx.result.answer), else the first text-like field, else its JSON.
local TEXT_FIELDS = { "answer", "final_answer", "output", "text", "response", "conclusion", "final" }

local function text_of(value, depth)
  if type(value) == "string" then return value end
  if type(value) == "number" or type(value) == "boolean" then return tostring(value) end
  if type(value) ~= "table" or depth > 3 then return nil end
  for _, key in ipairs(TEXT_FIELDS) do
    local t = text_of(value[key], depth + 1)
    if t ~= nil then return t end
  end
  if value.result ~= nil then return text_of(value.result, depth + 1) end
  return nil
end

function M.response_text(value)
  local t = text_of(value, 0)
  if t ~= nil then return t end
  if value == nil then return "" end
  local ok, encoded = pcall(A.json_encode, value)
  return ok and encoded or tostring(value)
end

-- --- grading ----------------------------------------------------------------------------

local function score_binding(binding, raw)
  local ok, s = pcall(binding.scorer.score, raw)
  if not ok then return 0, "scorer failed: " .. tostring(s) end
  s = tonumber(s)
  if s == nil then return 0, "scorer returned no number" end
  return clamp01(s), nil
end

local function json_safe(raw)
  local t = type(raw)
  if t == "string" or t == "number" or t == "boolean" then return raw end
  if raw == nil then return nil end
  return tostring(raw)
end

-- Grade every run: deterministic graders at once, judge questions in one alc.llm_batch.
local function grade_all(scenario, runs)
  local questions, slots = {}, {}
  for _, run in ipairs(runs) do
    run.grades = {}
    for b, binding in ipairs(scenario.bindings) do
      local g = binding.grader
      local entry = { grader = binding.name, weight = binding.weight, scorer = binding.scorer.name }
      run.grades[b] = entry
      if not run.ok then
        entry.score, entry.error = 0, "no response (the strategy failed)"
      elseif g.judge ~= nil then
        local ok, prompt = pcall(g.judge.prompt, run.response, run.case)
        if ok then
          questions[#questions + 1] = { prompt = prompt, system = g.judge.system, max_tokens = g.judge.max_tokens }
          slots[#slots + 1] = { entry = entry, binding = binding }
        else
          entry.score, entry.error = 0, "grader failed: " .. tostring(prompt)
        end
      else
        local ok, raw, reason = pcall(g.check, run.response, run.case)
        if ok then
          entry.raw = json_safe(raw)
          entry.reason = reason ~= nil and tostring(reason) or nil
          entry.score, entry.error = score_binding(binding, raw)
        else
          entry.score, entry.error = 0, "grader failed: " .. tostring(raw)
        end
      end
    end
  end
  if #questions > 0 then
    local answers = A.llm_batch(questions)
    for i, slot in ipairs(slots) do
      local ok, raw = pcall(slot.binding.grader.judge.parse, answers[i])
      if ok then
        slot.entry.raw = json_safe(raw)
        slot.entry.judge_answer = answers[i]
        slot.entry.score, slot.entry.error = score_binding(slot.binding, raw)
      else
        slot.entry.score, slot.entry.error = 0, "judge reply not understood: " .. tostring(raw)
      end
    end
  end
  for _, run in ipairs(runs) do
    local total, weights = 0, 0
    for _, entry in ipairs(run.grades) do
      total = total + entry.score * entry.weight
      weights = weights + entry.weight
    end
    run.score = weights > 0 and total / weights or 0
    run.passed = run.ok and run.score >= scenario.pass_threshold
  end
  return #questions
end

-- --- running ----------------------------------------------------------------------------

local function positive_int(v, what, default, max)
  v = given(v)
  if v == nil then return default end
  local n = tonumber(v)
  if n == nil or n < 1 or n ~= m_floor(n) or n > max then
    error(s_format("%s must be an integer from 1 to %d, got %s", what, max, tostring(v)), 0)
  end
  return n
end

local function strategy_ctx(case, strategy_opts)
  local ctx = copy(strategy_opts)
  if type(case.input) == "table" then
    for k, v in pairs(case.input) do ctx[k] = v end
  else
    ctx.task = tostring(case.input)
  end
  return ctx
end

-- Ask the strategy: every case x repeat as an alc.fork child (evalframe.child), `parallel`
-- children at a time; their questions are asked together, one pause per round.
local function ask_strategy(scenario, strategy, opts, repeats, parallel)
  local jobs = {}
  for _, case in ipairs(scenario.cases) do
    for r = 1, repeats do
      jobs[#jobs + 1] = {
        case = case,
        ["repeat"] = r,
        item = { strategy = "evalframe.child", ctx = { strategy = strategy, ctx = strategy_ctx(case, opts) } },
      }
    end
  end
  local runs, total = {}, #jobs
  for first = 1, total, parallel do
    local items, batch = {}, {}
    for j = first, m_min(total, first + parallel - 1) do
      items[#items + 1] = jobs[j].item
      batch[#batch + 1] = jobs[j]
    end
    local outcomes = A.fork_each(items)
    for k, job in ipairs(batch) do
      local o = outcomes[k]
      local child = o.ok and o.result or nil
      local run = {
        case = job.case,
        case_index = job.case.index,
        ["repeat"] = job["repeat"],
        ok = child ~= nil and child.ok == true,
        llm_calls = child and child.llm_calls or 0,
        prompt_chars = child and child.prompt_chars or 0,
        response_chars = child and child.response_chars or 0,
        elapsed_s = child and child.elapsed_s or nil,
      }
      if run.ok then
        run.output = M.response_text(child.result)
        run.response = { text = run.output, raw = child.result }
      else
        run.error = (child and child.error) or o.error or "the strategy failed"
        run.output = ""
        run.response = { text = "" }
      end
      runs[#runs + 1] = run
    end
    A.progress(#runs, total, s_format("eval %s: %d/%d runs answered", strategy, #runs, total))
  end
  return runs
end

local function export_case(case)
  local tags = {}
  for _, t in ipairs(case.tags or {}) do tags[#tags + 1] = tostring(t) end
  return {
    index = case.index,
    name = case.name,
    input = type(case.input) == "table" and A.json_encode(case.input) or tostring(case.input),
    expected = expected_list(case.expected),
    tags = tags,
  }
end

-- Run `strategy` on every case of `scenario` `opts.repeats` times; returns the report
-- (plain data). opts: strategy_opts, repeats (1), parallel (16), name.
function M.run(scenario, strategy, opts)
  opts = opts or {}
  if type(strategy) ~= "string" or strategy == "" then
    error("strategy must be a string package name", 0)
  end
  if kind_of(scenario) ~= "scenario" then scenario = M.scenario(scenario, opts.name) end
  local repeats = positive_int(opts.repeats, "repeats", 1, M.MAX_REPEATS)
  local parallel = positive_int(opts.parallel, "parallel", M.DEFAULT_PARALLEL, 256)
  local strategy_opts = given(opts.strategy_opts)
  if strategy_opts ~= nil and type(strategy_opts) ~= "table" then
    error("strategy_opts must be a table (an object of options)", 0)
  end
  local runs = ask_strategy(scenario, strategy, strategy_opts or {}, repeats, parallel)
  local judge_calls = grade_all(scenario, runs)

  local cases = {}
  for _, case in ipairs(scenario.cases) do
    local c = export_case(case)
    c.runs = {}
    cases[case.index] = c
  end
  for _, run in ipairs(runs) do
    local out = {
      ["repeat"] = run["repeat"],
      ok = run.ok,
      output = run.output,
      error = run.error,
      score = run.score,
      passed = run.passed,
      grades = run.grades,
      llm_calls = run.llm_calls,
      prompt_chars = run.prompt_chars,
      response_chars = run.response_chars,
    }
    local list = cases[run.case_index].runs
    list[#list + 1] = out
  end
  local bindings = {}
  for _, b in ipairs(scenario.bindings) do
    bindings[#bindings + 1] = {
      grader = b.name,
      weight = b.weight,
      scorer = b.scorer.name,
      judge = b.grader.judge ~= nil,
    }
  end
  local report = {
    name = strategy .. ":" .. tostring(scenario.name or "inline"),
    strategy = strategy,
    scenario = scenario.name or "inline",
    repeats = repeats,
    pass_threshold = scenario.pass_threshold,
    bindings = bindings,
    cases = cases,
    judge_calls = judge_calls,
  }
  if A._eval_summary ~= nil then report.summary = A._eval_summary(report) end
  return report
end

-- --- suites (evalframe's own entry point) -------------------------------------------------

local Report = {}
Report.__index = Report
function Report:to_table() return self end

-- ef.suite "name" { provider = ..., ef.bind {...}, cases = {...} }:run()
-- A provider made by ef.providers.algocline{strategy=, opts=} runs the strategy as alc_eval
-- does; any other provider is a function(input, case) -> text or {text=}.
function M.suite(name)
  return function(spec)
    local suite = { name = name, spec = spec }
    function suite.run(self, run_opts)
      local provider = self.spec.provider
      local scenario = M.scenario(self.spec, self.name)
      run_opts = run_opts or {}
      if type(provider) == "table" and provider._kind == "algocline" then
        local o = copy(run_opts)
        o.strategy_opts = o.strategy_opts or provider.opts
        return setmetatable(M.run(scenario, provider.strategy, o), Report)
      end
      if type(provider) ~= "function" then
        error("ef.suite '" .. tostring(self.name) .. "': provider must be a function or ef.providers.*", 2)
      end
      local runs = {}
      for _, case in ipairs(scenario.cases) do
        local ok, out = pcall(provider, case.input, case)
        local run = { case = case, case_index = case.index, ["repeat"] = 1, ok = ok,
          llm_calls = 0, prompt_chars = 0, response_chars = 0 }
        if ok then
          run.output = M.response_text(out)
          run.response = { text = run.output, raw = out }
        else
          run.output, run.error, run.response = "", tostring(out), { text = "" }
        end
        runs[#runs + 1] = run
      end
      local judge_calls = grade_all(scenario, runs)
      local cases = {}
      for _, run in ipairs(runs) do
        local c = export_case(run.case)
        c.runs = { { ["repeat"] = 1, ok = run.ok, output = run.output, error = run.error, score = run.score,
          passed = run.passed, grades = run.grades, llm_calls = 0, prompt_chars = 0, response_chars = 0 } }
        cases[#cases + 1] = c
      end
      local report = { name = tostring(self.name), strategy = "provider", scenario = tostring(self.name),
        repeats = 1, pass_threshold = scenario.pass_threshold, cases = cases, judge_calls = judge_calls }
      if A._eval_summary ~= nil then report.summary = A._eval_summary(report) end
      return setmetatable(report, Report)
    end
    return suite
  end
end

M.providers = {
  algocline = function(spec)
    spec = spec or {}
    if type(spec.strategy) ~= "string" then error("ef.providers.algocline: strategy is required", 2) end
    return { _kind = "algocline", strategy = spec.strategy, opts = spec.opts }
  end,
  mock = {
    static = function(text) return function() return text end end,
    map = function(map)
      return function(input)
        for key, value in pairs(map) do
          if s_find(tostring(input), key, 1, true) then return value end
        end
        return ""
      end
    end,
    fn = function(f) return f end,
  },
}

-- --- entry point of an alc_eval session -----------------------------------------------------

-- ctx = {scenario = {source=, chunkname=, name=}, strategy=, strategy_opts=, repeats=, parallel=,
-- eval_id=, card_id=}
function M.main(ctx)
  local s = ctx.scenario
  local scenario = M.scenario(M.load_scenario(s.source, s.chunkname), s.name)
  scenario.name = s.name or scenario.name
  local report = M.run(scenario, ctx.strategy, {
    strategy_opts = given(ctx.strategy_opts),
    repeats = given(ctx.repeats),
    parallel = given(ctx.parallel),
  })
  report.eval_id = given(ctx.eval_id)
  report.card_id = given(ctx.card_id)
  return report
end

return M
