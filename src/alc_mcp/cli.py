"""The ``alc-mcp`` command: with no arguments (or ``serve``) it runs the MCP server on stdio
(``serve --http``: streamable HTTP); ``run`` plays one session in the terminal (see
``alc_mcp.terminal``). Ctrl-C ends any of them quietly with status 130."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from alc_mcp import __version__
from alc_mcp.config import Config, ConfigError

if TYPE_CHECKING:
    from alc_mcp.app import SessionService

__all__ = ["INTERRUPTED", "WAITING", "main"]

WAITING = "alc-mcp: waiting for an MCP client on stdin (see README: Host configuration); Ctrl-C to quit"

#: Exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    # Until a command has its own Ctrl-C handling, Ctrl-C ends the process at once: a
    # KeyboardInterrupt raised at a random point of start-up (inside an import, a weakref
    # callback) can be swallowed or printed as "Exception ignored", and one raised inside
    # exec() of a string makes CPython kill itself with SIGINT at exit even when caught.
    # Nothing has been served yet, and the store is safe against a sudden exit.
    _on_ctrl_c(_quit_now)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        exec("None")  # clears that CPython flag, so the exit status really is 130
        return INTERRUPTED
    finally:
        _on_ctrl_c(signal.default_int_handler)


def _quit_now(_signum: int, _frame: object) -> None:
    sys.stderr.flush()
    os._exit(INTERRUPTED)


def _on_ctrl_c(handler: Any) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)


def _hand_over_ctrl_c() -> None:
    """From here on Ctrl-C is a KeyboardInterrupt again: the event loop (the server, which
    then closes its sessions and store) or the terminal runner turns it into a clean stop."""
    import anyio._backends._asyncio  # noqa: F401  (imported now, not while Ctrl-C can land in it)

    _on_ctrl_c(signal.default_int_handler)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="alc-mcp",
        description="MCP server for pausable LLM-driven Lua scripts. With no command it serves MCP on "
        "stdio: an MCP host (Claude Desktop, Claude Code, Cursor, ...) starts it; see the README's Host "
        "configuration. `alc-mcp serve --http` serves streamable HTTP instead; `alc-mcp run` plays a "
        "session in this terminal; `alc-mcp test PATH` runs a package's specs.",
    )
    parser.add_argument("--version", action="version", version=f"alc-mcp {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser(
        "serve",
        help="run the MCP server (the default): stdio, or streamable HTTP with --http",
        description="Run the MCP server. By default on stdio, for a host that starts alc-mcp itself. With "
        "--http it listens for stateless streamable HTTP at http://HOST:PORT/mcp (default "
        "http://127.0.0.1:8765/mcp) for any number of clients, each with a bearer token: ALC_AUTH_TOKENS "
        "(a file of 'TOKEN PRINCIPAL' lines) or an OAuth issuer (ALC_AUTH_ISSUER_URL, "
        "ALC_AUTH_INTROSPECTION_URL); each principal sees only its own sessions. GET /healthz needs no "
        "token. SIGTERM stops it gracefully: calls in flight finish, sessions stay resumable. Over HTTP, "
        "alc_run's code_file is refused unless ALC_CODE_ROOTS names the directories it may read.",
    )
    serve.add_argument(
        "--http", action="store_true", help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on with --http (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port to listen on with --http (8765)")
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="with --http: serve without tokens (127.0.0.1 only; every caller sees every session)",
    )
    run = commands.add_parser(
        "run",
        help="run one session here, with the terminal as the host",
        description="Run a strategy (like alc_advice) or a Lua file (like alc_run) with the terminal as "
        "the host: each prompt is shown and its answer read from the terminal (end an answer with a line "
        "holding only '.', or Ctrl-D) or from --answers. Exit status: 0 completed, 1 error or cancelled, "
        "2 bad arguments.",
    )
    run.add_argument("target", metavar="STRATEGY|FILE.lua", help="a package name (e.g. sc) or a .lua file")
    run.add_argument("--task", help="the task or question (becomes ctx.task)")
    run.add_argument("--ctx", metavar="JSON", help="ctx as JSON (for a strategy: an object of options)")
    run.add_argument(
        "--answers",
        metavar="FILE",
        help="JSON lines, one answer per query in the order asked (a JSON string or "
        '{"response": "..."}); "-" reads them from stdin. Nothing is read from the terminal.',
    )
    run.add_argument(
        "--json", dest="as_json", action="store_true", help="print only the final tool-style JSON result"
    )
    run.add_argument(
        "--llm",
        action="store_true",
        help="answer every query with a chat-completions model (ALC_LLM_BASE_URL, ALC_LLM_MODEL, "
        "ALC_LLM_API_KEY) instead of the terminal",
    )
    evaluate = commands.add_parser(
        "eval",
        help="evaluate a strategy on a scenario here",
        description="Run every case of SCENARIO (a name from alc_scenario_list or a .lua file) through "
        "STRATEGY, answered by a model (--llm), a JSON-lines file (--answers) or the terminal; print a "
        "summary table and write a card. Exit status: 0 completed, 1 failed, 2 bad arguments.",
    )
    evaluate.add_argument("scenario", metavar="SCENARIO", help="scenario name or .lua file")
    evaluate.add_argument("strategy", metavar="STRATEGY", help="strategy package, e.g. cot")
    evaluate.add_argument("--llm", action="store_true", help="answer with the model from ALC_LLM_*")
    evaluate.add_argument("--repeats", type=int, default=1, help="runs per case (default 1)")
    evaluate.add_argument("--json", dest="as_json", action="store_true", help="print the eval as JSON")
    evaluate.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    evaluate.add_argument(
        "--compare",
        metavar="CARD",
        nargs="*",
        default=None,
        help="other cards (ids or aliases) in the report",
    )
    evaluate.add_argument("--answers", metavar="FILE", help="JSON lines of answers, as for run")
    evaluate.add_argument("--opts", metavar="JSON", help="strategy options (a JSON object)")
    evaluate.add_argument("--model", help="the model name recorded on the card")
    evaluate.add_argument("--parallel", type=int, help="cases run side by side per pause (default 16)")
    evaluate.add_argument("--no-card", action="store_true", help="do not write a card")
    test = commands.add_parser(
        "test",
        help="run a package's lust specs here",
        description="Run the lust specs (spec/*_spec.lua, and */spec/*_spec.lua in a collection) of PATH "
        "in the sandbox, as alc_pkg_test does, and print every failure. Exit status: 0 all passed, 1 a "
        "test failed, 2 bad arguments.",
    )
    test.add_argument("path", metavar="PATH", help="a spec file, a package directory or a collection")
    test.add_argument(
        "--search-path",
        dest="search_paths",
        metavar="DIR",
        action="append",
        default=[],
        help="another directory require() may read from (repeatable)",
    )
    test.add_argument("--json", dest="as_json", action="store_true", help="print the report as JSON")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    args = parser.parse_args(argv)

    if args.command == "test":
        from alc_mcp.spec_cli import test_command

        return test_command(
            args.path, search_paths=args.search_paths, as_json=args.as_json, verbose=args.verbose
        )

    if args.command == "run":
        from alc_mcp.terminal import run_command

        _hand_over_ctrl_c()
        return run_command(
            args.target,
            task=args.task,
            ctx=args.ctx,
            answers=args.answers,
            as_json=args.as_json,
            llm=args.llm,
        )
    if args.command == "eval":
        from alc_mcp.eval_cli import eval_command

        return eval_command(
            args.scenario,
            args.strategy,
            llm=args.llm,
            repeats=args.repeats,
            as_json=args.as_json,
            html=args.html,
            answers=args.answers,
            opts=args.opts,
            model=args.model,
            parallel=args.parallel,
            compare=args.compare,
            no_card=args.no_card,
        )

    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"alc-mcp: {exc}", file=sys.stderr)
        return 2

    from alc_mcp.server.app import build_server

    if getattr(args, "http", False):
        return _serve_http(config, args.host, args.port, no_auth=args.no_auth)
    if getattr(args, "no_auth", False):
        print("alc-mcp: --no-auth is for serve --http; stdio has no tokens to skip", file=sys.stderr)
        return 2
    service = _open_service(config)
    if service is None:
        return 2
    server = build_server(service=service)
    # On stdio the transport reads stdin in a thread that a cancelled event loop waits for
    # forever, so Ctrl-C closes the sessions and the store here and exits.
    _on_ctrl_c(lambda _signum, _frame: _close_and_quit(service))
    if sys.stdin.isatty():
        print(WAITING, file=sys.stderr, flush=True)
    server.run("stdio")
    return 0


def _open_service(config: Config) -> SessionService | None:
    """The service, or None once the reason it cannot open (an unreachable
    ALC_DATABASE_URL, a database newer than this code) is printed."""
    from alc_mcp.app import SessionService, StartupError

    try:
        return SessionService.open(config)
    except StartupError as exc:
        print(f"alc-mcp: {exc}", file=sys.stderr)
        return None


def _serve_http(config: Config, host: str, port: int, *, no_auth: bool) -> int:
    from alc_mcp.server.app import build_server
    from alc_mcp.server.http import HttpSetupError, add_health_route, plan_http

    try:
        plan = plan_http(config, host, port, no_auth=no_auth)
    except HttpSetupError as exc:
        print(f"alc-mcp: {exc}", file=sys.stderr)
        return 2
    if config.code_roots is None:
        config = replace(config, code_roots=())  # over HTTP, code_file only where ALC_CODE_ROOTS says
    service = _open_service(config)
    if service is None:
        return 2
    server = build_server(service=service, **plan.server_options)
    add_health_route(server, service)
    _hand_over_ctrl_c()  # uvicorn stops gracefully on Ctrl-C
    # uvicorn turns SIGTERM into a graceful stop (no new calls, calls in flight finish,
    # then the lifespan closes the sessions, releases their leases and flushes the
    # store), then raises it again: this handler makes that a clean exit. A SIGTERM
    # before uvicorn listens also lands here, when nothing has been served yet.
    signal.signal(signal.SIGTERM, _stopped)
    server.run("streamable-http", host=host, port=port, stateless_http=True, transport_security=plan.security)
    return 0


def _stopped(_signum: int, _frame: object) -> None:
    sys.stderr.flush()
    os._exit(0)


def _close_and_quit(service: SessionService) -> None:
    try:
        service.close()
    finally:
        _quit_now(signal.SIGINT, None)


if __name__ == "__main__":
    raise SystemExit(main())
