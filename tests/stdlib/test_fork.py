"""alc.fork: packages side by side in their own VMs, their questions asked together
(spec §4.3, §6.3, trap 19 with our decision that on_error="fail" aborts), through real
sessions."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from alc_mcp.config import Config, Limits
from tests.conftest import TEST_LIMITS, TICKED_LIMITS, Host
from tests.durable.support import serve, wait_until
from tests.stdlib.support import lua_error, result
from tests.strategies.harness import drive

pytestmark = pytest.mark.anyio

PACKAGES = {
    "fork_a": 'local M = {}\nfunction M.run(ctx) return alc.llm("Fork A: " .. ctx.task) end\nreturn M\n',
    "fork_b": 'local M = {}\nfunction M.run(ctx) return alc.llm("Fork B: " .. ctx.task) end\nreturn M\n',
    "two_step": """local M = {}
function M.run(ctx)
  local a = alc.llm("Step 1: " .. ctx.task)
  local b = alc.llm("Step 2: " .. a)
  return {first = a, second = b}
end
return M
""",
    "batcher": """local M = {}
function M.run(ctx)
  return alc.llm_batch({{prompt = "Batch 1: " .. ctx.task}, {prompt = "Batch 2: " .. ctx.task}})
end
return M
""",
    "pure": "local M = {}\nfunction M.run(ctx) return string.upper(ctx.task) end\nreturn M\n",
    "shapes": """local M = {}
function M.run(ctx)
  return {int = 1, float = 2.0, empty = {}, arr = alc.json_decode("[]"), null = alc.json_decode("null")}
end
return M
""",
    "boom": 'local M = {}\nfunction M.run(ctx) error("kaboom") end\nreturn M\n',
    "spin": "local M = {}\nfunction M.run(ctx) while true do end end\nreturn M\n",
    "chatty": """local M = {}
function M.run(ctx)
  print("hello from", ctx.task, 42)
  io.write("written by io.write\\n")
  alc.log("warn", "child log " .. ctx.task)
  return "chatted"
end
return M
""",
    "peek": "local M = {}\nfunction M.run(ctx) return alc.budget_remaining() end\nreturn M\n",
    "stater": """local M = {}
function M.run(ctx)
  alc.state.set("who", ctx.tag)
  return {alc.state.incr("n"), alc.state.keys()}
end
return M
""",
}

E2E_RESULT = [
    {"strategy": "fork_a", "ok": True, "result": "Answer A"},
    {"strategy": "fork_b", "ok": True, "result": "Answer B"},
]


def write_packages(root: Path, names: Any = None) -> Path:
    for name in names or PACKAGES:
        directory = root / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "init.lua").write_text(PACKAGES[name], encoding="utf-8")
    return root


def fork_config(tmp_path: Path, **overrides: Any) -> Config:
    settings: dict[str, Any] = {
        "home": tmp_path / "home",
        "limits": TEST_LIMITS,
        "packages_path": (write_packages(tmp_path / "pkgs"),),
    }
    settings.update(overrides)
    return Config(**settings)


@pytest.fixture
async def fork_host(tmp_path: Path) -> AsyncIterator[Host]:
    async with serve(fork_config(tmp_path)) as host:
        yield host


def by_content(prompt: str, _system: str | None) -> str:
    """The e2e test's host: answers by what the prompt asks."""
    if prompt.startswith("Fork A"):
        return "Answer A"
    if prompt.startswith("Fork B"):
        return "Answer B"
    return "re: " + prompt


def fork_threads(session_id: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(f"alc-{session_id}")]


# --------------------------------------------------------------------------- the e2e test


async def test_fork_roundtrip(fork_host: Host) -> None:
    host = fork_host
    paused = await host.run('return alc.fork({"fork_a", "fork_b"}, ctx)', ctx={"task": "test"})
    assert paused["status"] == "needs_response", paused
    # Both children's questions in one pause.
    assert [(q["id"], q["prompt"]) for q in paused["queries"]] == [
        ("f-0-0", "Fork A: test"),
        ("f-1-0", "Fork B: test"),
    ]
    run = await drive(host, paused, by_content)
    assert run.final["status"] == "completed", run.final
    assert run.final["result"] == E2E_RESULT
    assert run.final["stats"]["auto"]["llm_calls"] == 2
    assert run.final["stats"]["auto"]["pauses"] == 1


