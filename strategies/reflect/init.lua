--- reflect: Self-Refine — draft, critique, revise, until the critique finds nothing.
--
-- Paper: Madaan et al., "Self-Refine: Iterative Refinement with Self-Feedback" (NeurIPS
-- 2023). One model plays three parts: it writes an initial output, gives itself feedback
-- on that output, and refines the output using the feedback; feedback and refinement
-- alternate until the feedback says to stop or an iteration limit is reached. Two points
-- from the paper shape the prompts below:
--   * feedback must be specific and actionable (what is wrong and how to fix it), not a
--     generic "could be better" — the paper's ablation shows generic feedback helps far less;
--   * the refiner sees the history of earlier feedback, so it does not undo old fixes or
--     repeat old mistakes.
--
-- Round trips: 1 (draft) + per round 1 (critique) + 1 (revise, only when the critique
-- asks for changes). Stopping after the first critique therefore costs 2 round trips,
-- one revision then a satisfied critique 4, and a critique that never says "done" costs
-- 1 + 2 * max_rounds.
--
-- Stop detection is tolerant: the critique is asked to end with `Verdict: DONE` or
-- `Verdict: REVISE`; failing that, phrases such as "no changes needed" count as DONE.
-- Anything else (including a reply that ignores the format) means "revise", so a
-- confused host costs at most max_rounds rounds, never a crash or an endless loop.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "reflect",
  version = "1.0.0",
  description = "Self-Refine: draft, critique, revise, repeated until the critique finds nothing to change",
  category = "reasoning",
  paper = {
    title = "Self-Refine: Iterative Refinement with Self-Feedback",
    authors = "Aman Madaan, Niket Tandon, Prakhar Gupta, Skyler Hallinan, Luyu Gao, Sarah Wiegreffe, Uri Alon, "
      .. "Nouha Dziri, Shrimai Prabhumoye, Yiming Yang, Shashank Gupta, Bodhisattwa Prasad Majumder, "
      .. "Katherine Hermann, Sean Welleck, Amir Yazdanbakhsh, Peter Clark",
    year = 2023,
    url = "https://arxiv.org/abs/2303.17651",
  },
  inputs = {
    task = { type = "string", required = true, description = "What to produce or answer." },
    max_rounds = {
      type = "integer",
      default = 3,
      description = "Most critique rounds (each may be followed by a revision); 1-10.",
    },
  },
}

local DRAFT_SYSTEM = "You are a careful expert. Give your best complete answer to the task."

local CRITIC_SYSTEM = "You are a demanding reviewer. You give specific, actionable feedback on a draft: "
  .. "what is wrong, missing or unclear, and exactly how to fix it. You do not rewrite the draft yourself."

local REVISER_SYSTEM = "You revise a draft so that it addresses every point of the feedback while keeping "
  .. "what was already right. You reply with the revised answer only."

-- Phrases that mean "nothing to change" when the critic forgot the Verdict line.
local SATISFIED_PHRASES = {
  "no changes needed", "no changes are needed", "no change needed", "no changes required",
  "nothing needs to change", "nothing needs changing", "nothing to change", "no further changes",
  "no revisions needed", "no revision needed", "no further revision", "no issues found",
  "no improvements needed", "no further improvements", "needs no changes", "lgtm",
}

local trim = parse.trim

