"""alc_status, alc_info and tools/list: what a host sees when it looks at the server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alc_mcp import __version__
from alc_mcp.config import Config
from tests.conftest import Host

pytestmark = pytest.mark.anyio

TOOLS = {"alc_run", "alc_continue", "alc_status", "alc_cancel", "alc_info"}


def pretty(value: Any) -> str:
    """Pretty JSON as serde writes it: 2-space indent, ``": "``, sorted keys."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


async def paused_on(host: Host, code: str, **arguments: Any) -> str:
    reply = await host.run(code, **arguments)
    assert reply["status"] == "needs_response", reply
    return reply["session_id"]


# --- listing ----------------------------------------------------------------------------


async def test_empty_registry_is_exact_compact_text(host: Host) -> None:
    result = await host.call("alc_status")
    assert not result.is_error
    assert result.text == '{"active_sessions":0,"sessions":[]}'


@pytest.mark.parametrize(
    "pending_filter",
    ["meta", "preview", "full", {"query_id": True, "prompt": {"mode": "preview", "chars": 50}}],
)
async def test_empty_registry_with_a_filter(host: Host, pending_filter: Any) -> None:
    result = await host.call("alc_status", pending_filter=pending_filter)
    assert result.text == '{"active_sessions":0,"sessions":[]}'


async def test_paused_session_is_listed_pretty(host: Host) -> None:
    session_id = await paused_on(host, "return alc.llm('What is 2+2?')")
    result = await host.call("alc_status")
    assert not result.is_error
    listing = result.json
    assert result.text == pretty(listing)
    assert "\n  " in result.text
    assert listing["active_sessions"] == 1
    (snap,) = listing["sessions"]
    assert snap["session_id"] == session_id
    assert snap["state"] == snap["phase"] == "paused"
    assert snap["pending_queries"] == 1
    assert "pending" not in snap  # no filter, counts only
    assert snap["metrics"]["llm_calls"] == 1
    assert snap["metrics"]["rounds"] == 0
    assert snap["metrics"]["tokens"]["current_query"]["query_id"] == "q-0"
    assert "conversation_history" not in snap["metrics"]
    assert "progress" not in snap["metrics"]
    assert "budget_remaining" not in snap["metrics"]
    assert snap["started_at"] <= snap["last_activity_at"]


async def test_listing_of_several_sessions(host: Host) -> None:
    first = await paused_on(host, "return alc.llm('a')")
    second = await paused_on(host, "return alc.llm_batch({{prompt = 'b'}, {prompt = 'c'}})")
    listing = await host.ok("alc_status", pending_filter="meta")
    assert listing["active_sessions"] == 2
    by_id = {s["session_id"]: s for s in listing["sessions"]}
    assert set(by_id) == {first, second}
    assert by_id[first]["pending_queries"] == 1
    assert by_id[second]["pending_queries"] == 2
    assert [p["query_id"] for p in by_id[second]["pending"]] == ["q-0", "q-1"]
    await host.ok("alc_continue", session_id=first, response="done")
    listing = await host.ok("alc_status")
    assert [s["session_id"] for s in listing["sessions"]] == [second]


async def test_single_session_status_is_pretty(host: Host) -> None:
    session_id = await paused_on(host, "return alc.llm('q')")
    result = await host.call("alc_status", session_id=session_id)
    assert not result.is_error
    snap = result.json
    assert result.text == pretty(snap)
    assert snap["session_id"] == session_id
    assert snap["pending_queries"] == 1


# --- pending_filter presets and objects -------------------------------------------------

OPTS = "{system = 'Be brief.', max_tokens = 64, grounded = true}"


async def test_meta_preset(host: Host) -> None:
    session_id = await paused_on(host, f"return alc.llm('What is 2+2?', {OPTS})")
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="meta")
    assert snap["pending_queries"] == 1
    assert snap["pending"] == [{"query_id": "q-0", "max_tokens": 64}]


async def test_preview_preset(host: Host) -> None:
    session_id = await paused_on(host, f"return alc.llm('What is 2+2?', {OPTS})")
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="preview")
    assert snap["pending"] == [{"query_id": "q-0", "max_tokens": 64, "prompt_preview": "What is 2+2?"}]