async def test_fork_roundtrip_with_installed_packages(tmp_path: Path) -> None:
    """As in algocline's e2e test: the packages are installed with alc_pkg_install."""
    sources = write_packages(tmp_path / "src", ["fork_a", "fork_b"])
    async with serve(Config(home=tmp_path / "home", limits=TEST_LIMITS)) as host:
        for name, alias in (("fork_a", "e2e_fork_a"), ("fork_b", "e2e_fork_b")):
            installed = await host.ok("alc_pkg_install", url=str(sources / name), name=alias)
            assert installed["installed"] == [alias]
        paused = await host.run('return alc.fork({"e2e_fork_a", "e2e_fork_b"}, ctx)', ctx={"task": "test"})
        run = await drive(host, paused, by_content)
    assert run.final["status"] == "completed", run.final
    assert run.final["result"] == [
        {"strategy": "e2e_fork_a", "ok": True, "result": "Answer A"},
        {"strategy": "e2e_fork_b", "ok": True, "result": "Answer B"},
    ]


async def test_answers_can_be_fed_one_by_one(fork_host: Host) -> None:
    host = fork_host
    paused = await host.run('return alc.fork({"fork_a", "fork_b"}, ctx)', ctx={"task": "test"})
    sid = paused["session_id"]
    accepted = await host.ok("alc_continue", session_id=sid, query_id="f-1-0", response="Answer B")
    assert accepted == {"status": "accepted", "remaining": 1}
    done = await host.ok("alc_continue", session_id=sid, query_id="f-0-0", response="Answer A")
    assert done["result"] == E2E_RESULT


async def test_a_child_with_two_sequential_calls(fork_host: Host) -> None:
    host = fork_host
    paused = await host.run('return alc.fork({"two_step", "fork_a", "pure"}, ctx)', ctx={"task": "go"})
    assert [(q["id"], q["prompt"]) for q in paused["queries"]] == [
        ("f-0-0", "Step 1: go"),
        ("f-1-0", "Fork A: go"),
    ]
    later = await host.ok(
        "alc_continue",
        session_id=paused["session_id"],
        responses=[{"query_id": "f-0-0", "response": "one"}, {"query_id": "f-1-0", "response": "Answer A"}],
    )
    # Only two_step asks again: its second query, alone, in the single shape.
    assert later["status"] == "needs_response"
    assert "queries" not in later
    assert (later["query_id"], later["prompt"]) == ("f-0-1", "Step 2: one")
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="two")
    assert done["status"] == "completed", done
    assert done["result"] == [
        {"strategy": "two_step", "ok": True, "result": {"first": "one", "second": "two"}},
        {"strategy": "fork_a", "ok": True, "result": "Answer A"},
        {"strategy": "pure", "ok": True, "result": "GO"},
    ]
    assert done["stats"]["auto"]["llm_calls"] == 3


async def test_a_child_batch_is_numbered_within_the_child(fork_host: Host) -> None:
    paused = await fork_host.run('return alc.fork({"batcher", "fork_b"}, ctx)', ctx={"task": "t"})
    assert [(q["id"], q["prompt"]) for q in paused["queries"]] == [
        ("f-0-0", "Batch 1: t"),
        ("f-0-1", "Batch 2: t"),
        ("f-1-0", "Fork B: t"),
    ]
    run = await drive(fork_host, paused, by_content)
    assert run.final["result"] == [
        {"strategy": "batcher", "ok": True, "result": ["re: Batch 1: t", "re: Batch 2: t"]},
        {"strategy": "fork_b", "ok": True, "result": "Answer B"},
    ]


async def test_a_one_query_fork_pause_uses_the_single_shape(fork_host: Host) -> None:
    paused = await fork_host.run('return alc.fork({"fork_a"}, ctx)', ctx={"task": "solo"})
    assert paused["status"] == "needs_response"
    assert "queries" not in paused
    assert paused["query_id"] == "f-0-0"
    assert paused["prompt"] == "Fork A: solo"
    assert paused["system"] is None
    done = await fork_host.ok("alc_continue", session_id=paused["session_id"], response="Answer A")
    assert done["result"] == [{"strategy": "fork_a", "ok": True, "result": "Answer A"}]


async def test_results_keep_the_json_shapes_of_the_child(fork_host: Host) -> None:
    reply = await fork_host.call("alc_run", code='return alc.fork({"shapes"}, {})[1].result')
    assert orjson.loads(reply.text)["status"] == "completed", reply.text
    assert '"result":{"arr":[],"empty":{},"float":2.0,"int":1,"null":null}' in reply.text


