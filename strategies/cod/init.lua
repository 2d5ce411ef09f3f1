-- cod: Chain of Density summarisation.
--
-- Follows Adams et al. (2023), "From Sparse to Dense: GPT-4 Summarization with Chain of
-- Density Prompting". The paper starts from a deliberately sparse summary (long-winded,
-- few entities) and repeatedly asks for 1-3 salient entities the summary is missing,
-- rewriting it at the *same length* to fit them in, so every step raises the entity
-- density (entities per word) instead of the length. The result keeps every step, because
-- the paper finds the best summary is often an intermediate one: the caller can pick.
--
-- The paper asks for all steps in one prompt; we ask one step per call so each rewrite sees
-- the summary it must densify and a bad step cannot derail the others. Each step depends on
-- the one before, so the calls are sequential: 1 + steps round trips.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "cod",
  version = "1.0.0",
  description = "Chain of Density: a sparse first summary, then rounds that each add 1-3 missing salient "
    .. "entities at the same length; returns the final summary and every step.",
  category = "extraction",
  paper = {
    title = "From Sparse to Dense: GPT-4 Summarization with Chain of Density Prompting",
    authors = "Griffin Adams, Alexander Fabbri, Faisal Ladhak, Eric Lehman, Noemie Elhadad",
    year = 2023,
    url = "https://arxiv.org/abs/2309.04269",
  },
  inputs = {
    task = {
      type = "string",
      required = true,
      description = "The text to summarise, or what the summary should focus on when `text` is given.",
    },
    text = { type = "string", description = "The text to summarise. Defaults to the task." },
    steps = { type = "integer", default = 4, description = "Densification rounds after the first summary." },
    words = { type = "integer", default = 80, description = "Target length of every summary, in words." },
  },
}

local SYSTEM = "You write summaries of a given article. Use only facts stated in the article."

local list, trim = parse.array, parse.trim

local function word_count(s)
  local n = 0
  for _ in s:gmatch("%S+") do n = n + 1 end
  return n
end

-- Entities as a list of strings, whether the model gave an array or a "a; b, c" string.
local function entity_list(t, keys)
  for _, key in ipairs(keys) do
    local v = t[key]
    local out = list()
    if type(v) == "table" then
      for _, e in ipairs(v) do
        if type(e) == "string" and e:find("%S") then out[#out + 1] = trim(e) end
      end
    elseif type(v) == "string" then
      for e in v:gmatch("[^;,\n]+") do
        if e:find("%S") then out[#out + 1] = trim(e) end
      end
    end
    if #out > 0 then return out end
  end
  return list()
end

local SUMMARY_KEYS = { "denser_summary", "Denser_Summary", "summary", "Summary" }
local ENTITY_KEYS = { "missing_entities", "Missing_Entities", "entities", "Entities" }

-- (summary, entities) from a reply. JSON when the model gave it (an object, or the paper's
-- list of steps, of which we take the last); otherwise the whole reply is the summary.
local function read_step(reply)
  local t = alc.json_extract(reply)
  if type(t) == "table" and type(t[#t]) == "table" then t = t[#t] end
  if type(t) == "table" then
    local summary = parse.field(t, SUMMARY_KEYS)
    if summary ~= nil then return summary, entity_list(t, ENTITY_KEYS) end
  end
  return trim(reply), list()
end

local function article_block(article, focus)
  local s = "Article:\n<<<\n" .. article .. "\n>>>\n"
  if focus ~= nil then s = s .. "\nFocus of the summary: " .. focus .. "\n" end
  return s
end

function M.run(ctx)
  local task = knobs.task(ctx, "cod: ctx.task is required (the text to summarise)")
  local cfg, inputs = knobs.settings(M.meta, ctx), M.meta.inputs
  local steps = knobs.whole(cfg.steps, inputs.steps.default, 0, "cod: steps")
  local target_words = knobs.whole(cfg.words, inputs.words.default, 1, "cod: words")
  local article, focus = task, nil
  if knobs.text(ctx.text) then article, focus = ctx.text, task end
  local header = article_block(article, focus)
  local total = steps + 1

  -- Step 0: the sparse start. Long-winded on purpose, so later steps have room to replace
  -- filler with entities without growing the summary.
  alc.progress(1, total, "initial sparse summary")
  local reply = alc.llm(header .. "\nWrite an initial summary of about " .. target_words .. " words. Keep it "
    .. "non-specific: mention only one to three of the most salient entities and fill the rest with "
    .. "general, verbose language (e.g. \"this article discusses\").\n"
    .. "Reply as JSON: {\"entities\": [\"...\"], \"summary\": \"...\"}",
    { system = SYSTEM, max_tokens = 600 })
  local summary, entities = read_step(reply)

  local seen, distinct = {}, 0
  local function count_new(list)
    for _, e in ipairs(list) do
      local key = e:lower()
      if not seen[key] then seen[key], distinct = true, distinct + 1 end
    end
  end
  local densities = {}
  local function record(step, added)
    count_new(added)
    local words = word_count(summary)
    densities[#densities + 1] = {
      step = step,
      summary = summary,
      entities = added,
      words = words,
      -- Entities named so far per word: the quantity the chain is meant to raise.
      density = (words > 0) and (math.floor(distinct / words * 1000 + 0.5) / 1000) or 0,
    }
  end
  record(0, entities)

  for step = 1, steps do
    alc.progress(step + 1, total, "densifying, step " .. step .. " of " .. steps)
    reply = alc.llm(header .. "\nCurrent summary (" .. word_count(summary) .. " words):\n<<<\n" .. summary
      .. "\n>>>\n\nMake the summary denser in two steps.\n"
      .. "1. Find one to three informative entities from the article that the summary is missing. "
      .. "A missing entity is relevant to the main story, specific yet concise (five words or fewer), "
      .. "novel (not in the summary), faithful (present in the article) and may come from anywhere in "
      .. "the article.\n"
      .. "2. Rewrite the summary at the same length, about " .. target_words .. " words, "
      .. "keeping every entity and detail it already has and adding the missing ones. Make room by "
      .. "fusing and compressing sentences and by removing uninformative phrases; never drop an "
      .. "entity already present, and add fewer entities rather than grow the summary.\n"
      .. "Reply as JSON: {\"missing_entities\": [\"...\"], \"denser_summary\": \"...\"}",
      { system = SYSTEM, max_tokens = 600 })
    local denser, added = read_step(reply)
    -- An empty rewrite must not erase the chain: keep the previous summary.
    if denser ~= "" then summary = denser end
    record(step, added)
  end

  ctx.result = { answer = summary, summary = summary, densities = densities, steps = steps }
  return ctx
end

return M
