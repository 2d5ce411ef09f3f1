"""What progress reporting and structured results cost a call, interleaved in one run:

- the service's ``feed`` on a session that pauses every time, without a reporter
  (``progress=None``) and with one that drops every report (the relay's own cost: the
  pump task, and one thread-to-loop hop per ``alc.progress``);
- ``alc_continue`` through an in-process ``mcp.Client`` without and with a
  ``progress_callback`` (delivering the notifications);
- the output-schema check the SDK runs on every FeedResult, alone.

Run from the repository root::

    python bench/bench_progress.py [--rounds 500] [--steps 0] [--json out.json]

``--steps N`` makes the script call ``alc.progress`` N times between two pauses. A
measuring script, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import orjson
from mcp import Client
from pydantic import TypeAdapter

from alc_mcp.app import Answer, SessionService
from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from alc_mcp.server.results import FeedReply
from common import call_paused, machine_facts, positive, print_machine

WARMUP = 20


def script(steps: int) -> str:
    return (
        "local i = 0 while true do i = i + 1; "
        f'for s = 1, {steps} do alc.progress(s, {steps}, "step") end; alc.llm("q" .. i) end'
    )


async def drop(_progress: float, _total: float | None, _message: str | None) -> None:
    pass


async def interleaved(rounds: int, variants: list[Callable[[], Awaitable[Any]]]) -> list[list[float]]:
    samples: list[list[float]] = [[] for _ in variants]
    for round_ in range(rounds + WARMUP):
        for variant, out in zip(variants, samples, strict=True):
            started = time.perf_counter()
            await variant()
            if round_ >= WARMUP:
                out.append((time.perf_counter() - started) * 1000)
    return samples


async def service_level(home: Path, rounds: int, steps: int) -> list[list[float]]:
    async with SessionService.open(Config(home=home)).running() as service:
        session = (await service.run(script(steps), None, None, None)).session_id
        answer = [Answer(None, "ok")]
        return await interleaved(
            rounds,
            [lambda: service.feed(session, answer), lambda: service.feed(session, answer, drop)],
        )


async def mcp_level(home: Path, rounds: int, steps: int) -> tuple[list[list[float]], Any]:
    async with Client(build_server(Config(home=home))) as client:
        session = await call_paused(client, "alc_run", code=script(steps))
        arguments = {"session_id": session, "response": "ok"}
        last: list[Any] = []

        async def plain() -> None:
            last[:] = [await client.call_tool("alc_continue", arguments)]

        async def tracked() -> None:
            await client.call_tool("alc_continue", arguments, progress_callback=drop)

        return await interleaved(rounds, [plain, tracked]), last[0]


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=positive, default=500)
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    facts = machine_facts()
    print_machine(facts)
    with tempfile.TemporaryDirectory() as tmp:
        bare, relayed = await service_level(Path(tmp) / "service", args.rounds, args.steps)
        (plain, tracked), result = await mcp_level(Path(tmp) / "mcp", args.rounds, args.steps)
    paused = orjson.loads(result.content[0].text)
    check = TypeAdapter(FeedReply)
    started = time.perf_counter()
    for _ in range(10_000):
        check.validate_python(paused)
    check_us = (time.perf_counter() - started) / 10_000 * 1e6

    rows = {
        "service feed, no reporter": bare,
        "service feed, reporter": relayed,
        "alc_continue, no callback": plain,
        "alc_continue, progress_callback": tracked,
    }
    print(f"feed → needs_response with {args.steps} alc.progress per run; median of {args.rounds}")
    for label, samples in rows.items():
        print(f"  {label:34s} {statistics.median(samples):6.3f} ms")
    print(f"  relay ratio    ×{statistics.median(relayed) / statistics.median(bare):.2f}")
    print(f"  delivery ratio ×{statistics.median(tracked) / statistics.median(plain):.2f}")
    print(f"  outputSchema check of one needs_response: {check_us:.1f} µs")
    if args.json:
        report = {"machine": facts, "steps": args.steps, "check_us": check_us, **rows}
        Path(args.json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
