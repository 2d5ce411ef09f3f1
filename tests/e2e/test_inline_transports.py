"""Inline answering over real stdio and HTTP servers (JSON-RPC on the wire, not the
in-process shortcut): MRTR on 2026-07-28, sampling requests on 2025-11-25, Tasks, and a request
state sealed by one process under ``ALC_REQUEST_STATE_KEY`` and used by another."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import CreateMessageRequestParams, CreateMessageResult, InputRequiredResult, TextContent

from tests.conftest import TEST_LIMITS
from tests.server.test_code_file_roots import http_server
from tests.server.test_tasks import TasksClient

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

THREE_PAUSES = """
local a = alc.llm("first")
local b = alc.llm_batch({{prompt = "x"}, {prompt = "y"}})
return a .. b[1] .. b[2] .. alc.llm("third")
"""

KEY = "s3cret-" * 6


def params(home: Path, **env: str) -> StdioServerParameters:
    full = {**os.environ, "ALC_HOME": str(home), "ALC_MAX_MEMORY_MB": str(TEST_LIMITS.max_memory_mb), **env}
    return StdioServerParameters(command=sys.executable, args=["-m", "alc_mcp.cli"], env=full)


async def model(_context: Any, request: CreateMessageRequestParams) -> CreateMessageResult:
    content = request.messages[0].content
    assert isinstance(content, TextContent)
    return CreateMessageResult(role="assistant", content=TextContent(text=f"<{content.text}>"), model="m")


def text_of(result: Any) -> Any:
    return orjson.loads(result.content[0].text)


async def test_each_path_completes_the_script_in_one_call_over_stdio(tmp_path: Path) -> None:
    for mode, protocol in (("auto", "2026-07-28"), ("legacy", "2025-11-25")):
        async with Client(params(tmp_path), sampling_callback=model, mode=mode) as client:  # type: ignore[arg-type]
            assert client.protocol_version == protocol
            done = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
            assert done["result"] == "<first><x><y><third>", protocol
    async with Client(params(tmp_path), extensions=[TasksClient()]) as client:
        done = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
    assert done["result"] == "<first><x><y><third>"
    async with Client(params(tmp_path, ALC_SAMPLING="off"), sampling_callback=model) as client:  # type: ignore[arg-type]
        assert (
            text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))["status"] == "needs_response"
        )


async def test_a_fleet_shares_the_request_state_key(tmp_path: Path) -> None:
    async with Client(params(tmp_path, ALC_REQUEST_STATE_KEY=KEY), sampling_callback=model) as first:  # type: ignore[arg-type]
        asked = await first.session.call_tool("alc_run", {"code": THREE_PAUSES}, allow_input_required=True)
    assert isinstance(asked, InputRequiredResult) and asked.input_requests is not None
    retry: dict[str, Any] = {
        "input_responses": {key: await model(None, r.params) for key, r in asked.input_requests.items()},  # type: ignore[union-attr]
        "request_state": asked.request_state,
        "allow_input_required": True,
    }
    async with Client(params(tmp_path), sampling_callback=model) as stranger:  # type: ignore[arg-type]
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await stranger.session.call_tool("alc_run", {"code": THREE_PAUSES}, **retry)
    async with Client(params(tmp_path, ALC_REQUEST_STATE_KEY=KEY), sampling_callback=model) as peer:  # type: ignore[arg-type]
        moved = await peer.session.call_tool("alc_run", {"code": THREE_PAUSES}, **retry)
        assert isinstance(moved, InputRequiredResult)
        assert list(moved.input_requests or {}) == ["p1-q-0", "p1-q-1"]


async def test_each_path_completes_the_script_in_one_call_over_http(tmp_path: Path) -> None:
    with http_server(tmp_path) as url:
        async with Client(url, sampling_callback=model, mode="auto") as client:  # type: ignore[arg-type]
            assert client.protocol_version == "2026-07-28"
            done = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
            assert done["result"] == "<first><x><y><third>"
        # Stateless HTTP (serve --http) has no stream for a request from the server in
        # the middle of a call, so 2025-11-25 sampling falls back to today's answer: the
        # session is paused, nothing is lost, and alc_continue goes on.
        async with Client(url, sampling_callback=model, mode="legacy") as client:  # type: ignore[arg-type]
            assert client.protocol_version == "2025-11-25"
            paused = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
            assert paused["status"] == "needs_response" and paused["prompt"] == "first"
            after = text_of(
                await client.call_tool("alc_continue", {"session_id": paused["session_id"], "response": "a"})
            )
            assert after["status"] == "needs_response" and after["session_id"] == paused["session_id"]
