"""The test cases of seed 002 (variable operations on a session store), each proved twice:
through the Lua API ``alc.vars`` and through the host tools ``alc_vars_*`` on a paused
session. Plus delete/has, export → import, presets, alc_status, and when the host may
change variables (paused and hibernated: yes; running: no)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import EngineHost, Host
from tests.durable.support import serve, wait_until
from tests.variables.support import (
    DEFINE,
    GET,
    LONG_LIMITS,
    RUNNING,
    SET,
    SET_MANY,
    completed,
    config_for,
    paused,
    variables,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(durable_engine_host: EngineHost) -> EngineHost:
    """The seed cases are about variables, not the transport: the tools without MCP,
    over the store as by default (every change is journaled)."""
    return durable_engine_host


UNKNOWN_TYPE = "unknown variable type 'invalid' (use string, integer, float, boolean, choice or json)"

# ── register with type validation and constraints ────────────────────────────────────

TEMPERATURE = """
local id = alc.vars.define("temperature", "float", 0.7,
  {constraints = {min = 0.0, max = 2.0}, description = "LLM temperature"})
"""


def assert_temperature(record: dict[str, Any], source: str) -> None:
    assert record["id"].startswith("var_temperature_")
    assert record["name"] == "temperature"
    assert record["type"] == "float"
    assert record["value"] == 0.7
    assert record["constraints"] == {"min": 0.0, "max": 2.0}
    assert record["description"] == "LLM temperature"
    assert record["metadata"]["source"] == source
    assert record["version"] == 0
    assert record["created_at"] == record["updated_at"]


async def test_lua_register_with_type_validation(host: Host) -> None:
    reply = await host.run(
        TEMPERATURE + "return {id = id, by_id = alc.vars.info(id), value = alc.vars.get(id)}"
    )
    result = reply["result"]
    assert result["id"].startswith("var_temperature_")
    assert result["by_id"]["id"] == result["id"]
    assert_temperature(result["by_id"], "lua")
    assert result["value"] == 0.7


async def test_host_register_with_type_validation(host: Host) -> None:
    reply = await paused(host, TEMPERATURE + 'alc.llm("ready") return id')
    session_id = reply["session_id"]
    by_name = await host.ok("alc_vars_get", session_id=session_id, names=["temperature"])
    record = by_name["found"]["temperature"]
    assert_temperature(record, "lua")
    by_id = await host.ok("alc_vars_get", session_id=session_id, names=[record["id"]])
    assert by_id == {"found": {record["id"]: record}, "missing": []}
    # The host's own way to register: import a record.
    imported = await host.ok(
        "alc_vars_import",
        session_id=session_id,
        variables=[
            {
                "name": "top_p",
                "type": "float",
                "value": 0.9,
                "constraints": {"min": 0.0, "max": 1.0},
                "description": "nucleus",
            }
        ],
    )
    assert imported == {"imported": ["top_p"]}
    top_p = (await variables(host, session_id))["top_p"]
    assert top_p["id"].startswith("var_top_p_")
    assert (top_p["value"], top_p["version"], top_p["constraints"]) == (0.9, 0, {"min": 0.0, "max": 1.0})
    assert top_p["description"] == "nucleus"
    assert await completed(host, session_id) == record["id"]


async def test_lua_rejects_unknown_type(host: Host) -> None:
    reply = await host.run(
        """
        local ok, err = pcall(alc.vars.define, "bad", "invalid", "value")
        return {ok = ok, err = err, has = alc.vars.has("bad")}
        """
    )
    assert reply["result"] == {"ok": False, "err": DEFINE + UNKNOWN_TYPE, "has": False}
    uncaught = await host.run('alc.vars.define("bad", "invalid", "value")')
    assert uncaught["status"] == "error"
    assert DEFINE + UNKNOWN_TYPE in uncaught["error"]


async def test_host_rejects_unknown_type(host: Host) -> None:
    session_id = (await paused(host, 'alc.llm("ready")'))["session_id"]
    error = await host.error(
        "alc_vars_import", session_id=session_id, variables=[{"name": "bad", "type": "invalid", "value": "v"}]
    )
    assert error.endswith("import rejected, nothing changed: record 0: " + UNKNOWN_TYPE), error
    assert await variables(host, session_id) == {}


async def test_lua_enforces_type_validation(host: Host) -> None:
    reply = await host.run(
        """
        local ok, err = pcall(alc.vars.define, "count", "integer", "not a number")
        alc.vars.define("n", "integer", 1)
        local ok2, err2 = pcall(alc.vars.set, "n", "not a number")
        local ok3, err3 = pcall(alc.vars.set, "n", 1.5)
        return {err = err, err2 = err2, err3 = err3, has = alc.vars.has("count"), n = alc.vars.info("n")}
        """
    )
    result = reply["result"]
    assert result["err"] == DEFINE + "variable 'count' must be an integer, got string"
    assert result["err2"] == SET + "variable 'n' must be an integer, got string"
    assert result["err3"] == SET + "variable 'n' must be an integer, got 1.5"
    assert result["has"] is False
    assert (result["n"]["value"], result["n"]["version"]) == (1, 0)


async def test_host_enforces_type_validation(host: Host) -> None:
    session_id = (await paused(host, 'alc.vars.define("n", "integer", 1) alc.llm("ready")'))["session_id"]
    error = await host.error(
        "alc_vars_import",
        session_id=session_id,
        variables=[{"name": "count", "type": "integer", "value": "not a number"}],
    )
    assert "record 0: variable 'count' must be an integer, got string" in error
    reply = await host.ok("alc_vars_set", session_id=session_id, updates={"n": "not a number"})
    assert reply == {
        "status": "rejected",
        "results": {"n": {"error": "variable 'n' must be an integer, got string"}},
    }
    listed = await variables(host, session_id)
    assert list(listed) == ["n"]
    assert (listed["n"]["value"], listed["n"]["version"]) == (1, 0)


async def test_lua_enforces_constraints_on_register(host: Host) -> None:
    reply = await host.run(
        """
        local ok, err = pcall(alc.vars.define, "percentage", "float", 1.5,
          {constraints = {min = 0.0, max = 1.0}})
        return {ok = ok, err = err, has = alc.vars.has("percentage")}
        """
    )
    assert reply["result"] == {
        "ok": False,
        "err": DEFINE + "variable 'percentage' value 1.5 is above maximum 1.0",
        "has": False,
    }


async def test_host_enforces_constraints_on_register(host: Host) -> None:
    session_id = (await paused(host, 'alc.llm("ready")'))["session_id"]
    error = await host.error(
        "alc_vars_import",
        session_id=session_id,
        variables=[
            {"name": "percentage", "type": "float", "value": 1.5, "constraints": {"min": 0.0, "max": 1.0}}
        ],
    )
    assert "record 0: variable 'percentage' value 1.5 is above maximum 1.0" in error
    assert await variables(host, session_id) == {}


# ── get by id and by name ────────────────────────────────────────────────────────────

TEST_VAR = 'local id = alc.vars.define("test_var", "string", "hello")\n'


async def test_lua_get_by_id_and_name(host: Host) -> None:
    reply = await host.run(
        TEST_VAR
        + """
        local ok, err = pcall(alc.vars.get, "nonexistent")
        return {id = id, by_id = alc.vars.get(id), by_name = alc.vars.get("test_var"), err = err,
                has_id = alc.vars.has(id), has_name = alc.vars.has("test_var"), has_other = alc.vars.has("x")}
        """
    )
    result = reply["result"]
    assert result["id"].startswith("var_test_var_")
    assert result["by_id"] == result["by_name"] == "hello"
    assert result["err"] == GET + "variable 'nonexistent' not found"
    assert (result["has_id"], result["has_name"], result["has_other"]) == (True, True, False)


async def test_host_get_by_id_and_name(host: Host) -> None:
    reply = await paused(host, TEST_VAR + 'alc.llm("ready") return id')
    session_id = reply["session_id"]
    got = await host.ok("alc_vars_get", session_id=session_id, names=["test_var", "nonexistent"])
    assert got["missing"] == ["nonexistent"]
    record = got["found"]["test_var"]
    assert record["value"] == "hello"
    by_id = await host.ok("alc_vars_get", session_id=session_id, names=[record["id"]])
    assert by_id["found"][record["id"]]["value"] == "hello"
    assert await completed(host, session_id) == record["id"]


# ── update: version, constraints, metadata ───────────────────────────────────────────

COUNTER = 'alc.vars.define("counter", "integer", 0, {constraints = {min = 0, max = 100}})\n'


async def test_lua_update_increments_version(host: Host) -> None:
    reply = await host.run(
        COUNTER
        + """
        local v0 = alc.vars.info("counter").version
        local r1 = alc.vars.set("counter", 42)
        local i1 = alc.vars.info("counter")
        local r2 = alc.vars.set("counter", 50)
        local i2 = alc.vars.info("counter")
        return {v0 = v0, r1 = r1, value1 = i1.value, v1 = i1.version,
                r2 = r2, value2 = i2.value, v2 = i2.version, updated = i2.updated_at >= i2.created_at}
        """
    )
    assert reply["result"] == {
        "v0": 0,
        "r1": 1,
        "value1": 42,
        "v1": 1,
        "r2": 2,
        "value2": 50,
        "v2": 2,
        "updated": True,
    }


async def test_host_update_increments_version(host: Host) -> None:
    session_id = (await paused(host, COUNTER + 'alc.llm("ready") return alc.vars.info("counter")'))[
        "session_id"
    ]
    assert (await variables(host, session_id))["counter"]["version"] == 0
    first = await host.ok("alc_vars_set", session_id=session_id, updates={"counter": 42})
    assert first == {"status": "applied", "results": {"counter": {"version": 1}}}
    record = (await variables(host, session_id))["counter"]
    assert (record["value"], record["version"]) == (42, 1)
    second = await host.ok("alc_vars_set", session_id=session_id, updates={"counter": 50})
    assert second == {"status": "applied", "results": {"counter": {"version": 2}}}
    seen = await completed(host, session_id)
    assert (seen["value"], seen["version"]) == (50, 2)


async def test_lua_constraint_on_update_leaves_value_and_version(host: Host) -> None:
    reply = await host.run(
        COUNTER
        + """
        local ok, err = pcall(alc.vars.set, "counter", 150)
        local ok2, err2 = pcall(alc.vars.set, "counter", -1)
        local info = alc.vars.info("counter")
        return {ok = ok, err = err, err2 = err2, value = info.value, version = info.version}
        """
    )
    assert reply["result"] == {
        "ok": False,
        "err": SET + "variable 'counter' value 150 is above maximum 100",
        "err2": SET + "variable 'counter' value -1 is below minimum 0",
        "value": 0,
        "version": 0,
    }


async def test_host_constraint_on_update_leaves_value_and_version(host: Host) -> None:
    session_id = (await paused(host, COUNTER + 'alc.llm("ready") return alc.vars.info("counter")'))[
        "session_id"
    ]
    reply = await host.ok("alc_vars_set", session_id=session_id, updates={"counter": 150})
    assert reply == {
        "status": "rejected",
        "results": {"counter": {"error": "variable 'counter' value 150 is above maximum 100"}},
    }
    record = (await variables(host, session_id))["counter"]
    assert (record["value"], record["version"]) == (0, 0)
    seen = await completed(host, session_id)
    assert (seen["value"], seen["version"]) == (0, 0)


async def test_lua_update_adds_metadata(host: Host) -> None:
    reply = await host.run(
        COUNTER
        + """
        alc.vars.set("counter", 1, {reason = "increment", user = "test"})
        return alc.vars.info("counter")
        """
    )
    record = reply["result"]
    assert record["metadata"] == {"source": "lua", "reason": "increment", "user": "test"}
    assert (record["value"], record["version"]) == (1, 1)


async def test_host_update_adds_metadata(host: Host) -> None:
    session_id = (await paused(host, COUNTER + 'alc.llm("ready") return alc.vars.info("counter")'))[
        "session_id"
    ]
    await host.ok("alc_vars_set", session_id=session_id, updates={"counter": 1}, reason="increment")
    record = (await variables(host, session_id))["counter"]
    assert record["metadata"] == {"source": "host", "reason": "increment"}
    seen = await completed(host, session_id)
    assert seen["metadata"] == {"source": "host", "reason": "increment"}
    assert (seen["value"], seen["version"]) == (1, 1)


# ── batch operations ─────────────────────────────────────────────────────────────────

ABC = """
alc.vars.define("a", "integer", 1)
alc.vars.define("b", "integer", 2)
alc.vars.define("c", "integer", 3)
"""

VALUES = 'local function values() return alc.vars.get_many({"a", "b", "c", "constrained"}).found end\n'


async def test_lua_batch_get(host: Host) -> None:
    reply = await host.run(ABC + 'return alc.vars.get_many({"a", "b", "nonexistent", "c"})')
    assert reply["result"] == {"found": {"a": 1, "b": 2, "c": 3}, "missing": ["nonexistent"]}


async def test_host_batch_get(host: Host) -> None:
    session_id = (await paused(host, ABC + 'alc.llm("ready")'))["session_id"]
    reply = await host.ok("alc_vars_get", session_id=session_id, names=["a", "b", "nonexistent", "c"])
    assert {key: record["value"] for key, record in reply["found"].items()} == {"a": 1, "b": 2, "c": 3}
    assert reply["missing"] == ["nonexistent"]


async def test_lua_batch_update_non_atomic(host: Host) -> None:
    reply = await host.run(
        ABC
        + VALUES
        + """
        local results = alc.vars.set_many({a = 10, b = 20, c = 30})
        local after = values()
        local partial = alc.vars.set_many({a = 11, c = "x"}, {atomic = false})
        return {results = results, after = after, partial = partial, final = values(),
                versions = {alc.vars.info("a").version, alc.vars.info("b").version,
                            alc.vars.info("c").version}}
        """
    )
    result = reply["result"]
    assert result["results"] == {"a": True, "b": True, "c": True}
    assert result["after"] == {"a": 10, "b": 20, "c": 30}
    assert result["partial"] == {"a": True, "c": "variable 'c' must be an integer, got string"}
    assert result["final"] == {"a": 11, "b": 20, "c": 30}
    assert result["versions"] == [2, 1, 1]


async def test_host_batch_update_non_atomic(host: Host) -> None:
    session_id = (await paused(host, ABC + VALUES + 'alc.llm("ready") return values()'))["session_id"]
    reply = await host.ok("alc_vars_set", session_id=session_id, updates={"a": 10, "b": 20, "c": 30})
    assert reply == {
        "status": "applied",
        "results": {"a": {"version": 1}, "b": {"version": 1}, "c": {"version": 1}},
    }
    partial = await host.ok("alc_vars_set", session_id=session_id, updates={"a": 11, "c": "x"})
    assert partial == {
        "status": "partial",
        "results": {"a": {"version": 2}, "c": {"error": "variable 'c' must be an integer, got string"}},
    }
    assert await completed(host, session_id) == {"a": 11, "b": 20, "c": 30}


CONSTRAINED = 'alc.vars.define("constrained", "integer", 5, {constraints = {max = 10}})\n'


async def test_lua_batch_update_atomic_failure_changes_nothing(host: Host) -> None:
    reply = await host.run(
        ABC
        + CONSTRAINED
        + VALUES
        + """
        local ok, err = pcall(alc.vars.set_many, {a = 100, constrained = 20}, {atomic = true})
        local fine = alc.vars.set_many({a = 7, constrained = 9}, {atomic = true})
        return {ok = ok, err = err, fine = fine, after = values(),
                versions = {alc.vars.info("a").version, alc.vars.info("constrained").version}}
        """
    )
    result = reply["result"]
    assert result["ok"] is False
    assert result["err"] == (
        SET_MANY + "atomic update rejected, nothing changed: "
        "constrained: variable 'constrained' value 20 is above maximum 10"
    )
    assert "above maximum" in result["err"]
    assert result["fine"] == {"a": True, "constrained": True}
    assert result["after"] == {"a": 7, "b": 2, "c": 3, "constrained": 9}
    assert result["versions"] == [1, 1]  # the rejected batch did not count as a version


async def test_lua_batch_update_atomic_failure_leaves_values_unchanged(host: Host) -> None:
    reply = await host.run(
        ABC
        + CONSTRAINED
        + VALUES
        + """
        pcall(alc.vars.set_many, {a = 100, constrained = 20}, {atomic = true})
        return {values = values(), a = alc.vars.info("a").version, k = alc.vars.info("constrained").version}
        """
    )
    assert reply["result"] == {"values": {"a": 1, "b": 2, "c": 3, "constrained": 5}, "a": 0, "k": 0}


async def test_host_batch_update_atomic_failure_changes_nothing(host: Host) -> None:
    session_id = (await paused(host, ABC + CONSTRAINED + VALUES + 'alc.llm("ready") return values()'))[
        "session_id"
    ]
    reply = await host.ok(
        "alc_vars_set", session_id=session_id, updates={"a": 100, "constrained": 20}, atomic=True
    )
    assert reply["status"] == "rejected"
    assert "a" not in reply["results"] or "error" in reply["results"]["a"]
    assert "above maximum" in reply["results"]["constrained"]["error"]
    assert reply["results"]["constrained"]["error"] == "variable 'constrained' value 20 is above maximum 10"
    listed = await variables(host, session_id)
    assert {name: (r["value"], r["version"]) for name, r in listed.items()} == {
        "a": (1, 0),
        "b": (2, 0),
        "c": (3, 0),
        "constrained": (5, 0),
    }
    fine = await host.ok(
        "alc_vars_set", session_id=session_id, updates={"a": 7, "constrained": 9}, atomic=True
    )
    assert fine == {"status": "applied", "results": {"a": {"version": 1}, "constrained": {"version": 1}}}
    assert await completed(host, session_id) == {"a": 7, "b": 2, "c": 3, "constrained": 9}


# ── list ─────────────────────────────────────────────────────────────────────────────

TEMPS = """
alc.vars.define("temp_cpu", "float", 45.0)
alc.vars.define("temp_gpu", "float", 60.0)
alc.vars.define("memory", "integer", 1024)
"""


def names(records: list[dict[str, Any]]) -> list[str]:
    return [record["name"] for record in records]


async def test_lua_list_all_and_by_pattern(host: Host) -> None:
    reply = await host.run(
        TEMPS
        + """
        return {all = alc.vars.list(), temps = alc.vars.list("temp_*"), one = alc.vars.list("temp_?pu"),
                none = alc.vars.list("gpu*")}
        """
    )
    result = reply["result"]
    assert names(result["all"]) == ["temp_cpu", "temp_gpu", "memory"]  # oldest first
    assert names(result["temps"]) == ["temp_cpu", "temp_gpu"]
    assert names(result["one"]) == ["temp_cpu", "temp_gpu"]
    assert result["none"] == []
    assert [r["value"] for r in result["all"]] == [45.0, 60.0, 1024]


async def test_host_list_all_and_by_pattern(host: Host) -> None:
    session_id = (await paused(host, TEMPS + 'alc.llm("ready")'))["session_id"]
    listed = await host.ok("alc_vars_list", session_id=session_id)
    assert names(listed["variables"]) == ["temp_cpu", "temp_gpu", "memory"]
    temps = await host.ok("alc_vars_list", session_id=session_id, pattern="temp_*")
    assert names(temps["variables"]) == ["temp_cpu", "temp_gpu"]
    assert all(name.startswith("temp_") for name in names(temps["variables"]))
    assert (await host.ok("alc_vars_list", session_id=session_id, pattern="mem?ry"))["variables"][0][
        "value"
    ] == 1024


# ── delete / has ─────────────────────────────────────────────────────────────────────


async def test_lua_delete_and_has(host: Host) -> None:
    reply = await host.run(
        ABC
        + """
        local before = alc.vars.has("b")
        local deleted = alc.vars.delete("b")
        local ok, err = pcall(alc.vars.delete, "b")
        local redefined = alc.vars.define("b", "string", "again")
        return {before = before, deleted = deleted, after = alc.vars.has("b"), err = err,
                b = alc.vars.get("b"), names = alc.vars.get_many({"a", "b", "c"}).found}
        """
    )
    result = reply["result"]
    assert (result["before"], result["deleted"]) == (True, True)
    assert result["err"] == "alc.vars.delete: variable 'b' not found"
    assert result["after"] is True  # redefined
    assert result["b"] == "again"
    assert result["names"] == {"a": 1, "b": "again", "c": 3}


async def test_host_delete_then_script_sees_it_gone(host: Host) -> None:
    session_id = (
        await paused(host, ABC + 'alc.llm("ready") return {a = alc.vars.has("a"), b = alc.vars.has("b")}')
    )["session_id"]
    reply = await host.ok("alc_vars_delete", session_id=session_id, names=["a", "zz"])
    assert reply == {"deleted": ["a"], "missing": ["zz"]}
    assert list(await variables(host, session_id)) == ["b", "c"]
    status = await host.ok("alc_status", session_id=session_id)
    assert status["variables"] == {"count": 2, "names": ["b", "c"]}
    assert await completed(host, session_id) == {"a": False, "b": True}


# ── export / import ──────────────────────────────────────────────────────────────────

SOURCE = """
alc.vars.define("temperature", "float", 0.7,
  {constraints = {min = 0.0, max = 2.0}, description = "LLM temperature"})
