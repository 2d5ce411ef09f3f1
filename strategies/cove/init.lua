-- cove: Chain-of-Verification.
--
-- Follows Dhuliawala et al. (2023), "Chain-of-Verification Reduces Hallucination in Large
-- Language Models": (1) draft a baseline answer, (2) plan verification questions that probe
-- the facts the draft states, (3) answer those questions, (4) write the final answer in the
-- light of the verifications.
--
-- We use the paper's *factored* variant for step 3: each question is asked on its own, with
-- neither the draft nor the other questions in the prompt, so a hallucination in the draft
-- cannot be copied into its own check. The questions are independent, so they all go to the
-- host in one pause: 4 round trips in all (baseline, plan, verifications, final).

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "cove",
  version = "1.0.0",
  description = "Chain-of-Verification: baseline answer, planned verification questions answered "
    .. "independently in one parallel pause (without the baseline), then a revised final answer.",
  category = "validation",
  paper = {
    title = "Chain-of-Verification Reduces Hallucination in Large Language Models",
    authors = "Shehzaad Dhuliawala, Mojtaba Komeili, Jing Xu, Roberta Raileanu, Xian Li, "
      .. "Asli Celikyilmaz, Jason Weston",
    year = 2023,
    url = "https://arxiv.org/abs/2309.11495",
  },
  inputs = {
    task = { type = "string", required = true, description = "The question to answer." },
    max_questions = {
      type = "integer",
      default = 4,
      description = "Most verification questions planned (and answered) for the baseline.",
    },
  },
}

local list, trim = parse.array, parse.trim

-- Strip a list marker: parse.unmark's "- ", "* ", "1. ", "2) ", and here also "Q3: ".
local function unmark(line)
  local rest, s = parse.unmark(line)
  if rest == nil then
    rest = s:match("^[Qq]%d+[%.%):]%s*(.*)$")
    if rest then rest = trim(rest) end
  end
  return rest, s
end

-- Verification questions from the plan reply, most tolerant last:
-- a JSON array (or {"questions": [...]}), then marked or question-mark lines, then any
-- sentence ending in "?". A reply with none of these gives no questions.
local function parse_questions(reply)
  local out = parse.json_list(reply, { "questions", "verification_questions" }, { "question" })
  if #out > 0 then return out end
  for line in reply:gmatch("[^\n]+") do
    local rest, plain = unmark(line)
    if rest ~= nil and rest ~= "" then
      out[#out + 1] = rest
    elseif plain:sub(-1) == "?" then
      out[#out + 1] = plain
    end
  end
  if #out > 0 then return out end
  for q in reply:gmatch("[^%.!?\n]+%?") do out[#out + 1] = trim(q) end
  return out
end

local function dedupe(questions, limit)
  local out, seen = list(), {}
  for _, q in ipairs(questions) do
    local key = q:lower():gsub("%s+", " ")
    if not seen[key] and #out < limit then
      seen[key] = true
      out[#out + 1] = q
    end
  end
  return out
end

-- The final answer without a leading "Final answer:" label, if the model added one.
local function final_text(reply)
  local s = trim(reply)
  local lower = s:lower()
  local at, stop = nil, nil
  local from = 1
  while true do
    local a, b = lower:find("final answer%s*:", from)
    if a == nil then break end
    at, stop, from = a, b, b + 1
  end
  if at ~= nil and trim(s:sub(stop + 1)) ~= "" then return trim(s:sub(stop + 1)) end
  return s
end

function M.run(ctx)
  local task = knobs.task(ctx, "cove: ctx.task is required (the question to answer)")
  local cfg = knobs.settings(M.meta, ctx)
  local max_questions = knobs.whole(cfg.max_questions, M.meta.inputs.max_questions.default, 1, "cove: max_questions")
  local total = 4

  alc.progress(1, total, "baseline answer")
  local baseline = trim(alc.llm(task, {
    system = "Answer the question directly and completely.",
    max_tokens = 800,
  }))

  alc.progress(2, total, "planning verification questions")
  local plan = alc.llm("Question: " .. task .. "\n\nDraft answer:\n" .. baseline .. "\n\n"
    .. "Write up to " .. max_questions .. " verification questions that check the facts the draft "
    .. "states, one fact per question (for \"X was born in Paris\" ask \"Where was X born?\"). Each "
    .. "question must make sense on its own, naming who or what it is about, because it will be "
    .. "answered without the draft.\nReply as a JSON array of strings.", {
    system = "You plan fact-checking questions for a draft answer.",
    max_tokens = 500,
  })
  local questions = dedupe(parse_questions(plan), max_questions)

  local result = { baseline = baseline, questions = questions, verifications = list() }
  ctx.result = result
  if #questions == 0 then
    -- Nothing to verify with: the baseline stands, marked as unverified.
    result.answer, result.verified, result.revised = baseline, false, false
    alc.progress(total, total, "no verification questions; keeping the baseline")
    return ctx
  end

  -- Factored execution: each question alone, all in one pause.
  alc.progress(3, total, "answering " .. #questions .. " verification question(s) independently")
  local answers = alc.parallel(questions, function(q)
    return {
      prompt = q,
      system = "Answer the question concisely and factually. If you are not sure, say so.",
      max_tokens = 300,
    }
  end)
  local lines = {}
  for i, q in ipairs(questions) do
    local a = trim(answers[i])
    result.verifications[i] = { question = q, answer = a }
    lines[#lines + 1] = "Q" .. i .. ": " .. q .. "\nA" .. i .. ": " .. a
  end

  alc.progress(4, total, "writing the verified answer")
  local final = final_text(alc.llm("Question: " .. task .. "\n\nDraft answer:\n" .. baseline .. "\n\n"
    .. "Verification (each question was answered separately, without seeing the draft):\n"
    .. table.concat(lines, "\n") .. "\n\n"
    .. "Check the draft against the verification answers. Drop or correct whatever they contradict, "
    .. "keep what they support, and write the final answer to the question. Reply with the final "
    .. "answer only.", {
    system = "You revise a draft answer so that it agrees with independent fact checks.",
    max_tokens = 800,
  }))
  if final == "" then final = baseline end
  result.answer, result.verified, result.revised = final, true, final ~= baseline
  return ctx
end

return M
