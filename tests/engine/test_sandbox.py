"""The sandbox: every escape route fails with a clear Lua error, guarded code keeps
working, and nothing a script prints reaches stdout (the MCP transport)."""

from __future__ import annotations

import pytest

from tests.conftest import EngineHost, Host

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(engine_host: EngineHost) -> EngineHost:
    """Only what scripts can do is under test here: the tools without MCP."""
    return engine_host


async def result_of(host: Host, code: str) -> object:
    reply = await host.run(code)
    assert reply["status"] == "completed", reply
    return reply["result"]


async def error_of(host: Host, code: str) -> str:
    reply = await host.run(code)
    assert reply["status"] == "error", reply
    assert "stats" not in reply
    return reply["error"]


async def test_no_python_and_no_debug(host: Host) -> None:
    assert await result_of(host, "return {type(python), type(debug), package.loaded.python == nil}") == [
        "nil",
        "nil",
        True,
    ]


async def test_python_objects_expose_no_attributes(host: Host) -> None:
    # An alc.math random stream is a Python object; Lua holds it as opaque userdata.
    message = await error_of(host, "local rng = alc.math.rng_create(1) return rng.__class__")
    assert "not accessible from the alc-mcp sandbox" in message


async def test_python_objects_keep_their_metatable_to_themselves(host: Host) -> None:
    # lupa's metatable holds its C functions (__gc, __call, ...): a script sees false.
    assert await result_of(host, "return {getmetatable(alc.math.rng_create(1))}") == [False]


async def test_errors_python_objects_raise_are_caught_as_their_message(host: Host) -> None:
    # Calling or indexing a stream raises a Python exception: pcall, xpcall's handler and
    # coroutine.resume hand the script its message, a string, not the Python object.
    code = """
    local rng = alc.math.rng_create(1)
    local _, called = pcall(rng)
    local _, indexed = pcall(function() return rng.state end)
    local _, handled = xpcall(rng, function(e) return type(e) .. ": " .. e end)
    local _, resumed = coroutine.resume(coroutine.create(function() return rng() end))
    local _, wrapped = pcall(coroutine.wrap(function() return rng.x end))
    return {called, indexed, handled, resumed, wrapped}
    """
    called = "alc.math.rng is not callable: draw from it with alc.math.rng_float(rng)"
    hidden = "Python objects are not accessible from the alc-mcp sandbox"
    shown = await result_of(host, code)
    assert isinstance(shown, list) and len(shown) == 5
    assert [
        text.startswith(prefix)
        for text, prefix in zip(shown, [called, hidden, "string: " + called, called, hidden], strict=True)
    ] == [True] * 5
    rethrown = "local rng = alc.math.rng_create(1) local _, e = pcall(rng) error(e)"
    assert called in await error_of(host, rethrown)


async def test_indexing_json_null_fails_like_any_userdata(host: Host) -> None:
    # Without a ctx argument, ctx is the JSON null sentinel, as in algocline.
    assert await result_of(host, "return type(ctx)") == "userdata"
    assert "attempt to index a userdata value" in await error_of(host, "return ctx.task")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ("os.execute('echo pwned')", "os.execute"),
        ("os.remove('/tmp/x')", "os.remove"),
        ("os.rename('/tmp/x', '/tmp/y')", "os.rename"),
        ("os.exit(1)", "os.exit"),
        ("os.tmpname()", "os.tmpname"),
        ("dofile('/etc/passwd')", "dofile"),
        ("loadfile('/etc/passwd')", "loadfile"),
        ("io.lines('/etc/passwd')", "io.lines"),
    ],
)
async def test_escapes_fail_with_clear_error(host: Host, call: str, name: str) -> None:
    message = await error_of(host, call)
    assert f"{name} is not available in the alc-mcp sandbox" in message
    assert "alc_run:1:" in message  # points at the script's own line


async def test_guarded_io_keeps_working(host: Host) -> None:
    code = """
    local f, err = io.open("/etc/passwd")
    local p, perr = io.popen("ls")
    io.stderr:write("careful: ", 42, "\\n")
    io.write("to stdout\\n")
    return {f == nil, err, p == nil, os.getenv("HOME") == nil, io.type(io.stderr)}
    """
    reply = await host.run(code)
    assert reply["status"] == "completed"
    is_nil, err, popen_nil, env_nil, kind = reply["result"]
    assert is_nil and popen_nil and env_nil
    assert "io.open is not available in the alc-mcp sandbox" in err
    assert kind == "file"


