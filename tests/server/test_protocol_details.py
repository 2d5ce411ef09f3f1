"""Protocol details a client notices: the code of a missing resource, prompt defaults
written as JSON, and a table raised with error() kept as JSON in the error result."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS, Host

pytestmark = pytest.mark.anyio


def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_server(Config(home=tmp_path / "alc-home", limits=TEST_LIMITS))


@pytest.mark.parametrize("uri", ["alc://strategies/no_such_strategy", "alc://strategies/no_such/meta"])
async def test_a_missing_strategy_resource_is_resource_not_found(tmp_path: Path, uri: str) -> None:
    # -32002 is "Resource not found" up to 2025-11-25 (the initialize handshake) ...
    async with Client(server(tmp_path), mode="legacy") as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(uri)
        assert raised.value.error.code == -32002
        assert "no_such" in raised.value.error.message
    # ... and -32602 from 2026-07-28 on (SEP-2164); never -32603, an internal error.
    async with Client(server(tmp_path)) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(uri)
        assert raised.value.error.code == -32602


async def test_a_uri_no_resource_matches_is_resource_not_found(tmp_path: Path) -> None:
    async with Client(server(tmp_path), mode="legacy") as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("alc://nothing/here")
        assert raised.value.error.code == -32002


async def test_prompt_defaults_are_json(tmp_path: Path) -> None:
    async with Client(server(tmp_path)) as client:
        text = (await client.get_prompt("rank", {"task": "t"})).messages[0].content.text  # type: ignore[union-attr]
        assert "- debias (default false):" in text
        assert '- criteria (default "correctness, completeness and clarity"):' in text
        text = (await client.get_prompt("panel", {"task": "t"})).messages[0].content.text  # type: ignore[union-attr]
        assert '- roles (default ["Domain expert","Skeptical critic","Pragmatic practitioner"]):' in text
        for name in ("cod", "distill", "factscore", "sc", "triad"):
            text = (await client.get_prompt(name, {"task": "t"})).messages[0].content.text  # type: ignore[union-attr]
            for python_value in ("default None", "default False", "default True", "default '", "default ['"):
                assert python_value not in text, (name, python_value)
        text = (await client.get_prompt("distill", {"task": "t"})).messages[0].content.text  # type: ignore[union-attr]
        assert "- text: The long text to read." in text  # no default: none shown


async def test_a_table_raised_as_an_error_is_kept_as_json(host: Host) -> None:
    reply = await host.run("error({code = 42})")
    assert reply["status"] == "error"
    assert reply["error"].startswith('lua error: {"code":42}\nstack traceback:')
    reply = await host.run("local x = alc.llm('q')\nerror({code = 7, why = x, list = {1, 2}})")
    done = await host.ok("alc_continue", session_id=reply["session_id"], response="because")
    assert 'lua error: {"code":7,"list":[1,2],"why":"because"}' in done["error"]


async def test_error_objects_that_are_not_json_still_say_what_they_are(host: Host) -> None:
    cyclic = await host.run("local t = {} t.self = t error(t)")
    assert "lua error: (error object is a table value)" in cyclic["error"]
    shown = await host.run("error(setmetatable({}, {__tostring = function() return 'custom' end}))")
    assert shown["error"].startswith("lua error: custom")
    caught = await host.run("local ok, e = pcall(error, {code = 1}) return e.code")
    assert caught["result"] == 1  # pcall still gets the table itself
