-- factscore: how much of a text is factually supported, one atomic claim at a time.
--
-- Follows Min et al. (2023), "FActScore: Fine-grained Atomic Evaluation of Factual
-- Precision in Long Form Text Generation": a generation is broken into atomic facts (short
-- statements carrying one piece of information each), every fact is judged supported or
-- not against a knowledge source, and the score is the fraction supported. A whole-text
-- verdict hides partial errors; counting atomic facts does not.
--
-- The paper's knowledge source is retrieved Wikipedia passages. Here it is the optional
-- `knowledge` input (a reference text shown to every judge) or, without it, the host
-- model's own knowledge. Every claim is judged on its own, so all judgments go to the host
-- in one pause: 2 round trips for a given text (split, verify), 3 when the text has to be
-- written first.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "factscore",
  version = "1.0.0",
  description = "FActScore: split a text into atomic claims, verify every claim in one parallel pause, "
    .. "and report the fraction supported with the per-claim verdicts.",
  category = "validation",
  paper = {
    title = "FActScore: Fine-grained Atomic Evaluation of Factual Precision in Long Form Text Generation",
    authors = "Sewon Min, Kalpesh Krishna, Xinxi Lyu, Mike Lewis, Wen-tau Yih, Pang Wei Koh, Mohit Iyyer, "
      .. "Luke Zettlemoyer, Hannaneh Hajishirzi",
    year = 2023,
    url = "https://arxiv.org/abs/2305.14251",
  },
  inputs = {
    task = {
      type = "string",
      required = true,
      description = "The topic or question the text is about; when `text` is absent, a text is "
        .. "written for it first and then scored.",
    },
    text = { type = "string", description = "The text to score. Defaults to one generated from the task." },
    max_claims = {
      type = "integer",
      default = 10,
      description = "Most atomic claims extracted and verified.",
    },
    knowledge = {
      type = "string",
      description = "Reference text the claims are judged against (the paper's knowledge source). Without "
        .. "it, the judge uses its own knowledge.",
    },
  },
}

local list, trim = parse.array, parse.trim