--- Does this critique say the answer needs no more changes?
-- Returns (satisfied, how) where `how` tells which rule decided (kept as evidence).
function M.is_satisfied(critique)
  local text = tostring(critique or "")
  -- 1. The requested verdict line; the last one wins.
  local verdict
  for _, line in ipairs(parse.lines(text)) do
    local tail = line:lower():match("verdict%W*(.*)$")
    if tail and trim(tail) ~= "" then verdict = tail end
  end
  if verdict then
    -- The first verdict word counts ("REVISE, not done yet" is a REVISE).
    local done_at = verdict:find("%f[%w]done%f[%W]")
    local revise_at = verdict:find("%f[%w]revise%f[%W]")
    if done_at and (not revise_at or done_at < revise_at) then return true, "verdict" end
    if revise_at then return false, "verdict" end
    -- A misspelt verdict word ("DOEN", "REVSE"); the high threshold keeps "does" from reading as DONE.
    local choice = alc.match_enum(verdict, { "DONE", "REVISE" }, { threshold = 0.9 })
    if choice ~= nil then return choice == "DONE", "verdict" end
    -- "Verdict: approved" / "Verdict: rejected" and the like.
    local yes = alc.match_bool(verdict)
    if yes ~= nil then return yes, "verdict" end
  end
  -- 2. A plain-language "nothing to change".
  local lower = text:lower():gsub("%s+", " ")
  for _, phrase in ipairs(SATISFIED_PHRASES) do
    if lower:find(phrase, 1, true) then return true, "phrase" end
  end
  -- 3. No recognisable stop signal: keep refining (bounded by max_rounds).
  return false, "default"
end

-- The reviser is asked for the answer only, but may still label it.
local function strip_label(reply)
  local s = trim(reply)
  s = s:gsub("^%**[Rr]evised [Aa]nswer%**%s*:?%**%s*", "")
  return trim(s)
end

local function critique_prompt(task, answer)
  return "Task:\n" .. task .. "\n\nDraft answer:\n" .. answer .. "\n\n"
    .. "Review the draft against the task. List each concrete problem (errors, gaps, unclear or "
    .. "unsupported parts) and how to fix it. If the draft is already correct and complete, say that "
    .. "nothing needs to change.\n"
    .. "End with exactly one line: `Verdict: DONE` if no changes are needed, or `Verdict: REVISE`."
end

local function revise_prompt(task, answer, critique, history)
  local earlier = ""
  if #history > 0 then
    local items = {}
    for i, fb in ipairs(history) do items[i] = string.format("Round %d feedback:\n%s", i, fb) end
    earlier = "Earlier feedback (already addressed; do not undo those fixes):\n"
      .. table.concat(items, "\n\n") .. "\n\n"
  end
  return "Task:\n" .. task .. "\n\n" .. earlier
    .. "Current answer:\n" .. answer .. "\n\n"
    .. "Feedback on the current answer:\n" .. critique .. "\n\n"
    .. "Write the improved answer, fixing every point of the feedback. Reply with the revised answer only."
end

function M.run(ctx)
  local opts = knobs.settings(M.meta, ctx)
  local max_rounds = knobs.count(opts.max_rounds, 3, 1, 10, "reflect: max_rounds")
  local task = trim(knobs.task(ctx, "reflect: ctx.task is required (the task to answer)"))
  local total = 1 + 2 * max_rounds  -- the most calls this run can make
  local step = 1

  alc.progress(step, total, "reflect: drafting")
  local draft = trim(alc.llm(task, { system = DRAFT_SYSTEM, max_tokens = 1024 }))
  local answer = draft
  local rounds, history = {}, {}
  local stopped = "max_rounds"

  for round = 1, max_rounds do
    step = step + 1
    alc.progress(step, total, string.format("reflect: critique %d of at most %d", round, max_rounds))
    local critique = trim(alc.llm(critique_prompt(task, answer), { system = CRITIC_SYSTEM, max_tokens = 768 }))
    local satisfied, how = M.is_satisfied(critique)
    local entry = { round = round, critique = critique, satisfied = satisfied, detected_by = how }
    rounds[#rounds + 1] = entry
    if satisfied then
      stopped = "critique_satisfied"
      break
    end

    step = step + 1
    alc.progress(step, total, string.format("reflect: revision %d", round))
    local revised = strip_label(alc.llm(revise_prompt(task, answer, critique, history),
      { system = REVISER_SYSTEM, max_tokens = 1024 }))
    -- An empty revision would throw the answer away; keep the previous one instead.
    if revised ~= "" then answer = revised end
    entry.revision = answer
    history[#history + 1] = critique
  end

  ctx.result = {
    answer = answer,
    draft = draft,
    rounds = rounds,
    revisions = #history,
    stopped = stopped,  -- "critique_satisfied" or "max_rounds"
  }
  return ctx
end

return M
