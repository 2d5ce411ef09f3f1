-- sot: Skeleton-of-Thought. Outline first, then write every point at the same time.
--
-- Following Ning et al. (2024), "Skeleton-of-Thought: Prompting LLMs for Efficient
-- Parallel Generation": an answer is usually a list of fairly independent points, so the
-- model first writes only a short skeleton (a few words per point) and then each point
-- is expanded by its own request, all of them in parallel. The latency is that of the
-- skeleton plus the longest point instead of the whole answer written in one go.
--
-- As in the paper, the expansions are assembled by concatenation, with no extra call:
-- a final rewrite would put the whole answer back on one sequential request, which is
-- what the technique avoids. `polish = true` adds that call anyway, for hosts that
-- prefer flowing prose to a list.
--
-- Round trips: 1 (skeleton) + 1 (all points expanded at once) [+ 1 with polish].

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "sot",
  version = "1.0.0",
  description = "Skeleton-of-Thought: one call writes a short skeleton of points, then every point "
    .. "is expanded in a single parallel batch, and the expansions are assembled in order.",
  category = "generation",
  paper = {
    title = "Skeleton-of-Thought: Prompting LLMs for Efficient Parallel Generation",
    authors = "Xuefei Ning, Zinan Lin, Zixuan Zhou, Zifu Wang, Huazhong Yang, Yu Wang",
    year = 2024,
    url = "https://arxiv.org/abs/2307.15337",
  },
  inputs = {
    task = { type = "string", required = true, description = "The question or writing task." },
    max_points = {
      type = "integer",
      default = 5,
      description = "Most skeleton points to expand (1-20); extra points in the skeleton are dropped.",
    },
    polish = {
      type = "boolean",
      default = false,
      description = "Add one final call that rewrites the assembled points into a single flowing answer.",
    },
  },
}

local MAX_POINTS = 20

local SKELETON_SYSTEM = "You plan answers. Reply with a skeleton only: a numbered list of short points "
  .. "(3 to 6 words each), no elaboration."
local EXPAND_SYSTEM = "You write one part of a larger answer. Write only the point you are given, "
  .. "briefly and concretely, without restating the other points."
local POLISH_SYSTEM = "You edit text. Turn the given points into one coherent answer without adding "
  .. "or dropping content."

local trim = parse.trim

-- ---------------------------------------------------------------------------
-- run
-- ---------------------------------------------------------------------------

function M.run(ctx)
  local task = knobs.task(ctx, "sot: ctx.task must be a non-empty string")
  local cfg = knobs.settings(M.meta, ctx)
  local inputs = M.meta.inputs
  local max_points = knobs.count(cfg.max_points, inputs.max_points.default, 1, MAX_POINTS, "sot: max_points")
  local polish = knobs.flag(cfg.polish, inputs.polish.default)
  local total = polish and 4 or 3 -- skeleton, expansion, [polish,] done

  -- 1. The skeleton.
  alc.progress(1, total, "writing the skeleton")
  local skeleton_reply = alc.llm(
    "Task:\n" .. task .. "\n\n"
      .. "Do not answer yet. Write only the skeleton of the answer: a numbered list of at most "
      .. max_points .. " points, each 3 to 6 words, one per line.",
    { system = SKELETON_SYSTEM, max_tokens = 300 }
  )
  -- The skeleton is a numbered list; parse.list also takes bullets, "Point 1:" and
  -- emphasis, and drops whatever else the reply says around the list.
  local points = parse.list(skeleton_reply, max_points)
  -- A reply with no list in it still gets an answer: a one-point skeleton, i.e. the task
  -- answered directly, keeping the same round-trip shape.
  local skeleton_parsed = #points > 0
  if not skeleton_parsed then points = { "Answer the task directly" } end

  local outline = {}
  for i, p in ipairs(points) do outline[i] = i .. ". " .. p end
  outline = table.concat(outline, "\n")

  -- 2. Every point expanded in one pause; each request sees the whole skeleton so its
  --    point stays within its own scope.
  alc.progress(2, total, "expanding " .. #points .. " point" .. (#points == 1 and "" or "s"))
  local expansions = alc.parallel(points, function(point, i)
    return {
      prompt = "Task:\n" .. task .. "\n\nSkeleton of the answer:\n" .. outline .. "\n\n"
        .. "Write out point " .. i .. " only (\"" .. point .. "\") in one to three sentences. "
        .. "Do not write the other points.",
      system = EXPAND_SYSTEM,
    }
  end)

  -- 3. Assembly, in skeleton order. A blank expansion leaves the point's heading alone.
  local sections = {}
  for i, point in ipairs(points) do
    local body = trim(expansions[i])
    if skeleton_parsed then
      sections[i] = i .. ". " .. point .. (body ~= "" and (": " .. body) or "")
    else
      sections[i] = body
    end
  end
  local answer = table.concat(sections, "\n")
  -- Nothing usable came back at all: the skeleton reply is the only text there is.
  if not answer:match("%S") then answer = trim(skeleton_reply) end
  local assembled = answer

  if polish then
    alc.progress(3, total, "polishing the assembled answer")
    local polished = trim(alc.llm(
      "Task:\n" .. task .. "\n\nDraft answer, point by point:\n" .. assembled .. "\n\n"
        .. "Rewrite the draft as one coherent answer to the task.",
      { system = POLISH_SYSTEM }
    ))
    -- An empty rewrite would lose everything the points said; keep the assembly then.
    if polished ~= "" then answer = polished end
  end

  alc.progress(total, total, "assembled " .. #points .. " point" .. (#points == 1 and "" or "s"))
  ctx.result = {
    answer = answer,
    skeleton = points,
    skeleton_parsed = skeleton_parsed,
    expansions = expansions,
    assembled = assembled,
  }
  return ctx
end

return M
