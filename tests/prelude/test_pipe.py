"""alc.pipe(strategies, ctx, opts): run stages one after another over a ctx (spec §4.4, §9.2).

Packages come from require; until the package resolver lands these tests use inline
functions, plus package.preload (plain Lua) for the load/export errors.
"""

from __future__ import annotations

import pytest

from tests.conftest import Host
from tests.prelude.support import END, answer, completed, failed, logs_then_finish

pytestmark = pytest.mark.anyio

APPEND_1 = "function(c) c.task = c.task .. '1' return c end"
APPEND_2 = "function(c) c.task = c.task .. '2' return c end"
BOOM = "function(c) c.task = 'clobbered' error('boom') end"


async def test_stages_run_in_order_and_record_history(host: Host) -> None:
    code = f"""
    local out = alc.pipe({{{APPEND_1}, {APPEND_2}}}, {{task = 'a', other = 'kept'}})
    return out
    """
    result = await completed(host, code)
    assert result["task"] == "a12"
    assert result["other"] == "kept"
    assert result["pipe_history"] == [{"strategy": "(inline-1)"}, {"strategy": "(inline-2)"}]


async def test_results_feed_the_next_stage_as_its_task(host: Host) -> None:
    code = """
    local seen = {}
    local out = alc.pipe({
      function(c) c.result = {draft = c.task .. '!'} return c end,
      function(c) seen[#seen + 1] = c.task c.result = 42 return c end,
      function(c) seen[#seen + 1] = c.task c.result = 'final' return c end,
    }, {task = 'go'})
    return {seen = seen, task = out.task, result = out.result, history = out.pipe_history}
    """
    result = await completed(host, code)
    assert result["seen"] == ['{"draft":"go!"}', "42"]
    assert result["task"] == "42", "the last stage's result must not overwrite task"
    assert result["result"] == "final"
    assert result["history"] == [
        {"strategy": "(inline-1)", "result": {"draft": "go!"}},
        {"strategy": "(inline-2)", "result": 42},
        {"strategy": "(inline-3)", "result": "final"},
    ]


async def test_stages_can_ask_the_llm(host: Host) -> None:
    code = """
    local out = alc.pipe({
      function(c) c.result = alc.llm('Draft: ' .. c.task) return c end,
      function(c) c.result = alc.llm('Improve: ' .. c.task) return c end,
    }, {task = 'a haiku'})
    return out.result
    """
    paused = await host.run(code)
    assert paused["prompt"] == "Draft: a haiku"
    paused = await answer(host, paused, "old pond")
    assert paused["prompt"] == "Improve: old pond"
    done = await answer(host, paused, "old pond, frog jumps in")
    assert done["result"] == "old pond, frog jumps in"


async def test_the_callers_ctx_is_not_modified(host: Host) -> None:
    code = f"""
    local c = {{task = 'a'}}
    alc.pipe({{{APPEND_1}}}, c)
    return {{task = c.task, has_history = c.pipe_history ~= nil}}
    """
    assert await completed(host, code) == {"task": "a", "has_history": False}


async def test_on_stage_is_called_after_each_successful_stage(host: Host) -> None:
    code = f"""
    local calls = {{}}
    alc.pipe({{{APPEND_1}, {BOOM}, {APPEND_2}}}, {{task = 'a'}}, {{
      on_error = 'skip',
      on_stage = function(i, name, c) calls[#calls + 1] = i .. ' ' .. name .. ' ' .. c.task end,
    }})
    return calls
    """
    assert await completed(host, code) == ["1 (inline-1) a1", "3 (inline-3) a12"]


# --- on_error ------------------------------------------------------------------------------


# "fail" aborts too, as in alc.fork: that is what its name promises.
@pytest.mark.parametrize("opts", ["nil", "{}", "{on_error = 'abort'}", "{on_error = 'fail'}"])
async def test_abort_raises_the_stage_error(host: Host, opts: str) -> None:
    code = f"""
    alc.pipe({{{APPEND_1}, {BOOM}, function(c) alc.llm('must not run') return c end}}, {{task = 'a'}}, {opts})
    """
    error = await failed(host, code)  # failed, not paused: the third stage never ran
    assert "boom" in error


@pytest.mark.parametrize(("mode", "task"), [("skip", "a"), ("continue", "b")])
async def test_skip_and_continue_go_on_past_a_failing_stage(host: Host, mode: str, task: str) -> None:
    code = f"""
    local out = alc.pipe({{{APPEND_1}, {BOOM}, {APPEND_2}}}, {{task = '{task}'}}, {{on_error = '{mode}'}})
    alc.llm('{END}')
    return out
    """
    logs, result = await logs_then_finish(host, await host.run(code))
    assert result["task"] == f"{task}12", "the failed stage must leave ctx unchanged"
    history = result["pipe_history"]
    assert [h["strategy"] for h in history] == ["(inline-1)", "(inline-2)", "(inline-3)"]
    assert "error" not in history[0] and "error" not in history[2]
    assert "boom" in history[1]["error"]
    assert len(logs) == 1
    level, message = logs[0]
    assert level == "warn"
    assert message.startswith("alc.pipe: stage '(inline-2)' failed: ")
    assert "boom" in message


