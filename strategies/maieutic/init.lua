--- maieutic: answer a true/false question from a tree of explanations checked for consistency.
--
-- Paper: Jung et al., "Maieutic Prompting: Logically Consistent Reasoning with Recursive
-- Explanations" (EMNLP 2022). A model's explanations are often wrong or contradict each
-- other, so instead of trusting one, the method
--   1. generates abductive explanations both ways: "Q is True, because E_T" and "Q is
--      False, because E_F";
--   2. checks each explanation's *logical integrity*: the model is asked whether E holds
--      and whether not-E holds. If it affirms one and denies the other, its belief in E is
--      consistent and can be used; if it affirms (or denies) both, the belief is unreliable;
--   3. recursively explains the unreliable ones (E is True because..., E is False
--      because...), building a maieutic tree down to a maximum depth;
--   4. chooses the answer for Q most consistent with the reliable beliefs. The paper solves
--      a weighted MAX-SAT problem over the tree; we use a simpler weighted vote that keeps
--      its spirit: an explanation the model consistently believes counts for the side it
--      argues, one it consistently rejects counts for nothing, and an unreliable one is
--      settled by the votes of its own children (at half weight, being less direct).
--
-- Round trips: 1 (all root explanations, plus the model's direct answer as a tie-breaker)
-- then, per level of the tree, 1 probe pause (belief in E and in not-E for every node of
-- the level) and — below the last level — 1 pause generating children for the unreliable
-- nodes. depth=1: 2 round trips; each further level adds 2 when some node needs expanding.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "maieutic",
  version = "1.0.0",
  description = "Maieutic prompting: explanations for True and False, probed recursively for consistency, "
    .. "pick the better-supported answer",
  category = "reasoning",
  paper = {
    title = "Maieutic Prompting: Logically Consistent Reasoning with Recursive Explanations",
    authors = "Jaehun Jung, Lianhui Qin, Sean Welleck, Faeze Brahman, Chandra Bhagavatula, Ronan Le Bras, "
      .. "Yejin Choi",
    year = 2022,
    url = "https://arxiv.org/abs/2205.11822",
  },
  inputs = {
    task = { type = "string", required = true, description = "A true/false question or statement." },
    depth = {
      type = "integer",
      default = 1,
      description = "Levels of the explanation tree that are probed (1-4); unreliable explanations of a level "
        .. "are explained further at the next one.",
    },
    breadth = {
      type = "integer",
      default = 1,
      description = "Root explanations generated for each side, True and False (1-5).",
    },
  },
}

local SIDES = { "True", "False" }

local EXPLAIN_SYSTEM = "You write short abductive explanations: given a claim and a verdict, you state the "
  .. "single most plausible reason for that verdict, as a plain statement of fact."

local JUDGE_SYSTEM = "You judge whether statements are true. Reply with one word: True or False."

local trim = parse.trim

local function explain_query(claim, side, k, of)
  local variant = ""
  if of > 1 then
    -- Parallel queries cannot see each other, so ask each one for its own angle.
    variant = string.format(" This is explanation %d of %d for this verdict; each one should take a "
      .. "different angle.", k, of)
  end
  return {
    prompt = "Claim or question:\n" .. claim .. "\n\n"
      .. "Suppose the answer is " .. side .. ". Explain why it is " .. side .. " in one or two sentences, "
      .. "written as a standalone statement of fact (do not repeat the question, do not hedge)." .. variant,
    system = EXPLAIN_SYSTEM,
    max_tokens = 200,
  }
end

local function judge_query(statement)
  return {
    prompt = "Is the following statement true or false?\n\nStatement: " .. statement .. "\n\n"
      .. "Reply with one word: True or False.",
    system = JUDGE_SYSTEM,
    max_tokens = 20,
  }
end

-- The model's negation probe: "not E" phrased without asking it to rewrite E.
local function negation(statement)
  return "It is not the case that: " .. statement
end

