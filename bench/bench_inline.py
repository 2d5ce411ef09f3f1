"""What answering pauses inside the call saves a host: round trips, tokens, time.

Run from the repository root::

    python bench/bench_inline.py [--reps 20] [--json out.json]

For the ``sc`` strategy with n=5 and for ``reflect``, each path runs the same strategy on
the same task with the same stand-in model (answers depend only on the prompt, so every
path takes the same pauses):

- ``needs_response``: today's loop. The host's model reads each ``needs_response`` and
  writes an ``alc_continue`` (2026-07-28 client without ``sampling``);
- ``mrtr``: a 2026-07-28 client that declares ``sampling``; its SDK answers the
  ``InputRequiredResult`` rounds with the sampling callback;
- ``sampling``: a 2025-11-25 client that declares ``sampling``; the server sends
  ``sampling/createMessage`` requests during the call.

Per path it prints the tool calls the host's model makes (each one a model turn), the
``tools/call`` requests on the wire (counted by a server middleware), the sampling
requests, the host-visible tokens (characters / 4 of the tool results the host's model
reads plus the arguments it writes; the prompts a sampling path sends are counted apart,
since each is a separate, one-off completion that does not grow the host's context),
and the in-process time per completed strategy (median of ``--reps``, paths interleaved).

This is a measuring script, not a test: it checks that every run completes with the same
result but never judges the numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import orjson
from mcp import Client
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CreateMessageRequestParams, CreateMessageResult, TextContent

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from common import BenchError, machine_facts, positive, print_machine

STRATEGIES: dict[str, dict[str, Any]] = {
    "sc n=5": {"strategy": "sc", "task": "What is 17 + 25?", "opts": {"n": 5}},
    "reflect": {"strategy": "reflect", "task": "Write a haiku about tidy code."},
}
PATHS = ("needs_response", "mrtr", "sampling")


def model_answer(prompt: str) -> str:
    """The stand-in model: a fixed-size answer that only depends on the prompt."""
    return f"Thinking it through step by step ({len(prompt)} chars read). Answer: 42"


@dataclass
class Tally:
    model_tool_calls: int = 0
    wire_tool_calls: int = 0
    sampling_requests: int = 0
    host_chars: int = 0
    sampling_chars: int = 0
    result: Any = None

    def summary(self) -> dict[str, Any]:
        return {
            "host_model_tool_calls": self.model_tool_calls,
            "wire_tools_call_requests": self.wire_tool_calls,
            "sampling_requests": self.sampling_requests,
            "host_visible_tokens": tokens_of(self.host_chars),
            "sampling_prompt_tokens": tokens_of(self.sampling_chars),
        }


def tokens_of(chars: int) -> int:
    return chars // 4


@dataclass
class Counter:
    """Server middleware: counts the tools/call requests that reach the server."""

    tally: Tally = field(default_factory=Tally)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call":
            self.tally.wire_tool_calls += 1
        return await call_next(ctx)


async def host_call(client: Client, tally: Tally, tool: str, arguments: dict[str, Any]) -> Any:
    """One tool call the host's model makes: it writes the arguments, reads the result."""
    tally.model_tool_calls += 1
    tally.host_chars += len(orjson.dumps(arguments))
    result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    tally.host_chars += len(text)
    if result.is_error:
        raise BenchError(f"{tool} failed: {text}")
    return orjson.loads(text)


async def needs_response_loop(client: Client, tally: Tally, arguments: dict[str, Any]) -> Any:
    reply = await host_call(client, tally, "alc_advice", arguments)
    while reply["status"] == "needs_response":
        session_id = reply["session_id"]
        if "queries" in reply:
            responses = [
                {"query_id": q["id"], "response": model_answer(q["prompt"])} for q in reply["queries"]
            ]
            reply = await host_call(
                client, tally, "alc_continue", {"session_id": session_id, "responses": responses}
            )
        else:
            answer = {"session_id": session_id, "response": model_answer(reply["prompt"])}
            reply = await host_call(client, tally, "alc_continue", answer)
    return reply


def sampler(tally: Tally) -> Callable[[Any, CreateMessageRequestParams], Awaitable[CreateMessageResult]]:
    async def sample(_context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        content = params.messages[0].content
        assert isinstance(content, TextContent)
        tally.sampling_requests += 1
        answer = model_answer(content.text)
        tally.sampling_chars += len(content.text) + len(params.system_prompt or "") + len(answer)
        return CreateMessageResult(role="assistant", content=TextContent(text=answer), model="stand-in")

    return sample


async def run_once(config: Config, path: str, arguments: dict[str, Any]) -> tuple[float, Tally]:
    counter = Counter()
    server = build_server(config)
    server.middleware.append(counter)
    tally = counter.tally
    options: dict[str, Any] = {}
    if path != "needs_response":
        options["sampling_callback"] = sampler(tally)
    if path == "sampling":
        options["mode"] = "legacy"
    async with Client(server, **options) as client:
        started = time.perf_counter()
        if path == "needs_response":
            reply = await needs_response_loop(client, tally, arguments)
        else:
            reply = await host_call(client, tally, "alc_advice", arguments)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
    if reply["status"] != "completed":
        raise BenchError(f"{path}: expected completed, got {reply}")
    tally.result = reply["result"]
    return elapsed_ms, tally


async def measure(reps: int) -> dict[str, Any]:
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as home:
        config = Config(home=Path(home))
        for name, arguments in STRATEGIES.items():
            times: dict[str, list[float]] = {path: [] for path in PATHS}
            tallies: dict[str, Tally] = {}
            for _ in range(reps):  # interleaved, so machine noise hits every path alike
                for path in PATHS:
                    elapsed, tally = await run_once(config, path, arguments)
                    times[path].append(elapsed)
                    tallies[path] = tally
            results = {orjson.dumps(t.result) for t in tallies.values()}
            if len(results) != 1:
                raise BenchError(f"{name}: the paths disagree: {results}")
            report[name] = {
                path: {**tallies[path].summary(), "median_ms": statistics.median(times[path])}
                for path in PATHS
            }
    return report


def print_report(report: dict[str, Any]) -> None:
    columns = (
        ("host_model_tool_calls", "host model tool calls"),
        ("wire_tools_call_requests", "tools/call on the wire"),
        ("sampling_requests", "sampling requests"),
        ("host_visible_tokens", "host-visible tokens"),
        ("sampling_prompt_tokens", "tokens in sampling calls"),
        ("median_ms", "time per strategy (median)"),
    )
    for name, paths in report.items():
        print(f"\n{name}")
        print(f"  {'':<28}" + "".join(f"{path:>16}" for path in PATHS))
        for key, label in columns:
            cells = "".join(
                f"{paths[p][key]:>14.1f}ms" if key == "median_ms" else f"{paths[p][key]:>16}" for p in PATHS
            )
            print(f"  {label:<28}{cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=positive, default=20, help="completed runs per strategy and path")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    facts = machine_facts()
    print_machine(facts)
    report = anyio.run(measure, args.reps)
    print_report(report)
    if args.json:
        args.json.write_bytes(
            orjson.dumps({"machine": facts, "reps": args.reps, **report}, option=orjson.OPT_INDENT_2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
