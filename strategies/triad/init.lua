-- triad: a proponent and an opponent debate the task, then a judge decides.
--
-- Following Irving, Christiano and Amodei (2018), "AI safety via debate": two agents
-- argue opposite sides and a judge, who only has to weigh the arguments rather than
-- solve the problem alone, picks the side that made the stronger case. Du et al. (2023),
-- "Improving Factuality and Reasoning in Language Models through Multiagent Debate",
-- show that letting the debaters read and answer each other over several rounds
-- improves the outcome; `rounds` sets how many exchanges happen before judgement.
--
-- Round trips: `rounds` (both sides argue in the same pause, each seeing only the
-- other's arguments from earlier rounds) + 1 for the judge.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "triad",
  version = "1.0.0",
  description = "Debate: a proponent and an opponent argue the task in parallel for a number of "
    .. "rounds, answering each other, then a judge gives a verdict with reasoning.",
  category = "selection",
  paper = {
    title = "AI safety via debate",
    authors = "Geoffrey Irving, Paul Christiano, Dario Amodei",
    year = 2018,
    url = "https://arxiv.org/abs/1805.00899",
  },
  related = {
    {
      title = "Improving Factuality and Reasoning in Language Models through Multiagent Debate",
      authors = "Du, Li, Torralba, Tenenbaum, Mordatch",
      year = 2023,
      url = "https://arxiv.org/abs/2305.14325",
    },
  },
  inputs = {
    task = {
      type = "string",
      required = true,
      description = "The question, claim or proposal to debate.",
    },
    rounds = {
      type = "integer",
      default = 1,
      description = "Debate rounds (1-10); each is one pause with both sides arguing at once.",
    },
    proponent = {
      type = "string",
      default = "You are the proponent in a debate. Make the strongest honest case FOR the "
        .. "proposal, or for the most defensible answer to the question. Be concrete and specific.",
      description = "System prompt of the proponent (its role and stance).",
    },
    opponent = {
      type = "string",
      default = "You are the opponent in a debate. Make the strongest honest case AGAINST the "
        .. "proposal, or against the obvious answer to the question: find flaws, risks and "
        .. "counter-examples. Be concrete and specific.",
      description = "System prompt of the opponent (its role and stance).",
    },
    judge = {
      type = "string",
      default = "You are an impartial judge of a debate. Weigh only the arguments made, "
        .. "check them for errors, and decide which side made the stronger case.",
      description = "System prompt of the judge.",
    },
  },
}

local MAX_ROUNDS = 10
local SIDES = { "proponent", "opponent" }

local trim = parse.trim

-- ---------------------------------------------------------------------------
-- prompts
-- ---------------------------------------------------------------------------