-- Sentences, a coarse stand-in for atomic facts when the splitter ignored the format.
local function sentences(text)
  local out = {}
  local marked = text:gsub("([%.!?])%s+", "%1\n")
  for line in marked:gmatch("[^\n]+") do
    if line:find("%w") then out[#out + 1] = trim(line) end
  end
  return out
end

-- Claims from the splitter's reply, most tolerant last: a JSON array (or {"claims": [...]}),
-- then marked lines, then one claim per line. A single unmarked paragraph means the reply
-- ignored the format, and the text's own sentences are used instead.
local function parse_claims(reply, text)
  local out = parse.json_list(reply, { "claims", "facts", "atomic_facts" }, { "claim", "fact" })
  if #out > 0 then return out, "json" end
  local plain = {}
  for line in reply:gmatch("[^\n]+") do
    local rest, s = parse.unmark(line)
    if rest ~= nil and rest ~= "" then out[#out + 1] = rest end
    if s:find("%w") then plain[#plain + 1] = s end
  end
  if #out > 0 then return out, "list" end
  if #plain > 1 then return plain, "lines" end
  return sentences(text), "sentences"
end

-- Words a judge opens with, and what they mean.
local LEADS = {
  { "not supported", false }, { "unsupported", false }, { "supported", true },
  { "true", true }, { "false", false }, { "yes", true }, { "no", false },
  { "correct", true }, { "incorrect", false },
}

-- true (supported), false (not supported) or nil (no usable verdict). The opening word
-- decides first, as the paper's judge answers "True or False" before anything else; then
-- the last "supported" in the text; then alc.match_bool on the whole reply.
local function verdict(reply)
  local lead = reply:lower():gsub("^[%s%p]+", "")
  for _, pair in ipairs(LEADS) do
    local word, value = pair[1], pair[2]
    if lead:sub(1, #word) == word and not lead:sub(#word + 1, #word + 1):match("%w") then return value end
  end
  local lower = reply:lower()
  local last = nil
  for at in lower:gmatch("()supported") do last = at end
  if last ~= nil then
    local before = lower:sub(math.max(1, last - 4), last - 1)
    return not (before == "not " or before:sub(-2) == "un")
  end
  return alc.match_bool(reply)
end

local function round3(x)
  return math.floor(x * 1000 + 0.5) / 1000
end

function M.run(ctx)
  local task = knobs.task(ctx, "factscore: ctx.task is required (the topic of the text)")
  local cfg = knobs.settings(M.meta, ctx)
  local max_claims = knobs.whole(cfg.max_claims, M.meta.inputs.max_claims.default, 1, "factscore: max_claims")
  local knowledge = knobs.text(ctx.knowledge)
  local text = knobs.text(ctx.text)
  local generated = text == nil
  local total = generated and 3 or 2
  local step = 0

  if generated then
    step = step + 1
    alc.progress(step, total, "writing a text to score")
    text = trim(alc.llm(task, {
      system = "Answer with a short factual text (one or two paragraphs).",
      max_tokens = 800,
    }))
  end

  step = step + 1
  alc.progress(step, total, "splitting the text into atomic claims")
  local split = alc.llm("Text:\n<<<\n" .. text .. "\n>>>\n\n"
    .. "Break the text into atomic claims: short, self-contained statements that each carry exactly "
    .. "one piece of information. Replace pronouns with the names they stand for, so every claim can "
    .. "be checked on its own. List at most " .. max_claims .. " claims; if there are more, keep the "
    .. "most important ones.\nReply as a JSON array of strings.", {
    system = "You break texts into atomic facts.",
    max_tokens = 1000,
  })
  local parsed, how = parse_claims(split, text)
  local claims, seen = {}, {}
  for _, c in ipairs(parsed) do
    local key = c:lower()
    if #claims < max_claims and not seen[key] then
      seen[key] = true
      claims[#claims + 1] = c
    end
  end

  local result = { text = text, generated = generated, claims = list(), split = how }
  ctx.result = result
  if #claims == 0 then
    result.score, result.supported, result.total, result.unclear = 0, 0, 0, 0
    result.answer = "No claims found to verify."
    return ctx
  end

  step = step + 1
  alc.progress(step, total, "verifying " .. #claims .. " claim(s)")
  local reference = knowledge and ("Reference:\n<<<\n" .. knowledge .. "\n>>>\n\n") or ""
  local judge = knowledge and "Judge the claim against the reference only."
    or "Judge the claim with your own knowledge."
  local replies = alc.parallel(claims, function(claim)
    return {
      prompt = reference .. "The claim comes from a text about: " .. task .. "\n\nClaim: " .. claim .. "\n\n"
        .. "Is the claim supported? Reply True or False first, then at most one sentence of reason.",
      system = "You verify one factual claim at a time. " .. judge,
      max_tokens = 200,
    }
  end)

  local supported, unclear = 0, 0
  for i, claim in ipairs(claims) do
    local ok = verdict(replies[i])
    local label
    if ok == true then
      label, supported = "supported", supported + 1
    elseif ok == false then
      label = "not supported"
    else
      -- No verdict: not counted as support (the score measures what the judge vouched for).
      label, unclear = "unclear", unclear + 1
    end
    result.claims[i] = { claim = claim, supported = ok == true, verdict = label, reason = trim(replies[i]) }
  end
  local score = round3(supported / #claims)
  result.score, result.supported, result.total, result.unclear = score, supported, #claims, unclear
  result.answer = string.format("%d of %d claims supported (FActScore %.2f)", supported, #claims, score)
  if unclear > 0 then
    result.answer = result.answer .. string.format("; %d without a clear verdict", unclear)
  end
  return ctx
end

return M
