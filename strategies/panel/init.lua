--- panel: several perspectives answer, then a moderator synthesises.
--
-- Paper: Wang et al., "Unleashing the Emergent Cognitive Synergy in Large Language
-- Models: A Task-Solving Agent through Multi-Persona Self-Collaboration" (NAACL 2024),
-- which introduces Solo Performance Prompting (SPP). One model simulates several
-- personas with different expertise; each contributes what its viewpoint notices, and a
-- leading persona combines the contributions into one answer. The paper finds that
-- fine-grained, task-relevant personas reduce factual errors and improve reasoning,
-- because each persona elicits knowledge a single generic voice leaves out.
--
-- What this package does (two round trips):
--   1. every role in `roles` answers the task from its own perspective, all in ONE pause
--      (alc.llm_batch) — the perspectives are independent, so nothing is lost by asking
--      for them together, and none can anchor on another;
--   2. one moderator call reads all perspectives, weighs agreements and disagreements, and
--      writes the final answer, ending with a `Final answer:` line.
-- If the moderator ignores that format, its whole synthesis stands as the answer.

local cot = require("cot")
local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

-- Three complementary viewpoints that fit most tasks: knowledge, doubt, practice.
local DEFAULT_ROLES = {
  {
    name = "Domain expert",
    focus = "You know the subject in depth. Get the facts, principles and technical details right.",
  },
  {
    name = "Skeptical critic",
    focus = "You look for flaws: hidden assumptions, edge cases, counter-examples and ways the obvious "
      .. "answer could be wrong.",
  },
  {
    name = "Pragmatic practitioner",
    focus = "You care about what works in practice: feasibility, cost, trade-offs and concrete next steps.",
  },
}

M.meta = {
  name = "panel",
  version = "1.0.0",
  description = "Panel of personas (one round trip), then a moderator synthesises their views into one answer",
  category = "synthesis",
  paper = {
    title = "Unleashing the Emergent Cognitive Synergy in Large Language Models: A Task-Solving Agent "
      .. "through Multi-Persona Self-Collaboration",
    authors = "Zhenhailong Wang, Shaoguang Mao, Wenshan Wu, Tao Ge, Furu Wei, Heng Ji",
    year = 2024,
    url = "https://arxiv.org/abs/2307.05300",
  },
  inputs = {
    task = { type = "string", required = true, description = "The question or decision to discuss." },
    roles = {
      type = "array",
      default = { "Domain expert", "Skeptical critic", "Pragmatic practitioner" },
      description = "The panel: role names (\"Security engineer\") or {name=, focus=} tables; 1-12 roles. "
        .. "The defaults come with a built-in focus for each.",
    },
  },
}

local MAX_ROLES = 12

local trim = parse.trim

-- Normalise the roles knob into {name=, focus=} tables. Accepts an array of names or
-- tables, or one comma-separated string; anything unusable falls back to the defaults.
local function read_roles(value)
  local list = {}
  if type(value) == "string" then
    for name in value:gmatch("[^,;\n]+") do list[#list + 1] = name end
  elseif type(value) == "table" then
    for _, item in ipairs(value) do list[#list + 1] = item end
  end
  local roles = {}
  for _, item in ipairs(list) do
    local role
    if type(item) == "string" or type(item) == "number" then
      role = { name = trim(item) }
    elseif type(item) == "table" then
      role = { name = trim(item.name or item.role or ""), focus = item.focus or item.description }
    end
    if role and role.name ~= "" and #roles < MAX_ROLES then
      -- A default name keeps its built-in focus.
      for _, known in ipairs(DEFAULT_ROLES) do
        if role.focus == nil and known.name:lower() == role.name:lower() then role.focus = known.focus end
      end
      roles[#roles + 1] = role
    end
  end
  if #roles == 0 then return DEFAULT_ROLES end
  return roles
end

local function role_query(task, role, names)
  local system = "You are the " .. role.name .. " on a panel of " .. #names .. " ("
    .. table.concat(names, ", ") .. ")."
  if role.focus and trim(role.focus) ~= "" then system = system .. " " .. trim(role.focus) end
  return {
    prompt = "Task:\n" .. task .. "\n\n"
      .. "Give your perspective as the " .. role.name .. ": what your viewpoint notices that others might "
      .. "miss, your reasoning, and your recommended answer. End with a line `Answer: <your answer>`.",
    system = system,
    max_tokens = 768,
  }
end

local function moderator_prompt(task, perspectives)
  local parts = {}
  for i, p in ipairs(perspectives) do
    parts[i] = string.format("### %s\n%s", p.role, p.response)
  end
  return "Task:\n" .. task .. "\n\nThe panel's perspectives:\n\n" .. table.concat(parts, "\n\n") .. "\n\n"
    .. "As moderator: note where the panel agrees, resolve where it disagrees (say whose argument is "
    .. "stronger and why), and combine the best points into one answer to the task. "
    .. "End with a line `Final answer: <answer>`."
end

function M.run(ctx)
  local opts = knobs.settings(M.meta, ctx)
  local roles = read_roles(opts.roles)
  local task = trim(knobs.task(ctx, "panel: ctx.task is required (the question to discuss)"))
  local names = {}
  for i, role in ipairs(roles) do names[i] = role.name end

  -- 1. All perspectives in one pause.
  alc.progress(1, 2, string.format("panel: %d perspectives", #roles))
  local replies = alc.parallel(roles, function(role) return role_query(task, role, names) end)
  local perspectives = {}
  for i, role in ipairs(roles) do
    local response = trim(replies[i])
    local answer = cot.extract_answer(response)
    perspectives[i] = { role = role.name, answer = answer, response = response }
  end

  -- 2. The moderator synthesises.
  alc.progress(2, 2, "panel: moderator synthesis")
  local synthesis = trim(alc.llm(moderator_prompt(task, perspectives), {
    system = "You are the moderator of an expert panel. You weigh the panelists' arguments on their merits "
      .. "and write one clear, well-supported answer.",
    max_tokens = 1024,
  }))
  local answer, found = cot.extract_answer(synthesis)

  ctx.result = {
    answer = answer,
    synthesis = synthesis,
    format_followed = found,  -- false: no Final answer: line, the whole synthesis is the answer
    roles = names,
    perspectives = perspectives,
  }
  return ctx
end

return M
