"""The service on PostgreSQL, in-process: configuration, start-up errors, hand-over
between two services (two workers) on one database, and a database that goes away
mid-session and comes back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from alc_mcp.app import SessionService, StartupError
from alc_mcp.config import Config, ConfigError
from tests.conftest import EngineHost
from tests.postgres import PgServer

pytestmark = pytest.mark.anyio

ASK_TWICE = "local a = alc.llm('one') local b = alc.llm('two') return a .. '+' .. b"


@asynccontextmanager
async def worker(config: Config, url: str, name: str, **changes: object) -> AsyncIterator[EngineHost]:
    worker_config = replace(config, home=config.home / name, database_url=url, **changes)  # type: ignore[arg-type]
    async with SessionService.open(worker_config).running() as service:
        yield EngineHost(service)


def test_alc_database_url_is_read_and_checked() -> None:
    assert Config.from_env({}).database_url is None
    url = "postgresql://alc@db.internal:5432/alc"
    assert Config.from_env({"ALC_DATABASE_URL": f" {url} "}).database_url == url
    with pytest.raises(ConfigError, match="ALC_DATABASE_URL must be a postgresql:// URL") as refused:
        Config.from_env({"ALC_DATABASE_URL": "mysql://alc:pw@db/alc"})
    assert "pw" not in str(refused.value)
    assert Config.from_env({"ALC_HANDOVER_SECONDS": "0.5"}).handover_seconds == 0.5


def test_an_unreachable_database_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALC_")}
    env.update(ALC_HOME=str(tmp_path / "home"), ALC_DATABASE_URL="postgresql://alc:pw@127.0.0.1:1/alc")
    done = subprocess.run(
        [sys.executable, "-m", "alc_mcp.cli", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "ALC_DATABASE_URL=postgresql://alc:***@127.0.0.1:1/alc" in done.stderr
    assert "check that the server runs" in done.stderr


def test_open_raises_a_startup_error_in_process(config: Config) -> None:
    with pytest.raises(StartupError, match="ALC_DATABASE_URL"):
        SessionService.open(replace(config, database_url="postgresql://alc@127.0.0.1:1/alc"))


async def test_the_owner_hands_a_paused_session_over_and_gets_it_back(config: Config, pg_url: str) -> None:
    async with worker(config, pg_url, "a") as a, worker(config, pg_url, "b") as b:
        started = await a.run(ASK_TWICE)
        session_id = started["session_id"]
        info_a = await a.ok("alc_info")
        owner = (await b.ok("alc_status", session_id=session_id))["owner"]
        assert {key: owner[key] for key in ("owner", "host", "pid")} == info_a["worker"]

        second = await b.ok("alc_continue", session_id=session_id, response="1")  # a lets go
        assert second["prompt"] == "two"
        (listed,) = (await a.ok("alc_status"))["sessions"]
        assert listed["owner"]["owner"] == (await b.ok("alc_info"))["worker"]["owner"] != owner["owner"]
        assert (await a.ok("alc_status", session_id=session_id))["live"] is False
        done = await a.ok("alc_continue", session_id=session_id, response="2")  # and back

    assert done["result"] == "1+2"
    assert info_a["durability"]["backend"] == "postgresql"


BUSY = """
local x = alc.llm('go')
local t = os.clock()
while os.clock() - t < 1.5 do end
return alc.llm('again')
"""


async def test_an_owner_that_cannot_let_go_in_time_gets_the_old_refusal(config: Config, pg_url: str) -> None:
    async with worker(config, pg_url, "a") as a, worker(config, pg_url, "b", handover_seconds=0.3) as b:
        started = await a.run(BUSY)
        session_id = started["session_id"]
        async with _running(a, session_id):  # a is inside the 1.5 s loop: no safe point to let go
            message = await b.error("alc_continue", session_id=session_id, response="late")
        assert f"session '{session_id}' is live in another alc-mcp process (pid {os.getpid()})" in message
        # Once a's run reached its next pause it let go, as it was asked to.
        again = await b.ok("alc_continue", session_id=session_id, response="now")
    assert again["status"] == "completed" and again["result"] == "now"


@asynccontextmanager
async def _running(host: EngineHost, session_id: str) -> AsyncIterator[None]:
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(partial(host.ok, "alc_continue", session_id=session_id, response="x"))
        await anyio.sleep(0.2)
        yield


async def test_a_database_that_goes_away_mid_session_loses_no_acknowledged_answer(
    config: Config, pg_server: PgServer
) -> None:
    url = pg_server.database()
    name = url.split("/")[3].split("?")[0]
    three = "return alc.llm('a') .. alc.llm('b') .. alc.llm('c')"
    async with worker(config, url, "a", db_busy_timeout_ms=500) as a:
        reply = await a.run(three)
        session_id = reply["session_id"]
        await a.ok("alc_continue", session_id=session_id, response="A")  # acknowledged
        with psycopg.connect(pg_server.uri, autocommit=True) as admin:  # the database goes away
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(_TERMINATE, (name,))

            refused = await a.error("alc_continue", session_id=session_id, response="B")
            status_while_down = await a.call("alc_status", session_id=session_id)

            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # and comes back
        status = await _once_back(a, "alc_status", session_id=session_id)
        retried = await a.ok("alc_continue", session_id=session_id, response="B")
        done = await a.ok("alc_continue", session_id=session_id, response="C")
    async with worker(config, url, "fresh") as fresh:  # the journal has every answer
        log = await fresh.ok("alc_log_view", session_id=session_id)

    assert "could not save the answer" in refused and "Nothing was applied" in refused
    assert "PostgreSQL database" in refused
    assert status_while_down.is_error or status_while_down.json["pending_queries"] == 1
    assert status["phase"] == "paused" and status["pending_queries"] == 1  # still on 'b'; nothing lost
    assert retried["prompt"] == "c"
    assert done["result"] == "ABC"
    assert [q["response"] for q in log["queries"]] == ["A", "B", "C"]


async def _once_back(host: EngineHost, tool: str, **arguments: object) -> Any:
    """The first successful result, retrying while the pool reconnects (it backs off)."""
    for _ in range(100):
        result = await host.call(tool, **arguments)
        if not result.is_error:
            return result.json
        assert "the session store is unavailable" in result.text, result.text
        await anyio.sleep(0.1)
    raise AssertionError(f"{tool} still failing after the database came back: {result.text}")


_TERMINATE = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"


async def test_a_lease_of_another_host_is_not_judged_by_its_pid_and_expires(
    config: Config, pg_url: str
) -> None:
    dead_pid = subprocess.Popen(["true"])  # a pid that no longer exists
    dead_pid.wait()
    async with worker(config, pg_url, "a", handover_seconds=0.3) as a:
        reply = await a.run(ASK_TWICE)
        session_id = reply["session_id"]
    # As if a worker on another machine held it, with a pid that is dead *here*.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO leases (session_id, owner, pid, token, heartbeat) VALUES (%s, %s, %s, 7, %s)"
            " ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid,"
            " heartbeat = excluded.heartbeat",
            (session_id, "elsewhere.example/0123", dead_pid.pid, 2**62),
        )
        async with worker(config, pg_url, "b", handover_seconds=0.3) as b:
            refused = await b.error("alc_continue", session_id=session_id, response="1")
            conn.execute("UPDATE leases SET heartbeat = 0 WHERE session_id = %s", (session_id,))  # expired
            taken = await b.ok("alc_continue", session_id=session_id, response="1")

    assert f"is live in another alc-mcp process (pid {dead_pid.pid})" in refused
    assert taken["prompt"] == "two"
