-- rank: best-of-N answers, chosen by a pairwise LLM-judge knockout tournament.
--
-- Following Qin et al. (2024), "Large Language Models are Effective Text Rankers with
-- Pairwise Ranking Prompting": comparing two texts at a time is a far easier judgement for
-- a model than scoring each one on an absolute scale, so the ranking is built from
-- pairwise verdicts. Zheng et al. (2023), "Judging LLM-as-a-Judge", show that such judges
-- favour whichever answer they read first; the `debias` knob asks each match in both
-- orders, as both papers do, and only a consistent preference counts as a win.
--
-- Round trips: 1 (all n candidates at once) + ceil(log2 n) tournament rounds, each round's
-- matches going out together. With n = 4: 3 round trips of 4, 2 and 1 queries.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "rank",
  version = "1.0.0",
  description = "Best-of-N: sample n candidate answers in one batch, then pick the best with a "
    .. "single-elimination tournament of pairwise LLM-judge comparisons (one batch per round).",
  category = "selection",
  paper = {
    title = "Large Language Models are Effective Text Rankers with Pairwise Ranking Prompting",
    authors = "Qin, Jagerman, Hui, Zhuang, Wu, Yan, Shen, Liu, Liu, Metzler, Wang, Bendersky",
    year = 2024,
    url = "https://arxiv.org/abs/2306.17563",
  },
  related = {
    {
      title = "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena",
      authors = "Zheng et al.",
      year = 2023,
      url = "https://arxiv.org/abs/2306.05685",
    },
  },
  inputs = {
    task = { type = "string", required = true, description = "The question or task to answer." },
    n = {
      type = "integer",
      default = 4,
      description = "Number of candidate answers (1-32). A power of two gives a full bracket; "
        .. "otherwise some candidates get a bye in the first round.",
    },
    criteria = {
      type = "string",
      default = "correctness, completeness and clarity",
      description = "What the judge compares the two answers on.",
    },
    debias = {
      type = "boolean",
      default = false,
      description = "Judge every match twice, once in each order, in the same batch "
        .. "(doubles the queries, not the round trips) to cancel the judge's position bias.",
    },
  },
}

local MAX_N = 32

local CANDIDATE_SYSTEM = "You are a careful expert. Answer the task as well as you can. "
  .. "Give the answer itself, complete and self-contained."

local JUDGE_SYSTEM = "You are an impartial judge comparing two responses to the same task. "
  .. "Ignore the order in which they are shown and their length; judge only their quality. "
  .. "End your reply with a line of the form 'Winner: A' or 'Winner: B'."

-- ---------------------------------------------------------------------------
-- judging
-- ---------------------------------------------------------------------------

-- Which response a judge preferred: "A", "B" or nil when the reply does not say.
local function parse_choice(reply)
  local text = tostring(reply)
  local lower = text:lower()
  -- 1. The requested verdict line ("Winner: B", "winner is **A**"); the last one counts,
  --    since judges often restate the question before concluding.
  local found
  for letter in lower:gmatch("winner[%s%*_:=%-]*([ab])%f[^%w]") do found = letter end
  for letter in lower:gmatch("winner is[%s%*_:\"']*([ab])%f[^%w]") do found = letter end
  if found then return found:upper() end
  -- 2. A bare label ("B", "**A**.", "(b)"): a single short word is safe to match directly.
  local bare = text:match("^[%s%p]*(%w+)[%s%p]*$")
  if bare and #bare <= 2 then
    local choice = alc.match_enum(bare, { "A", "B" })
    if choice then return choice end
  end
  -- 3. The label the judge mentioned last ("... so I prefer Response B"). Fuzzy matching
  --    is switched off (threshold 1): the two labels differ by one letter, so a near
  --    miss such as "responses" would otherwise always read as "Response A".
  local label = alc.match_enum(text, { "Response A", "Response B" }, { threshold = 1 })
  if label then return label:sub(-1) end
  return nil
end

local function judge_prompt(task, criteria, first, second)
  return "Task:\n" .. task
    .. "\n\n[Response A]\n" .. first
    .. "\n[End of Response A]\n\n[Response B]\n" .. second
    .. "\n[End of Response B]\n\n"
    .. "Which response accomplishes the task better, judged on " .. criteria .. "? "
    .. "Explain briefly, then finish with 'Winner: A' or 'Winner: B'."
end

