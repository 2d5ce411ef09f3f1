--- calibrate: answer with a stated confidence; escalate when it is low.
--
-- Papers: Kadavath et al., "Language Models (Mostly) Know What They Know" (2022), and
-- Xiong et al., "Can LLMs Express Their Uncertainty? An Empirical Evaluation of
-- Confidence Elicitation in LLMs" (ICLR 2024).
--   * Kadavath et al. show that models asked to evaluate their own answers are reasonably
--     well calibrated: a low self-assessed probability of being right really does signal
--     more errors.
--   * Xiong et al. study confidence stated in words ("verbalized confidence", e.g. a number
--     from 0 to 100). It is informative but tends to be overconfident; confidence from the
--     consistency of several samples is more reliable, and combining the two does best.
--
-- What this package does: one call asks for an answer plus a 0-100 confidence. When the
-- confidence is at least `threshold`, that answer stands (1 round trip, the cheap path).
-- Below it, the task is escalated to a costlier strategy — `sc` (sample consistency, as
-- Xiong et al. recommend) or `panel` — by `require`-ing it and running it on a copy of
-- this ctx, so knobs such as `n` or `roles` reach it. A reply with no readable confidence
-- counts as confidence 0: an answer whose confidence cannot be read is not one to trust
-- blindly.

local cot = require("cot")
local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "calibrate",
  version = "1.0.0",
  description = "Answer with a 0-100 confidence; below the threshold, escalate to sc or panel",
  category = "reasoning",
  -- The verbalised 0-100 confidence and the consistency-based fallback follow Xiong et al.;
  -- the premise that self-assessed confidence is informative is Kadavath et al.'s.
  paper = {
    title = "Can LLMs Express Their Uncertainty? An Empirical Evaluation of Confidence Elicitation in LLMs",
    authors = "Miao Xiong, Zhiyuan Hu, Xinyang Lu, Yifei Li, Jie Fu, Junxian He, Bryan Hooi",
    year = 2024,
    url = "https://arxiv.org/abs/2306.13063",
  },
  see_also = {
    {
      title = "Language Models (Mostly) Know What They Know",
      authors = "Saurav Kadavath, Tom Conerly, Amanda Askell, Tom Henighan, Dawn Drain, Ethan Perez, "
        .. "Nicholas Schiefer, Zac Hatfield-Dodds, Nova DasSarma, Eli Tran-Johnson, et al.",
      year = 2022,
      url = "https://arxiv.org/abs/2207.05221",
    },
  },
  inputs = {
    task = { type = "string", required = true, description = "The question to answer." },
    threshold = {
      type = "number",
      default = 70,
      description = "Escalate when the stated confidence (0-100) is below this; 0 never escalates.",
    },
    escalate_to = {
      type = "string",
      default = "sc",
      description = "Strategy run on low confidence: \"sc\" or \"panel\" (any installed strategy that sets "
        .. "result.answer works). It receives a copy of this ctx, so its own knobs (n, roles...) apply.",
    },
  },
}

local SYSTEM = "You answer questions and report, honestly, how likely your answer is to be correct. "
  .. "A calibrated 60 is more useful than an overconfident 95."

local WORDS = {  -- a confidence given in words rather than a number
  { "very high", 90 }, { "very low", 10 }, { "high", 80 }, { "medium", 55 }, { "moderate", 55 },
  { "low", 25 },
}

local trim = parse.trim

local function clamp(x)
  if x < 0 then return 0 end
  if x > 100 then return 100 end
  return x
end

