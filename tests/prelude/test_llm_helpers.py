"""alc.ground / specify / llm_safe / llm_json / parallel (spec §4.4 and §9.2)."""

from __future__ import annotations

import pytest

from tests.conftest import Host
from tests.prelude.support import END, answer, answer_all, completed, failed, logs_then_finish

pytestmark = pytest.mark.anyio

RETRY_SYSTEM = "Output ONLY valid JSON. No markdown fences, no explanation."


# --- ground / specify ------------------------------------------------------------------


async def test_ground_marks_the_query_grounded(host: Host) -> None:
    paused = await host.run("return alc.ground('Is water wet?', {system = 'physicist', max_tokens = 30})")
    assert paused == {
        "status": "needs_response",
        "session_id": paused["session_id"],
        "query_id": "q-0",
        "prompt": "Is water wet?",
        "system": "physicist",
        "max_tokens": 30,
        "grounded": True,
    }
    done = await answer(host, paused, "yes")
    assert done["result"] == "yes"


async def test_specify_marks_the_query_underspecified(host: Host) -> None:
    paused = await host.run("return alc.specify('Build me an app')")
    assert paused["underspecified"] is True
    assert "grounded" not in paused
    assert paused["prompt"] == "Build me an app"
    assert paused["system"] is None
    done = await answer(host, paused, "Which platform?")
    assert done["result"] == "Which platform?"


async def test_ground_and_specify_leave_the_callers_opts_alone(host: Host) -> None:
    code = """
    local opts = {system = 's'}
    alc.ground('a', opts)
    alc.specify('b', opts)
    return {opts.grounded == nil, opts.underspecified == nil}
    """
    paused = await host.run(code)
    paused = await answer(host, paused, "x")
    assert paused["underspecified"] is True
    assert "grounded" not in paused, "ground's flag must not leak into the next call"
    done = await answer(host, paused, "y")
    assert done["result"] == [True, True]


# --- llm_safe ----------------------------------------------------------------------------


async def test_llm_safe_returns_the_answer(host: Host) -> None:
    paused = await host.run("return alc.llm_safe('hi', {system = 'greeter', max_tokens = 9}, 'fallback')")
    assert (paused["prompt"], paused["system"], paused["max_tokens"]) == ("hi", "greeter", 9)
    done = await answer(host, paused, "hello")
    assert done["result"] == "hello"


async def test_llm_safe_returns_the_default_when_the_budget_is_spent(host: Host) -> None:
    code = "return {alc.llm_safe('hi', nil, 'fallback'), alc.llm_safe('hi') == nil}"
    result = await completed(host, code, ctx={"budget": {"max_llm_calls": 0}})
    assert result == ["fallback", True]


async def test_llm_safe_logs_one_warning_per_failure(host: Host) -> None:
    code = f"""
    local r = alc.llm_safe({{}}, nil, 'fallback')
    alc.llm('{END}')
    return r
    """
    paused = await host.run(code)
    logs, result = await logs_then_finish(host, paused)
    assert result == "fallback"
    assert len(logs) == 1
    level, message = logs[0]
    assert level == "warn"
    assert message.startswith("alc.llm_safe: ")
    assert "prompt" in message  # the underlying error is kept in the message


async def test_llm_safe_turns_a_bad_call_into_the_default_and_the_script_goes_on(host: Host) -> None:
    # opts of the wrong type make alc.llm raise; llm_safe catches that.
    code = "local r = alc.llm_safe('x', 'not a table') return {r == nil, 'went on'}"
    assert await completed(host, code) == [True, "went on"]


# --- llm_json ----------------------------------------------------------------------------


async def test_llm_json_success_on_first_try(host: Host) -> None:
    code = f"""
    local t, raw = alc.llm_json('Give me JSON', {{max_tokens = 100}})
    alc.llm('{END}')
    return {{t = t, raw = raw}}
    """
    paused = await host.run(code)
    assert paused["max_tokens"] == 100
    paused = await answer(host, paused, '{"name": "Ada", "tags": ["x"]}')
    logs, result = await logs_then_finish(host, paused)
    assert result == {"t": {"name": "Ada", "tags": ["x"]}, "raw": '{"name": "Ada", "tags": ["x"]}'}
    assert logs == []


async def test_llm_json_accepts_a_fenced_first_answer(host: Host) -> None:
    paused = await host.run("local t = alc.llm_json('JSON please') return t")
    done = await answer(host, paused, 'Sure!\n```json\n{"ok": true}\n```')
    assert done["result"] == {"ok": True}


async def test_llm_json_retries_once_after_a_bad_answer(host: Host) -> None:
    code = f"""
    local t, raw = alc.llm_json('List three colours as JSON', {{system = 'painter', max_tokens = 64}})
    alc.llm('{END}')
    return {{t = t, raw = raw}}
    """
    paused = await host.run(code)
    assert paused["system"] == "painter"
    paused = await answer(host, paused, "red, green and blue")
    assert paused["status"] == "needs_response"
    assert paused["system"] == RETRY_SYSTEM
    assert paused["max_tokens"] == 64
    assert "red, green and blue" in paused["prompt"]
    assert "List three colours as JSON" in paused["prompt"]
    assert paused["prompt"] == (
        "The previous response was not valid JSON.\n\nPrevious output:\nred, green and blue"
        "\n\nFix the JSON and return ONLY valid JSON.\n\nOriginal request:\nList three colours as JSON"
    )
    paused = await answer(host, paused, '["red", "green", "blue"]')
    logs, result = await logs_then_finish(host, paused)
    assert result == {"t": ["red", "green", "blue"], "raw": '["red", "green", "blue"]'}
    assert logs == [("warn", "alc.llm_json: JSON parse failed, retrying")]


