-- distill: pull what a task asks for out of a text too long to read in one go.
--
-- Follows the recursive task decomposition of Wu et al. (2021), "Recursively Summarizing
-- Books with Human Feedback": cut the text into pieces a model reads well, do the task on
-- each piece on its own (the leaf tasks), then compose the pieces' outputs with further
-- calls, level by level, until a single output remains. Two changes for our setting:
--
-- * the leaf task is "extract what the task asks for" rather than "summarise";
-- * the paper shows each leaf the summaries of the pieces before it, which makes the leaves
--   sequential. We drop that context so every leaf is independent and all of them go to the
--   host in one pause; the overlap between consecutive chunks covers what a cut hides.
--
-- Round trips: 1 (all chunks) + 1 per intermediate merge level (all groups of that level in
-- one pause) + 1 final merge. A text that fits in one chunk takes a single round trip.

local knobs = require("alc_kit.knobs")
local parse = require("alc_kit.parse")

local M = {}

M.meta = {
  name = "distill",
  version = "1.0.0",
  description = "Chunk a long text, extract what the task asks for from every chunk in one parallel "
    .. "pause, then merge the partial extractions (in levels when there are many).",
  category = "extraction",
  paper = {
    title = "Recursively Summarizing Books with Human Feedback",
    authors = "Jeff Wu, Long Ouyang, Daniel M. Ziegler, Nisan Stiennon, Ryan Lowe, Jan Leike, "
      .. "Paul Christiano",
    year = 2021,
    url = "https://arxiv.org/abs/2109.10862",
  },
  inputs = {
    task = {
      type = "string",
      required = true,
      description = "What to extract (e.g. \"every deadline and who owns it\"). Without `text`, the task "
        .. "is itself the text, and its key facts and points are extracted.",
    },
    text = { type = "string", description = "The long text to read. Defaults to the task." },
    chunk_mode = {
      type = "string",
      default = "lines",
      description = "How to cut the text: \"lines\" or \"chars\".",
    },
    chunk_size = { type = "integer", default = 40, description = "Lines (or characters) per chunk." },
    overlap = {
      type = "integer",
      default = 2,
      description = "Lines (or characters) shared by consecutive chunks, so nothing cut in two goes unseen.",
    },
    merge_fanout = {
      type = "integer",
      default = 8,
      description = "Most partial results one merge call combines; with more, merge in levels.",
    },
  },
}

local EXTRACT_SYSTEM = "You read one part of a longer document and extract what a task asks for. "
  .. "Report only what this part says; do not guess about the parts you cannot see."
local MERGE_SYSTEM = "You combine notes taken from consecutive parts of one long document."

-- What to do when the task is the text itself: repeating the whole task in every chunk's
-- prompt would defeat the chunking, so the chunks get this instruction instead.
local DEFAULT_INSTRUCTION = "Summarise the text: its key facts and points, with the names, numbers "
  .. "and dates that matter."

local trim = parse.trim

local function settings(ctx)
  local k, inputs = knobs.settings(M.meta, ctx), M.meta.inputs
  local size = knobs.whole(k.chunk_size, inputs.chunk_size.default, 1, "distill: chunk_size")
  local overlap = knobs.whole(k.overlap, inputs.overlap.default, 0, "distill: overlap")
  -- An overlap as large as the chunk would make alc.chunk advance one unit at a time.
  if overlap >= size then overlap = size - 1 end
  return {
    mode = (k.chunk_mode == "chars") and "chars" or "lines",
    size = size,
    overlap = overlap,
    -- A fanout below 2 could never shrink the number of notes.
    fanout = knobs.whole(k.merge_fanout, inputs.merge_fanout.default, 2, "distill: merge_fanout"),
  }
end

-- "NONE" (and its usual variants) means the part had nothing for the task.
local NOTHING = { [""] = true, none = true, na = true, nothing = true, nonefound = true,
  nothingrelevant = true, norelevantinformation = true }

local function is_nothing(reply)
  return NOTHING[reply:lower():gsub("[%p%s]", "")] == true
end

-- How many intermediate levels it takes to bring n notes down to at most fanout.
local function levels_for(n, fanout)
  local levels = 0
  while n > fanout do
    n = (n + fanout - 1) // fanout
    levels = levels + 1
  end
  return levels
end

