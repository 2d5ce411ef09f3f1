"""alc.eval and alc.card.* called from Lua: the same engine as the evaluation tools
(the summary alc_eval gives, the cards alc_card_get reads), cards written once, and a
session revived from its journal that does not write its card again."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import Host
from tests.durable.support import serve
from tests.eval.support import FACTUAL, cot_reply, drive

pytestmark = pytest.mark.anyio

EVAL_IN_LUA = """
return alc.eval("factual", "cot", { auto_card = ctx.auto_card, model = "scripted-host" })
"""


async def test_alc_eval_in_lua_gives_the_summary_of_the_alc_eval_tool(host: Host) -> None:
    reply = cot_reply(FACTUAL, wrong={"Hamlet", "Red Planet"})
    tool_first = await host.ok("alc_eval", strategy="cot", scenario_name="factual", auto_card=False)
    tool_final, _ = await drive(host, tool_first, reply)
    lua_first = await host.run(EVAL_IN_LUA, ctx={"auto_card": False})
    assert len(lua_first["queries"]) == 8  # the cases are asked together, as the tool does
    lua_final, _ = await drive(host, lua_first, reply)

    assert lua_final["status"] == "completed", lua_final
    tool_summary, lua_summary = tool_final["result"]["summary"], lua_final["result"]["summary"]
    assert lua_summary == tool_summary
    assert lua_summary["passed"] == 6
    assert lua_final["result"]["name"] == "cot:factual"


async def test_alc_eval_with_auto_card_writes_a_card_the_tools_read(host: Host) -> None:
    first = await host.run(EVAL_IN_LUA, ctx={"auto_card": True})
    final, _ = await drive(host, first, cot_reply(FACTUAL))
    report = final["result"]
    card = await host.ok("alc_card_get", card_id=report["card_id"])
    assert card["pkg"] == {"name": "cot"}
    assert card["stats"]["pass_rate"] == report["summary"]["pass_rate"] == 1.0
    assert card["stats"]["n"] == 8
    samples = await host.run(f"return alc.card.read_samples({report['card_id']!r}, {{ limit = 3 }})")
    assert [s["passed"] for s in samples["result"]] == [True, True, True]
    # The same rows through the MCP resource, one per case run.
    resource = await host.client.read_resource(f"alc://cards/{report['card_id']}/samples")
    rows = orjson.loads(resource.contents[0].text)  # type: ignore[union-attr]
    assert [row["case"] for row in rows] == [case["name"] for case in report["cases"]]
    assert rows[0]["score"] == 1.0


async def test_alc_eval_says_what_is_wrong_with_its_arguments(host: Host) -> None:
    cases = {
        "alc.eval(nil, 'cot')": "alc.eval: scenario is required",
        "alc.eval(42, 'cot')": "alc.eval: scenario must be a string or table",
        "alc.eval('factual', 7)": "alc.eval: strategy must be a string package name",
        "alc.eval('no_such_scenario', 'cot')": "alc.eval: could not resolve scenario 'no_such_scenario'",
        "alc.eval({ cases = { { input = 'q' } }, graders = { 'no' } }, 'cot')": "unknown grader 'no'",
        "alc.eval({ cases = { { expected = 'a' } } }, 'cot')": "alc.eval: case #1 must have an 'input' field",
    }
    for call, message in cases.items():
        result = await host.run(f"local ok, err = pcall(function() return {call} end)\nreturn err")
        assert message in result["result"], (call, result)


async def test_card_create_then_get_round_trips_and_a_second_write_fails(host: Host) -> None:
    created = await host.run(
        """
        local c = alc.card.create({ pkg = { name = "mypkg" }, model = "m-1", params = { k = 3 },
          stats = { pass_rate = 0.75 } })
        local ok, err = pcall(alc.card.create, { pkg = { name = "mypkg" }, card_id = c.card_id })
        return { created = c, card = alc.card.get(c.card_id), again = err,
          missing = alc.card.get("no-such-card") }
        """
    )
    result = created["result"]
    card_id = result["created"]["card_id"]
    assert card_id.startswith("mypkg_m_1_")
    assert result["created"]["path"] == f"alc://cards/{card_id}"
    assert result["card"]["params"] == {"k": 3}
    assert result["card"]["stats"] == {"pass_rate": 0.75}
    assert f"card '{card_id}' exists already; cards are never rewritten" in result["again"]
    assert "missing" not in result  # nil
    # The tools see the card Lua wrote, unchanged.
    tool_card = await host.ok("alc_card_get", card_id=card_id)
    assert tool_card["stats"] == {"pass_rate": 0.75}
    listed = await host.run("return alc.card.list({ pkg = 'mypkg' })")
    assert [c["card_id"] for c in listed["result"]] == [card_id]
    found = await host.run(
        "return alc.card.find({ pkg = 'mypkg', where = { ['stats.pass_rate'] = { gte = 0.7 } } })"
    )
    assert [c["card_id"] for c in found["result"]] == [card_id]


async def test_samples_are_written_once_and_aliases_name_cards(host: Host) -> None:
    result = await host.run(
        """
        local c = alc.card.create({ pkg = { name = "s" } })
        local w = alc.card.write_samples(c.card_id, { { i = 1, ok = true }, { i = 2, ok = false } })
        local ok, err = pcall(alc.card.write_samples, c.card_id, { { i = 3 } })
        alc.card.alias_set("best", c.card_id)
        alc.card.alias_set({ alias = "latest", card_id = c.card_id })
        local okt, errt = pcall(alc.card.alias_set, { alias = "x" })
        local okm, errm = pcall(alc.card.write_samples, "no-such-card", { { i = 1 } })
        return { written = w.count, again = err, missing = errm,
          rows = alc.card.read_samples(c.card_id, { where = { ok = true } }),
          by_alias = alc.card.get_by_alias("best").card_id == c.card_id,
          aliases = alc.card.alias_list(), bad_alias = errt }
        """
    )
    r = result["result"]
    assert r["written"] == 2
    assert "has its samples already; samples are written once" in r["again"]
    assert "not found; create the card before writing its samples" in r["missing"]
    assert r["rows"] == [{"i": 1, "ok": True}]
    assert r["by_alias"] is True
    assert [a["alias"] for a in r["aliases"]] == ["best", "latest"]
    assert "the alias table needs alias = <name> and card_id = <id>" in r["bad_alias"]


async def test_a_revived_session_does_not_write_its_card_again(tmp_path, config) -> None:
    """The card is written before the pause; a restart replays the journal, and the
    replayed alc.card.create returns the recorded card instead of writing a second."""
    code = """
    local c = alc.card.create({ pkg = { name = "revive" }, card_id = "revive-card-1" })
    local answer = alc.llm("go on?")
    return { card = c.card_id, answer = answer, count = #alc.card.list({ pkg = "revive" }) }
    """
    async with serve(config) as first:
        paused = await first.run(code)
        assert paused["status"] == "needs_response"
    async with serve(config) as second:
        final = await second.ok("alc_continue", session_id=paused["session_id"], response="yes")
        assert final["status"] == "completed", final
        assert final["result"] == {"card": "revive-card-1", "answer": "yes", "count": 1}


async def test_hash_is_a_stable_sha256_and_dirs_need_no_environment(host: Host, config) -> None:
    result = await host.run(
        "return { h = alc.hash('abc'), e = alc.hash(''), n = alc.hash(12), d = alc.dirs(), "
        "getenv = os.getenv('HOME') == nil }"
    )
    r = result["result"]
    assert r["h"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert r["e"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert r["n"] == "6b51d431df5d7f141cbececcf79edf3dd861c3b4069f0b11661a3eefacbba918"  # "12"
    home = config.home.resolve()
    assert r["d"] == {
        "home": str(home),
        "packages": str(home / "packages"),
        "scenarios": str(home / "scenarios"),
    }
    assert r["getenv"] is True  # the environment stays out of reach; alc.dirs() replaces it
