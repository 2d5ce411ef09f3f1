"""completion/complete through a real client: strategy names, session ids and names,
variable names, card ids, a strategy prompt's opts; and the session resources those
completions fill in."""

from __future__ import annotations

import orjson
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from alc_mcp.server.completions import MAX_VALUES, completion
from tests.conftest import Host

pytestmark = pytest.mark.anyio

STRATEGY = ResourceTemplateReference(uri="alc://strategies/{name}")
SESSION = ResourceTemplateReference(uri="alc://sessions/{session_id}")
VARIABLE = ResourceTemplateReference(uri="alc://sessions/{session_id}/variables/{name}")
CARD = ResourceTemplateReference(uri="alc://cards/{card_id}")

VARIABLES = """
alc.vars.define("temperature", "float", 0.5)
alc.vars.define("top_k", "integer", 3)
alc.vars.define("style", "choice", "brief", {constraints = {choices = {"brief", "long"}}})
return alc.llm("go?")
"""


async def values(
    client: Client,
    ref: ResourceTemplateReference | PromptReference,
    name: str,
    typed: str,
    **context: str,
) -> list[str]:
    result = await client.complete(ref, {"name": name, "value": typed}, context or None)
    return result.completion.values


async def test_the_server_declares_completions(host: Host) -> None:
    assert host.client.server_capabilities.completions is not None


async def test_strategy_names_by_prefix(host: Host) -> None:
    names = await values(host.client, STRATEGY, "name", "c")
    assert {"cot", "cod", "cove", "calibrate"} <= set(names)
    assert all(n.startswith("c") for n in names) and names == sorted(names)
    assert await values(host.client, STRATEGY, "name", "CO") == [n for n in names if n.startswith("co")]
    meta = ResourceTemplateReference(uri="alc://strategies/{name}/meta")
    assert await values(host.client, meta, "name", "s") == await values(host.client, STRATEGY, "name", "s")
    assert await values(host.client, STRATEGY, "name", "no_such_") == []


async def test_session_ids_and_names_then_that_sessions_variables(host: Host) -> None:
    first = await host.run(VARIABLES)
    second = await host.run("return alc.llm('other')")
    done = await host.run("return 1")
    assert done["status"] == "completed"
    ids = {first["session_id"], second["session_id"]}
    first_name = (await host.ok("alc_status", session_id=first["session_id"]))["name"]
    names = {first_name, (await host.ok("alc_status", session_id=second["session_id"]))["name"]}
    offered = await values(host.client, SESSION, "session_id", "")
    assert offered == sorted(ids | names)  # a finished session is not offered
    typed = first_name[:3]
    expected = sorted(key for key in ids | names if key.startswith(typed))
    assert await values(host.client, VARIABLE, "session_id", typed) == expected

    assert await values(host.client, VARIABLE, "name", "", session_id=first_name) == [
        "style",
        "temperature",
        "top_k",
    ]
    assert await values(host.client, VARIABLE, "name", "t", session_id=first["session_id"]) == [
        "temperature",
        "top_k",
    ]
    assert await values(host.client, VARIABLE, "name", "", session_id=second["session_id"]) == []
    assert await values(host.client, VARIABLE, "name", "t", session_id="no-such-session") == []
    assert await values(host.client, VARIABLE, "name", "t") == []  # no session chosen yet


async def test_card_ids_and_aliases(host: Host) -> None:
    scenario = 'return {name = "one", graders = {"exact_match"}, cases = {{input = "1+1", expected = "2"}}}'
    reply = await host.ok("alc_eval", strategy="cot", scenario=scenario)
    while reply["status"] == "needs_response":
        queries = reply.get("queries") or [{"id": reply["query_id"]}]
        reply = await host.ok(
            "alc_continue",
            session_id=reply["session_id"],
            responses=[{"query_id": q["id"], "response": "Answer: 2"} for q in queries],
        )
    (card,) = (await host.ok("alc_card_list"))["cards"]
    await host.ok("alc_card_alias_set", alias="cot-baseline", card_id=card["card_id"])
    assert await values(host.client, CARD, "card_id", "") == sorted([card["card_id"], "cot-baseline"])
    assert await values(host.client, CARD, "card_id", "cot-b") == ["cot-baseline"]


async def test_a_strategy_prompts_opts_are_its_knobs_at_their_defaults(host: Host) -> None:
    (suggestion,) = await values(host.client, PromptReference(name="sc"), "opts", "")
    meta = orjson.loads((await host.client.read_resource("alc://strategies/sc/meta")).contents[0].text)  # type: ignore[union-attr]
    defaults = {k: v["default"] for k, v in meta["inputs"].items() if k != "task" and "default" in v}
    assert orjson.loads(suggestion) == defaults and defaults["n"] == 5
    assert await values(host.client, PromptReference(name="sc"), "task", "") == []


def test_at_most_a_hundred_values_and_the_total() -> None:
    many = [f"s-{i:03}" for i in range(150)]
    first = completion(many, "S-")
    assert len(first.values) == MAX_VALUES and first.total == 150 and first.has_more
    assert first.values == sorted(many)[:MAX_VALUES]
    narrow = completion(many, "s-14")
    assert narrow.values == [f"s-14{i}" for i in range(10)] and narrow.total == 10 and not narrow.has_more


async def test_session_resources_read_what_the_completions_offer(host: Host) -> None:
    paused = await host.run(VARIABLES)
    name = (await host.ok("alc_status", session_id=paused["session_id"]))["name"]
    status = orjson.loads((await host.client.read_resource(f"alc://sessions/{name}")).contents[0].text)  # type: ignore[union-attr]
    assert status["session_id"] == paused["session_id"] and status["phase"] == "paused"
    uri = f"alc://sessions/{name}/variables/top_k"
    record = orjson.loads((await host.client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]
    assert (record["name"], record["type"], record["value"]) == ("top_k", "integer", 3)
    with pytest.raises(MCPError, match="no variable 'nope'"):
        await host.client.read_resource(f"alc://sessions/{name}/variables/nope")
    with pytest.raises(MCPError, match="not found"):
        await host.client.read_resource("alc://sessions/no-such-session")
