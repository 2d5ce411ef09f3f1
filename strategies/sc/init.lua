--- sc: self-consistency over chains of thought.
--
-- Paper: Wang et al., "Self-Consistency Improves Chain of Thought Reasoning in Language
-- Models" (ICLR 2023). Instead of trusting one greedy chain of thought, sample several
-- diverse reasoning paths for the same question and keep the answer most of them reach:
-- a hard problem has many ways to the right answer but the wrong answers rarely agree.
-- The paper "marginalises out" the reasoning paths with a plain majority vote over the
-- final answers, which worked as well as any probability-weighted vote.
--
-- What this package does:
--   1. sends `n` copies of the chain-of-thought prompt of `cot` in ONE pause
--      (alc.llm_batch), so the host answers all samples in a single round trip;
--   2. reads each sample's final answer (cot.extract_answer) and normalises it, so that
--      "Answer: 18.", "$18" and "the answer is 18" count as the same vote;
--   3. takes the majority (ties go to the answer seen first) and reports the votes and
--      the agreement ratio, which doubles as a confidence signal (the paper shows
--      accuracy rises with agreement).

local cot = require("cot")
local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "sc",
  version = "1.0.0",
  description = "Self-consistency: n chain-of-thought samples in one round trip, majority vote over normalised answers",
  category = "selection",
  paper = {
    title = "Self-Consistency Improves Chain of Thought Reasoning in Language Models",
    authors = "Xuezhi Wang, Jason Wei, Dale Schuurmans, Quoc Le, Ed Chi, Sharan Narang, Aakanksha Chowdhery, "
      .. "Denny Zhou",
    year = 2023,
    url = "https://arxiv.org/abs/2203.11171",
  },
  inputs = {
    task = { type = "string", required = true, description = "The question to answer." },
    n = { type = "integer", default = 5, description = "Number of independent reasoning samples (1-50)." },
    examples = {
      type = "array",
      default = alc.json_decode("[]"),  -- an empty *array*: shows as [] (not {}) in alc_pkg_list
      description = "Few-shot chain-of-thought exemplars, as for cot: each {question=, reasoning=, answer=}.",
    },
  },
}

local MAX_SAMPLES = 50

local trim = parse.trim

-- "18", "18.0", "+18", "$18", "1,800", "18 dollars" and "18%" all mean a number; give
-- each number one spelling so they vote together. Returns nil when `s` is not a number
-- (at most one unit word may follow it, so "3 and 4" stays text).
local function canonical_number(s)
  local sign, digits, rest = s:match("^%$?%s*([%-+]?)%s*%$?%s*([%d,]*%.?%d+)%s*(.-)$")
  if digits == nil then return nil end
  if rest ~= "" and rest ~= "%" and not rest:match("^%a+$") then return nil end
  -- Commas must group thousands; "1,2" is a list, not a number.
  if digits:find(",", 1, true) and not digits:match("^%d%d?%d?,%d%d%d[,%d]*%.?%d*$") then return nil end
  local n = tonumber((digits:gsub(",", "")))
  if n == nil then return nil end
  if sign == "-" then n = -n end
  local int = math.tointeger(n)
  if int == nil and n == math.floor(n) and math.abs(n) < 2 ^ 53 then int = math.tointeger(math.floor(n)) end
  if int ~= nil then return string.format("%d", int) end
  return string.format("%.12g", n)
end

local PREFIXES = {
  "^final%s+answer%s*[:=%-]%s*", "^final%s+answer%s+is%s*:?%s*", "^so%s+the%s+answer%s+is%s*:?%s*",
  "^the%s+answer%s+is%s*:?%s*", "^answer%s*[:=%-]%s*", "^answer%s+is%s*:?%s*",
}

--- The voting key of an answer: trimmed, lower-cased, answer prefixes and surrounding
-- punctuation removed, inner spaces collapsed, numbers canonicalised.
function M.normalize(answer)
  local s = trim(answer):lower()
  local before
  repeat
    before = s
    -- Leading decoration only; a sign or a currency symbol belongs to a number.
    s = s:gsub("^[%s%*_`\"'%(%[#>:]+", "")
    for _, prefix in ipairs(PREFIXES) do s = s:gsub(prefix, "") end
  until s == before
  s = s:gsub("%s+", " ")
  s = trim(s)
  local number = canonical_number((s:gsub("[%.!?;:,%*_`\"'%)%]]+$", "")))
  if number then return number end
  -- Not a number: surrounding punctuation carries no meaning ("**Paris**." = "paris").
  s = s:gsub("^[%p%s]+", ""):gsub("[%p%s]+$", "")
  return s
end

function M.run(ctx)
  local opts = knobs.settings(M.meta, ctx)
  local n = knobs.count(opts.n, 5, 1, MAX_SAMPLES, "sc: n")
  local task = knobs.task(ctx, "sc: ctx.task is required (the question to answer)")

  -- 1. n samples of the same chain-of-thought prompt, all in one pause. The paper gets
  -- diversity from temperature sampling; a host model answers each query on its own, and
  -- the note below tells it the samples are independent attempts, so it need not make
  -- them identical.
  alc.progress(1, 3, string.format("sc: sampling %d reasoning paths", n))
  local base = cot.prompt(task, opts.examples)
  local items = {}
  for i = 1, n do
    items[i] = {
      prompt = base .. string.format("\n\n(Independent attempt %d of %d: reason it out afresh.)", i, n),
      system = cot.SYSTEM,
      max_tokens = 1024,
    }
  end
  local replies = alc.llm_batch(items)

  -- 2. Extract and normalise every sample's answer.
  alc.progress(2, 3, "sc: normalising answers")
  local samples, keys, first_seen = {}, {}, {}
  local followed = 0
  for i = 1, n do
    local answer, found = cot.extract_answer(replies[i])
    if found then followed = followed + 1 end
    local key = M.normalize(answer)
    samples[i] = { answer = answer, key = key, format_followed = found }
    -- Blank answers (an empty reply) abstain rather than vote for "".
    if key ~= "" then
      keys[#keys + 1] = key
      if first_seen[key] == nil then first_seen[key] = answer end
    end
  end

  -- 3. Majority vote over the keys; alc.vote breaks ties by first appearance.
  alc.progress(3, 3, "sc: majority vote")
  local votes = {}
  for _, key in ipairs(keys) do votes[key] = (votes[key] or 0) + 1 end
  local tally = alc.vote(keys)
  local winner = tally.winner
  local count = tally.count or 0
  local tied = 0
  for _, c in pairs(votes) do
    if c == count then tied = tied + 1 end
  end

  ctx.result = {
    -- The answer as the first sample that voted for it wrote it (more readable than the key).
    answer = winner and first_seen[winner] or "",
    normalized = winner or "",
    votes = votes,
    agreement = count / n,
    n = n,
    tie = tied > 1,
    format_followed = followed,  -- how many samples ended with an Answer: line
    samples = samples,
  }
  return ctx
end

return M