async def test_all_stages_failing_keeps_task_with_two_errors(host: Host) -> None:
    code = f"return alc.pipe({{{BOOM}, {BOOM}}}, {{task = 'orig'}}, {{on_error = 'skip'}})"
    result = await completed(host, code)
    assert result["task"] == "orig"
    errors = [h for h in result["pipe_history"] if "error" in h]
    assert len(errors) == 2
    assert [h["strategy"] for h in errors] == ["(inline-1)", "(inline-2)"]


async def test_non_table_return_aborts(host: Host) -> None:
    error = await failed(host, "alc.pipe({function(c) return 'oops' end}, {})")
    assert "alc.pipe: strategy '(inline-1)' must return a table (ctx)" in error


async def test_non_table_return_is_a_skipped_stage_under_skip(host: Host) -> None:
    stages = "{function(c) return nil end, " + APPEND_1 + "}"
    code = f"return alc.pipe({stages}, {{task = 'x'}}, {{on_error = 'skip'}})"
    result = await completed(host, code)
    assert result["task"] == "x1"
    assert "must return a table (ctx)" in result["pipe_history"][0]["error"]


@pytest.mark.parametrize(("value", "shown"), [("'ignore'", "ignore"), ("true", "true")])
async def test_unknown_on_error_is_rejected(host: Host, value: str, shown: str) -> None:
    error = await failed(host, f"alc.pipe({{{APPEND_1}}}, {{task = 'a'}}, {{on_error = {value}}})")
    assert "alc.pipe: unknown on_error '" + shown + '\' (use "abort", "fail", "skip" or "continue")' in error


# --- argument errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("alc.pipe({}, {})", "alc.pipe: strategies must be a non-empty array"),
        ("alc.pipe('pkg', {})", "alc.pipe: strategies must be a non-empty array"),
        ("alc.pipe(nil, {})", "alc.pipe: strategies must be a non-empty array"),
        (f"alc.pipe({{{APPEND_1}}}, 'task')", "alc.pipe: ctx must be a table"),
        (f"alc.pipe({{{APPEND_1}}}, nil)", "alc.pipe: ctx must be a table"),
        (f"alc.pipe({{{APPEND_1}, 42}}, {{}})", "alc.pipe: strategy[2] must be a string or function"),
        ("alc.pipe({{}}, {})", "alc.pipe: strategy[1] must be a string or function"),
    ],
)
async def test_argument_errors(host: Host, call: str, message: str) -> None:
    error = await failed(host, f"local x = 1\n{call}")
    assert f":2: {message}" in error


async def test_a_bad_entry_is_reported_before_any_stage_runs(host: Host) -> None:
    error = await failed(host, "alc.pipe({function(c) return alc.llm('x') end, 42}, {})")
    assert "alc.pipe: strategy[2] must be a string or function" in error


async def test_package_that_cannot_be_loaded(host: Host) -> None:
    error = await failed(host, "alc.pipe({'no_such_strategy_pkg'}, {task = 'a'})")
    assert "alc.pipe: failed to load strategy 'no_such_strategy_pkg': " in error


async def test_package_without_run(host: Host) -> None:
    code = """
    package.preload['norun_pkg'] = function() return {meta = {}} end
    alc.pipe({'norun_pkg'}, {task = 'a'})
    """
    assert "alc.pipe: strategy 'norun_pkg' must export run(ctx)" in await failed(host, code)


async def test_package_stage_runs_and_is_named(host: Host) -> None:
    code = """
    package.preload['upper_pkg'] = function()
      return {run = function(c) c.result = c.task:upper() return c end}
    end
    return alc.pipe({'upper_pkg'}, {task = 'shout'})
    """
    result = await completed(host, code)
    assert result["result"] == "SHOUT"
    assert result["pipe_history"] == [{"strategy": "upper_pkg", "result": "SHOUT"}]


async def test_load_failure_is_a_skipped_stage_under_skip(host: Host) -> None:
    code = f"return alc.pipe({{'no_such_strategy_pkg', {APPEND_1}}}, {{task = 'a'}}, {{on_error = 'skip'}})"
    result = await completed(host, code)
    assert result["task"] == "a1"
    assert result["pipe_history"][0]["strategy"] == "no_such_strategy_pkg"
    assert "failed to load strategy 'no_such_strategy_pkg'" in result["pipe_history"][0]["error"]