async def test_io_and_print_go_to_the_session_log_not_stdout(
    host: Host, capfd: pytest.CaptureFixture
) -> None:
    code = """
    print("hello", nil, true, 42, 3.0)
    io.write("written")
    io.stderr:write("warned\\n")
    return alc.llm("wait here")
    """
    paused = await host.run(code)
    status = await host.ok("alc_status", session_id=paused["session_id"])
    logs = [(e["source"], e["level"], e["message"]) for e in status["metrics"]["recent_logs"]]
    assert logs == [
        ("alc.lua.print", "info", "hello\tnil\ttrue\t42\t3.0"),
        ("alc.lua.io.stdout", "info", "written"),
        ("alc.lua.io.stderr", "warn", "warned"),
    ]
    out, _err = capfd.readouterr()
    assert "hello" not in out and "written" not in out


async def test_load_accepts_text_and_refuses_bytecode(host: Host) -> None:
    assert await result_of(host, "return load('return 1 + 1')()") == 2
    assert await result_of(host, "local env = {x = 5} return load('return x', 'c', 't', env)()") == 5
    code = "local f, err = load(string.dump(function() return 1 end)) return {f == nil, err}"
    is_nil, err = await result_of(host, code)  # type: ignore[misc]
    assert is_nil and "binary chunk" in err


async def test_no_c_modules_or_file_searchers(host: Host) -> None:
    assert await result_of(
        host, "return {package.loadlib == nil, package.searchpath == nil, package.path}"
    ) == [
        True,
        True,
        "",
    ]
    message = await error_of(host, "require('socket')")
    assert "module 'socket' not found" in message


async def test_gc_metamethods_are_refused(host: Host) -> None:
    message = await error_of(host, "setmetatable({}, {__gc = function() while true do end end})")
    assert "__gc metamethods are not allowed" in message
    assert await result_of(host, "return setmetatable({}, {__index = function() return 7 end}).x") == 7


async def test_collectgarbage_is_limited_to_harmless_options(host: Host) -> None:
    assert await result_of(host, "return type(collectgarbage('count'))") == "number"
    assert "collectgarbage('stop') is not available" in await error_of(host, "collectgarbage('stop')")


async def test_every_alc_entry_is_a_lua_function(host: Host) -> None:
    code = """
    local names = {}
    local function walk(prefix, t)
      for k, v in pairs(t) do
        if type(v) == "table" then walk(prefix .. k .. ".", v)
        else names[#names + 1] = prefix .. k .. "=" .. type(v) end
      end
    end
    walk("alc.", alc)
    table.sort(names)
    return names
    """
    entries = await result_of(host, code)
    assert entries, "alc table is empty"
    assert all(entry.endswith("=function") for entry in entries), entries  # type: ignore[union-attr]
    assert "alc.llm=function" in entries  # type: ignore[operator]


async def test_clocks_and_random_work(host: Host) -> None:
    code = """
    local r = math.random(1, 6)
    math.randomseed()
    return {type(os.time()), type(os.clock()), type(os.date("%Y")), r >= 1 and r <= 6, type(alc.time())}
    """
    assert await result_of(host, code) == ["number", "number", "string", True, "number"]


async def test_expensive_patterns_work_after_the_script_clobbered_globals(host: Host) -> None:
    # The Lua matcher for expensive patterns is loaded on the first call that needs it,
    # which may come after the script has replaced every global it could reach.
    code = """
    local s = string.rep("a", 3000) .. "b"
    local find, gsub, match = string.find, string.gsub, string.match
    ipairs, pairs, next, load, string, table, setmetatable, assert = nil, nil, nil, nil, nil, nil, nil, nil
    local i, j = find(s, ".-.-b")
    local replaced, n = gsub("x1y22z", "(%d+)", "<%1>")
    return {i, j, replaced, n, #match(s, "^(a*).-.-b$")}
    """
    assert await result_of(host, code) == [1, 3001, "x<1>y<22>z", 2, 3000]
