"""MCP resources and prompts: the types file, strategy source and meta, and one prompt
per bundled strategy telling the host model how to drive it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from alc_mcp.config import Config
from alc_mcp.engine.packages import bundled_strategies_dir
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS

pytestmark = pytest.mark.anyio

BUNDLED = sorted(p.name for p in bundled_strategies_dir().iterdir() if (p / "init.lua").is_file())


@pytest.fixture
async def client(tmp_path: Path) -> Client:
    async with Client(build_server(Config(home=tmp_path, limits=TEST_LIMITS))) as connected:
        yield connected


async def test_the_types_file_is_a_resource_and_its_path_is_in_alc_info(client: Client) -> None:
    listed = {str(r.uri) for r in (await client.list_resources()).resources}
    assert "alc://types/alc.d.lua" in listed
    text = (await client.read_resource("alc://types/alc.d.lua")).contents[0].text
    assert text.startswith("---@meta")
    assert "function alc.llm(" in text
    info = orjson.loads((await client.call_tool("alc_info", {})).content[0].text)
    assert Path(info["paths"]["types"]).read_text(encoding="utf-8") == text


async def test_strategy_source_and_meta_resources(client: Client) -> None:
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert {"alc://strategies/{name}", "alc://strategies/{name}/meta"} <= templates
    assert BUNDLED, "no bundled strategies found"
    for name in BUNDLED:
        source = (await client.read_resource(f"alc://strategies/{name}")).contents[0].text
        assert source == (bundled_strategies_dir() / name / "init.lua").read_text(encoding="utf-8")
        meta = orjson.loads((await client.read_resource(f"alc://strategies/{name}/meta")).contents[0].text)
        assert meta["name"] == name
        assert meta["version"] and meta["description"] and meta["category"]
        assert meta["paper"]["title"], f"{name} does not cite its paper"
        assert "task" in meta["inputs"]


async def test_unknown_strategy_resource_is_an_error_naming_the_places_searched(client: Client) -> None:
    with pytest.raises(MCPError) as raised:
        await client.read_resource("alc://strategies/no_such_strategy")
    assert "no_such_strategy" in str(raised.value)
    assert "no file" in str(raised.value)


async def test_one_prompt_per_bundled_strategy_that_teaches_the_loop(client: Client) -> None:
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert sorted(prompts) == BUNDLED
    for name in BUNDLED:
        assert prompts[name].description
        assert [a.name for a in prompts[name].arguments or []][:1] == ["task"]
    rendered = await client.get_prompt("sc", {"task": "What is 17 * 3?", "opts": '{"n": 3}'})
    text = rendered.messages[0].content.text  # type: ignore[union-attr]
    assert "What is 17 * 3?" in text
    assert 'alc_advice with strategy "sc"' in text
    assert '{"n": 3}' in text
    assert "alc_continue" in text and "needs_response" in text and '"completed"' in text
    assert "- n (default 5)" in text
