"""The terminal runner in process: answer parsing, target resolution, the terminal
reader and whole runs with in-memory streams (fast; the subprocess tests cover the
real command)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from alc_mcp.app.catalog import PackageCatalog
from alc_mcp.config import Config
from alc_mcp.domain.query import LlmQuery, TokenUsage
from alc_mcp.terminal import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Scripted,
    Stop,
    TerminalAnswers,
    UsageError,
    View,
    _new_entries,
    parse_answers,
    resolve_target,
    run_command,
    stats_line,
)
from tests.cli.support import write_pick
from tests.conftest import TEST_LIMITS

# --- answers files --------------------------------------------------------------------------


def test_answers_are_strings_or_response_objects_and_blank_lines_are_skipped() -> None:
    text = (
        '"plain"\n\n   \n{"response": "two\\nlines", "usage": {"completion_tokens": 7}}\n{"response": ""}\n'
    )
    assert parse_answers(text, "a.jsonl") == [
        Scripted(1, "plain"),
        Scripted(4, "two\nlines", TokenUsage(None, 7)),
        Scripted(5, ""),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "a.jsonl line 2 is not JSON"),
        ("42", "line 2 must be a JSON string or an object"),
        ('{"respones": "typo"}', "line 2 must be a JSON string or an object"),
        ('{"response": 3}', "line 2 must be a JSON string or an object"),
        ('{"response": "x", "usage": {"prompt_tokens": -1}}', 'line 2: "usage" must be an object'),
    ],
)
def test_malformed_answer_lines_are_usage_errors(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_answers(f'"fine"\n{line}\n', "a.jsonl")


# --- what to run ----------------------------------------------------------------------------


@pytest.fixture
def resolver(tmp_path: Path) -> PackageCatalog:
    return PackageCatalog(Config(home=tmp_path / "home", packages_path=(write_pick(tmp_path),)))


def test_a_package_runs_like_alc_advice(resolver: PackageCatalog) -> None:
    target = resolve_target("pick", "the task", {"n": 4}, resolver)
    assert target.program.strategy == "pick"
    assert target.program.ctx == {"n": 4, "task": "the task"}
    assert "(ALC_PACKAGES_PATH)" in target.description


def test_a_lua_file_runs_like_alc_run(tmp_path: Path, resolver: PackageCatalog) -> None:
    (tmp_path / "s.lua").write_text("return ctx", encoding="utf-8")
    target = resolve_target(str(tmp_path / "s.lua"), None, [1, 2], resolver)
    assert (target.program.strategy, target.program.source, target.program.ctx) == (
        None,
        "return ctx",
        [1, 2],
    )
    assert target.program.chunkname == "@s.lua"
    with_task = resolve_target(str(tmp_path / "s.lua"), "t", {"k": 1}, resolver)
    assert with_task.program.ctx == {"k": 1, "task": "t"}
    assert resolve_target(str(tmp_path / "s.lua"), "t", None, resolver).program.ctx == {"task": "t"}
    with pytest.raises(UsageError, match="--task needs --ctx to be a JSON object"):
        resolve_target(str(tmp_path / "s.lua"), "t", "text", resolver)


def test_an_existing_file_without_the_extension_is_a_file_unless_it_is_a_package(
    tmp_path: Path, resolver: PackageCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("script").write_text("return 1", encoding="utf-8")
    Path("pick").write_text("return 2", encoding="utf-8")
    assert resolve_target("script", None, None, resolver).program.strategy is None
    assert resolve_target("pick", None, None, resolver).program.strategy == "pick"


def test_a_package_needs_an_object_ctx(resolver: PackageCatalog) -> None:
    with pytest.raises(UsageError, match="--ctx must be a JSON object"):
        resolve_target("pick", None, [1], resolver)


# --- reading answers at the terminal -------------------------------------------------------

QUERY = LlmQuery("q-3", "What now?")


def test_a_terminal_answer_ends_at_a_dot_line_and_keeps_its_lines() -> None:
    stdin = io.StringIO("first\n\n  third  \n . \nnext answer\n")
    reader = TerminalAnswers(stdin, View(io.StringIO()))
    assert reader.answer(QUERY, 1, 1) == ("first\n\n  third  ", None)
    assert stdin.readline() == "next answer\n"


def test_a_terminal_answer_ends_at_end_of_input() -> None:
    reader = TerminalAnswers(io.StringIO("only line\nno newline"), View(io.StringIO()))
    assert reader.answer(QUERY, 1, 1) == ("only line\nno newline", None)


def test_a_dot_alone_is_an_empty_answer() -> None:
    assert TerminalAnswers(io.StringIO(".\n"), View(None)).answer(QUERY, 1, 1) == ("", None)


def test_end_of_input_before_any_answer_stops_the_run() -> None:
    with pytest.raises(Stop, match=r"input ended before query q-3 \(2 of 5 in this pause\)"):
        TerminalAnswers(io.StringIO(""), View(None)).answer(QUERY, 2, 5)


# --- what is shown ------------------------------------------------------------------------


def log(message: str) -> dict[str, object]:
    return {"ts": 1, "level": "info", "source": "alc.log", "message": message}


def test_only_new_log_lines_of_the_ring_buffer_are_shown() -> None:
    a, b, c, d = log("a"), log("b"), log("c"), log("d")
    assert _new_entries([], [a, b]) == ([a, b], False)
    assert _new_entries([a, b], [a, b, c]) == ([c], False)
    assert _new_entries([a, b, c], [b, c, d]) == ([d], False)  # the buffer dropped a
    assert _new_entries([a, a], [a, a, a]) == ([a], False)
    assert _new_entries([a], [c, d]) == ([c, d], True)  # lines lost in between
    assert _new_entries([a, b], [a, b]) == ([], False)


def test_activity_shows_logs_prints_and_progress_changes_once() -> None:
    out = io.StringIO()
    view = View(out)
    metrics = {
        "recent_logs": [log("hello"), {"ts": 2, "level": "info", "source": "alc.lua.print", "message": "p"}],
        "progress": {"step": 1, "total": 0, "message": None},
    }
    view.activity(metrics)
    view.activity(metrics)
    assert out.getvalue() == "  [info] hello\n  [print] p\n  [progress step 1]\n"


def test_stats_line() -> None:
    stats = {
        "auto": {
            "llm_calls": 1,
            "pauses": 1,
            "elapsed_ms": 1250,
            "total_tokens": {"tokens": 9, "source": "estimated"},
        },
        "custom": {"k": 1},
    }
    assert stats_line(stats) == 'stats: 1 LLM call in 1 pause, 1.2 s, ~9 tokens, custom {"k":1}'


# --- whole runs in process ----------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(home=tmp_path / "home", packages_path=(write_pick(tmp_path),), limits=TEST_LIMITS)


def run(config: Config, *args: str, stdin: str = "", **options: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(
        args[0],
        config=config,
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=err,
        **options,  # type: ignore[arg-type]
    )
    return code, out.getvalue(), err.getvalue()


def test_typed_answers_drive_a_strategy(config: Config) -> None:
    code, out, err = run(config, "pick", task="t", stdin="one\n.\ntwo\nlines\n.\nthe best\n")
    assert (code, err) == (EXIT_OK, "")
    assert "Your answer (end it with a line with only '.' or end of input):" in out
    assert "Pick the best candidate:\n  one\n  ---\n  two\n  lines\n" in out
    assert "chosen: the best\n--- stats: 3 LLM calls in 2 pauses" in out


def test_json_with_typed_answers_keeps_stdout_for_the_result(config: Config) -> None:
    code, out, err = run(config, "pick", task="t", as_json=True, stdin="a\n.\nb\n.\nc\n.\n")
    assert code == EXIT_OK
    assert json.loads(out)["result"]["result"] == "chosen: c"
    assert "q-0 (1 of 2 in this pause" in err  # the prompts went to stderr


def test_json_with_an_answers_file_is_quiet(config: Config, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('"a"\n"b"\n"c"\n', encoding="utf-8")
    code, out, err = run(config, "pick", task="t", answers=str(tmp_path / "a.jsonl"), as_json=True)
    assert (code, err) == (EXIT_OK, "")
    assert json.loads(out)["status"] == "completed"


def test_input_ending_early_cancels(config: Config) -> None:
    code, out, err = run(config, "pick", task="t", stdin="only one\n.\n")
    assert code == EXIT_FAILED
    assert "input ended before query q-1 (2 of 2 in this pause)" in err
    assert "The session was cancelled." in err
    assert "--- cancelled; stats: 2 LLM calls in 1 pause" in out


def test_unknown_strategy_in_process(config: Config) -> None:
    code, out, err = run(config, "nope")
    assert (code, out) == (EXIT_USAGE, "")
    assert "unknown strategy 'nope'" in err and str(config.home / "packages" / "nope" / "init.lua") in err
