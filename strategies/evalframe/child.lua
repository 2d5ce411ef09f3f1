-- evalframe.child: one case of an eval, run as an alc.fork child.
--
-- ctx = {strategy = <package>, ctx = <the strategy's ctx>}. Runs the strategy and counts
-- what it asked (alc.llm and alc.llm_batch are wrapped; the prelude looks them up at
-- call time, so alc.cache, alc.map and friends are counted too). A failing strategy is
-- a failed case, not a failed eval: the error comes back as data.

local M = {}

function M.run(ctx)
  local calls, prompt_chars, response_chars = 0, 0, 0
  local llm, llm_batch = alc.llm, alc.llm_batch
  local function count_prompt(prompt, opts)
    calls = calls + 1
    prompt_chars = prompt_chars + #tostring(prompt)
    if type(opts) == "table" and type(opts.system) == "string" then
      prompt_chars = prompt_chars + #opts.system
    end
  end
  alc.llm = function(prompt, opts)
    count_prompt(prompt, opts)
    local reply = llm(prompt, opts)
    response_chars = response_chars + #tostring(reply)
    return reply
  end
  alc.llm_batch = function(items)
    if type(items) == "table" then
      for _, item in ipairs(items) do
        if type(item) == "table" then count_prompt(item.prompt or "", item) end
      end
    end
    local replies = llm_batch(items)
    if type(replies) == "table" then
      for _, reply in ipairs(replies) do response_chars = response_chars + #tostring(reply) end
    end
    return replies
  end
  local ok, result = pcall(function()
    local strategy = require(ctx.strategy)
    if type(strategy) ~= "table" or type(strategy.run) ~= "function" then
      error("package '" .. tostring(ctx.strategy) .. "' has no run(ctx) function", 0)
    end
    return strategy.run(ctx.ctx)
  end)
  local out = {
    ok = ok,
    llm_calls = calls,
    prompt_chars = prompt_chars,
    response_chars = response_chars,
  }
  if ok then out.result = result else out.error = tostring(result) end
  return out
end

return M
