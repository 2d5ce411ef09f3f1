--- alc_kit.parse: reading model replies tolerantly.
--
-- Shared by the bundled strategies, required as `require("alc_kit.parse")` (a library, not
-- a strategy: see alc_kit/knobs.lua). Hosts do not always follow the requested format, so
-- every reader here takes what it can find and returns an empty result, never an error,
-- when there is nothing; each strategy decides what to fall back to.

local P = {}

--- `s` as a string, without leading and trailing whitespace. Non-strings (a nil reply, a
-- number) are converted with tostring rather than raising.
function P.trim(s)
  return (tostring(s):gsub("^%s+", ""):gsub("%s+$", ""))
end

--- The lines of `text`, as an array; "\r\n" endings count as "\n", and a trailing empty
-- line is kept, so the array always has at least one element.
function P.lines(text)
  local out = {}
  for line in (tostring(text) .. "\n"):gmatch("(.-)\r?\n") do out[#out + 1] = line end
  return out
end

--- A new empty list that JSON-encodes as [] (a plain empty Lua table encodes as {}), for
-- result fields a caller expects to be an array even when nothing was found.
function P.array()
  return alc.json_decode("[]")
end

--- The first of t[keys[1]], t[keys[2]], ... that is a non-blank string, trimmed; or nil.
-- Models name the same field in different ways ("summary", "Summary", "denser_summary").
function P.field(t, keys)
  for _, key in ipairs(keys) do
    local v = t[key]
    if type(v) == "string" and v:find("%S") then return P.trim(v) end
  end
  return nil
end

--- The strings of a JSON list found anywhere in `text` (alc.json_extract), trimmed, blanks
-- dropped. The list may be the JSON value itself or sit in an object under the first of
-- `keys` that holds one ({"questions": [...]}); an item may be a string or an object whose
-- text is under one of `item_keys` ({"question": "..."}). No JSON list: an empty table.
function P.json_list(text, keys, item_keys)
  local t = alc.json_extract(text)
  if type(t) ~= "table" then return {} end
  if t[1] == nil then
    local found = {}
    for _, key in ipairs(keys or {}) do
      if type(t[key]) == "table" then
        found = t[key]
        break
      end
    end
    t = found
  end
  local out = {}
  for _, item in ipairs(t) do
    local s
    if type(item) == "string" then
      s = P.trim(item)
    elseif type(item) == "table" then
      s = P.field(item, item_keys or {})
    end
    if s ~= nil and s ~= "" then out[#out + 1] = s end
  end
  return out
end

--- The strict list marker test, for replies where list lines may sit among prose:
-- returns the line's text after a "- ", "* ", "1. ", "2) " or "(3) " marker (trimmed; nil
-- when the line has no marker) and the whole line, trimmed. Only these unambiguous markers
-- count, so a line of content such as "1867: born in Warsaw" is not mistaken for an item.
function P.unmark(line)
  local s = P.trim(line)
  local rest = s:match("^[%-%*]%s+(.*)$") or s:match("^%(?%d+[%.%)]%s+(.*)$")
  return rest and P.trim(rest) or nil, s
end

--- The item text of a line of a numbered or bulleted list, or nil for any other line.
-- The tolerant test, for replies that were asked to be nothing but a list (an outline, a
-- plan): "1. x", "2) x", "3: x", "**4.** x", "Point 5: x", "Step 6 - x", "- x", "* x",
-- "+ x" and "• x", also behind a markdown heading mark. Emphasis around the whole item
-- ("1. **x**") is formatting, not content, and is removed.
function P.list_item(line)
  local s = P.trim(line):gsub("^#+%s*", "")
  local body = s:match("^%**%s*[Pp]oint%s*%d+%s*[%.:%)%-]+%**%s*(.+)$")
    or s:match("^%**%s*[Ss]tep%s*%d+%s*[%.:%)%-]+%**%s*(.+)$")
    or s:match("^%**%(?%d+[%.:%)]%**%s+(.+)$")
    or s:match("^[%-%*%+]%s+(.+)$")
    or s:match("^\226\128\162%s*(.+)$") -- U+2022 bullet
  if body == nil then return nil end
  body = P.trim((body:gsub("^%*%*(.-)%*%*", "%1")))
  if body == "" then return nil end
  return body
end

--- The items of the list in `text` (see list_item), in order, at most `max` of them
-- (nil: all). Lines that are not list items are skipped.
function P.list(text, max)
  local items = {}
  for _, line in ipairs(P.lines(text)) do
    local item = P.list_item(line)
    if item and (max == nil or #items < max) then items[#items + 1] = item end
  end
  return items
end

return P
