"""``alc-mcp eval`` and ``alc-mcp run --llm``, in process: answered by the local stand-in
for a real model (tests/eval/fake_llm.py) or by a JSON-lines file."""

from __future__ import annotations

import io
import json

import pytest

from alc_mcp.eval_cli import Progress, eval_command
from alc_mcp.responder import LlmConfig
from alc_mcp.store.cards import CardStore
from alc_mcp.terminal import run_command
from tests.eval.fake_llm import FakeLlm
from tests.eval.support import FACTUAL, cot_reply

MATH = {
    "17 + 25": "42",
    "23 * 19": "437",
    "144 / 12": "12",
    "15% of 80": "12",
    "apples": "29",
    "train": "150",
    "average": "18",
    "squares": "25",
}


def llm_config(fake: FakeLlm) -> LlmConfig:
    return LlmConfig(base_url=fake.base_url, model="stand-in", backoff_seconds=0.0)


def test_eval_with_llm_prints_progress_and_a_summary_table(config, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    html = tmp_path / "report.html"
    with FakeLlm(cot_reply(MATH, wrong={"train"})) as fake:
        code = eval_command(
            "math",
            "cot",
            llm=True,
            repeats=2,
            html=str(html),
            config=config,
            llm_config=llm_config(fake),
            stdout=out,
            stderr=err,
        )
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "cot on math, 8 cases x 2" in text
    assert "[------------------------] 0/16 runs" in text
    assert "] 16/16 runs" in text and "ETA" in text
    assert "Eval of cot on math (8 cases x 2 repeat(s)) — card cot_stand_in_" in text
    assert "pass rate 0.875 (14/16)" in text
    assert "pass@1 0.875  pass@2 0.875" in text
    assert "16 LLM calls in 1 round trip(s), 288 tokens" in text  # tokens reported by the API
    train = next(line for line in text.splitlines() if line.startswith("train"))
    assert "0.00" in train and "0/2" in train
    assert len(fake.requests) == 16
    assert html.read_text().startswith("<!DOCTYPE html>")
    cards = CardStore(config.db_path).list_cards()
    assert [c.model for c in cards] == ["stand-in"]


def test_eval_json_with_answers_file(config, tmp_path):
    answers = tmp_path / "answers.jsonl"
    replies = cot_reply(FACTUAL)
    # The factual cases in scenario order.
    order = list(FACTUAL)
    answers.write_text("\n".join(json.dumps(replies(key)) for key in order) + "\n")
    out, err = io.StringIO(), io.StringIO()
    code = eval_command(
        "factual", "cot", as_json=True, answers=str(answers), config=config, stdout=out, stderr=err
    )
    assert code == 0, err.getvalue()
    detail = json.loads(out.getvalue())
    assert detail["status"] == "completed"
    assert detail["report"]["summary"]["pass_rate"] == 1.0
    assert detail["card_id"].startswith("cot_unknown_")
    assert "runs" in err.getvalue()  # the progress line goes to stderr with --json


def test_eval_usage_errors(config, monkeypatch):
    monkeypatch.delenv("ALC_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("ALC_LLM_MODEL", raising=False)
    err = io.StringIO()
    assert eval_command("factual", "cot", llm=True, config=config, stdout=io.StringIO(), stderr=err) == 2
    assert "ALC_LLM_BASE_URL and ALC_LLM_MODEL" in err.getvalue()
    err = io.StringIO()
    assert eval_command("nope", "cot", answers="-", config=config, stdin=io.StringIO(""), stderr=err) == 2
    assert "Scenario 'nope' not found" in err.getvalue()


def test_eval_stops_on_a_malformed_reply_and_leaves_the_session_paused(config):
    err = io.StringIO()
    with FakeLlm() as fake:
        fake.actions = [("raw", b"{}")] * 8
        code = eval_command(
            "factual",
            "cot",
            llm=True,
            config=config,
            llm_config=llm_config(fake),
            stdout=io.StringIO(),
            stderr=err,
        )
    assert code == 1
    assert "malformed reply" in err.getvalue() and "stays paused" in err.getvalue()
    (row,) = CardStore(config.db_path).list_evals()
    assert row.status == "running"


def test_run_with_llm(config):
    out, err = io.StringIO(), io.StringIO()
    with FakeLlm(lambda prompt: "Reasoning.\nAnswer: Paris") as fake:
        code = run_command(
            "cot",
            task="Capital of France?",
            llm=True,
            llm_config=llm_config(fake),
            config=config,
            stdout=out,
            stderr=err,
        )
    assert code == 0, err.getvalue()
    assert "Answer (stand-in):" in out.getvalue()
    assert '"answer": "Paris"' in out.getvalue()


def test_run_with_llm_leaves_the_session_paused_when_the_model_fails(config):
    err = io.StringIO()
    with FakeLlm() as fake:
        fake.actions = [("status", 400)]
        code = run_command(
            "cot",
            task="x",
            llm=True,
            llm_config=llm_config(fake),
            config=config,
            stdout=io.StringIO(),
            stderr=err,
        )
    assert code == 1
    assert "HTTP 400" in err.getvalue() and "stays paused" in err.getvalue()


def test_progress_line():
    progress = Progress(4, None)
    assert progress.line(0).startswith("[------------------------] 0/4 runs")
    assert "ETA –" in progress.line(0)
    assert progress.line(2).startswith("[############------------] 2/4 runs")
    assert progress.line(9).startswith("[########################] 4/4 runs")


@pytest.fixture(autouse=True)
def _no_llm_env(monkeypatch):
    for name in ("ALC_LLM_BASE_URL", "ALC_LLM_MODEL", "ALC_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
