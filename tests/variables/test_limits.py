"""The per-variable size limit and the per-session count limit (ALC_MAX_VARIABLE_BYTES,
ALC_MAX_VARIABLES) hold at every boundary: the script's defines and sets, and the host's
sets and imports, on live and on hibernated sessions alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from alc_mcp.config import Limits
from tests.conftest import TEST_LIMITS, Host
from tests.durable.support import serve, wait_until
from tests.variables.support import DEFINE, SET, config_for, paused, variables

pytestmark = pytest.mark.anyio

MAX_VARIABLES = 3
MAX_BYTES = 64
LIMITS = Limits(
    max_memory_mb=TEST_LIMITS.max_memory_mb,
    max_instructions=TEST_LIMITS.max_instructions,
    max_run_seconds=TEST_LIMITS.max_run_seconds,
    max_variables=MAX_VARIABLES,
    max_variable_bytes=MAX_BYTES,
)
BIG = "z" * 100  # 102 bytes as JSON

SIZE_ERROR = (
    "variable 'a' value is 102 bytes as JSON, over the limit of 64 bytes per variable; "
    "store less or raise ALC_MAX_VARIABLE_BYTES"
)


async def test_script_limits(tmp_path: Path) -> None:
    async with serve(config_for(tmp_path / "home", limits=LIMITS)) as host:
        reply = await host.run(
            f"""
            alc.vars.define("a", "string", "x")
            local ok1, big_define = pcall(alc.vars.define, "big", "string", "{BIG}")
            local ok2, big_set = pcall(alc.vars.set, "a", "{BIG}")
            alc.vars.define("b", "integer", 1)
            alc.vars.define("c", "integer", 2)
            local ok3, fourth = pcall(alc.vars.define, "d", "integer", 3)
            return {{big_define = big_define, big_set = big_set, fourth = fourth, a = alc.vars.info("a")}}
            """
        )
    result = reply["result"]
    assert result["big_define"] == DEFINE + SIZE_ERROR.replace("'a'", "'big'")
    assert result["big_set"] == SET + SIZE_ERROR
    assert result["fourth"] == DEFINE + (
        "cannot define variable 'd': the session already has 3 variables, the limit; "
        "delete some or raise ALC_MAX_VARIABLES (now 3)"
    )
    assert (result["a"]["value"], result["a"]["version"]) == ("x", 0)


@pytest.mark.parametrize("hibernated", [False, True], ids=["live", "hibernated"])
async def test_host_limits(tmp_path: Path, hibernated: bool) -> None:
    extra = {"hibernate_after_seconds": 0.05, "reap_interval_seconds": 0.02} if hibernated else {}
    async with serve(config_for(tmp_path / "home", limits=LIMITS, **extra)) as host:
        session_id = (
            await paused(host, 'alc.vars.define("a", "string", "x") alc.llm("q") return alc.vars.list()')
        )["session_id"]
        if hibernated:

            async def dormant() -> bool:
                return (await host.ok("alc_status", session_id=session_id))["live"] is False

            await wait_until(dormant, "the session hibernates")

        too_big = await host.ok("alc_vars_set", session_id=session_id, updates={"a": BIG})
        assert too_big == {"status": "rejected", "results": {"a": {"error": SIZE_ERROR}}}, (
            f"the host stored a {len(BIG) + 2}-byte value over the {MAX_BYTES}-byte limit: {too_big}"
        )

        records = [{"name": f"v{i}", "type": "integer", "value": i} for i in range(3)]
        error = await host.error("alc_vars_import", session_id=session_id, variables=records)
        assert (
            "import rejected, nothing changed: 3 variables would make 4, over the limit of 3 per session; "
            "import fewer or raise ALC_MAX_VARIABLES"
        ) in error

        listed = await variables(host, session_id)
        assert list(listed) == ["a"]
        assert (listed["a"]["value"], listed["a"]["version"]) == ("x", 0)
        done = await host.ok("alc_continue", session_id=session_id, response="ok")
        assert done["status"] == "completed", done
        assert [(r["name"], r["value"]) for r in done["result"]] == [("a", "x")]


async def test_limits_hold_for_a_session_revived_after_restart(tmp_path: Path) -> None:
    config = config_for(tmp_path / "home", limits=LIMITS)
    code = f"""
    alc.vars.define("a", "string", "x")
    alc.llm("q")
    local ok, err = pcall(alc.vars.set, "a", "{BIG}")
    return err
    """
    async with serve(config) as host:
        session_id = (await paused(host, code))["session_id"]
    async with serve(config) as host:
        assert await completed_result(host, session_id) == SET + SIZE_ERROR


async def completed_result(host: Host, session_id: str) -> object:
    reply = await host.ok("alc_continue", session_id=session_id, response="ok")
    assert reply["status"] == "completed", reply
    return reply["result"]
