"""``alc-mcp eval SCENARIO STRATEGY``: run an eval on this machine.

The questions are answered by a chat-completions model (``--llm``, configured by
``ALC_LLM_BASE_URL`` / ``ALC_LLM_MODEL`` / ``ALC_LLM_API_KEY``), by a JSON-lines file
(``--answers``), or by the person at the terminal. A progress line shows runs done /
total, elapsed time and an ETA; at the end comes a summary table (or, with ``--json``,
the eval's detail as JSON on stdout) and, with ``--html``, a self-contained report.

The eval runs through the same service as the ``alc_eval`` tool, so it writes the same
card to the same store (``alc_card_list`` shows it afterwards).

Exit codes: 0 completed, 1 failed / cancelled / the model could not answer, 2 bad arguments.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import orjson
from anyio.from_thread import start_blocking_portal

from alc_mcp.app import Answer, SessionService
from alc_mcp.app.errors import CardError, SessionError
from alc_mcp.app.evaluation import EvalError, EvalRequest
from alc_mcp.config import Config, ConfigError
from alc_mcp.domain.feed_result import Accepted, Completed, Failed, FeedResult, Paused
from alc_mcp.domain.jsonfmt import dumps_compact
from alc_mcp.report_html import render
from alc_mcp.responder import LlmConfig, Responder, ResponderError, drive
from alc_mcp.terminal import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ScriptedAnswers,
    Stop,
    TerminalAnswers,
    UsageError,
    View,
    load_answers,
)

__all__ = ["BAR_WIDTH", "Progress", "eval_command", "summary_table"]

BAR_WIDTH = 24


@dataclass
class Progress:
    """``[#####-------] 8/24 runs  12.3 s  ETA 24.6 s`` on one line, redrawn in place on a terminal."""

    total: int
    out: TextIO | None
    started: float = 0.0
    done: int = 0
    _tty: bool = False

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        try:
            self._tty = bool(self.out is not None and self.out.isatty())
        except (AttributeError, ValueError):
            self._tty = False

    def line(self, done: int) -> str:
        self.done = max(self.done, min(done, self.total))
        elapsed = time.monotonic() - self.started
        filled = round(BAR_WIDTH * self.done / self.total) if self.total else BAR_WIDTH
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        eta_text = f"ETA {eta:.1f} s" if eta is not None else "ETA –"
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"[{bar}] {self.done}/{self.total} runs  {elapsed:.1f} s  {eta_text}"

    def show(self, done: int) -> None:
        if self.out is None:
            return
        text = self.line(done)
        self.out.write(("\r" + text) if self._tty else (text + "\n"))
        self.out.flush()

    def finish(self) -> None:
        if self.out is not None and self._tty:
            self.out.write("\n")
            self.out.flush()


def summary_table(detail: dict[str, Any], card_id: str | None) -> str:
    report = detail.get("report") or {}
    summary = report.get("summary") or {}
    stats = (detail.get("stats") or {}).get("auto") or {}
    lines = [
        f"Eval of {detail.get('strategy')} on {detail.get('scenario')} "
        f"({summary.get('cases')} cases x {summary.get('repeats')} repeat(s))"
        + (f" — card {card_id}" if card_id else ""),
        "",
        f"{'case':<28} {'score':>6} {'pass':>6} {'~tokens':>8}  output",
    ]
    outputs = {
        c.get("index"): ((c.get("runs") or [{}])[0].get("output") or "") for c in report.get("cases") or []
    }
    for case in summary.get("per_case") or []:
        output = " ".join(str(outputs.get(case.get("index"), "")).split())
        output = output if len(output) <= 40 else output[:37] + "..."
        lines.append(
            f"{str(case.get('name'))[:28]:<28} {case.get('mean', 0):>6.2f} "
            f"{str(case.get('passed')) + '/' + str(case.get('runs')):>6} {case.get('tokens', 0):>8}  {output}"
        )
    low, high = (summary.get("ci_95") or [0, 0])[:2]
    pass_keys = sorted((k for k in summary if k.startswith("pass@")), key=lambda k: int(k[5:]))
    pass_at = "  ".join(f"{k} {summary[k]:.3f}" for k in pass_keys)
    lines += [
        "-" * 72,
        f"pass rate {summary.get('pass_rate', 0):.3f} ({summary.get('passed')}/{summary.get('n')})   "
        f"mean {summary.get('mean', 0):.3f}   std dev {summary.get('std_dev', 0):.3f}   "
        f"95% CI [{low:.3f}, {high:.3f}]",
    ]
    if pass_at:
        lines.append(pass_at)
    tags = summary.get("by_tag") or {}
    if tags:
        lines.append(
            "by tag: "
            + ", ".join(f"{tag} {t.get('passed')}/{t.get('runs')}" for tag, t in sorted(tags.items()))
        )
    total = stats.get("total_tokens") or {}
    tokens = total.get("tokens")
    source = total.get("source")
    if tokens is None:
        tokens = summary.get("estimated_tokens")
    approx = "" if source == "provided" else "~"
    round_trips = stats.get("pauses", stats.get("rounds", 0))
    lines.append(
        f"{stats.get('llm_calls', 0)} LLM calls in {round_trips} round trip(s), "
        f"{approx}{tokens} tokens, {stats.get('elapsed_ms', 0) / 1000:.1f} s"
    )
    return "\n".join(lines)


def eval_command(
    scenario: str,
    strategy: str,
    *,
    llm: bool = False,
    repeats: int = 1,
    as_json: bool = False,
    html: str | None = None,
    answers: str | None = None,
    opts: str | None = None,
    model: str | None = None,
    parallel: int | None = None,
    compare: list[str] | None = None,
    no_card: bool = False,
    config: Config | None = None,
    llm_config: LlmConfig | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr

    def fail(message: str) -> None:
        stderr.write(f"alc-mcp eval: {message}\n")
        stderr.flush()

    try:
        config = config or Config.from_env()
        if llm and answers is not None:
            raise UsageError("use either --llm or --answers, not both")
        if llm:
            llm_config = llm_config or LlmConfig.from_env()
            model = model or llm_config.model
        strategy_opts = orjson.loads(opts) if opts is not None else None
        if strategy_opts is not None and not isinstance(strategy_opts, dict):
            raise UsageError("--opts must be a JSON object")
        scripted = load_answers(answers, stdin) if answers is not None else None
    except orjson.JSONDecodeError as exc:
        fail(f"--opts is not valid JSON ({exc})")
        return EXIT_USAGE
    except (ConfigError, UsageError, ResponderError) as exc:
        fail(str(exc))
        return EXIT_USAGE

    is_file = scenario.endswith(".lua") or Path(scenario).is_file()
    request = EvalRequest(
        strategy=strategy,
        scenario_file=scenario if is_file else None,
        scenario_name=None if is_file else scenario,
        strategy_opts=strategy_opts,
        repeats=repeats,
        auto_card=not no_card,
        model=model,
        parallel=parallel,
    )
    human = stderr if as_json else stdout
    quiet_prompts = llm or (scripted is not None)
    view = View(None if quiet_prompts else human)
    source: ScriptedAnswers | TerminalAnswers | None = None
    if not llm:
        source = (
            ScriptedAnswers(scripted[0], scripted[1], view)
            if scripted is not None
            else TerminalAnswers(stdin, view)
        )

    with start_blocking_portal() as portal:
        sessions = SessionService.open(config)
        service = sessions.evaluations
        try:
            try:
                started = portal.call(service.start, request)
            except (EvalError, SessionError) as exc:
                fail(str(exc))
                return EXIT_USAGE
            progress = Progress(started.cases * repeats, human)
            human.write(
                f"Eval {started.eval_id}: {strategy} on {scenario}, {started.cases} cases x {repeats} "
                f"(session {started.session_id})\n"
            )
            progress.show(0)

            snapshot = portal.call(sessions.follow, started.session_id)

            def on_pause(_result: FeedResult) -> None:
                step = None
                if snapshot is not None:
                    step = ((snapshot().get("metrics") or {}).get("progress") or {}).get("step")
                if not isinstance(_result, Paused):
                    step = progress.total
                if step is not None:
                    progress.show(int(step))

            result: FeedResult = started.result
            stopped: str | None = None
            try:
                if llm:
                    assert llm_config is not None

                    async def answer_with_model() -> FeedResult:
                        async with Responder(llm_config) as responder:
                            return await drive(
                                sessions, started.session_id, started.result, responder, on_pause
                            )

                    result = portal.call(answer_with_model)
                else:
                    assert source is not None
                    while isinstance(result, Paused):
                        for position, query in enumerate(result.queries, 1):
                            view.pause(query, position, len(result.queries))
                            text, usage = source.answer(query, position, len(result.queries))
                            fed = portal.call(
                                partial(sessions.feed, started.session_id, [Answer(query.id, text, usage)])
                            ).result
                            if not isinstance(fed, Accepted):
                                result = fed
                                break
                        on_pause(result)
            except ResponderError as exc:
                stopped = (
                    f"{exc}\nThe eval session {started.session_id} stays paused where it was; "
                    "continue it with alc_continue (or run the eval again)."
                )
            except Stop as exc:
                portal.call(sessions.cancel, started.session_id)
                stopped = f"{exc}\nThe eval was cancelled."
            except KeyboardInterrupt:
                portal.call(sessions.cancel, started.session_id)
                stopped = "interrupted (Ctrl-C); the eval was cancelled"
            progress.finish()
            if stopped is not None:
                fail(stopped)
                return EXIT_FAILED
            if isinstance(result, Failed):
                fail(f"the eval failed: {result.error}")
                return EXIT_FAILED
            if not isinstance(result, Completed):
                fail("the eval was cancelled")
                return EXIT_FAILED
            detail = portal.call(service.detail, started.eval_id)
            card_id = detail.get("card_id")
            if as_json:
                stdout.write(dumps_compact(detail) + "\n")
            else:
                stdout.write("\n" + summary_table(detail, card_id) + "\n")
            stdout.flush()
            if html is not None:
                cards = []
                try:
                    if card_id is not None:
                        cards.append(portal.call(service.card, card_id).to_json())
                    for other in compare or []:
                        cards.append(portal.call(service.card, other).to_json())
                except CardError as exc:
                    fail(str(exc))
                    return EXIT_FAILED
                if not cards:
                    fail("--html needs a card: leave out --no-card")
                    return EXIT_FAILED
                Path(html).write_text(render(cards, f"{strategy} on {scenario}"), encoding="utf-8")
                human.write(f"Report written to {html}\n")
            return EXIT_OK
        finally:
            portal.call(sessions.close)
