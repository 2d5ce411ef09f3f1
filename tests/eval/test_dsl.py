"""The scenario DSL (strategies/evalframe.lua) run in the real sandbox through alc_run:
cases, bindings, deterministic graders, scorers, LLM judges, the simple form, errors."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio

PRELUDE = 'local ef = require("evalframe")\n'


async def value(host, code: str):
    result = await host.run(PRELUDE + code)
    assert result["status"] == "completed", result
    return result["result"]


async def test_cases_named_and_unnamed(host):
    got = await value(
        host,
        """
local a = ef.case "planet" { input = "Largest planet?", expected = "Jupiter", tags = {"geo"} }
local b = ef.case { input = "2+2?", expected = {"4", "four"}, tags = "math" }
return { a.name, a.input, a.tags[1], b.name == nil, b.expected[2], b.tags[1], a._kind }
""",
    )
    assert got == ["planet", "Largest planet?", "geo", True, "four", "math", "case"]


GRADE = """
local function grade(g, text, case)
  local raw = g.check({ text = text }, case)
  return raw
end
"""


@pytest.mark.parametrize(
    ("grader", "text", "case", "expected"),
    [
        ("ef.graders.exact_match", "  **Jupiter.** ", '{ expected = "jupiter" }', True),
        ("ef.graders.exact_match", "Jupiter is big", '{ expected = "Jupiter" }', False),
        ("ef.graders.exact_match { case_sensitive = true }", "jupiter", '{ expected = "Jupiter" }', False),
        ("ef.graders.contains", "It is JUPITER", '{ expected = {"Saturn", "jupiter"} }', True),
        ("ef.graders.contains", "Mars", '{ expected = "Jupiter" }', False),
        ("ef.graders.contains", "anything", "{ }", False),
        ("ef.graders.starts_with", "Yes, because", '{ expected = "yes" }', True),
        ("ef.graders.regex", "order #A-1234 ok", '{ context = { pattern = "#%u%-%d+" } }', True),
        ('ef.graders.regex { pattern = "^%d+$" }', "12a", "{ }", False),
        ("ef.graders.numeric", "so the total is 1,234.5 dollars", '{ expected = "1234.5" }', True),
        ("ef.graders.numeric", "3 apples, then 29", '{ expected = "29" }', True),
        ("ef.graders.numeric", "about 3.14", '{ expected = "3.14159" }', False),
        ("ef.graders.numeric { tolerance = 0.01 }", "about 3.14", '{ expected = "3.14159" }', True),
        ("ef.graders.numeric { relative = 0.1 }", "95", '{ expected = "100" }', True),
        ("ef.graders.numeric", "no digits", '{ expected = "1" }', False),
        (
            'ef.graders.json_field { field = "answer.value" }',
            'Sure: {"answer": {"value": 42}}',
            '{ expected = "42" }',
            True,
        ),
        ('ef.graders.json_field "name"', '{"name": " Tokyo "}', '{ expected = "tokyo" }', True),
        ('ef.graders.json_field "name"', "not json", '{ expected = "x" }', False),
        ("ef.graders.json_valid", "[1, 2]", "{ }", True),
        ("ef.graders.not_empty", "  ", "{ }", False),
    ],
)
async def test_deterministic_graders(host, grader, text, case, expected):
    got = await value(host, GRADE + f"return grade({grader}, {text!r}, {case})")
    assert got is expected


async def test_custom_grader_scorers_and_weights(host):
    report = await value(
        host,
        """