async def test_the_parent_goes_on_after_the_fork(fork_host: Host) -> None:
    code = """
    local r = alc.fork({"fork_a", "pure"}, ctx)
    return alc.llm("Combine " .. r[1].result .. " and " .. r[2].result)
    """
    paused = await fork_host.run(code, ctx={"task": "x"})
    run = await drive(fork_host, paused, by_content)
    assert [[q["id"] for q in pause] for pause in run.pauses] == [["f-0-0"], ["q-0"]]
    assert run.final["result"] == "re: Combine Answer A and X"


# --------------------------------------------------------------------------- errors


async def test_a_failing_child_is_reported_and_the_others_go_on(fork_host: Host) -> None:
    for opts in ("", ', {on_error = "skip"}', ", {}"):
        got = await result(fork_host, f'return alc.fork({{"boom", "pure"}}, ctx{opts})', ctx={"task": "t"})
        assert [set(entry) for entry in got] == [{"strategy", "ok", "error"}, {"strategy", "ok", "result"}]
        assert got[0]["strategy"] == "boom" and got[0]["ok"] is False
        assert "kaboom" in got[0]["error"]
        assert got[1] == {"strategy": "pure", "ok": True, "result": "T"}


async def test_a_missing_package_is_a_failed_child(fork_host: Host) -> None:
    got = await result(fork_host, 'return alc.fork({"no_such_pkg"}, ctx)', ctx={"task": "t"})
    assert got[0]["ok"] is False
    assert "no_such_pkg" in got[0]["error"] and "not found" in got[0]["error"]


@pytest.mark.parametrize("on_error", ["abort", "fail"])
async def test_on_error_abort_and_fail_raise(fork_host: Host, on_error: str) -> None:
    code = f'return alc.fork({{"pure", "boom"}}, ctx, {{on_error = "{on_error}"}})'
    error = await lua_error(fork_host, code, ctx={"task": "t"})
    assert "alc.fork: strategy 'boom' failed: " in error
    assert "kaboom" in error
    code = f"""
    local ok, err = pcall(alc.fork, {{"pure", "boom"}}, ctx, {{on_error = "{on_error}"}})
    return {{ok, tostring(err)}}
    """
    ok, message = await result(fork_host, code, ctx={"task": "t"})
    assert ok is False
    assert message.startswith("alc.fork: strategy 'boom' failed: ")


async def test_on_error_abort_without_failure_returns_results(fork_host: Host) -> None:
    got = await result(fork_host, 'return alc.fork({"pure"}, ctx, {on_error = "abort"})', ctx={"task": "t"})
    assert got == [{"strategy": "pure", "ok": True, "result": "T"}]


async def test_unknown_on_error_values_are_refused(fork_host: Host) -> None:
    code = """
    local a_ok, a = pcall(alc.fork, {"pure"}, ctx, {on_error = "bogus"})
    local b_ok, b = pcall(alc.fork, {"pure"}, ctx, "abort")
    return {a_ok, a, b_ok, b}
    """
    a_ok, a, b_ok, b = await result(fork_host, code, ctx={"task": "t"})
    assert (a_ok, b_ok) == (False, False)
    assert a.startswith("alc.fork: unknown on_error 'bogus'")
    assert b == "alc.fork: opts must be a table, got string"


VALIDATION = [
    ("alc.fork({}, {})", "alc.fork: strategies must be a non-empty array"),
    ('alc.fork("pure", {})', "alc.fork: strategies must be a non-empty array"),
    ("alc.fork(nil, {})", "alc.fork: strategies must be a non-empty array"),
    (
        'alc.fork({"a.b"}, {})',
        "alc.fork: invalid strategy name 'a.b' (only alphanumeric and underscore allowed)",
    ),
    (
        'alc.fork({"a-b"}, {})',
        "alc.fork: invalid strategy name 'a-b' (only alphanumeric and underscore allowed)",
    ),
    (
        'alc.fork({"pure", "../x"}, {})',
        "alc.fork: invalid strategy name '../x' (only alphanumeric and underscore allowed)",
    ),
    ('alc.fork({""}, {})', "alc.fork: invalid strategy name '' (only alphanumeric and underscore allowed)"),
    ('alc.fork({"pure"}, "ctx")', "alc.fork: ctx must be a table"),
    ('alc.fork({"pure"})', "alc.fork: ctx must be a table"),
    ('alc.fork({"pure"}, {f = print})', "unsupported value type `function`"),
]