async def test_preview_is_cut_by_characters(host: Host, config: Config) -> None:
    prompt = "日本語é" * 100  # 400 characters, far more bytes
    session_id = await paused_on(host, "return alc.llm(ctx.p)", ctx={"p": prompt})
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="preview")
    (pending,) = snap["pending"]
    assert config.prompt_preview_chars == 200
    assert pending["prompt_preview"] == prompt[:200]
    assert len(pending["prompt_preview"]) == 200
    assert "prompt" not in pending


async def test_full_preset(host: Host) -> None:
    session_id = await paused_on(host, f"return alc.llm('What is 2+2?', {OPTS})")
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="full")
    assert snap["pending"] == [
        {
            "query_id": "q-0",
            "max_tokens": 64,
            "prompt": "What is 2+2?",
            "system": "Be brief.",
            "grounded": True,
            "underspecified": False,
        }
    ]


async def test_full_preset_emits_false_flags_and_null_system(host: Host) -> None:
    session_id = await paused_on(host, "return alc.llm('plain')")
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="full")
    (pending,) = snap["pending"]
    assert pending["system"] is None
    assert pending["grounded"] is False
    assert pending["underspecified"] is False


async def test_custom_object_filter(host: Host) -> None:
    session_id = await paused_on(host, f"return alc.llm('What is 2+2?', {OPTS})")
    snap = await host.ok(
        "alc_status",
        session_id=session_id,
        pending_filter={"query_id": True, "prompt": {"mode": "preview", "chars": 4}},
    )
    assert snap["pending"] == [{"query_id": "q-0", "prompt_preview": "What"}]

    snap = await host.ok(
        "alc_status", session_id=session_id, pending_filter={"system": True, "grounded": True}
    )
    assert snap["pending"] == [{"system": "Be brief.", "grounded": True}]

    snap = await host.ok("alc_status", session_id=session_id, pending_filter={"prompt": {"mode": "full"}})
    assert snap["pending"] == [{"prompt": "What is 2+2?"}]


async def test_filter_lists_only_unanswered_queries(host: Host) -> None:
    session_id = await paused_on(
        host, "return alc.llm_batch({{prompt = 'a'}, {prompt = 'b'}, {prompt = 'c'}})"
    )
    await host.ok("alc_continue", session_id=session_id, query_id="q-1", response="B")
    snap = await host.ok("alc_status", session_id=session_id, pending_filter="preview")
    assert snap["pending_queries"] == 2
    assert snap["pending"] == [
        {"query_id": "q-0", "max_tokens": 1024, "prompt_preview": "a"},
        {"query_id": "q-2", "max_tokens": 1024, "prompt_preview": "c"},
    ]


@pytest.mark.parametrize("with_session", [False, True], ids=["listing", "single"])
async def test_unknown_preset_is_a_tool_error(host: Host, with_session: bool) -> None:
    arguments: dict[str, Any] = {"pending_filter": "bogus"}
    if with_session:
        arguments["session_id"] = await paused_on(host, "return alc.llm('q')")
    message = await host.error("alc_status", **arguments)
    assert "unknown pending_filter preset" in message
    assert "bogus" in message


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(True, "bool"), (3, "number"), (["meta"], "array")],
    ids=["bool", "number", "array"],
)
async def test_bad_shape_is_a_tool_error(host: Host, value: Any, type_name: str) -> None:
    message = await host.error("alc_status", pending_filter=value)
    assert "pending_filter must be a preset name" in message
    assert f"got {type_name}" in message


async def test_bad_object_is_a_tool_error(host: Host) -> None:
    message = await host.error("alc_status", pending_filter={"prompt": {"mode": "sideways"}})
    assert "invalid pending_filter object" in message


async def test_null_filter_counts_as_absent(host: Host) -> None:
    session_id = await paused_on(host, "return alc.llm('q')")
    listing = await host.ok("alc_status", pending_filter=None)
    assert listing["active_sessions"] == 1
    assert "pending" not in listing["sessions"][0]
    assert listing["sessions"][0]["session_id"] == session_id


