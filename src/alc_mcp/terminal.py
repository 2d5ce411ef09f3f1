"""``alc-mcp run``: one session on this machine, with the terminal as the host.

The runner drives the same service the MCP tools drive (``app.SessionService``): a
strategy name runs like ``alc_advice``, a ``.lua`` file like ``alc_run``. Each pause
shows its prompts and takes the answers either from the person at the terminal
(multi-line, ended by a line holding only ``.`` or by Ctrl-D) or from a JSON-lines
file (``--answers``), so the same command serves newcomers, tests and pipelines.

The event loop runs on a background thread (an anyio blocking portal) and the main
thread does the terminal I/O, so Ctrl-C reaches the main thread as
``KeyboardInterrupt`` wherever it is waiting, and turns into a clean cancellation of
the session (journaled as ``cancelled``, like ``alc_cancel``).

Human output goes to stdout (stderr with ``--json``, whose stdout carries only the
final tool-style JSON); warnings and errors go to stderr.

Exit codes: 0 completed, 1 script error / cancelled / answers ran out, 2 bad arguments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TextIO

import orjson
from anyio.from_thread import BlockingPortal, start_blocking_portal

from alc_mcp.app import Answer, SessionService
from alc_mcp.app.catalog import PackageCatalog
from alc_mcp.app.errors import ModuleNotFound, PackageError, SessionError
from alc_mcp.app.programs import advice_ctx, advice_program
from alc_mcp.config import Config, ConfigError
from alc_mcp.domain.feed_result import (
    Accepted,
    Cancelled,
    Completed,
    Failed,
    FeedResult,
    Paused,
    feed_result_json,
)
from alc_mcp.domain.jsonfmt import dumps_compact, dumps_pretty
from alc_mcp.domain.program import Program
from alc_mcp.domain.query import LlmQuery, TokenUsage
from alc_mcp.domain.state import FeedError

__all__ = [
    "CANCEL_WAIT_SECONDS",
    "END_OF_ANSWER",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "RULE_WIDTH",
    "WAITING_PREVIEW_CHARS",
    "AnswerSource",
    "Leave",
    "LlmAnswers",
    "Runner",
    "Scripted",
    "ScriptedAnswers",
    "Stop",
    "Target",
    "TerminalAnswers",
    "UsageError",
    "View",
    "load_answers",
    "parse_answers",
    "parse_ctx",
    "resolve_target",
    "run_command",
    "stats_line",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: A second Ctrl-C while the first one is still cancelling: leave without waiting.
EXIT_INTERRUPTED = 130

END_OF_ANSWER = "."
#: How long a cancellation may take before the runner gives up on the session thread.
CANCEL_WAIT_SECONDS = 30.0
RULE_WIDTH = 72
WAITING_PREVIEW_CHARS = 300


class UsageError(Exception):
    """Bad arguments: exit code 2, the message says what to fix."""


class Stop(Exception):
    """The run cannot go on (answers ran out, input ended): cancel, then exit 1."""


class Leave(Exception):
    """The run cannot go on but the session can (the model did not answer): leave it
    paused where it is, then exit 1."""


# --- what to run -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    program: Program
    description: str


def parse_ctx(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError(
            f"--ctx is not valid JSON ({exc}); pass a JSON object such as '{{\"n\": 3}}'"
        ) from None


def resolve_target(target: str, task: str | None, ctx: Any, catalog: PackageCatalog) -> Target:
    """A package (like ``alc_advice``) or a Lua file (like ``alc_run``).

    A name ending in ``.lua`` is always a file. Anything else is looked up as a package
    first, then as an existing file; if it is neither, the error lists every place the
    package was looked for."""
    if target.endswith(".lua"):
        return _file_target(Path(target), task, ctx)
    try:
        module = catalog.resolver.find(target)
    except ModuleNotFound as exc:
        if Path(target).is_file():
            return _file_target(Path(target), task, ctx)
        raise UsageError(
            f"unknown strategy '{target}' (and no such file). Searched:\n\t{exc}\n"
            "Put a package on ALC_PACKAGES_PATH or in $ALC_HOME/packages, or pass a .lua file."
        ) from None
    except PackageError as exc:
        if Path(target).is_file():
            return _file_target(Path(target), task, ctx)
        raise UsageError(f"'{target}' is neither a strategy nor an existing file: {exc}") from None
    if ctx is not None and not isinstance(ctx, dict):
        raise UsageError("--ctx must be a JSON object for a strategy (its options, merged into ctx)")
    where = f"{module.path} ({module.root.source})"
    return Target(advice_program(target, advice_ctx(task, ctx)), f"strategy '{target}' from {where}")


def _file_target(path: Path, task: str | None, ctx: Any) -> Target:
    path = path.expanduser()
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if task is not None:
        if ctx is None:
            ctx = {}
        if not isinstance(ctx, dict):
            raise UsageError("--task needs --ctx to be a JSON object (the task becomes ctx.task)")
        ctx = {**ctx, "task": task}
    return Target(Program(source, f"@{path.name}", ctx), f"file {path}")


# --- where answers come from ---------------------------------------------------------


class AnswerSource(Protocol):
    def answer(self, query: LlmQuery, position: int, count: int) -> tuple[str, TokenUsage | None]:
        """The answer to ``query`` (``position`` of ``count`` in its pause); raises ``Stop``."""
        ...


@dataclass(frozen=True, slots=True)
class Scripted:
    line: int
    response: str
    usage: TokenUsage | None = None


def parse_answers(text: str, label: str) -> list[Scripted]:
    """JSON lines: a JSON string, or ``{"response": "...", "usage": {...}}``; blank lines are skipped."""
    answers = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"{label} line {number} is not JSON ({exc})") from None
        if isinstance(value, str):
            answers.append(Scripted(number, value))
            continue
        if isinstance(value, dict) and isinstance(value.get("response"), str):
            answers.append(Scripted(number, value["response"], _usage(value.get("usage"), label, number)))
            continue
        raise UsageError(
            f'{label} line {number} must be a JSON string or an object with a string "response", '
            f"got: {line.strip()[:80]}"
        )
    return answers


def _usage(value: Any, label: str, number: int) -> TokenUsage | None:
    if value is None:
        return None
    if isinstance(value, dict):
        prompt, completion = value.get("prompt_tokens"), value.get("completion_tokens")
        if all(
            v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
            for v in (prompt, completion)
        ):
            return TokenUsage(prompt, completion)
    raise UsageError(
        f'{label} line {number}: "usage" must be an object with non-negative integer '
        '"prompt_tokens" / "completion_tokens"'
    )


def load_answers(path: str, stdin: TextIO) -> tuple[list[Scripted], str]:
    if path == "-":
        return parse_answers(stdin.read(), "stdin"), "stdin"
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the answers file {file}: {exc}") from None
    return parse_answers(text, file.name), file.name


class ScriptedAnswers:
    def __init__(self, answers: Sequence[Scripted], label: str, view: View) -> None:
        self.answers = list(answers)
        self.label = label
        self.view = view
        self.used = 0

    def answer(self, query: LlmQuery, position: int, count: int) -> tuple[str, TokenUsage | None]:
        if self.used >= len(self.answers):
            preview = _preview(query.prompt, WAITING_PREVIEW_CHARS)
            used = f"{self.used} answer" + ("" if self.used == 1 else "s")
            raise Stop(
                f"{self.label} ran out of answers after {used}: query {query.id} ({position} of {count} "
                "in this pause) was still waiting for an answer to:\n" + _indent(preview)
            )
        scripted = self.answers[self.used]
        self.used += 1
        self.view.scripted_answer(scripted, self.label)
        return scripted.response, scripted.usage

    @property
    def unused(self) -> int:
        return len(self.answers) - self.used


class TerminalAnswers:
    """Multi-line answers typed at the terminal (or piped in without --answers)."""

    def __init__(self, stdin: TextIO, view: View) -> None:
        self.stdin = stdin
        self.view = view
        self.tty = _isatty(stdin)

    def answer(self, query: LlmQuery, position: int, count: int) -> tuple[str, TokenUsage | None]:
        self.view.ask_for_answer(self.tty)
        lines: list[str] = []
        typed = False
        while True:
            self.view.line_prompt(self.tty)
            line = self.stdin.readline()
            if line == "":  # EOF / Ctrl-D
                if not typed:
                    raise Stop(
                        f"input ended before query {query.id} ({position} of {count} in this pause) "
                        'was answered (to give an empty answer, type a line with only ".")'
                    )
                self.view.end_of_answer_by_eof(self.tty)
                break
            typed = True
            if line.strip() == END_OF_ANSWER:
                break
            lines.append(line)
        return "".join(lines).removesuffix("\n").removesuffix("\r"), None


class LlmAnswers:
    """Answers from a chat-completions model (``--llm``, see ``alc_mcp.responder``).
    ``portal`` is set once the event loop runs; a failure leaves the session paused."""

    def __init__(self, config: Any, view: View) -> None:
        self.config = config
        self.view = view
        self.portal: BlockingPortal | None = None
        self._responder: Any = None

    async def _answer(self, query: LlmQuery) -> tuple[str, TokenUsage | None]:
        from alc_mcp.responder import Responder

        if self._responder is None:
            self._responder = Responder(self.config)
        reply = await self._responder.answer(query)
        return reply.text, reply.usage

    def answer(self, query: LlmQuery, position: int, count: int) -> tuple[str, TokenUsage | None]:
        from alc_mcp.responder import ResponderError

        assert self.portal is not None
        try:
            text, usage = self.portal.call(self._answer, query)
        except ResponderError as exc:
            raise Leave(str(exc)) from None
        self.view.say(f"Answer ({self.config.model}):")
        self.view.say(_indent(text))
        return text, usage

    def close(self) -> None:
        if self._responder is not None and self.portal is not None:
            self.portal.call(self._responder.aclose)


# --- what the person sees --------------------------------------------------------------


class View:
    def __init__(self, out: TextIO | None) -> None:
        self.out = out
        self._logs: list[dict[str, Any]] = []
        self._progress: dict[str, Any] | None = None

    def say(self, text: str = "") -> None:
        if self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()

    def rule(self, title: str) -> None:
        head = f"--- {title} "
        self.say(head + "-" * max(RULE_WIDTH - len(head), 3))

    def starting(self, target: Target) -> None:
        self.say(f"Running {target.description}")

    def session(self, session_id: str, name: str | None) -> None:
        self.say(f"Session {session_id}" + (f" ({name})" if name else ""))

    def pause(self, query: LlmQuery, position: int, count: int) -> None:
        self.say()
        details = [f"{position} of {count} in this pause", f"max_tokens {query.max_tokens}"]
        if query.grounded:
            details.append("grounded")
        if query.underspecified:
            details.append("underspecified")
        self.rule(f"{query.id} ({', '.join(details)})")
        if query.system:
            self.say("System:")
            self.say(_indent(query.system))
        self.say("Prompt:")
        self.say(_indent(query.prompt))

    def ask_for_answer(self, tty: bool) -> None:
        how = "a line with only '.'" + (" or Ctrl-D" if tty else " or end of input")
        self.say(f"Your answer (end it with {how}):")

    def line_prompt(self, tty: bool) -> None:
        if tty and self.out is not None:
            self.out.write("> ")
            self.out.flush()

    def end_of_answer_by_eof(self, tty: bool) -> None:
        if tty:
            self.say()

    def scripted_answer(self, scripted: Scripted, label: str) -> None:
        self.say(f"Answer ({label} line {scripted.line}):")
        self.say(_indent(scripted.response))

    def activity(self, metrics: dict[str, Any] | None) -> None:
        """New log lines and a changed ``alc.progress`` since the last call."""
        if not metrics:
            return
        logs = list(metrics.get("recent_logs") or [])
        fresh, dropped = _new_entries(self._logs, logs)
        self._logs = logs
        if dropped:
            self.say("  [log] (earlier lines were dropped; alc_log_view has them all)")
        for entry in fresh:
            tag = "print" if entry.get("source") == "alc.lua.print" else entry.get("level", "log")
            self.say(f"  [{tag}] {entry.get('message', '')}")
        progress = metrics.get("progress")
        if progress and progress != self._progress:
            self._progress = progress
            step, total, message = progress.get("step"), progress.get("total"), progress.get("message")
            where = f"{step}/{total}" if total else f"step {step}"
            self.say(f"  [progress {where}]" + (f" {message}" if message else ""))

    def completed(self, result: Completed) -> None:
        value = result.result
        self.say()
        if isinstance(value, dict) and "result" in value:
            self.rule("result (result.result; --json prints everything)")
            value = value["result"]
        else:
            self.rule("result")
        self.say(value if isinstance(value, str) else dumps_pretty(value))
        self.say(f"--- {stats_line(result.stats)}")


def stats_line(stats: dict[str, Any]) -> str:
    auto = stats.get("auto") or {}
    calls, pauses = auto.get("llm_calls", 0), auto.get("pauses", 0)
    seconds = auto.get("elapsed_ms", 0) / 1000
    total = auto.get("total_tokens") or {}
    tokens = total.get("tokens", 0)
    approx = "~" if total.get("source") == "estimated" else ""
    parts = [
        f"{calls} LLM call{'s' if calls != 1 else ''} in {pauses} pause{'s' if pauses != 1 else ''}",
        f"{seconds:.1f} s",
        f"{approx}{tokens} tokens",
    ]
    custom = stats.get("custom")
    if custom:
        parts.append(f"custom {dumps_compact(custom)}")
    return "stats: " + ", ".join(parts)


def _new_entries(
    seen: list[dict[str, Any]], current: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], bool]:
    """The entries of the ring buffer ``current`` not in ``seen`` (its previous contents):
    the longest suffix of ``seen`` that starts ``current`` is old. The flag says lines
    were lost in between (nothing overlaps although both are non-empty and full)."""
    for k in range(min(len(seen), len(current)), 0, -1):
        if seen[-k:] == current[:k]:
            return current[k:], False
    return current, bool(seen) and bool(current)


def _preview(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.split("\n"))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --- driving the session ---------------------------------------------------------------


class Runner:
    """Starts the session and plays host until it finishes; main thread only."""

    def __init__(
        self, portal: BlockingPortal, service: SessionService, view: View, source: AnswerSource
    ) -> None:
        self.portal = portal
        self.service = service
        self.view = view
        self.source = source
        self.session_id: str | None = None
        self._snapshot: Callable[[], dict[str, Any]] | None = None
        self._pending: Future[Any] | None = None

    def call(self, func: Callable[[], Any]) -> Any:
        """Run a coroutine function on the loop and wait; Ctrl-C leaves it in ``_pending``."""
        future = self.portal.start_task_soon(func)
        self._pending = future
        result = future.result()
        self._pending = None
        return result

    def run(self, target: Target) -> tuple[FeedResult, str | None]:
        """The final result, and why the runner stopped the session (None if it ended by itself)."""
        self.view.starting(target)
        try:
            reply = self.call(partial(self.service.start, target.program))
            self.session_id = reply.session_id
            self._snapshot = self.portal.call(self.service.follow, reply.session_id)
            self.view.session(reply.session_id, self._session_name())
            result = reply.result
            self._observe(result)
            while isinstance(result, Paused):
                try:
                    result = self._answer(result)
                except Leave as exc:
                    return result, str(exc)
                self._observe(result)
            return result, None
        except Stop as exc:
            return self.cancel(), str(exc)
        except (SessionError, FeedError) as exc:
            return self.cancel(), f"the engine refused an answer: {exc}"
        except KeyboardInterrupt:
            self.view.say()  # past the "^C" the terminal echoed
            return self.cancel(), "interrupted (Ctrl-C)"

    def _answer(self, paused: Paused) -> FeedResult:
        queries = paused.queries
        for position, query in enumerate(queries, 1):
            self.view.pause(query, position, len(queries))
            text, usage = self.source.answer(query, position, len(queries))
            assert self.session_id is not None
            reply = self.call(partial(self.service.feed, self.session_id, [Answer(query.id, text, usage)]))
            result: FeedResult = reply.result
            if not isinstance(result, Accepted):
                return result
        raise SessionError(f"the pause still waits after all {len(queries)} of its queries were answered")

    def _observe(self, result: FeedResult) -> None:
        """Show new log lines and progress: from the session's snapshot (the object outlives
        the session), or from the journal if it ended before there was a live one to hold."""
        if self._snapshot is not None:
            self.view.activity(self._snapshot().get("metrics"))
        elif not isinstance(result, Paused) and self.session_id is not None:
            self.view.activity(self.portal.call(self.service.journal_activity, self.session_id))

    def _session_name(self) -> str | None:
        """The session's name (durable sessions have one), for alc_log_view later."""
        if self._snapshot is not None:
            name: str | None = self._snapshot().get("name")
            return name
        assert self.session_id is not None
        return self.portal.call(self.service.session_name, self.session_id)

    def cancel(self) -> FeedResult:
        """Cancel the session wherever it is (paused, or running on the loop)."""
        pending = self._pending
        session_id = self.session_id or self._only_session()
        result: FeedResult | None = None
        if session_id is not None:
            try:
                result = self.portal.call(self.service.cancel, session_id).result
            except SessionError:
                result = None  # it finished on its own meanwhile; the pending call has the result
        elif pending is not None:
            pending.cancel()
        if pending is not None:
            try:
                outcome = pending.result(timeout=CANCEL_WAIT_SECONDS)
            except BaseException:  # cancelled, timed out, or failed: the cancel result stands
                outcome = None
            if outcome is not None:
                if self.session_id is None:
                    self.session_id = outcome.session_id
                outcome = outcome.result
            if result is None and isinstance(outcome, (Completed, Failed, Cancelled)):
                result = outcome
        self._pending = None
        return result if result is not None else Cancelled({})

    def _only_session(self) -> str | None:
        """The session a start is driving before it returned its id: the service of a
        terminal run holds no other."""
        listing = self.portal.call(partial(self.service.status_all, None, False))
        sessions = listing["sessions"]
        return sessions[-1]["session_id"] if sessions else None