-- Everything said so far, round by round, for the debaters and the judge.
local function transcript(history)
  local parts = {}
  for r, turn in ipairs(history) do
    parts[#parts + 1] = "--- Round " .. r .. " ---\n"
      .. "PROPONENT:\n" .. turn.proponent .. "\n\nOPPONENT:\n" .. turn.opponent
  end
  return table.concat(parts, "\n\n")
end

local function debater_prompt(task, side, round, rounds, history)
  local other = side == "proponent" and "opponent" or "proponent"
  local head = "Debate topic:\n" .. task .. "\n\n"
  if round == 1 then
    return head .. "Round 1 of " .. rounds .. ". Give your opening argument as the " .. side .. "."
  end
  return head .. "The debate so far:\n" .. transcript(history) .. "\n\n"
    .. "Round " .. round .. " of " .. rounds .. ". As the " .. side .. ", rebut the " .. other
    .. "'s latest points and strengthen your own case. Do not repeat yourself."
end

local function judge_prompt(task, history)
  return "Debate topic:\n" .. task .. "\n\nThe full debate:\n" .. transcript(history) .. "\n\n"
    .. "Decide which side made the stronger case. Reply in exactly this form:\n"
    .. "VERDICT: PROPONENT or OPPONENT\n"
    .. "ANSWER: the conclusion on the topic that the debate supports\n"
    .. "REASONING: why, citing the decisive arguments"
end

-- ---------------------------------------------------------------------------
-- parsing the judge
-- ---------------------------------------------------------------------------

-- The text after a "LABEL:" line, up to the next known label or the end.
local function section(reply, label)
  local lower = reply:lower()
  local start = lower:find("%f[%w]" .. label .. "%s*[:%-]")
  if not start then return nil end
  local body_start = reply:find("[:%-]", start) + 1
  local stop = #reply + 1
  for _, other in ipairs({ "verdict", "answer", "reasoning" }) do
    if other ~= label then
      local at = lower:find("\n[%s%*#]*" .. other .. "[%s%*]*[:%-]", body_start)
      if at and at < stop then stop = at end
    end
  end
  -- Markdown emphasis around the value ("**VERDICT:** **OPPONENT**") is not content.
  local body = reply:sub(body_start, stop - 1):gsub("^[%s%*]+", ""):gsub("[%s%*]+$", "")
  if body == "" then return nil end
  return body
end

-- Verdict, answer and reasoning from the judge's reply, whatever shape it takes: the
-- requested labelled lines, a JSON object, or free prose naming a side.
local function parse_judgement(reply)
  local text = tostring(reply)
  local out = {}
  local json = alc.json_extract(text)
  if type(json) == "table" and json[1] == nil then
    out.verdict = type(json.verdict) == "string" and json.verdict or nil
    out.answer = type(json.answer) == "string" and json.answer or nil
    out.reasoning = type(json.reasoning) == "string" and json.reasoning or nil
  end
  out.verdict = out.verdict or section(text, "verdict")
  out.answer = out.answer or section(text, "answer")
  out.reasoning = out.reasoning or section(text, "reasoning")
  -- Only a side the judge actually names counts; match_enum also forgives a typo such
  -- as "PROPONET". The verdict section is searched first, then the whole reply.
  local side = nil
  if out.verdict then side = alc.match_enum(out.verdict, SIDES) end
  if side == nil then side = alc.match_enum(text, SIDES) end
  out.verdict = side
  return out
end

-- ---------------------------------------------------------------------------
-- run
-- ---------------------------------------------------------------------------

function M.run(ctx)
  local task = knobs.task(ctx, "triad: ctx.task must be a non-empty string")
  local cfg = knobs.settings(M.meta, ctx)
  local inputs = M.meta.inputs
  local rounds = knobs.count(cfg.rounds, inputs.rounds.default, 1, MAX_ROUNDS, "triad: rounds")
  local systems = {
    proponent = knobs.text(cfg.proponent, inputs.proponent.default),
    opponent = knobs.text(cfg.opponent, inputs.opponent.default),
  }
  local judge_system = knobs.text(cfg.judge, inputs.judge.default)
  local total = rounds + 2 -- the rounds, the judge, done

  -- 1. The debate. Both sides speak in the same pause; neither sees the other's
  --    argument of the current round, only earlier ones (simultaneous turns, as in
  --    multiagent debate), which is what lets the round go out as one batch.
  local history = {}
  for round = 1, rounds do
    alc.progress(round, total, "debate round " .. round .. " of " .. rounds)
    local replies = alc.parallel(SIDES, function(side)
      return { prompt = debater_prompt(task, side, round, rounds, history), system = systems[side] }
    end)
    history[round] = { proponent = replies[1], opponent = replies[2] }
  end

  -- 2. The judgement.
  alc.progress(rounds + 1, total, "judging")
  local reply = alc.llm(judge_prompt(task, history), { system = judge_system })
  local judged = parse_judgement(reply)

  -- A judge that names no side leaves the debate undecided. The answer falls back to
  -- the winning side's closing argument, and failing that to the judge's own words,
  -- so the caller always has something to read.
  local verdict = judged.verdict or "undecided"
  local answer = judged.answer
  if answer == nil and judged.verdict then answer = history[rounds][judged.verdict] end
  if answer == nil then answer = trim(reply) end

  alc.progress(total, total, "verdict: " .. verdict)
  ctx.result = {
    answer = answer,
    verdict = verdict,
    reasoning = judged.reasoning or trim(reply),
    rounds = history,
    judge_reply = reply,
  }
  return ctx
end

return M