--- Read a True/False judgement; nil when the reply commits to neither.
function M.parse_judgement(reply)
  local lower = tostring(reply or ""):lower()
  local first = lower:match("^[%s%p]*(%a+)")
  if first == "true" or first == "yes" or first == "correct" then return true end
  if first == "false" or first == "no" or first == "incorrect" then return false end
  local t = lower:find("%f[%a]true%f[%A]")
  local f = lower:find("%f[%a]false%f[%A]")
  if t and not f then return true end
  if f and not t then return false end
  -- Both or neither word: the last yes/no-like word, if any (alc.match_bool's rule).
  return alc.match_bool(lower)
end

-- Strip a label the model may put before its explanation.
local function explanation_text(reply)
  local s = trim(reply)
  s = s:gsub("^%**[Ee]xplanation%**%s*:%**%s*", "")
  -- "True, because ..." (the shape of the paper's own prompts).
  s = s:gsub("^[Tt]rue,%s+because%s+", ""):gsub("^[Ff]alse,%s+because%s+", "")
  return trim(s)
end

local function new_node(text, side, level)
  return { text = text, supports = side, level = level, children = {} }
end

-- Generate True and False explanations for every request (one pause). A request is
-- {text=, breadth=, parent=}: the claim to explain, how many explanations per side, and
-- the node the new explanations hang under. Returns the new nodes, in order.
local function expand(requests, level)
  local queries, slots = {}, {}
  for _, req in ipairs(requests) do
    for _, side in ipairs(SIDES) do
      for k = 1, req.breadth do
        queries[#queries + 1] = explain_query(req.text, side, k, req.breadth)
        slots[#slots + 1] = { parent = req.parent, side = side }
      end
    end
  end
  local replies = alc.llm_batch(queries)
  local nodes = {}
  for i, slot in ipairs(slots) do
    local node = new_node(explanation_text(replies[i]), slot.side, level)
    if slot.parent then slot.parent.children[#slot.parent.children + 1] = node end
    nodes[#nodes + 1] = node
  end
  return nodes
end

-- Probe belief in E and in not-E for every node (one pause) and mark integrity.
local function probe(nodes)
  local queries = {}
  for _, node in ipairs(nodes) do
    queries[#queries + 1] = judge_query(node.text)
    queries[#queries + 1] = judge_query(negation(node.text))
  end
  local replies = alc.llm_batch(queries)
  for i, node in ipairs(nodes) do
    node.belief = M.parse_judgement(replies[2 * i - 1])
    node.negated_belief = M.parse_judgement(replies[2 * i])
    -- Integral: the model affirms exactly one of E and not-E.
    node.integral = node.belief ~= nil and node.negated_belief ~= nil and node.belief ~= node.negated_belief
  end
end

-- Votes for True and False among `nodes` (siblings explaining the same claim).
local function tally(nodes)
  local votes = { True = 0, False = 0 }
  for _, node in ipairs(nodes) do
    -- node.value: true = believed, false = rejected, nil = unreliable and unresolved.
    if node.value == true then votes[node.supports] = votes[node.supports] + node.weight end
  end
  return votes
end

-- Settle each node's value bottom-up: integral nodes keep their belief; the others take
-- the verdict of their children, at half weight.
local function resolve(node)
  for _, child in ipairs(node.children) do resolve(child) end
  if node.integral then
    node.value, node.weight = node.belief, 1
    return
  end
  node.weight = 0.5
  if #node.children == 0 then return end  -- an unreliable leaf is discarded
  local votes = tally(node.children)
  node.child_votes = votes
  if votes.True > votes.False then node.value = true elseif votes.False > votes.True then node.value = false end
end

-- The tree as plain data for the result (no parent links).
local function export(node)
  local out = {
    explanation = node.text, supports = node.supports, level = node.level, belief = node.belief,
    negated_belief = node.negated_belief, integral = node.integral, value = node.value,
  }
  if #node.children > 0 then
    out.children = {}
    for i, child in ipairs(node.children) do out.children[i] = export(child) end
  end
  return out
end

function M.run(ctx)
  local opts = knobs.settings(M.meta, ctx)
  local depth = knobs.count(opts.depth, 1, 1, 4, "maieutic: depth")
  local breadth = knobs.count(opts.breadth, 1, 1, 5, "maieutic: breadth")
  local task = trim(knobs.task(ctx, "maieutic: ctx.task is required (a true/false question)"))
  local total = 2 * depth  -- the most pauses this run can take
  local step = 0
  local function stage(message)
    step = step + 1
    alc.progress(math.min(step, total), total, "maieutic: " .. message)
  end

  -- 1. Abductive explanations both ways, and the direct answer (the tie-breaker), in one pause.
  stage("explaining True and False")
  local queries = {}
  for _, side in ipairs(SIDES) do
    for k = 1, breadth do queries[#queries + 1] = explain_query(task, side, k, breadth) end
  end
  queries[#queries + 1] = judge_query(task)
  local replies = alc.llm_batch(queries)
  local roots = {}
  for i = 1, 2 * breadth do
    roots[i] = new_node(explanation_text(replies[i]), i <= breadth and "True" or "False", 1)
  end
  local direct = M.parse_judgement(replies[#replies])

  -- 2. Probe each level; explain the unreliable nodes one level deeper.
  local level_nodes = roots
  for level = 1, depth do
    stage(string.format("probing level %d", level))
    probe(level_nodes)
    if level == depth then break end
    local requests = {}
    for _, node in ipairs(level_nodes) do
      if not node.integral then requests[#requests + 1] = { text = node.text, breadth = 1, parent = node } end
    end
    if #requests == 0 then break end  -- every belief is consistent: nothing left to explain
    stage(string.format("explaining level %d", level + 1))
    level_nodes = expand(requests, level + 1)
  end

  -- 3. Infer the answer most consistent with the reliable beliefs.
  for _, node in ipairs(roots) do resolve(node) end
  local support = tally(roots)
  local answer, decided_by
  if support.True > support.False then
    answer, decided_by = "True", "explanations"
  elseif support.False > support.True then
    answer, decided_by = "False", "explanations"
  elseif direct ~= nil then
    answer, decided_by = direct and "True" or "False", "direct answer (explanations tied)"
  else
    answer, decided_by = "Undetermined", "nothing consistent to go on"
  end

  local tree = {}
  for i, node in ipairs(roots) do tree[i] = export(node) end
  ctx.result = {
    answer = answer,
    decided_by = decided_by,
    support = support,
    direct_answer = direct == nil and "none" or (direct and "True" or "False"),
    explanations = tree,
    depth = depth,
    breadth = breadth,
  }
  return ctx
end

return M
