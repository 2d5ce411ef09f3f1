"""The sandbox's Lua pattern matcher (lua/patterns.lua) behaves exactly like Lua 5.4's
C matcher: same results, same captures, same errors, on generated patterns and subjects."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lupa import lua54

from alc_mcp.engine.sandbox import PATTERNS_CHUNK, PATTERNS_SOURCE

HARNESS = b"""
local patterns_chunk = ...
local function fail(message) error(message, 0) end
local M = patterns_chunk({
  byte = string.byte, sub = string.sub, find = string.find, gsub = string.gsub,
  char = string.char, concat = table.concat, unpack = table.unpack,
  tostring = tostring, type = type, fail = fail,
})
local function strip(e)
  e = tostring(e)
  return (e:gsub("^[^:]*:%d+: ", ""))
end
local function run(f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then return { "error", strip(r[2]) } end
  local out = { "ok", r.n - 1 }
  for i = 2, r.n do out[#out + 1] = tostring(r[i]) end
  return out
end
local function iterate(gm, s, p, init)
  return run(function()
    local out = {}
    for a, b, c in gm(s, p, init) do
      out[#out + 1] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
    end
    return table.concat(out, ",")
  end)
end
local function replacer(kind)
  if kind == "string" then return "<%0|%1>" end
  if kind == "table" then return { a = "A", b = false, [1] = "one" } end
  return function(a, b) if a == "b" then return nil end return "[" .. tostring(a) .. tostring(b) .. "]" end
end
return function(op, s, p, init, extra)
  if op == "find" then
    local plain = not p:find("[%^%$%*%+%?%.%(%[%%%-]") -- the sandbox searches these plainly
    return run(string.find, s, p, init), run(M.find, s, p, init, plain)
  end
  if op == "plain" then return run(string.find, s, p, init, true), run(M.find, s, p, init, true) end
  if op == "match" then return run(string.match, s, p, init), run(M.match, s, p, init) end
  if op == "gmatch" then return iterate(string.gmatch, s, p, init), iterate(M.gmatch, s, p, init) end
  local repl = replacer(extra)
  local function lua_gsub(...) local r, n = M.gsub(...) return r, n end
  return run(string.gsub, s, p, repl, init), run(lua_gsub, s, p, repl, init)
end
"""


@pytest.fixture(scope="module")
def compare() -> Any:
    runtime = lua54.LuaRuntime(encoding=None)
    chunk = runtime.compile(PATTERNS_SOURCE, name=PATTERNS_CHUNK)
    return runtime.execute(HARNESS, chunk)


def outcome(table: Any) -> list[Any]:
    return [table[i] for i in range(1, len(table) + 1)]


PIECES = [
    "a",
    "b",
    ".",
    "%a",
    "%d",
    "%s",
    "%w",
    "%A",
    "%S",
    "%p",
    "[ab]",
    "[^a]",
    "[a-c%d]",
    "[%]]",
    "[]]",
    "*",
    "+",
    "-",
    "?",
    "(",
    ")",
    "()",
    "%1",
    "%2",
    "%b()",
    "%bab",
    "%f[%w]",
    "%f[%W]",
    "^",
    "$",
    "%",
    "[",
    "%x",
    "%z",
    "%.",
    "%%",
    "x",
]
SUBJECT_CHARS = "ab ()1.x%\0]"


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, bytes, bytes, int | None, str]:
    op = draw(st.sampled_from(["find", "plain", "match", "gmatch", "gsub"]))
    pattern = "".join(draw(st.lists(st.sampled_from(PIECES), max_size=7)))
    subject = "".join(draw(st.lists(st.sampled_from(SUBJECT_CHARS), max_size=14)))
    init = draw(st.one_of(st.none(), st.integers(-16, 16)))
    extra = draw(st.sampled_from(["string", "table", "function"]))
    return op, subject.encode(), pattern.encode(), init, extra


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_lua_matcher_agrees_with_the_c_matcher(compare: Any, case: tuple[Any, ...]) -> None:
    op, subject, pattern, init, extra = case
    if op == "gsub" and init is not None and init < 0:
        init = None
    c_result, lua_result = compare(op.encode(), subject, pattern, init, extra.encode())
    assert outcome(lua_result) == outcome(c_result), case


@pytest.mark.parametrize(
    ("op", "subject", "pattern"),
    [
        ("find", "  hello  world  ", "^%s*(.-)%s*$"),
        ("match", "key = value", "(%w+)%s*=%s*(%w+)"),
        ("gmatch", "one, two,,three", "([^,]*)"),
        ("gsub", "hello world", "(%w+)"),
        ("gsub", "abc", ""),
        ("find", "f(a(b)c)d", "%b()"),
        ("gmatch", "THE (quick) fox", "%f[%a]%a+"),
        ("match", "abcabc", "(a)(b)(c)%1%2%3"),
        ("find", "a.b", "."),
        ("gsub", "x = 1, y = 2", "(%w+) = (%w+)"),
    ],
)
def test_known_cases_agree(compare: Any, op: str, subject: str, pattern: str) -> None:
    for extra in ("string", "table", "function"):
        c_result, lua_result = compare(op.encode(), subject.encode(), pattern.encode(), None, extra.encode())
        assert outcome(lua_result) == outcome(c_result)