local length = ef.grader "length5" { check = function(resp) return #resp.text end }
local s = ef.suite "custom" {
  provider = ef.providers.mock.map { ["2+2"] = "4", ["planet"] = "Jupiter!" },
  ef.bind { ef.scorers.linear(0, 10), length, weight = 1 },   -- order does not matter
  ef.bind { ef.graders.contains, weight = 3 },
  cases = {
    ef.case "sum" { input = "2+2?", expected = "4" },
    ef.case "planet" { input = "Largest planet?", expected = "Saturn" },
  },
  pass_threshold = 0.7,
}
return s:run()
""",
    )
    sum_run, planet_run = (c["runs"][0] for c in report["cases"])
    # sum: length 1 -> 0.1 (weight 1), contains -> 1 (weight 3): (0.1 + 3) / 4
    assert sum_run["score"] == pytest.approx(3.1 / 4)
    assert sum_run["passed"] is True
    # planet: length 8 -> 0.8, contains -> 0: 0.8 / 4
    assert planet_run["score"] == pytest.approx(0.2)
    assert planet_run["passed"] is False
    assert [g["scorer"] for g in sum_run["grades"]] == ["linear_0_10", "bool"]
    assert report["summary"]["pass_rate"] == 0.5


async def test_builtin_scorers(host):
    got = await value(
        host,
        """
local s = ef.scorers
return { s.bool.score(true), s.bool.score(false), s.linear_1_5.score(3), s.linear_1_10.score(10),
  s.linear_0_100.score(150), s.pass_50.score(0.5), s.pass_80.score(0.79), s.threshold(2).score(3) }
""",
    )
    assert got == [1, 0, 0.5, 1, 1, 1, 0, 1]


async def test_simple_form_and_defaults(host):
    got = await value(
        host,
        """
local a = ef.scenario({ cases = { { input = "x", expected = "y" } } }, "plain")
local b = ef.scenario { graders = { "contains", "numeric" }, cases = { { input = "x" } } }
return { a.name, a.bindings[1].name, #b.bindings, b.bindings[2].name, a.cases[1].name, a.pass_threshold }
""",
    )
    assert got == ["plain", "exact_match", 2, "numeric", "case_1", 0.5]


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("42", "scenario resolved to number, expected table"),
        ("{ cases = {} }", "scenario has no cases"),
        ("{ cases = { { expected = 'x' } } }", "case #1 must have an 'input' field"),
        ("{ graders = { 'fuzzy' }, cases = { { input = 'x' } } }", "unknown grader 'fuzzy'"),
    ],
)
async def test_scenario_errors(host, scenario, message):
    result = await host.run(PRELUDE + f"return ef.scenario({scenario})")
    assert result["status"] == "error"
    assert message in result["error"]


async def test_judges_are_asked_in_one_batch_and_parsed(host):
    code = (
        PRELUDE
        + """
local s = ef.suite "judged" {
  provider = ef.providers.mock.static("Paris is the capital of France."),
  ef.bind { ef.graders.rubric("Accurate and concise") },
  ef.bind { ef.graders.yes_no("Does it name a city?") },
  ef.bind { ef.graders.factuality },
  cases = {
    ef.case "fr" { input = "Capital of France?", expected = "Paris" },
    ef.case "de" { input = "Capital of Germany?", expected = "Berlin" },
  },
}
return s:run()
"""
    )
    first = await host.run(code)
    assert first["status"] == "needs_response"
    prompts = {q["id"]: q["prompt"] for q in first["queries"]}
    assert len(prompts) == 6  # 3 judges x 2 cases, one pause

    def verdict(prompt: str) -> str:
        if "yes or no" in prompt:
            return "Yes."
        if "Germany" in prompt:
            return "Score: 1"
        return "4"

    responses = [{"query_id": q, "response": verdict(p)} for q, p in prompts.items()]
    done = await host.ok("alc_continue", session_id=first["session_id"], responses=responses)
    assert done["status"] == "completed", done
    fr, de = (c["runs"][0] for c in done["result"]["cases"])
    assert [g["raw"] for g in fr["grades"]] == [4, True, 4]
    assert [g["score"] for g in fr["grades"]] == [0.75, 1, 0.75]
    assert [g["raw"] for g in de["grades"]] == [1, True, 1]
    assert de["score"] == pytest.approx(1 / 3)
    assert done["result"]["judge_calls"] == 6


async def test_a_broken_strategy_is_a_failed_case_not_a_failed_eval(host, tmp_path, config):
    broken = config.home / "packages" / "broken"
    broken.mkdir(parents=True)
    (broken / "init.lua").write_text("return { run = function(ctx) error('boom') end }")
    report = await value(
        host,
        """
return ef.run({ cases = { { input = "x", expected = "y" }, { input = "z", expected = "w" } } }, "broken")
""",
    )
    runs = [c["runs"][0] for c in report["cases"]]
    assert all(r["ok"] is False and "boom" in r["error"] and r["score"] == 0 for r in runs)
    assert report["summary"]["errors"] == 2
    assert report["summary"]["pass_rate"] == 0


async def test_response_text_picks_the_answer(host):
    got = await value(
        host,
        """
return { ef.response_text("x"), ef.response_text({ result = { answer = "a" } }), ef.response_text(42),
  ef.response_text({ final_answer = "f" }), ef.response_text({ other = 1 }) }
""",
    )
    assert got == ["x", "a", "42", "f", '{"other":1}']


async def test_fork_each_runs_each_child_on_its_own_ctx(host, config):
    echo = config.home / "packages" / "echo"
    echo.mkdir(parents=True)
    (echo / "init.lua").write_text("return { run = function(ctx) return ctx.task .. '!' end }")
    got = await host.run(
        'return alc.fork_each({ {strategy = "echo", ctx = {task = "a"}}, '
        '{strategy = "echo", ctx = {task = "b"}} })'
    )
    assert got["result"] == [
        {"ok": True, "result": "a!", "strategy": "echo"},
        {"ok": True, "result": "b!", "strategy": "echo"},
    ]
    for code, message in (
        ("alc.fork_each({})", "items must be a non-empty array"),
        ('alc.fork_each({ {strategy = "../x", ctx = {}} })', "invalid strategy name '../x'"),
        ('alc.fork_each({ {strategy = "echo", ctx = 3} })', "items[1].ctx must be a table, got number"),
    ):
        failed = await host.run(code)
        assert failed["status"] == "error" and message in failed["error"], failed


async def test_a_scenario_may_be_a_suite(host):
    got = await value(
        host,
        """
local s = ef.scenario(ef.suite "suited" { ef.bind { ef.graders.contains }, cases = { { input = "x" } } })
return { s.name, s.bindings[1].name, #s.cases }
""",
    )
    assert got == ["suited", "contains", 1]