@pytest.mark.parametrize(("call", "message"), VALIDATION, ids=[c for c, _ in VALIDATION])
async def test_validation_errors(fork_host: Host, call: str, message: str) -> None:
    code = f"local ok, err = pcall(function() return {call} end) return {{ok, tostring(err)}}"
    ok, text = await result(fork_host, code)
    assert ok is False
    assert message in text
    assert message in await lua_error(fork_host, f"return {call}")


# --------------------------------------------------------------------------- what children share


async def test_children_share_the_parents_budget(fork_host: Host) -> None:
    code = """
    local first = alc.llm("parent asks")
    return {first = first, forked = alc.fork({"peek", "fork_a"}, {task = "t"})}
    """
    paused = await fork_host.run(code, ctx={"budget": {"max_llm_calls": 3}})
    run = await drive(fork_host, paused, by_content)
    assert run.final["status"] == "completed", run.final
    peek, fork_a = run.final["result"]["forked"]
    # The child's ctx has no budget: what it sees is the parent's (3 - the parent's 1 call).
    assert peek["ok"] is True and peek["result"]["llm_calls"] == 2
    assert fork_a == {"strategy": "fork_a", "ok": True, "result": "Answer A"}
    assert run.final["stats"]["auto"]["llm_calls"] == 2


async def test_children_cannot_exceed_the_parents_budget(fork_host: Host) -> None:
    code = """
    alc.llm("parent asks")
    local r = alc.fork({"fork_a", "pure"}, {task = "t"})
    return {r = r, check = alc.budget_check()}
    """
    paused = await fork_host.run(code, ctx={"budget": {"max_llm_calls": 1}})
    done = await fork_host.ok("alc_continue", session_id=paused["session_id"], response="ok")
    assert done["status"] == "completed", done
    fork_a, pure = done["result"]["r"]
    assert fork_a["ok"] is False and "budget_exceeded" in fork_a["error"]
    assert pure == {"strategy": "pure", "ok": True, "result": "T"}
    assert done["result"]["check"] is False
    assert done["stats"]["auto"]["llm_calls"] == 1


