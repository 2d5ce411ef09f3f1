--- cot: chain-of-thought prompting.
--
-- Paper: Wei et al., "Chain-of-Thought Prompting Elicits Reasoning in Large Language
-- Models" (2022). Their finding: a model that writes out the intermediate steps of its
-- reasoning before committing to an answer solves multi-step problems (arithmetic,
-- commonsense, symbolic) far more often than one asked for the answer directly. The
-- method is few-shot: each exemplar in the prompt is a question, a worked chain of
-- reasoning and an answer, and the model imitates that shape for the new question.
--
-- What this package does: one call. The prompt holds the optional exemplars (knob
-- `examples`), then the task, and asks for step-by-step reasoning followed by a final
-- `Answer:` line. The answer is read back tolerantly (M.extract_answer): hosts do not
-- always follow a format, and a reply that ignores it still yields an answer (the whole
-- reply) instead of an error.
--
-- M.prompt and M.extract_answer are reused by `sc` (self-consistency samples this same
-- prompt several times), `calibrate` and `panel`.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "cot",
  version = "1.0.0",
  description = "Chain of thought: one call that reasons step by step and ends with an Answer: line",
  category = "reasoning",
  paper = {
    title = "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models",
    authors = "Jason Wei, Xuezhi Wang, Dale Schuurmans, Maarten Bosma, Brian Ichter, Fei Xia, Ed H. Chi, "
      .. "Quoc V. Le, Denny Zhou",
    year = 2022,
    url = "https://arxiv.org/abs/2201.11903",
  },
  inputs = {
    task = { type = "string", required = true, description = "The question or problem to reason about." },
    examples = {
      type = "array",
      default = alc.json_decode("[]"),  -- an empty *array*: shows as [] (not {}) in alc_pkg_list
      description = "Few-shot exemplars shown before the task, each {question=, reasoning=, answer=} "
        .. "(the paper's prompt format). Empty: zero-shot, the model is only asked to reason step by step.",
    },
  },
}

M.SYSTEM = "You solve problems by reasoning step by step. Show your reasoning, then give the final "
  .. "answer on its own last line, in the form `Answer: <answer>`."

local trim = parse.trim

-- The prompt of the paper: exemplars as Q/A pairs whose A is reasoning then the answer,
-- then the new question. Exemplars may also be plain strings (already formatted).
function M.prompt(task, examples)
  local parts = {}
  if type(examples) == "table" then
    for _, ex in ipairs(examples) do
      if type(ex) == "table" then
        local q = ex.question or ex.q or ex.input or ""
        local r = ex.reasoning or ex.rationale or ex.thought or ""
        local a = ex.answer or ex.a or ex.output or ""
        parts[#parts + 1] = "Q: " .. trim(q) .. "\nA: " .. trim(r) .. "\nAnswer: " .. trim(a)
      elseif type(ex) == "string" and trim(ex) ~= "" then
        parts[#parts + 1] = trim(ex)
      end
    end
  end
  local intro = ""
  if #parts > 0 then
    intro = "Here are worked examples of the reasoning format to follow.\n\n"
      .. table.concat(parts, "\n\n") .. "\n\nNow the new question.\n\n"
  end
  return intro .. "Q: " .. trim(task) .. "\n\n"
    .. "Think it through step by step, writing out each intermediate step. "
    .. "Then finish with a last line of the form `Answer: <answer>`, where <answer> is as short as possible "
    .. "(a number, a word, a phrase or a choice label), with no further explanation."
end

-- Strip what commonly wraps an answer: spaces, markdown emphasis and code marks, quotes,
-- a closing full stop.
local function clean(s)
  s = trim(s)
  s = s:gsub("^[%*_`\"']+", ""):gsub("[%*_`\"']+$", "")
  s = trim(s)
  s = s:gsub("([^%s%.])%.$", "%1")
  return trim(s)
end

-- Where an answer marker ends in `lower` (a lower-cased line), or nil. The markers are
-- tried in this order: first at the start of the line; then mid-line, "the answer is" or
-- an "Answer:" that follows the end of a sentence ("... so x = 5. Answer: 5"), the last
-- one stated winning.
local function marker_end(lower)
  local line = lower:gsub("^[%s#>%-%*_]+", "")
  local offset = #lower - #line
  for _, pattern in ipairs({
    "^final%s+answer%s*[:=%-]%s*()",
    "^final%s+answer%s+is%s*:?%s*()",
    "^answer%s*[:=%-]%s*()",
  }) do
    local stop = line:match(pattern)
    if stop then return offset + stop end
  end
  local last
  for _, pattern in ipairs({
    "the%s+answer%s+is%s*:?%s*()",
    "[%.!%?;]%s*final%s+answer%s*[:=]%s*()",
    "[%.!%?;]%s*answer%s*[:=]%s*()",
  }) do
    for stop in lower:gmatch(pattern) do
      if not last or stop > last then last = stop end
    end
  end
  return last
end

--- Pull the final answer out of a chain-of-thought reply.
-- Returns (answer, found): found is false when no answer marker was seen, and the answer
-- is then the whole reply, trimmed (the most honest fallback: nothing is thrown away).
function M.extract_answer(reply)
  local text = tostring(reply or "")
  local lines = parse.lines(text)
  -- From the last line up: the final answer is the last one the model stated.
  for i = #lines, 1, -1 do
    local line = lines[i]
    local boxed = line:match("\\boxed{([^}]*)}")
    if boxed and clean(boxed) ~= "" then return clean(boxed), true end
    local stop = marker_end(line:lower())
    if stop then
      local rest = clean(line:sub(stop))
      if rest ~= "" then return rest, true end
      -- "Answer:" alone on its line: the answer is on the next non-empty line.
      for j = i + 1, #lines do
        if trim(lines[j]) ~= "" then return clean(lines[j]), true end
      end
    end
  end
  return trim(text), false
end

-- Everything above the answer line: the chain of thought itself, kept as evidence.
local function reasoning_of(reply, found)
  if not found then return trim(reply) end
  local lines = parse.lines(reply)
  for i = #lines, 1, -1 do
    if marker_end(lines[i]:lower()) or lines[i]:find("\\boxed{") then
      local above = {}
      for j = 1, i - 1 do above[j] = lines[j] end
      return trim(table.concat(above, "\n"))
    end
  end
  return trim(reply)
end

function M.run(ctx)
  local opts = knobs.settings(M.meta, ctx)
  local task = knobs.task(ctx, "cot: ctx.task is required (the question to reason about)")

  alc.progress(1, 2, "cot: reasoning step by step")
  local reply = alc.llm(M.prompt(task, opts.examples), { system = M.SYSTEM, max_tokens = 1024 })

  alc.progress(2, 2, "cot: reading the final answer")
  local answer, found = M.extract_answer(reply)
  ctx.result = {
    answer = answer,
    reasoning = reasoning_of(reply, found),
    format_followed = found,  -- false: no Answer: line, the whole reply stands as the answer
    raw = reply,
  }
  return ctx
end

return M