-- Split notes into the fewest groups of at most fanout, with balanced sizes (9 notes with
-- fanout 8 make groups of 5 and 4, not 8 and a lonely 1).
local function balanced_groups(notes, fanout)
  local count = (#notes + fanout - 1) // fanout
  local base, extra = #notes // count, #notes % count
  local groups, at = {}, 1
  for g = 1, count do
    local size = base + ((g <= extra) and 1 or 0)
    local group = {}
    for i = at, at + size - 1 do group[#group + 1] = notes[i] end
    groups[g] = group
    at = at + size
  end
  return groups
end

local function label(note)
  if note.first == note.last then return "part " .. note.first end
  return "parts " .. note.first .. "-" .. note.last
end

local function notes_block(group, parts)
  local out = {}
  for i, note in ipairs(group) do
    out[i] = "[Notes from " .. label(note) .. " of " .. parts .. "]\n" .. note.text
  end
  return table.concat(out, "\n\n")
end

-- An intermediate merge keeps detail (a later call still has to answer from it); the final
-- merge writes the answer itself.
local function merge_prompt(task, group, parts, final)
  local ask
  if final then
    ask = "Using these notes, write the final answer to the task. Consecutive parts overlap, so remove "
      .. "duplicates; keep the document's order and every relevant detail; do not add anything the "
      .. "notes do not contain."
  else
    ask = "Combine these notes into one set of notes for the task. Consecutive parts overlap, so remove "
      .. "duplicates, but keep every relevant detail and the document's order: a later step answers "
      .. "the task from your notes."
  end
  return "Task: " .. task .. "\n\n" .. notes_block(group, parts) .. "\n\n" .. ask
end

local function concat_notes(group)
  local texts = {}
  for i, note in ipairs(group) do texts[i] = note.text end
  return table.concat(texts, "\n\n")
end

function M.run(ctx)
  local task = knobs.task(ctx, "distill: ctx.task is required (what to extract)")
  local k = settings(ctx)
  local text = ctx.text
  if not knobs.text(text) then
    text, task = task, DEFAULT_INSTRUCTION
  end

  local chunks = alc.chunk(text, { mode = k.mode, size = k.size, overlap = k.overlap })
  if #chunks == 0 then chunks = { text } end
  local parts = #chunks
  local total = 1 + ((parts > 1) and (levels_for(parts, k.fanout) + 1) or 0)

  -- Leaf level: every chunk at once, one pause.
  alc.progress(1, total, "extracting from " .. parts .. " chunk(s)")
  local replies = alc.parallel(chunks, function(chunk, i)
    return {
      prompt = "Task: " .. task .. "\n\nBelow is part " .. i .. " of " .. parts .. " of a longer text.\n\n"
        .. "<part>\n" .. chunk .. "\n</part>\n\n"
        .. "Extract everything in this part that the task asks for, with the details needed to use it "
        .. "(names, numbers, dates, wording). If the part has nothing relevant, reply exactly NONE.",
      system = EXTRACT_SYSTEM,
      max_tokens = 800,
    }
  end)

  local partials, notes = {}, {}
  for i, reply in ipairs(replies) do
    local extracted = trim(reply)
    partials[i] = extracted
    if not is_nothing(extracted) then
      notes[#notes + 1] = { text = extracted, first = i, last = i }
    end
  end

  local result = {
    partials = partials,
    chunks = parts,
    relevant_chunks = #notes,
    merge_levels = 0,
    merge_calls = 0,
  }
  ctx.result = result

  -- One chunk: its extraction is the answer, as a single leaf is the whole summary in the paper.
  if parts == 1 then
    result.answer = partials[1]
    return ctx
  end
  if #notes == 0 then
    result.answer = "Nothing in the text matches the task."
    return ctx
  end

  -- Intermediate levels: while one call would get too many notes, merge balanced groups,
  -- all groups of a level in one pause. A group of one goes up unchanged.
  total = 1 + levels_for(#notes, k.fanout) + 1
  local step = 1
  while #notes > k.fanout do
    step = step + 1
    result.merge_levels = result.merge_levels + 1
    local groups = balanced_groups(notes, k.fanout)
    local to_merge = {}
    for g, group in ipairs(groups) do
      if #group > 1 then to_merge[#to_merge + 1] = g end
    end
    alc.progress(step, total, "merging " .. #notes .. " partial results in " .. #to_merge .. " group(s)")
    local merged = alc.parallel(to_merge, function(g)
      local prompt = merge_prompt(task, groups[g], parts, false)
      return { prompt = prompt, system = MERGE_SYSTEM, max_tokens = 1500 }
    end)
    result.merge_calls = result.merge_calls + #to_merge
    local by_group = {}
    for j, g in ipairs(to_merge) do by_group[g] = trim(merged[j]) end
    local next_notes = {}
    for g, group in ipairs(groups) do
      local merged_text = by_group[g]
      if merged_text == nil then
        merged_text = group[1].text
      elseif merged_text == "" then
        -- An empty merge loses nothing: carry the group's notes up as they are.
        merged_text = concat_notes(group)
      end
      next_notes[g] = { text = merged_text, first = group[1].first, last = group[#group].last }
    end
    notes = next_notes
  end

  alc.progress(total, total, "writing the final answer from " .. #notes .. " partial result(s)")
  local final_prompt = merge_prompt(task, notes, parts, true)
  local answer = trim(alc.llm(final_prompt, { system = MERGE_SYSTEM, max_tokens = 2000 }))
  result.merge_calls = result.merge_calls + 1
  if answer == "" then answer = concat_notes(notes) end
  result.answer = answer
  return ctx
end

return M
