-- A package searcher backed by the server's resolver (engine/packages.py): the server
-- reads the file, Lua only compiles the text. Receives the wrapped finder, which takes
-- the module name and the script's package.path (templates the server honours only
-- under the roots it allows) and returns (source, chunkname) or (nil, "\n\tno file
-- '...'" lines naming every place it looked).
local find = ...
local load, error, type = load, error, type
local package = package

package.searchers[#package.searchers + 1] = function(name)
  local path = package.path
  local source, where, refused = find(name, type(path) == "string" and path or "")
  if refused then error("require: " .. where, 0) end
  if source == nil then return where end
  local chunk, err = load(source, where, "t")
  if not chunk then
    error("error loading module '" .. name .. "' from file '" .. where:sub(2) .. "':\n\t" .. err, 0)
  end
  return chunk, where:sub(2)
end