# --- the command -----------------------------------------------------------------------


def run_command(
    target: str,
    *,
    task: str | None = None,
    ctx: str | None = None,
    answers: str | None = None,
    as_json: bool = False,
    llm: bool = False,
    llm_config: Any = None,
    config: Config | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    for stream in (stdout, stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")

    def fail(message: str) -> None:
        stderr.write(f"alc-mcp run: {message}\n")
        stderr.flush()

    try:
        config = config or Config.from_env()
        context = parse_ctx(ctx)
        scripted = load_answers(answers, stdin) if answers is not None else None
        catalog = PackageCatalog(config)
        chosen = resolve_target(target, task, context, catalog)
        if llm:
            from alc_mcp.responder import LlmConfig, ResponderError

            if scripted is not None:
                raise UsageError("use either --llm or --answers, not both")
            try:
                llm_config = llm_config or LlmConfig.from_env()
            except ResponderError as exc:
                raise UsageError(str(exc)) from None
    except (ConfigError, UsageError) as exc:
        fail(str(exc))
        return EXIT_USAGE

    # With --json, stdout carries the result alone: prompts go to stderr, and only when
    # someone has to read them.
    quiet = as_json and scripted is not None
    view = View(None if quiet else stderr if as_json else stdout)
    source: ScriptedAnswers | TerminalAnswers | LlmAnswers = (
        ScriptedAnswers(scripted[0], scripted[1], view)
        if scripted is not None
        else LlmAnswers(llm_config, view)
        if llm
        else TerminalAnswers(stdin, view)
    )

    try:
        with start_blocking_portal() as portal:
            service = SessionService.open(config, catalog)
            if isinstance(source, LlmAnswers):
                source.portal = portal
            try:
                runner = Runner(portal, service, view, source)
                result, stopped = runner.run(chosen)
            finally:
                if isinstance(source, LlmAnswers):
                    source.close()
                portal.call(service.close)
    except KeyboardInterrupt:
        # Ctrl-C outside the run (usually a second one while the first is cancelling): go now.
        fail("interrupted; leaving without waiting for the session to stop")
        stdout.flush()
        os._exit(EXIT_INTERRUPTED)

    if stopped is not None and isinstance(result, Paused):
        fail(
            f"{stopped}\nThe session {runner.session_id} stays paused where it was; continue it with "
            "alc_continue once the model answers again."
        )
    elif stopped is not None:
        fail(f"{stopped}\nThe session was cancelled.")
    if isinstance(source, ScriptedAnswers) and source.unused and isinstance(result, Completed):
        fail(f"warning: {source.unused} answer(s) in {source.label} were not used")

    if as_json:
        stdout.write(dumps_compact(feed_result_json(result, runner.session_id or "")) + "\n")
        stdout.flush()
    match result:
        case Completed():
            if not as_json:
                view.completed(result)
            return EXIT_OK
        case Failed(error=error):
            fail(f"the script failed: {error}")
        case Cancelled(stats=stats):
            if stopped is None:
                fail("the session was cancelled")
            if not as_json and stats:
                view.say(f"--- cancelled; {stats_line(stats)}")
    return EXIT_FAILED