alc.vars.define("style", "choice", "brief", {constraints = {choices = {"brief", "detailed"}}})
alc.vars.define("plan", "json", {steps = {"a", "b"}, depth = 2})
alc.vars.set("temperature", 1.1, {reason = "warmer"})
alc.llm("ready")
"""

TARGET = """
alc.vars.define("own", "integer", 1)
alc.llm("ready")
return {temperature = alc.vars.info("temperature"), style = alc.vars.get("style"),
        plan = alc.vars.get("plan"), own = alc.vars.get("own")}
"""


async def test_export_then_import_into_another_paused_session(host: Host) -> None:
    source = (await paused(host, SOURCE))["session_id"]
    target = (await paused(host, TARGET))["session_id"]
    await host.ok("alc_vars_set", session_id=source, updates={"style": "detailed"}, reason="host")
    exported = (await host.ok("alc_vars_export", session_id=source))["variables"]
    assert [r["name"] for r in exported] == ["temperature", "style", "plan"]
    assert [r["version"] for r in exported] == [1, 1, 0]
    imported = await host.ok("alc_vars_import", session_id=target, variables=exported)
    assert imported == {"imported": ["temperature", "style", "plan"]}
    listed = await variables(host, target)
    # Oldest first by creation time: the imported records keep theirs (older than "own").
    assert list(listed) == ["temperature", "style", "plan", "own"]
    for record in exported:
        assert listed[record["name"]] == record  # id, value, version, constraints, metadata, times
    status = await host.ok("alc_status", session_id=target)
    assert status["variables"] == {"count": 4, "names": ["temperature", "style", "plan", "own"]}
    seen = await completed(host, target)
    assert seen["temperature"]["value"] == 1.1
    assert seen["temperature"]["version"] == 1
    assert seen["temperature"]["metadata"] == {"source": "lua", "reason": "warmer"}
    assert seen["style"] == "detailed"
    assert seen["plan"] == {"steps": ["a", "b"], "depth": 2}
    assert seen["own"] == 1


async def test_import_is_all_or_nothing(host: Host) -> None:
    source = (await paused(host, SOURCE))["session_id"]
    target = (await paused(host, TARGET))["session_id"]
    exported = (await host.ok("alc_vars_export", session_id=source))["variables"]
    before = await host.ok("alc_vars_export", session_id=target)

    bad = [
        {"name": "fine", "type": "integer", "value": 3},
        {"name": "rounds", "type": "integer", "value": 50, "constraints": {"min": 1, "max": 10}},
    ]
    error = await host.error("alc_vars_import", session_id=target, variables=bad)
    assert "import rejected, nothing changed" in error
    assert "record 1: variable 'rounds' value 50 is above maximum 10" in error
    assert await host.ok("alc_vars_export", session_id=target) == before

    clash = [*exported, {"name": "own", "type": "integer", "value": 2}]
    error = await host.error("alc_vars_import", session_id=target, variables=clash)
    assert "record 3: variable 'own' is already defined" in error
    assert await host.ok("alc_vars_export", session_id=target) == before

    result = await host.ok("alc_continue", session_id=target, response="ok")
    assert result["status"] == "error"  # temperature was never imported
    assert "variable 'temperature' not found" in result["error"]


# ── presets (vars on alc_run / alc_advice) ────────────────────────────────────────────

PRESET_SCRIPT = """
alc.vars.define("temperature", "float", 0.7, {constraints = {min = 0.0, max = 2.0}})
alc.vars.define("style", "choice", "brief", {constraints = {choices = {"brief", "detailed"}}})
alc.vars.define("rounds", "integer", 3)
return {t = alc.vars.info("temperature"), style = alc.vars.get("style"), rounds = alc.vars.get("rounds")}
"""


async def test_valid_presets_are_used(host: Host) -> None:
    reply = await host.run(PRESET_SCRIPT, vars={"temperature": 1.25, "style": "detailed"})
    assert reply["status"] == "completed", reply
    result = reply["result"]
    assert (result["t"]["value"], result["t"]["version"]) == (1.25, 0)
    assert result["style"] == "detailed"
    assert result["rounds"] == 3  # no preset: the script's initial value


@pytest.mark.parametrize(
    ("preset", "message"),
    [
        ({"temperature": 5}, "variable 'temperature' value 5.0 is above maximum 2.0"),
        (
            {"style": "verbose"},
            "variable 'style' value 'verbose' is not one of the choices 'brief', 'detailed'",
        ),
        ({"rounds": "many"}, "variable 'rounds' must be an integer, got string"),
    ],
    ids=["constraint", "choice", "type"],
)
async def test_invalid_preset_is_a_clear_error(host: Host, preset: dict[str, Any], message: str) -> None:
    reply = await host.run(PRESET_SCRIPT, vars=preset)
    assert reply["status"] == "error", reply
    assert DEFINE + message + " (the value was preset by the host with vars)" in reply["error"]


LATE_DEFINE = """
alc.vars.define("early", "integer", 1)
alc.llm("q")
alc.vars.define("late", "integer", 1)
return {early = alc.vars.get("early"), late = alc.vars.get("late")}
"""


async def test_presets_survive_a_restart(tmp_path: Path) -> None:
    """A preset for a variable the script defines after a pause still applies when the
    session resumes on a new server (the presets are part of how the session started)."""
    config = config_for(tmp_path / "home")
    async with serve(config) as host:
        session_id = (await paused(host, LATE_DEFINE, vars={"early": 5, "late": 7}))["session_id"]
        uninterrupted = (await paused(host, LATE_DEFINE, vars={"early": 5, "late": 7}))["session_id"]
        assert await completed(host, uninterrupted) == {"early": 5, "late": 7}
    async with serve(config) as host:
        assert await completed(host, session_id) == {"early": 5, "late": 7}


async def test_presets_survive_hibernation(tmp_path: Path) -> None:
    async with serve(config_for(tmp_path / "home", max_live_sessions=1)) as host:
        first = (await paused(host, LATE_DEFINE, vars={"early": 5, "late": 7}))["session_id"]
        await paused(host, 'alc.llm("other")')  # hibernates the first session
        assert await is_dormant(host, first)
        assert await completed(host, first) == {"early": 5, "late": 7}


async def test_alc_advice_accepts_presets(host: Host) -> None:
    reply = await host.ok("alc_advice", strategy="cot", task="2 + 2?", vars={"unused": 1})
    assert reply["status"] == "needs_response", reply


# ── alc_status ───────────────────────────────────────────────────────────────────────


async def test_status_shows_count_and_names(host: Host) -> None:
    session_id = (await paused(host, TEMPS + 'alc.llm("ready")'))["session_id"]
    status = await host.ok("alc_status", session_id=session_id)
    assert status["variables"] == {"count": 3, "names": ["temp_cpu", "temp_gpu", "memory"]}
    listing = await host.ok("alc_status")
    (snap,) = [s for s in listing["sessions"] if s["session_id"] == session_id]
    assert snap["variables"] == {"count": 3, "names": ["temp_cpu", "temp_gpu", "memory"]}
    empty = (await paused(host, 'alc.llm("ready")'))["session_id"]
    assert (await host.ok("alc_status", session_id=empty))["variables"] == {"count": 0, "names": []}


# ── when the host may change variables ───────────────────────────────────────────────

BUSY = """
alc.vars.define("knob", "integer", 1)
alc.llm("go")
local x = 0
for i = 1, 1e12 do x = x + i end
return x
"""


async def test_host_changes_refused_while_running(tmp_path: Path) -> None:
    async with serve(config_for(tmp_path / "home", limits=LONG_LIMITS)) as host:
        session_id = (await paused(host, BUSY))["session_id"]
        finished: dict[str, Any] = {}

        async def resume() -> None:
            finished.update(await host.ok("alc_continue", session_id=session_id, response="go"))

        async def running() -> bool:
            return (await host.ok("alc_status", session_id=session_id))["state"] == "running"

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(resume)
            await wait_until(running, "the script runs its loop")
            for tool, arguments in [
                ("alc_vars_set", {"updates": {"knob": 2}}),
                ("alc_vars_set", {"updates": {"knob": 2}, "atomic": True}),
                ("alc_vars_delete", {"names": ["knob"]}),
                ("alc_vars_import", {"variables": [{"name": "other", "type": "integer", "value": 1}]}),
            ]:
                error = await host.error(tool, session_id=session_id, **arguments)
                assert f"session '{session_id}' {RUNNING}" in error, (tool, error)
            # Reading stays possible, and nothing changed.
            knob = (await variables(host, session_id))["knob"]
            assert (knob["value"], knob["version"]) == (1, 0)
            assert (await host.ok("alc_status", session_id=session_id))["variables"]["names"] == ["knob"]
            cancelled = await host.ok("alc_cancel", session_id=session_id)
            assert cancelled["status"] == "cancelled", cancelled
        assert finished["status"] == "cancelled", finished


HIBERNATING = """
alc.vars.define("rounds", "integer", 2, {constraints = {min = 1, max = 10}})
alc.vars.define("style", "choice", "brief", {constraints = {choices = {"brief", "detailed"}}})
alc.llm("ready")
return {rounds = alc.vars.info("rounds"), style = alc.vars.get("style"), has_style = alc.vars.has("style")}
"""


async def is_dormant(host: Host, session_id: str) -> bool:
    return (await host.ok("alc_status", session_id=session_id))["live"] is False


async def test_host_changes_allowed_on_idle_hibernated_session(tmp_path: Path) -> None:
    config = config_for(tmp_path / "home", hibernate_after_seconds=0.05, reap_interval_seconds=0.05)
    async with serve(config) as host:
        session_id = (await paused(host, HIBERNATING))["session_id"]
        await wait_until(lambda: is_dormant(host, session_id), "the session hibernates")
        reply = await host.ok("alc_vars_set", session_id=session_id, updates={"rounds": 7}, reason="more")
        assert reply == {"status": "applied", "results": {"rounds": {"version": 1}}}
        refused = await host.ok("alc_vars_set", session_id=session_id, updates={"rounds": 70})
        assert refused["status"] == "rejected"
        status = await host.ok("alc_status", session_id=session_id)
        assert status["live"] is False
        assert status["variables"] == {"count": 2, "names": ["rounds", "style"]}
        assert (await variables(host, session_id))["rounds"]["value"] == 7
        seen = await completed(host, session_id)
        assert (seen["rounds"]["value"], seen["rounds"]["version"]) == (7, 1)
        assert seen["rounds"]["metadata"] == {"source": "host", "reason": "more"}
        assert seen["style"] == "brief"


async def test_host_changes_allowed_on_session_hibernated_by_the_live_cap(tmp_path: Path) -> None:
    async with serve(config_for(tmp_path / "home", max_live_sessions=1)) as host:
        first = (await paused(host, HIBERNATING))["session_id"]
        second = (await paused(host, HIBERNATING))["session_id"]
        assert await is_dormant(host, first)
        await host.ok("alc_vars_set", session_id=first, updates={"style": "detailed"})
        deleted = await host.ok("alc_vars_delete", session_id=first, names=["rounds"])
        assert deleted == {"deleted": ["rounds"], "missing": []}
        await host.ok(
            "alc_vars_import",
            session_id=first,
            variables=[{"name": "extra", "type": "boolean", "value": True}],
        )
        assert (await host.ok("alc_status", session_id=first))["variables"] == {
            "count": 2,
            "names": ["style", "extra"],
        }
        reply = await host.ok("alc_continue", session_id=first, response="ok")
        assert reply["status"] == "error"  # the script reads "rounds", which the host deleted
        assert "variable 'rounds' not found" in reply["error"]
        # The other session (now hibernated in its turn) kept its own values.
        seen = await completed(host, second)
        assert (seen["rounds"]["value"], seen["style"], seen["has_style"]) == (2, "brief", True)
