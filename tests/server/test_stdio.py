"""The real server as a subprocess over stdio, the way MCP hosts start it.

stdout is the transport: anything a script prints must not reach it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import Host

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


class StdioHost(Host):
    """A host that also records every transport fault (e.g. a stdout line that is not
    JSON-RPC): the client only logs those and carries on, so they must be checked."""

    def __init__(self, client: Client, faults: list[Exception]) -> None:
        super().__init__(client)
        self.faults = faults


def server_params(tmp_path: Path, args: list[str]) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=args,
        env={
            "ALC_HOME": str(tmp_path / "alc-home"),
            "ALC_MAX_MEMORY_MB": "64",
            "ALC_MAX_INSTRUCTIONS": "20000000",
            "ALC_MAX_RUN_SECONDS": "10",
        },
        cwd=tmp_path,
    )


@asynccontextmanager
async def connect(params: StdioServerParameters) -> AsyncIterator[StdioHost]:
    faults: list[Exception] = []

    async def record(message: object) -> None:
        if isinstance(message, Exception):
            faults.append(message)

    async with Client(params, message_handler=record) as client:
        yield StdioHost(client, faults)


@pytest.fixture
async def stdio_host(tmp_path: Path) -> AsyncIterator[StdioHost]:
    async with connect(server_params(tmp_path, ["-m", "alc_mcp.cli"])) as host:
        yield host
        await anyio.sleep(0.1)  # let any late fault reach the handler
        assert host.faults == []


async def test_full_loop_over_stdio(stdio_host: StdioHost, tmp_path: Path) -> None:
    host = stdio_host
    info = await host.ok("alc_info")
    assert info["paths"]["home"] == str(tmp_path / "alc-home")
    assert info["limits"]["ALC_MAX_INSTRUCTIONS"] == 20_000_000

    paused = await host.run("return alc.llm('What is 2+2?')")
    assert paused["status"] == "needs_response"
    assert (paused["query_id"], paused["prompt"], paused["system"], paused["max_tokens"]) == (
        "q-0",
        "What is 2+2?",
        None,
        1024,
    )
    listing = await host.ok("alc_status")
    assert listing["active_sessions"] == 1

    done = await host.ok("alc_continue", session_id=paused["session_id"], response='{"verdict": "yes"}')
    assert done["status"] == "completed"
    assert done["result"] == '{"verdict": "yes"}'
    assert done["stats"]["auto"]["rounds"] == 1
    assert (await host.call("alc_status")).text == '{"active_sessions":0,"sessions":[]}'


async def test_print_and_io_write_leave_the_transport_usable(stdio_host: StdioHost) -> None:
    host = stdio_host
    code = """
    print("x")
    io.write("y")
    io.stdout:write("z\\n")
    io.stderr:write("e\\n")
    return 42
    """
    reply = await host.run(code)
    assert reply["status"] == "completed"
    assert reply["result"] == 42
    follow_up = await host.run("return 99")
    assert follow_up["result"] == 99
    await anyio.sleep(0.1)
    assert host.faults == [], "the script's output reached the transport"


async def test_the_fault_detector_sees_stray_stdout(tmp_path: Path) -> None:
    """Control: a server that writes one stray line to stdout is caught by ``faults``,
    so the checks above would notice a script's print reaching the transport."""
    noisy = ["-c", "print('stray', flush=True); from alc_mcp.cli import main; raise SystemExit(main())"]
    async with connect(server_params(tmp_path, noisy)) as host:
        assert (await host.run("return 99"))["result"] == 99
        with anyio.fail_after(5):
            while not host.faults:
                await anyio.sleep(0.01)


async def test_script_output_goes_to_the_session_log_over_stdio(stdio_host: StdioHost) -> None:
    host = stdio_host
    paused = await host.run("print('x') io.write('y') return alc.llm('q')")
    snap = await host.ok("alc_status", session_id=paused["session_id"])
    assert [e["message"] for e in snap["metrics"]["recent_logs"]] == ["x", "y"]
    done = await host.ok("alc_continue", session_id=paused["session_id"], response="a")
    assert done["result"] == "a"
    assert (await host.run("return 99"))["result"] == 99


async def test_lua_error_over_stdio(stdio_host: StdioHost) -> None:
    result = await stdio_host.call("alc_run", code="error('intentional test error')")
    assert not result.is_error
    assert result.json["status"] == "error"
    assert "intentional test error" in result.json["error"]
    message = await stdio_host.error("alc_continue", session_id="s-nope", response="x")
    assert "not found" in message
