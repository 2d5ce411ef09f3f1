"""alc_eval end to end: a real MCP client plays a scripted host for an eval of `cot` on
the bundled factual scenario; the card, history, detail and resource follow."""

from __future__ import annotations

import orjson
import pytest

from tests.eval.support import FACTUAL, cot_reply, drive

pytestmark = pytest.mark.anyio


async def test_cot_on_factual_through_the_mcp_client(host):
    first = await host.ok("alc_eval", strategy="cot", scenario_name="factual", model="scripted-host")
    assert first["status"] == "needs_response", first
    assert first["eval_id"].startswith("ev-")
    card_id = first["card_id"]
    assert card_id.startswith("cot_scripted_host_")
    # Eight independent cases: all of their questions arrive together in one pause.
    assert len(first["queries"]) == 8

    final, pauses = await drive(host, first, cot_reply(FACTUAL, wrong={"Hamlet"}))
    assert pauses == 1
    assert final["status"] == "completed"
    report = final["result"]
    assert report["name"] == "cot:factual"
    assert report["card_id"] == card_id
    summary = report["summary"]
    assert summary["n"] == 8
    assert summary["passed"] == 7
    assert summary["pass_rate"] == pytest.approx(7 / 8)
    assert summary["pass@1"] == pytest.approx(7 / 8)
    assert summary["by_tag"]["literature"] == {"mean": 0.0, "pass_rate": 0.0, "passed": 0, "runs": 1}
    low, high = summary["ci_95"]
    assert low <= summary["mean"] <= high
    by_name = {c["name"]: c for c in report["cases"]}
    assert by_name["largest_planet"]["runs"][0]["output"] == "Jupiter"
    assert by_name["largest_planet"]["runs"][0]["score"] == 1.0
    # "The Nile" contains "Nile" (0.7) and equals "The Nile" exactly (0.3).
    assert by_name["longest_river_africa"]["runs"][0]["score"] == pytest.approx(1.0)
    assert by_name["author_hamlet"]["runs"][0]["passed"] is False

    card = await host.ok("alc_card_get", card_id=card_id)
    assert card["card_id"] == card_id
    assert card["strategy"]["name"] == "cot"
    assert card["strategy"]["version"] == "1.0.0"
    assert len(card["strategy"]["hash"]) == 16
    assert card["scenario"]["name"] == "factual"
    assert card["model"] == "scripted-host"
    assert card["summary"]["pass_rate"] == pytest.approx(7 / 8)
    assert len(card["scores"]) == 8
    assert card["usage"]["llm_calls"] == 8

    history = await host.ok("alc_eval_history")
    (entry,) = history["evals"]
    assert entry["status"] == "completed"
    assert entry["card_id"] == card_id
    assert entry["summary"]["passed"] == 7

    detail = await host.ok("alc_eval_detail", eval_id=first["eval_id"])
    assert detail["report"]["summary"] == summary

    listed = await host.ok("alc_card_list", strategy="cot")
    assert [c["card_id"] for c in listed["cards"]] == [card_id]

    resource = await host.client.read_resource(f"alc://cards/{card_id}")
    assert orjson.loads(resource.contents[0].text)["card_id"] == card_id


async def test_repeats_batch_and_pass_at_k(host):
    first = await host.ok("alc_eval", strategy="cot", scenario_name="factual", repeats=3, parallel=24)
    assert len(first["queries"]) == 24
    final, pauses = await drive(host, first, cot_reply(FACTUAL))
    assert pauses == 1
    summary = final["result"]["summary"]
    assert summary["n"] == 24
    assert summary["pass@3"] == 1.0
    assert summary["repeats"] == 3


async def test_inline_scenario_with_a_judge(host):
    scenario = """
local ef = require("evalframe")
return {
  name = "judged",
  ef.bind { ef.graders.contains, weight = 1 },
  ef.bind { ef.graders.yes_no("Is the answer correct?"), weight = 1 },
  cases = { ef.case "one" { input = "Largest planet?", expected = "Jupiter" } },
}
"""
    first = await host.ok("alc_eval", strategy="cot", scenario=scenario, auto_card=False)
    assert first["card_id"] is None

    def reply(prompt: str) -> str:
        return "yes" if "yes or no" in prompt else "Answer: Jupiter"

    final, pauses = await drive(host, first, reply)
    assert pauses == 2  # the strategy's question, then the judge's
    run = final["result"]["cases"][0]["runs"][0]
    assert [g["score"] for g in run["grades"]] == [1, 1]
    assert final["result"]["scenario"] == "judged"
    assert (await host.ok("alc_card_list"))["cards"] == []


