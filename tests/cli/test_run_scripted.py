"""``alc-mcp run … --answers FILE`` end to end, as a subprocess: the scripted host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alc_mcp.engine.packages import bundled_strategies_dir
from tests.cli.support import cli_env, run_cli, statuses, write_pick

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home", write_pick(tmp_path))


def answers(tmp_path: Path, *lines: str, name: str = "answers.jsonl") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path.name


def test_strategy_with_answers_file_completes(tmp_path: Path, env: dict[str, str]) -> None:
    file = answers(tmp_path, '"red"', "", '{"response": "blue\\nor green"}', '"the second"')
    done = run_cli(tmp_path, env, "pick", "--task", "a colour", "--answers", file)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "strategy 'pick'" in out and "(ALC_PACKAGES_PATH)" in out
    # Every prompt of the batch pause is shown with its place in the pause, then the judge.
    assert "q-0 (1 of 2 in this pause, max_tokens 64)" in out
    assert "q-1 (2 of 2 in this pause, max_tokens 64)" in out
    assert "q-0 (1 of 1 in this pause, max_tokens 16)" in out
    assert "Candidate 2 for: a colour" in out and "Answer briefly." in out
    # The multi-line answer reached the script intact (the judge prompt quotes it).
    assert "  blue\n  or green\n" in out.split("Pick the best candidate:")[1]
    # Logs, print and progress between pauses.
    assert "[info] pick: asking for 2 candidates" in out
    assert "[progress 1/2] pick: sampling 2" in out and "[progress 2/2] pick: judging" in out
    assert "[print] pick: judged" in out
    # The result (ctx.result of the returned ctx) and a stats line.
    assert "chosen: the second\n" in out
    assert "stats: 3 LLM calls in 2 pauses" in out
    assert done.stderr == ""
    assert statuses(tmp_path / "home") == ["completed"]


def test_json_prints_only_the_tool_result(tmp_path: Path, env: dict[str, str]) -> None:
    file = answers(tmp_path, '"a"', '"b"', '"c"')
    done = run_cli(tmp_path, env, "pick", "--task", "t", "--ctx", '{"n": 2}', "--answers", file, "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    result = json.loads(done.stdout)
    assert result["status"] == "completed"
    assert result["result"]["result"] == "chosen: c"
    assert result["result"]["candidates"] == ["a", "b"]
    assert result["result"]["task"] == "t"
    assert result["stats"]["auto"]["llm_calls"] == 3
    assert result["stats"]["auto"]["pauses"] == 2


def test_answers_running_out_exits_1_and_names_the_waiting_prompt(
    tmp_path: Path, env: dict[str, str]
) -> None:
    file = answers(tmp_path, '"one"', '"two"')
    done = run_cli(tmp_path, env, "pick", "--task", "t", "--ctx", '{"n": 3}', "--answers", file)
    assert done.returncode == 1
    assert "answers.jsonl ran out of answers after 2 answers" in done.stderr
    assert "q-2 (3 of 3 in this pause)" in done.stderr
    assert "Candidate 3 for: t" in done.stderr
    assert "cancelled" in done.stderr
    assert statuses(tmp_path / "home") == ["cancelled"]


def test_answers_running_out_with_json_prints_the_cancelled_result(
    tmp_path: Path, env: dict[str, str]
) -> None:
    done = run_cli(tmp_path, env, "pick", "--task", "t", "--answers", answers(tmp_path, '"x"'), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "cancelled"
    assert "ran out of answers after 1 answer:" in done.stderr


def test_unused_answers_are_a_warning(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli(tmp_path, env, "pick", "--task", "t", "--answers", answers(tmp_path, *['"x"'] * 5))
    assert done.returncode == 0
    assert "warning: 2 answer(s) in answers.jsonl were not used" in done.stderr


def test_answers_from_stdin(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli(tmp_path, env, "pick", "--task", "t", "--answers", "-", stdin='"x"\n"y"\n"z"\n')
    assert done.returncode == 0, done.stderr
    assert "chosen: z" in done.stdout


def test_unknown_strategy_exits_2_naming_where_it_looked(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli(tmp_path, env, "nosuch", "--task", "t")
    assert done.returncode == 2
    assert "unknown strategy 'nosuch'" in done.stderr
    for root in (tmp_path / "pkgs", tmp_path / "home" / "packages", bundled_strategies_dir()):
        assert str(root / "nosuch" / "init.lua") in done.stderr
        assert str(root / "nosuch.lua") in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pick", "--ctx", "{nope"], "--ctx is not valid JSON"),
        (["pick", "--ctx", "[1, 2]"], "--ctx must be a JSON object"),
        (["missing.lua"], "no such file"),
        (["pick", "--answers", "absent.jsonl"], "cannot read the answers file"),
        (["../escape", "--task", "t"], "neither a strategy nor an existing file"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, env: dict[str, str], args: list[str], message: str) -> None:
    done = run_cli(tmp_path, env, *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_malformed_answers_line_exits_2(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli(tmp_path, env, "pick", "--answers", answers(tmp_path, '"ok"', "42"))
    assert done.returncode == 2
    assert "answers.jsonl line 2 must be a JSON string or an object" in done.stderr
    assert statuses(tmp_path / "home") == []  # nothing started


def test_lua_file_with_ctx_and_task(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "greet.lua").write_text(
        'alc.log("info", "greeting " .. ctx.who)\n'
        'local reply = alc.llm("Say hello to " .. ctx.who .. " about " .. ctx.task, {system = "Be warm."})\n'
        "return {who = ctx.who, reply = reply, n = ctx.n}\n",
        encoding="utf-8",
    )
    file = answers(tmp_path, '"Hello, Ada!"')
    done = run_cli(
        tmp_path, env, "greet.lua", "--ctx", '{"who": "Ada", "n": 3}', "--task", "maths", "--answers", file
    )
    assert done.returncode == 0, done.stderr
    assert "Running file greet.lua" in done.stdout
    assert "Say hello to Ada about maths" in done.stdout and "Be warm." in done.stdout
    assert "[info] greeting Ada" in done.stdout
    # No ctx.result key: the whole returned value is printed as JSON.
    assert '"reply": "Hello, Ada!"' in done.stdout and '"n": 3' in done.stdout
    assert statuses(tmp_path / "home") == ["completed"]


def test_lua_file_that_never_pauses(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "quick.lua").write_text(
        'alc.log("info", "no questions"); alc.progress(1, 1, "done"); return ctx\n', encoding="utf-8"
    )
    done = run_cli(tmp_path, env, "quick.lua", "--ctx", '"plain"')
    assert done.returncode == 0, done.stderr
    # Its logs still show (read back from the journal: there was no pause to look at them).
    assert "[info] no questions" in done.stdout and "[progress 1/1] done" in done.stdout
    assert done.stdout.split("--- result ")[1].splitlines()[1] == "plain"


def test_script_error_exits_1(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "boom.lua").write_text('alc.llm("first")\nerror("boom")\n', encoding="utf-8")
    done = run_cli(tmp_path, env, "boom.lua", "--answers", answers(tmp_path, '"ok"'))
    assert done.returncode == 1
    assert "the script failed" in done.stderr and "boom" in done.stderr
    done = run_cli(tmp_path, env, "boom.lua", "--answers", answers(tmp_path, '"ok"'), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "error"


def test_bundled_sc_with_answers(tmp_path: Path) -> None:
    """The command the issue names: self-consistency, all samples in one pause, majority vote."""
    env = cli_env(tmp_path / "home")
    file = answers(
        tmp_path,
        '"6 + 12 = 18\\nAnswer: 18"',
        '"Answer: $18"',
        '"I think 17.\\nAnswer: 17"',
        '"so the answer is 18"',
        '"Answer: 18."',
    )
    done = run_cli(
        tmp_path, env, "sc", "--task", "Janet has 6 eggs and buys 12. How many?", "--answers", file
    )
    assert done.returncode == 0, done.stderr
    assert "strategy 'sc'" in done.stdout and "(bundled)" in done.stdout
    assert "q-0 (1 of 5 in this pause" in done.stdout and "q-4 (5 of 5 in this pause" in done.stdout
    assert "stats: 5 LLM calls in 1 pause" in done.stdout
    done = run_cli(tmp_path, env, "sc", "--task", "eggs?", "--answers", file, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "completed"
    assert result["result"]["result"]["normalized"] == "18"
    assert result["stats"]["auto"]["pauses"] == 1
