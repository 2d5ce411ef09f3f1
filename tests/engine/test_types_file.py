"""alc.d.lua, the LuaCATS types served to editors, stays in sync with the runtime: it
declares every function a session's ``alc`` table really has, and nothing else."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources

import pytest
from lupa import lua54

from tests.conftest import EngineHost, Host

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(engine_host: EngineHost) -> EngineHost:
    """Only what scripts can do is under test here: the tools without MCP."""
    return engine_host


#: The file the server serves as alc://types/alc.d.lua.
TYPES_SOURCE = resources.files("alc_mcp.engine").joinpath("lua/alc.d.lua").read_text(encoding="utf-8")

#: `function alc.state.get(key, default) end` -> ("state.get", "key, default").
DECLARATION = re.compile(r"^function alc\.([A-Za-z_][A-Za-z0-9_.]*)\(([^)]*)\)", re.MULTILINE)

#: Every function reachable from the global `alc` table, as dotted names under alc.
WALK_ALC = """
local names = {}
local function walk(t, prefix, seen)
  seen[t] = true
  for k, v in pairs(t) do
    if type(k) == "string" then
      if type(v) == "function" then
        names[#names + 1] = prefix .. k
      elseif type(v) == "table" and not seen[v] then
        walk(v, prefix .. k .. ".", seen)
      end
    end
  end
end
walk(alc, "", {})
return names
"""


def declared() -> list[str]:
    return [name for name, _params in DECLARATION.findall(TYPES_SOURCE)]


async def runtime_functions(host: Host) -> set[str]:
    reply = await host.run(WALK_ALC)
    assert reply["status"] == "completed", reply
    names = reply["result"]
    assert len(names) > 50, names  # the walk really saw the library
    return set(names)


async def test_every_runtime_function_is_declared(host: Host) -> None:
    missing = sorted((await runtime_functions(host)) - set(declared()))
    assert not missing, f"alc.d.lua lacks: {', '.join('alc.' + name for name in missing)}"


async def test_no_declared_function_is_missing_at_runtime(host: Host) -> None:
    extra = sorted(set(declared()) - (await runtime_functions(host)))
    listed = ", ".join("alc." + name for name in extra)
    assert not extra, f"alc.d.lua declares functions the runtime lacks: {listed}"


async def test_declared_once_each_with_a_description_and_params() -> None:
    names = declared()
    assert [name for name, count in Counter(names).items() if count > 1] == []
    lines = TYPES_SOURCE.splitlines()
    for index, line in enumerate(lines):
        found = DECLARATION.match(line)
        if found is None:
            continue
        name, params = found.groups()
        block = []
        for previous in reversed(lines[:index]):
            if not previous.startswith("---"):
                break
            block.insert(0, previous)
        assert block and not block[0].startswith("---@"), f"alc.{name} has no description line"
        documented = {
            part.removeprefix("---@param ").split()[0].rstrip("?")
            for part in block
            if part.startswith("---@param ")
        }
        wanted = {param.strip() for param in params.split(",") if param.strip()}
        assert documented == wanted, f"alc.{name}: ---@param lines {documented} != arguments {wanted}"


async def test_types_file_is_valid_lua_declaring_the_same_tables() -> None:
    # A meta file is plain Lua: running it in a bare VM must define the alc table it describes.
    runtime = lua54.LuaRuntime()
    runtime.execute(TYPES_SOURCE)
    walked = runtime.execute(WALK_ALC)
    assert sorted(walked.values()) == sorted(declared())
