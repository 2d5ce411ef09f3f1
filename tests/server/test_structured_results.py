"""Structured results: every tool declares an ``outputSchema`` and answers
``structuredContent`` that validates against it, while its text block stays the JSON
hosts compare byte for byte; and every tool's annotations say what it does.

One tour calls every tool through a real client, on both protocol versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp_types import CallToolResult, Tool

from alc_mcp.config import Config
from alc_mcp.domain.jsonfmt import dumps_compact, dumps_pretty
from alc_mcp.server.app import build_server
from tests.conftest import TEST_LIMITS

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent.parent / "fixtures" / "collection"

#: The tools whose text is pretty JSON (status snapshots, transcripts, info); the rest
#: answer compact JSON, as algocline does.
PRETTY = {"alc_status", "alc_log_view", "alc_info"}

SCRIPT = """
alc.progress(1, 2, "asking")
alc.log("info", "hello")
alc.vars.define("temperature", "float", 0.5)
local one = alc.llm("first?")
local many = alc.llm_batch({{prompt = "a?"}, {prompt = "b?"}})
return {one = one, many = many}
"""

SCENARIO = """return {name = "sum", graders = {"exact_match"},
  cases = {{input = "1+1", expected = "2"}, {input = "2+2", expected = "4"}}}"""


class Tour:
    """Calls tools and keeps, per tool, every result it answered."""

    def __init__(self, client: Client, tools: dict[str, Tool]) -> None:
        self.client = client
        self.tools = tools
        self.results: dict[str, list[CallToolResult]] = {}

    async def call(self, tool: str, **arguments: Any) -> Any:
        result = await self.client.call_tool(tool, arguments)
        assert not result.is_error, (tool, result.content)
        self.results.setdefault(tool, []).append(result)
        assert result.structured_content is not None, tool
        return result.structured_content

    async def answer_all(self, reply: dict[str, Any]) -> dict[str, Any]:
        while reply["status"] == "needs_response":
            queries = reply.get("queries") or [{"id": reply["query_id"]}]
            reply = await self.call(
                "alc_continue",
                session_id=reply["session_id"],
                responses=[{"query_id": q["id"], "response": "2"} for q in queries],
            )
        return reply


#: One passing and one failing lust test, so the report carries both shapes.
SPEC = """
local lust = require("lust")
lust.describe("sums", function()
  lust.it("adds", function() lust.expect(1 + 1).to.equal(2) end)
  lust.it("fails", function() lust.expect(1 + 1).to.equal(3) end)
end)
"""


async def tour(client: Client) -> Tour:
    """Every tool at least once, on the paths a host takes most."""
    t = Tour(client, {tool.name: tool for tool in (await client.list_tools()).tools})
    await t.call("alc_status")  # no session yet: compact
    paused = await t.call("alc_run", code=SCRIPT)
    session = paused["session_id"]
    await t.call("alc_status")
    await t.call("alc_status", session_id=session, pending_filter="full")
    await t.call("alc_vars_list", session_id=session)
    await t.call("alc_vars_get", session_id=session, names=["temperature", "nothing"])
    await t.call("alc_vars_set", session_id=session, updates={"temperature": 0.7})
    exported = await t.call("alc_vars_export", session_id=session)
    await t.call("alc_vars_import", session_id=session, variables=exported["variables"], replace=True)
    await t.call("alc_vars_delete", session_id=session, names=["temperature"])
    batch = await t.call("alc_continue", session_id=session, response="one")
    first, second = (q["id"] for q in batch["queries"])
    await t.call("alc_continue", session_id=session, query_id=first, response="a")  # accepted
    await t.call("alc_continue", session_id=session, query_id=second, response="b")  # completed
    await t.call("alc_log_view")
    await t.call("alc_log_view", session_id=session)
    await t.call("alc_note", session_id=session, content="fine", title="overall")
    await t.call("alc_stats")
    await t.call("alc_rewind", session_id=session, query_index=0)
    await t.call("alc_cancel", session_id=session)
    await t.call("alc_log_delete", session_id=session)
    await t.call("alc_run", code="error('boom')")
    await t.call("alc_advice", strategy="cot", task="2+2?")

    await t.call("alc_pkg_install", url=str(FIXTURES / "fx_util"))
    await t.call("alc_pkg_list")
    await t.call("alc_pkg_remove", name="fx_util")
    tested = await t.call("alc_pkg_test", code=SPEC)
    assert tested["ok"] is False and tested["summary"]["failed"] == 1, tested
    await t.call("alc_info")

    await t.call("alc_scenario_install", source=SCENARIO, name="sum")
    await t.call("alc_scenario_list")
    await t.call("alc_scenario_show", name="sum")
    done = await t.answer_all(await t.call("alc_eval", strategy="cot", scenario_name="sum", repeats=2))
    assert done["status"] == "completed"
    (evaluation,) = (await t.call("alc_eval_history"))["evals"]
    await t.call("alc_eval_detail", eval_id=evaluation["eval_id"])
    (card,) = (await t.call("alc_card_list"))["cards"]
    await t.call("alc_card_get", card_id=card["card_id"])
    await t.call("alc_card_find", where={"strategy.name": "cot"})
    await t.call("alc_card_alias_set", alias="baseline", card_id=card["card_id"])
    await t.call("alc_card_alias_list")
    await t.call("alc_card_get_by_alias", alias="baseline")
    await t.call("alc_eval_compare", a="baseline", b=card["card_id"])
    return t


@pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025-11-25", "2026-07-28"])
async def test_every_tool_answers_structured_content_its_schema_accepts(tmp_path: Path, mode: str) -> None:
    config = Config(home=tmp_path / "alc-home", limits=TEST_LIMITS)
    async with Client(build_server(config), mode=mode) as client:  # type: ignore[arg-type]
        t = await tour(client)
    assert set(t.results) == set(t.tools), "the tour must call every tool"
    statuses = {r.structured_content["status"] for r in t.results["alc_continue"] if r.structured_content}
    assert statuses == {"needs_response", "accepted", "completed"}
    for name, results in t.results.items():
        schema = t.tools[name].output_schema
        assert schema is not None and schema.get("type") == "object", name
        jsonschema.Draft202012Validator.check_schema(schema)
        for result in results:
            jsonschema.validate(result.structured_content, schema, cls=jsonschema.Draft202012Validator)
            (block,) = result.content
            text = block.text  # type: ignore[union-attr]
            dumps = dumps_pretty if name in PRETTY and text.startswith("{\n") else dumps_compact
            assert text == dumps(result.structured_content), name


async def test_a_schema_refuses_what_a_tool_never_answers(tmp_path: Path) -> None:
    """The schemas say something: a FeedResult without its status, or a needs_response
    without the session to continue, is refused."""
    config = Config(home=tmp_path / "alc-home", limits=TEST_LIMITS)
    async with Client(build_server(config)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    feed = tools["alc_continue"].output_schema
    assert feed is not None
    jsonschema.validate({"status": "accepted", "remaining": 1}, feed)
    for wrong in (
        {"remaining": 1},
        {"status": "finished"},
        {"status": "needs_response", "query_id": "q-0", "prompt": "p", "system": None, "max_tokens": 9},
        {"status": "completed", "result": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, feed)
    evaluation = tools["alc_eval"].output_schema
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"status": "accepted", "remaining": 1}, evaluation)  # no eval_id


READ_ONLY = {
    "alc_status", "alc_log_view", "alc_stats", "alc_pkg_list", "alc_pkg_test", "alc_info", "alc_vars_list",
    "alc_vars_get",
    "alc_vars_export", "alc_eval_history", "alc_eval_detail", "alc_eval_compare", "alc_scenario_list",
    "alc_scenario_show", "alc_card_list", "alc_card_get", "alc_card_find", "alc_card_alias_list",
    "alc_card_get_by_alias",
}  # fmt: skip
DESTRUCTIVE = {
    "alc_cancel", "alc_rewind", "alc_log_delete", "alc_pkg_install", "alc_pkg_remove", "alc_vars_set",
    "alc_vars_delete", "alc_vars_import", "alc_scenario_install", "alc_card_alias_set",
}  # fmt: skip


async def test_every_tool_has_a_title_and_complete_true_annotations(tmp_path: Path) -> None:
    config = Config(home=tmp_path / "alc-home", limits=TEST_LIMITS)
    async with Client(build_server(config)) as client:
        tools = (await client.list_tools()).tools
    titles = set()
    for tool in tools:
        hints = tool.annotations
        assert tool.title and hints is not None, tool.name
        titles.add(tool.title)
        assert None not in (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        ), tool.name
        assert hints.read_only_hint is (tool.name in READ_ONLY), tool.name
        assert hints.destructive_hint is (tool.name in DESTRUCTIVE), tool.name
        if hints.read_only_hint:
            assert hints.idempotent_hint, tool.name
        # Only installing a package may reach the network (a git URL).
        assert hints.open_world_hint is (tool.name == "alc_pkg_install"), tool.name
    assert len(titles) == len(tools), "every title tells its tool apart"