--- The confidence (0-100) stated in a reply, or nil.
-- Reads the last "confidence ... N" (N may be "85", "85%", "85/100" or a 0-1 fraction
-- such as "0.85"), else the last "N%" anywhere, else a word such as "high".
function M.parse_confidence(reply)
  local lower = tostring(reply or ""):lower()
  -- The scale from our own prompt, echoed back ("Confidence (0-100): 85"), is not the value.
  lower = lower:gsub("%(?%f[%d]0%s*%-%s*100%)?", " "):gsub("%(?%f[%d]0 to 100%)?", " ")
  local value, percent
  for number, pct in lower:gmatch("confiden%a*[^%d\n]-(%d+%.?%d*)%s*(%%?)") do
    value, percent = number, pct
  end
  if value == nil then
    for number in lower:gmatch("(%d+%.?%d*)%s*%%") do value, percent = number, "%" end
  end
  if value ~= nil then
    local x = tonumber(value)
    if x == nil then return nil end
    -- "0.85" or "1.0" on a 0-1 scale; a bare "1" stays 1 (more likely 1 out of 100 than certainty).
    if percent == "" and x <= 1 and value:find(".", 1, true) then x = x * 100 end
    return clamp(x)
  end
  local line = lower:match("confiden[^\n]*")
  if line then
    for _, w in ipairs(WORDS) do
      if line:find(w[1], 1, true) then return w[2] end
    end
  end
  return nil
end

local function shallow_copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

function M.run(ctx)
  local opts = knobs.settings(M.meta, ctx)
  local threshold = knobs.number(opts.threshold, 70, 0, 100, "calibrate: threshold")
  local target = trim(opts.escalate_to or "sc")
  if target == "" then target = "sc" end
  if target == M.meta.name then error("calibrate: escalate_to cannot be calibrate itself", 0) end
  local task = trim(knobs.task(ctx, "calibrate: ctx.task is required (the question to answer)"))

  alc.progress(1, 2, "calibrate: answering with a confidence")
  local reply = alc.llm("Question:\n" .. task .. "\n\n"
    .. "Answer the question (reason briefly if you need to). Then rate the probability, from 0 to 100, "
    .. "that your answer is correct (100 = certain, 50 = a coin flip).\n"
    .. "End with exactly these two lines:\nAnswer: <your answer>\nConfidence: <0-100>",
    { system = SYSTEM, max_tokens = 768 })
  local answer, found = cot.extract_answer(reply)
  if not found then
    -- No Answer: line: the reply without its confidence line is the answer.
    local rest = trim((reply:gsub("[^\n]*[Cc]onfiden[^\n]*", "")))
    if rest ~= "" then answer = rest end
  end
  local confidence = M.parse_confidence(reply)
  local counted = confidence or 0

  local result = {
    answer = answer,
    confidence = confidence,
    threshold = threshold,
    initial_answer = answer,
    raw = reply,
    escalated = false,
  }

  if counted >= threshold then
    result.reason = string.format("confidence %g >= threshold %g: answer kept", counted, threshold)
    alc.progress(2, 2, "calibrate: confident, answer kept")
    ctx.result = result
    return ctx
  end

  if confidence == nil then
    result.reason = string.format("no readable confidence (counted as 0) < threshold %g: escalated to %s",
      threshold, target)
  else
    result.reason = string.format("confidence %g < threshold %g: escalated to %s", confidence, threshold, target)
  end
  alc.progress(2, 2, "calibrate: low confidence, escalating to " .. target)
  local ok, strategy = pcall(require, target)
  if not ok or type(strategy) ~= "table" or type(strategy.run) ~= "function" then
    error("calibrate: cannot escalate to '" .. target .. "': "
      .. (ok and "it has no run(ctx)" or tostring(strategy)), 0)
  end
  -- The child gets its own copy: its result must not overwrite ours before we read it.
  local child = shallow_copy(ctx)
  child.result = nil
  child.task = task
  child = strategy.run(child) or child
  local escalation = type(child) == "table" and child.result or nil

  result.escalated = true
  result.escalated_to = target
  result.escalation = escalation
  if type(escalation) == "table" and escalation.answer ~= nil then
    result.answer = escalation.answer
  end
  ctx.result = result
  return ctx
end

return M