async def test_children_logs_reach_the_parent_and_never_stdout(
    fork_host: Host, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    code = 'local r = alc.fork({"chatty", "chatty"}, ctx) alc.llm("__end__") return r'
    paused = await fork_host.run(code, ctx={"task": "kid"})
    assert paused.get("prompt") == "__end__", paused
    snap = await fork_host.ok("alc_status", session_id=paused["session_id"])
    logs = {(e["level"], e["source"], e["message"]) for e in snap["metrics"]["recent_logs"]}
    for vm in (0, 1):
        tag = f"fork[{vm}:chatty]"
        assert ("info", f"{tag} alc.lua.print", "hello from\tkid\t42") in logs
        assert ("warn", f"{tag} alc.log", "child log kid") in logs
        assert any(src.startswith(tag) and msg == "written by io.write" for _, src, msg in logs), logs
    done = await fork_host.ok("alc_continue", session_id=paused["session_id"], response="end")
    assert done["result"] == [{"strategy": "chatty", "ok": True, "result": "chatted"}] * 2
    out, _err = capfd.readouterr()
    assert out == ""


async def test_child_state_namespace_is_fork_index(fork_host: Host) -> None:
    code = """
    alc.state.set("mine", 1)
    local r = alc.fork({"stater", "stater"}, {tag = "kid", _ns = "custom"})
    return {r, alc.state.keys()}
    """
    forked, parent_keys = await result(fork_host, code, ctx={"_ns": "parent"})
    assert forked == [{"strategy": "stater", "ok": True, "result": [1.0, ["n", "who"]]}] * 2
    assert parent_keys == ["mine"]
    read = 'return {alc.state.get("who"), alc.state.get("n")}'
    for ns in ("fork-0", "fork-1"):
        assert await result(fork_host, read, ctx={"_ns": ns}) == ["kid", 1.0]
    assert await result(fork_host, "return alc.state.keys()", ctx={"_ns": "custom"}) == []
    # A second fork shares those namespaces: state persists like any other.
    forked, _ = await result(fork_host, code, ctx={"_ns": "parent"})
    assert [entry["result"][0] for entry in forked] == [2.0, 2.0]


# --------------------------------------------------------------------------- stopping children


async def settle_threads(baseline: int) -> None:
    await wait_until(lambda: _at_most(baseline), "the thread count returns to its baseline", timeout=10)


async def _at_most(count: int) -> bool:
    return threading.active_count() <= count


@pytest.mark.parametrize("answered", [0, 1], ids=["both-waiting", "one-done-one-waiting"])
async def test_cancelling_the_parent_cancels_waiting_children(fork_host: Host, answered: int) -> None:
    host = fork_host
    # Warm up: a whole fork run, so the server's helper threads are in the baseline.
    warm = await host.run('return alc.fork({"fork_a", "pure"}, ctx)', ctx={"task": "w"})
    await drive(host, warm, by_content)
    await anyio.sleep(0.1)
    baseline = threading.active_count()

    paused = await host.run('return alc.fork({"fork_a", "two_step"}, ctx)', ctx={"task": "t"})
    sid = paused["session_id"]
    if answered:
        paused = await host.ok(
            "alc_continue",
            session_id=sid,
            responses=[{"query_id": "f-0-0", "response": "A"}, {"query_id": "f-1-0", "response": "one"}],
        )
        assert paused["query_id"] == "f-1-1", paused
    # The parent and every child still waiting hold a thread (a finished child's is gone).
    expected = sorted([f"alc-{sid}", *([] if answered else [f"alc-{sid}-fork0"]), f"alc-{sid}-fork1"])

    async def only_expected() -> bool:
        return sorted(fork_threads(sid)) == expected

    await wait_until(only_expected, f"the session's threads are {expected}", timeout=5)

    reply = await host.ok("alc_cancel", session_id=sid)
    assert reply["status"] == "cancelled"
    await wait_until(lambda: _none_left(sid), "the session's threads are gone", timeout=10)
    await settle_threads(baseline)
    assert "not found" in await host.error("alc_continue", session_id=sid, response="late")


async def _none_left(session_id: str) -> bool:
    return not fork_threads(session_id)


async def test_cancelling_the_parent_stops_a_running_child(tmp_path: Path) -> None:
    patient = Limits(max_memory_mb=64, max_instructions=10**12, max_run_seconds=60)
    async with serve(fork_config(tmp_path, limits=patient)) as host:
        baseline = threading.active_count()
        outcome: dict[str, Any] = {}

        async def run() -> None:
            outcome["run"] = await host.ok("alc_run", code='return alc.fork({"spin", "pure"}, {task = "t"})')

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(run)
                sid = ""
                while not sid:
                    listing = await host.ok("alc_status")
                    running = [s["session_id"] for s in listing["sessions"] if s["phase"] == "running"]
                    sid = running[0] if running else ""
                    await anyio.sleep(0.01)
                await wait_until(
                    lambda: _thread_alive(f"alc-{sid}-fork0"), "the spinning child runs", timeout=5
                )
                outcome["cancel"] = await host.ok("alc_cancel", session_id=sid)
        assert outcome["cancel"]["status"] == "cancelled"
        assert outcome["run"]["status"] in ("cancelled", "error"), outcome["run"]
        await wait_until(lambda: _none_left(sid), "the session's threads are gone", timeout=10)
        await settle_threads(baseline)


async def _thread_alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


@pytest.mark.parametrize(
    ("limits", "limit", "variable"),
    [
        pytest.param(TEST_LIMITS, "instruction limit", "ALC_MAX_INSTRUCTIONS", id="counted"),
        # Each child is a VM on a thread of its own, with a CPU timer of its own.
        pytest.param(TICKED_LIMITS, "cpu time limit", "ALC_MAX_CPU_SECONDS", id="ticked"),
    ],
)
async def test_a_child_loop_trips_a_limit_without_hanging_the_parent(
    tmp_path: Path, limits: Limits, limit: str, variable: str
) -> None:
    code = """
    local r = alc.fork({"spin", "pure"}, ctx)
    return {r = r, after = alc.llm("still alive?")}
    """
    async with serve(fork_config(tmp_path, limits=limits)) as host:
        with anyio.fail_after(15):
            paused = await host.run(code, ctx={"task": "t"})
            assert paused.get("prompt") == "still alive?", paused
            done = await host.ok("alc_continue", session_id=paused["session_id"], response="yes")
    assert done["status"] == "completed", done
    spin, pure = done["result"]["r"]
    assert spin["ok"] is False and spin["strategy"] == "spin"
    assert limit in spin["error"] and variable in spin["error"]
    assert pure == {"strategy": "pure", "ok": True, "result": "T"}
    assert done["result"]["after"] == "yes"
    sid = paused["session_id"]
    await wait_until(lambda: _none_left(sid), "the session's threads are gone", timeout=10)