async def test_llm_json_gives_nil_and_the_raw_answer_when_the_retry_fails_too(host: Host) -> None:
    code = f"""
    local t, raw = alc.llm_json('JSON please')
    alc.llm('{END}')
    return {{is_nil = t == nil, raw = raw}}
    """
    paused = await answer(host, await host.run(code), "nope")
    paused = await answer(host, paused, "still nope")
    logs, result = await logs_then_finish(host, paused)
    assert result == {"is_nil": True, "raw": "still nope"}
    assert logs == [
        ("warn", "alc.llm_json: JSON parse failed, retrying"),
        ("warn", "alc.llm_json: JSON parse failed after retry"),
    ]


async def test_llm_json_retry_leaves_the_callers_opts_alone(host: Host) -> None:
    code = """
    local opts = {system = 'mine'}
    alc.llm_json('p', opts)
    return opts.system
    """
    paused = await answer(host, await host.run(code), "bad")
    done = await answer(host, paused, "{}")
    assert done["result"] == "mine"


# --- parallel ----------------------------------------------------------------------------


async def test_parallel_sends_every_prompt_in_one_pause(host: Host) -> None:
    code = """
    local items = {'apple', 'banana', 'cherry'}
    return alc.parallel(items, function(item, i) return 'Colour of ' .. item .. '? (' .. i .. ')' end, {
      system = 'botanist',
      max_tokens = 20,
      post_fn = function(resp, item, i) return item .. '=' .. resp .. '#' .. i end,
    })
    """
    paused = await host.run(code)
    assert paused["queries"] == [
        {"id": "q-0", "prompt": "Colour of apple? (1)", "system": "botanist", "max_tokens": 20},
        {"id": "q-1", "prompt": "Colour of banana? (2)", "system": "botanist", "max_tokens": 20},
        {"id": "q-2", "prompt": "Colour of cherry? (3)", "system": "botanist", "max_tokens": 20},
    ]
    feed = [
        {"query_id": "q-2", "response": "red"},
        {"query_id": "q-0", "response": "green"},
        {"query_id": "q-1", "response": "yellow"},
    ]
    done = await host.ok("alc_continue", session_id=paused["session_id"], responses=feed)
    assert done["status"] == "completed"
    assert done["result"] == ["apple=green#1", "banana=yellow#2", "cherry=red#3"]
    assert done["stats"]["auto"]["pauses"] == 1
    assert done["stats"]["auto"]["llm_calls"] == 3


async def test_parallel_without_post_fn_returns_the_answers_in_order(host: Host) -> None:
    paused = await host.run("return alc.parallel({1, 2}, function(n) return 'double ' .. n end)")
    assert [(q["prompt"], q["system"], q["max_tokens"]) for q in paused["queries"]] == [
        ("double 1", None, 1024),
        ("double 2", None, 1024),
    ]
    done = await answer_all(host, paused, ["2", "4"])
    assert done["result"] == ["2", "4"]


async def test_parallel_uses_table_prompts_as_they_are(host: Host) -> None:
    code = """
    return alc.parallel({'a', 'b'}, function(item)
      return {prompt = 'check ' .. item, system = 'own', grounded = item == 'a'}
    end, {system = 'ignored for tables'})
    """
    paused = await host.run(code)
    assert paused["queries"] == [
        {"id": "q-0", "prompt": "check a", "system": "own", "max_tokens": 1024, "grounded": True},
        {"id": "q-1", "prompt": "check b", "system": "own", "max_tokens": 1024},
    ]


async def test_parallel_with_one_item_uses_the_single_shape(host: Host) -> None:
    paused = await host.run("return alc.parallel({'x'}, function(x) return 'only ' .. x end)")
    assert paused["query_id"] == "q-0"
    assert paused["prompt"] == "only x"
    done = await answer(host, paused, "done")
    assert done["result"] == ["done"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("alc.parallel({}, function() return 'p' end)", "alc.parallel: items must be a non-empty array"),
        ("alc.parallel('abc', function() return 'p' end)", "alc.parallel: items must be a non-empty array"),
        ("alc.parallel(nil, function() return 'p' end)", "alc.parallel: items must be a non-empty array"),
        ("alc.parallel({1}, 'not a function')", "alc.parallel: prompt_fn must be a function"),
        ("alc.parallel({1}, nil)", "alc.parallel: prompt_fn must be a function"),
        (
            "alc.parallel({1, 2}, function(x, i) if i == 2 then return {system = 's'} end return 'p' end)",
            "alc.parallel: prompt_fn returned table without .prompt at index 2",
        ),
        (
            "alc.parallel({1, 2, 3}, function(x, i) if i == 3 then return 42 end return 'p' end)",
            "alc.parallel: prompt_fn must return string or table, got number at index 3",
        ),
        (
            "alc.parallel({1}, function() end)",
            "alc.parallel: prompt_fn must return string or table, got nil at index 1",
        ),
    ],
)
async def test_parallel_validation_errors(host: Host, call: str, message: str) -> None:
    error = await failed(host, f"local r = 1\n{call}")
    assert message in error
    # Raised at level 2: the position is the caller's line (line 2 of the script).
    assert ":2: " + message in error


async def test_parallel_validates_before_asking_anything(host: Host) -> None:
    code = "return alc.parallel({1, 2}, function(x, i) if i == 2 then return true end return 'p' end)"
    error = await failed(host, code)  # an error, not a pause for item 1
    assert "got boolean at index 2" in error