async def test_null_session_id_lists_every_session(host: Host) -> None:
    # Hosts often send null for an unused optional parameter; algocline treats it as absent.
    await paused_on(host, "return alc.llm('q')")
    result = await host.call("alc_status", session_id=None)
    assert not result.is_error, result.text
    assert result.json["active_sessions"] == 1


async def test_status_of_an_unknown_session(host: Host) -> None:
    message = await host.error("alc_status", session_id="s-nope")
    assert "session 's-nope' not found (may have completed)" in message


async def test_status_of_a_completed_session(host: Host) -> None:
    session_id = await paused_on(host, "return alc.llm('q')")
    await host.ok("alc_continue", session_id=session_id, response="a")
    message = await host.error("alc_status", session_id=session_id)
    assert "not found (may have completed)" in message


# --- history, logs, progress, budget -------------------------------------------------------


async def test_include_history(host: Host) -> None:
    session_id = await paused_on(host, "local a = alc.llm('first') return alc.llm('second after ' .. a)")
    await host.ok("alc_continue", session_id=session_id, response="one")
    snap = await host.ok("alc_status", session_id=session_id, include_history=True)
    history = snap["metrics"]["conversation_history"]
    assert [(h["query_id"], h["prompt"], h["response"]) for h in history] == [
        ("q-0", "first", "one"),
        ("q-0", "second after one", None),
    ]
    assert history[0]["completed_at"] is not None
    assert history[1]["completed_at"] is None
    assert history[1]["response_tokens"] == 0

    listing = await host.ok("alc_status", include_history=True)
    assert len(listing["sessions"][0]["metrics"]["conversation_history"]) == 2

    plain = await host.ok("alc_status", session_id=session_id)
    assert "conversation_history" not in plain["metrics"]


async def test_history_keeps_the_last_ten(host: Host) -> None:
    code = "for i = 1, 12 do alc.llm('ask ' .. i) end return 'done'"
    session_id = await paused_on(host, code)
    for i in range(1, 12):
        await host.ok("alc_continue", session_id=session_id, response=f"ans {i}")
    snap = await host.ok("alc_status", session_id=session_id, include_history=True)
    history = snap["metrics"]["conversation_history"]
    assert [h["prompt"] for h in history] == [f"ask {i}" for i in range(3, 13)]
    assert snap["metrics"]["llm_calls"] == 12


async def test_print_and_log_lines_show_in_recent_logs(host: Host) -> None:
    code = """
    print('hello', 1, 2.5, 3.0, nil, true)
    alc.log('warn', 'careful')
    alc.log('custom-level', 'anything goes')
    io.write('written\\n')
    return alc.llm('q')
    """
    session_id = await paused_on(host, code)
    snap = await host.ok("alc_status", session_id=session_id)
    logs = snap["metrics"]["recent_logs"]
    assert [(e["source"], e["level"], e["message"]) for e in logs[:3]] == [
        ("alc.lua.print", "info", "hello\t1\t2.5\t3.0\tnil\ttrue"),
        ("alc.log", "warn", "careful"),
        ("alc.log", "custom-level", "anything goes"),
    ]
    assert logs[3]["message"] == "written"
    assert all(isinstance(e["ts"], int) and e["ts"] >= snap["started_at"] for e in logs)


async def test_recent_logs_keep_only_the_last_twenty(host: Host) -> None:
    session_id = await paused_on(host, "for i = 1, 25 do print('line', i) end return alc.llm('q')")
    snap = await host.ok("alc_status", session_id=session_id)
    messages = [e["message"] for e in snap["metrics"]["recent_logs"]]
    assert messages == [f"line\t{i}" for i in range(6, 26)]


async def test_logs_accumulate_across_pauses(host: Host) -> None:
    session_id = await paused_on(
        host, "print('before') local a = alc.llm('q') alc.log('info', 'got ' .. a) alc.llm('r')"
    )
    await host.ok("alc_continue", session_id=session_id, response="x")
    snap = await host.ok("alc_status", session_id=session_id)
    assert [e["message"] for e in snap["metrics"]["recent_logs"]] == ["before", "got x"]


