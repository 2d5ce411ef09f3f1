-- decompose: plan subtasks, solve them side by side, merge the results.
--
-- Following Khot et al. (2023), "Decomposed Prompting: A Modular Approach for Solving
-- Complex Tasks": a planner prompt breaks the task into simpler sub-tasks, each handled
-- by its own focused prompt, and the partial results are combined into the answer. Zhou
-- et al. (2023), "Least-to-Most Prompting Enables Complex Reasoning in Large Language
-- Models", likewise split a problem into subproblems before solving it. Least-to-most
-- solves them one after another; here the planner is asked for subtasks that can be
-- solved independently, so that all of them go out in one pause, and the dependencies
-- between them are resolved in the merge step, which sees every partial result.
--
-- Round trips: 1 (plan) + 1 (every subtask at once) + 1 (merge) = 3.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "decompose",
  version = "1.0.0",
  description = "Decomposition: a planner splits the task into independent subtasks, all subtasks "
    .. "are solved in one parallel batch, and a final call merges the results into one answer.",
  category = "generation",
  paper = {
    title = "Decomposed Prompting: A Modular Approach for Solving Complex Tasks",
    authors = "Tushar Khot, Harsh Trivedi, Matthew Finlayson, Yao Fu, Kyle Richardson, Peter Clark, "
      .. "Ashish Sabharwal",
    year = 2023,
    url = "https://arxiv.org/abs/2210.02406",
  },
  related = {
    {
      title = "Least-to-Most Prompting Enables Complex Reasoning in Large Language Models",
      authors = "Zhou et al.",
      year = 2023,
      url = "https://arxiv.org/abs/2205.10625",
    },
  },
  inputs = {
    task = { type = "string", required = true, description = "The task to break down and solve." },
    max_subtasks = {
      type = "integer",
      default = 4,
      description = "Most subtasks to solve (1-16); extra subtasks in the plan are dropped.",
    },
  },
}

local MAX_SUBTASKS = 16

local PLAN_SYSTEM = "You plan work. Break tasks into subtasks that can each be solved on its own, "
  .. "without the others' results. Reply with JSON only."
local SOLVE_SYSTEM = "You solve one subtask of a larger task. Solve only the subtask you are given, "
  .. "thoroughly and concretely."
local MERGE_SYSTEM = "You integrate partial results into one complete, consistent answer to the "
  .. "original task, resolving any conflicts between them."

local trim = parse.trim

-- ---------------------------------------------------------------------------
-- plan parsing
-- ---------------------------------------------------------------------------

-- Where a JSON plan keeps its list ({"subtasks": [...]}) and each subtask's text
-- ({"subtask": "..."}), under the names planners commonly use.
local PLAN_KEYS = { "subtasks", "tasks", "steps", "plan" }
local SUBTASK_KEYS = { "subtask", "task", "description", "title", "name", "step" }

-- Up to `limit` subtasks: from the requested JSON plan, else from a numbered or bulleted
-- list, for planners that ignore the JSON request.
local function parse_plan(reply, limit)
  local found = parse.json_list(reply, PLAN_KEYS, SUBTASK_KEYS)
  if #found == 0 then found = parse.list(reply) end
  local out = {}
  for i = 1, math.min(#found, limit) do out[i] = found[i] end
  return out
end

-- ---------------------------------------------------------------------------
-- run
-- ---------------------------------------------------------------------------

function M.run(ctx)
  local task = knobs.task(ctx, "decompose: ctx.task must be a non-empty string")
  local cfg = knobs.settings(M.meta, ctx)
  local max_subtasks = knobs.count(
    cfg.max_subtasks, M.meta.inputs.max_subtasks.default, 1, MAX_SUBTASKS, "decompose: max_subtasks"
  )
  local total = 4 -- plan, solve, merge, done

  -- 1. The plan.
  alc.progress(1, total, "planning up to " .. max_subtasks .. " subtasks")
  local plan_reply = alc.llm(
    "Task:\n" .. task .. "\n\n"
      .. "Break this task into at most " .. max_subtasks .. " subtasks that can be solved "
      .. "independently of each other and together cover the whole task. Reply with a JSON "
      .. "object: {\"subtasks\": [\"first subtask\", \"second subtask\", ...]}",
    { system = PLAN_SYSTEM, max_tokens = 500 }
  )
  local subtasks = parse_plan(plan_reply, max_subtasks)
  -- No readable plan: the task itself is the single subtask, so the run keeps its shape
  -- (plan, solve, merge) and still produces an answer.
  local plan_parsed = #subtasks > 0
  if not plan_parsed then subtasks = { task } end

  local plan = {}
  for i, s in ipairs(subtasks) do plan[i] = i .. ". " .. s end
  plan = table.concat(plan, "\n")

  -- 2. Every subtask in one pause. Each solver sees the whole plan so it knows what
  --    the other subtasks cover and stays within its own.
  alc.progress(2, total, "solving " .. #subtasks .. " subtask" .. (#subtasks == 1 and "" or "s"))
  local solutions = alc.parallel(subtasks, function(subtask, i)
    return {
      prompt = "Overall task:\n" .. task .. "\n\nThe plan:\n" .. plan .. "\n\n"
        .. "Solve subtask " .. i .. " only:\n" .. subtask,
      system = SOLVE_SYSTEM,
    }
  end)

  -- 3. The merge.
  alc.progress(3, total, "merging " .. #subtasks .. " result" .. (#subtasks == 1 and "" or "s"))
  local results = {}
  for i, s in ipairs(subtasks) do
    results[i] = "### Subtask " .. i .. ": " .. s .. "\n" .. trim(solutions[i])
  end
  local joined = table.concat(results, "\n\n")
  local merged = trim(alc.llm(
    "Original task:\n" .. task .. "\n\nResults of its subtasks:\n\n" .. joined .. "\n\n"
      .. "Combine these results into one complete answer to the original task.",
    { system = MERGE_SYSTEM }
  ))
  -- An empty merge would throw the work away; the subtask results are the answer then.
  local answer = merged ~= "" and merged or joined

  alc.progress(total, total, "merged")
  ctx.result = {
    answer = answer,
    subtasks = subtasks,
    plan_parsed = plan_parsed,
    solutions = solutions,
  }
  return ctx
end

return M