-- Sorts the entrants of one round into matches and byes. Byes are handed out only in the
-- first round, to the first entrants, so that every later round has a power-of-two field
-- and no candidate gets more than one free pass.
local function pair_up(entrants)
  local field = #entrants
  local size = 1
  while size < field do size = size * 2 end
  local byes = size - field
  local matches, passed = {}, {}
  for i = 1, byes do passed[#passed + 1] = entrants[i] end
  for i = byes + 1, field, 2 do
    matches[#matches + 1] = { a = entrants[i], b = entrants[i + 1] }
  end
  return matches, passed
end

-- ---------------------------------------------------------------------------
-- run
-- ---------------------------------------------------------------------------

function M.run(ctx)
  local task = knobs.task(ctx, "rank: ctx.task must be a non-empty string")
  local cfg = knobs.settings(M.meta, ctx)
  local n = knobs.count(cfg.n, M.meta.inputs.n.default, 1, MAX_N, "rank: n")
  local criteria = knobs.text(cfg.criteria, M.meta.inputs.criteria.default)
  local debias = knobs.flag(cfg.debias, M.meta.inputs.debias.default)

  local rounds = 0
  while (1 << rounds) < n do rounds = rounds + 1 end
  local total = rounds + 2 -- sampling, the rounds, done

  -- 1. All candidates in one pause. Each prompt carries its index so that a host
  --    answering a batch does not simply paste one answer n times.
  alc.progress(1, total, "sampling " .. n .. " candidates")
  local indices = {}
  for i = 1, n do indices[i] = i end
  local candidates = alc.parallel(indices, function(i)
    return {
      prompt = task .. "\n\n(Independent attempt " .. i .. " of " .. n
        .. ": work it out on your own, without assuming any other attempt exists.)",
      system = CANDIDATE_SYSTEM,
    }
  end)

  -- 2. The tournament. Entrants are candidate indices; a round's matches (and, with
  --    debias, both orders of each match) are judged in a single batch.
  local entrants = indices
  local bracket = parse.array() -- stays a JSON list even with n = 1 (no rounds)
  for round = 1, rounds do
    local matches, passed = pair_up(entrants)
    alc.progress(1 + round, total, "round " .. round .. " of " .. rounds .. ": "
      .. #matches .. " match" .. (#matches == 1 and "" or "es"))

    local items = {}
    local function ask(first, second)
      items[#items + 1] = {
        prompt = judge_prompt(task, criteria, candidates[first], candidates[second]),
        system = JUDGE_SYSTEM,
        max_tokens = 400,
      }
    end
    for _, match in ipairs(matches) do
      ask(match.a, match.b)
      if debias then ask(match.b, match.a) end
    end
    local replies = alc.llm_batch(items)

    local winners = {}
    for _, p in ipairs(passed) do winners[#winners + 1] = p end
    local per_match = debias and 2 or 1
    for m, match in ipairs(matches) do
      -- Votes for each side; in the swapped reply "A" names match.b.
      local votes = { [match.a] = 0, [match.b] = 0 }
      local verdicts = {}
      for j = 1, per_match do
        local reply = replies[(m - 1) * per_match + j]
        local choice = parse_choice(reply)
        local swapped = j == 2
        local pick = nil
        if choice == "A" then pick = swapped and match.b or match.a end
        if choice == "B" then pick = swapped and match.a or match.b end
        if pick then votes[pick] = votes[pick] + 1 end
        verdicts[j] = pick or "unparsed"
      end
      -- A tie (both orders disagree, or no readable verdict) keeps the first entrant:
      -- a knockout needs a winner, and the bracket records that it was a fallback.
      local winner = match.a
      if votes[match.b] > votes[match.a] then winner = match.b end
      match.winner = winner
      match.verdicts = verdicts
      match.decided = votes[match.a] ~= votes[match.b]
      winners[#winners + 1] = winner
    end
    -- Winners stay in bracket order (byes first, then match winners), so the next
    -- round's pairings follow the bracket, not the order the judge happened to answer.
    bracket[round] = { round = round, matches = matches, byes = (#passed > 0) and passed or nil }
    entrants = winners
  end

  local winner = entrants[1]
  alc.progress(total, total, "winner: candidate " .. winner)
  ctx.result = {
    answer = candidates[winner],
    winner = winner,
    candidates = candidates,
    bracket = bracket,
  }
  return ctx
end

return M