async def test_progress(host: Host) -> None:
    code = """
    alc.progress(1, 5)
    alc.progress(2, 5, 'half way')
    local a = alc.llm('q')
    alc.progress(3, 0)
    return alc.llm('r')
    """
    session_id = await paused_on(host, code)
    snap = await host.ok("alc_status", session_id=session_id)
    assert snap["metrics"]["progress"] == {"step": 2, "total": 5, "message": "half way"}
    await host.ok("alc_continue", session_id=session_id, response="a")
    snap = await host.ok("alc_status", session_id=session_id)
    assert snap["metrics"]["progress"] == {"step": 3, "total": 0, "message": None}


async def test_budget_remaining_and_exceeded(host: Host) -> None:
    code = """
    local a = alc.llm('one')
    local b = alc.llm('two')
    local ok, err = pcall(alc.llm, 'three')
    return {a = a, b = b, ok = ok, err = tostring(err), left = alc.budget_remaining()}
    """
    session_id = await paused_on(host, code, ctx={"budget": {"max_llm_calls": 2}})
    snap = await host.ok("alc_status", session_id=session_id)
    assert snap["metrics"]["budget_remaining"] == {"llm_calls": 1, "elapsed_ms": None, "tokens": None}

    second = await host.ok("alc_continue", session_id=session_id, response="A")
    assert second["prompt"] == "two"
    snap = await host.ok("alc_status", session_id=session_id)
    assert snap["metrics"]["budget_remaining"]["llm_calls"] == 0

    done = await host.ok("alc_continue", session_id=session_id, response="B")
    assert done["status"] == "completed"  # the third call failed inside pcall, with no pause
    result = done["result"]
    assert (result["a"], result["b"], result["ok"]) == ("A", "B", False)
    # Scripts match on the start of the message (`err:match("^budget_exceeded")`): no
    # function-name prefix (pcall calls alc.llm directly, so no position info either).
    assert result["err"] == "budget_exceeded: max_llm_calls (2) reached (2 used)"
    assert result["left"] == {"llm_calls": 0, "elapsed_ms": None, "tokens": None}
    auto = done["stats"]["auto"]
    assert auto["budget"] == {"max_llm_calls": 2}
    assert (auto["llm_calls"], auto["pauses"]) == (2, 2)


async def test_uncaught_budget_error_fails_the_session(host: Host) -> None:
    session_id = await paused_on(host, "alc.llm('one') alc.llm('two')", ctx={"budget": {"max_llm_calls": 1}})
    reply = await host.ok("alc_continue", session_id=session_id, response="A")
    assert reply["status"] == "error"
    assert "budget_exceeded: max_llm_calls (1) reached (1 used)" in reply["error"]


# --- alc_info and tools/list ------------------------------------------------------------------


async def test_alc_info(host: Host, config: Config) -> None:
    result = await host.call("alc_info")
    assert not result.is_error
    info = result.json
    assert result.text == pretty(info)
    assert info["version"] == __version__
    assert info["lua_version"].startswith("Lua 5.4")
    assert info["limits"] == {
        "ALC_MAX_MEMORY_MB": config.limits.max_memory_mb,
        "ALC_MAX_INSTRUCTIONS": config.limits.instruction_budget,
        "ALC_MAX_RUN_SECONDS": config.limits.max_run_seconds,
        "ALC_MAX_CPU_SECONDS": config.limits.max_cpu_seconds,
        "ALC_MAX_VARIABLES": config.limits.max_variables,
        "ALC_MAX_VARIABLE_BYTES": config.limits.max_variable_bytes,
    }
    paths = info["search_paths"]
    assert {"path": str(config.home / "packages"), "source": "ALC_HOME"} in paths
    assert all(set(p) == {"path", "source"} and p["path"] for p in paths)


async def test_tools_list(host: Host) -> None:
    listed = await host.client.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) >= TOOLS  # the core loop; other tools may be added beside it
    for tool in tools.values():
        assert tool.description and tool.description.strip(), tool.name
    assert "session_id" in tools["alc_continue"].input_schema.get("required", [])
    assert "session_id" in tools["alc_cancel"].input_schema.get("required", [])
    assert not tools["alc_run"].input_schema.get("required")
    assert tools["alc_status"].annotations is not None
    assert tools["alc_status"].annotations.read_only_hint is True
    assert tools["alc_info"].annotations is not None
    assert tools["alc_info"].annotations.read_only_hint is True