async def test_caller_mistakes_are_tool_errors(host):
    assert "Provide one of" in await host.error("alc_eval", strategy="cot")
    assert "Provide only one of" in await host.error(
        "alc_eval", strategy="cot", scenario_name="factual", scenario="return {}"
    )
    assert "Scenario 'nope' not found" in await host.error("alc_eval", strategy="cot", scenario_name="nope")
    assert "Package 'nope' not found" in await host.error(
        "alc_eval", strategy="nope", scenario_name="factual"
    )
    message = await host.error(
        "alc_eval", strategy="cot", scenario="return { cases = { { expected = 'x' } } }"
    )
    assert "case #1 must have an 'input' field" in message
    message = await host.error(
        "alc_eval", strategy="cot", scenario="return { graders = {'nope'}, cases = { { input = 'x' } } }"
    )
    assert "unknown grader 'nope'" in message
    assert "not found" in await host.error("alc_card_get", card_id="nope")
    assert "not found" in await host.error("alc_eval_detail", eval_id="nope")


async def test_scenario_tools(host, tmp_path):
    listed = await host.ok("alc_scenario_list")
    names = {s["name"]: s for s in listed["scenarios"]}
    assert {"factual", "math", "reasoning"} <= set(names)
    for name in ("factual", "math", "reasoning"):
        assert 5 <= names[name]["cases"] <= 10, names[name]
        assert names[name]["origin"] == "bundled"
    shown = await host.ok("alc_scenario_show", name="math")
    assert shown["bindings"][0]["grader"] == "numeric"
    assert shown["cases"][0]["expected"] == ["42"]

    outside = tmp_path / "outside.lua"
    outside.write_text("return { cases = { { input = 'Say hi', expected = 'hi' } } }")
    refused = await host.error("alc_scenario_install", path=str(outside))
    assert "outside the directories alc_scenario_install may read" in refused, refused
    file = tmp_path / "alc-home" / "drafts" / "mine.lua"  # ALC_HOME is an allowed root
    file.parent.mkdir(parents=True)
    file.write_text("return { cases = { { input = 'Say hi', expected = 'hi' } } }")
    installed = await host.ok("alc_scenario_install", path=str(file))
    assert installed["installed"] == ["mine"]
    shown = await host.ok("alc_scenario_show", name="mine")
    assert shown["origin"] == "home"
    assert shown["bindings"][0]["grader"] == "exact_match"
    installed = await host.ok(
        "alc_scenario_install",
        source="return { cases = { { input = 'a', expected = 'b' } } }",
        name="inline1",
    )
    assert installed["installed"] == ["inline1"]
    assert "not usable" in await host.error("alc_scenario_install", source="return 42", name="bad")


async def test_an_eval_survives_a_server_restart_and_still_writes_its_card(config):
    from mcp import Client

    from alc_mcp.server.app import build_server
    from tests.conftest import Host

    async with Client(build_server(config)) as client:
        first = await Host(client).ok("alc_eval", strategy="cot", scenario_name="factual")
    assert first["status"] == "needs_response"
    async with Client(build_server(config)) as client:
        host = Host(client)
        final, _ = await drive(host, first, cot_reply(FACTUAL))
        assert final["status"] == "completed"
        card = await host.ok("alc_card_get", card_id=first["card_id"])
        assert card["summary"]["pass_rate"] == 1.0
        (entry,) = (await host.ok("alc_eval_history"))["evals"]
        assert entry["status"] == "completed"


async def test_a_restart_between_two_pauses_of_an_eval_replays_both_rounds(config):
    from mcp import Client

    from alc_mcp.server.app import build_server
    from tests.conftest import Host

    reply = cot_reply(FACTUAL, wrong={"Hamlet"})
    async with Client(build_server(config)) as client:
        host = Host(client)
        first = await host.ok("alc_eval", strategy="cot", scenario_name="factual", repeats=3, parallel=16)
        assert len(first["queries"]) == 16
        responses = [{"query_id": q["id"], "response": reply(q["prompt"])} for q in first["queries"]]
        second = await host.ok("alc_continue", session_id=first["session_id"], responses=responses)
        assert second["status"] == "needs_response" and len(second["queries"]) == 8
    async with Client(build_server(config)) as client:
        host = Host(client)
        final, pauses = await drive(host, second, reply)
        assert pauses == 1 and final["status"] == "completed"
        summary = final["result"]["summary"]
        assert summary["n"] == 24 and summary["passed"] == 21
        card = await host.ok("alc_card_get", card_id=first["card_id"])
        assert len(card["scores"]) == 24
