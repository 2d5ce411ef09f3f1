"""Session benchmark for alc-mcp: pause/resume latency and memory per paused session.

Run from the repository root::

    python bench/bench_sessions.py [--sessions 1000] [--rounds 200] [--json out.json]

It reports, from one run:

1. latency of ``alc_run`` → ``needs_response`` and of ``alc_continue`` → ``needs_response``,
   both in-process (``mcp.Client`` on the ``MCPServer`` instance) and over stdio (the
   server as a subprocess), after a warm-up;
2. memory of paused sessions: a fresh stdio server subprocess, its RSS before and after
   starting ``--sessions`` sessions that each pause on ``alc.llm``, RSS per session,
   thread count, and RSS again once they are all cancelled.

This is a measuring script, not a test: it checks that the server answers as expected
(every call must pause again) but never judges the timings.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio
import orjson
import psutil
from mcp import Client

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from common import (
    KIB,
    BenchError,
    LatencyStats,
    ProcessSample,
    call,
    cancel,
    for_each,
    machine_facts,
    positive,
    print_machine,
    sample_continue,
    server_process,
    settle,
    start_paused,
    stdio_client,
    timed_ms,
)

# --- talking to the server ---------------------------------------------------------


@asynccontextmanager
async def inprocess_client(home: Path) -> AsyncIterator[Client]:
    async with Client(build_server(Config(home=home))) as client:
        yield client


# --- latency -----------------------------------------------------------------------


async def sample_run(client: Client, rounds: int, warmup: int) -> list[float]:
    """Time alc_run → needs_response; each session is cancelled (untimed) right after."""
    samples: list[float] = []
    for index in range(warmup + rounds):
        elapsed, session_id = await timed_ms(start_paused(client))
        await cancel(client, session_id)
        if index >= warmup:
            samples.append(elapsed)
    return samples


ClientFactory = Callable[[Path], AbstractAsyncContextManager[Client]]


async def measure_latency(open_client: ClientFactory, rounds: int, warmup: int) -> dict[str, LatencyStats]:
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        async with open_client(Path(home)) as client:
            run = await sample_run(client, rounds, warmup)
            resume = await sample_continue(client, rounds, warmup)
    return {"alc_run": LatencyStats.of(run), "alc_continue": LatencyStats.of(resume)}


# --- memory per paused session -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryReport:
    sessions: int
    concurrency: int
    start_seconds: float
    cancel_seconds: float
    before: ProcessSample
    paused: ProcessSample
    after_cancel: ProcessSample

    @property
    def rss_per_session_kib(self) -> float:
        return (self.paused.rss_kib - self.before.rss_kib) / self.sessions

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "rss_per_session_kib": self.rss_per_session_kib}


async def measure_memory(sessions: int, concurrency: int) -> MemoryReport:
    known = {child.pid for child in psutil.Process().children()}
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        # Raise the live-VM cap so no session hibernates: the measure is RSS per live VM.
        async with stdio_client(Path(home), ALC_MAX_LIVE_SESSIONS=str(sessions + 1)) as client:
            server = server_process(known)
            idle_threads = server.num_threads()
            # One session first, so lazy imports and first-use allocations are in the baseline.
            await cancel(client, await start_paused(client))
            await settle(server, threads=idle_threads)
            before = ProcessSample.of(server)

            start_ms, ids = await timed_ms(
                for_each(range(sessions), concurrency, lambda _: start_paused(client))
            )
            paused = ProcessSample.of(server)
            info = await call(client, "alc_info")
            if info["sessions"]["live"] != sessions:
                raise BenchError(f"expected {sessions} live sessions, alc_info says {info['sessions']}")

            cancel_ms, _ = await timed_ms(for_each(ids, concurrency, lambda sid: cancel(client, sid)))
            await settle(server, threads=before.threads)
            after_cancel = ProcessSample.of(server)
    return MemoryReport(
        sessions=sessions,
        concurrency=concurrency,
        start_seconds=start_ms / 1000.0,
        cancel_seconds=cancel_ms / 1000.0,
        before=before,
        paused=paused,
        after_cancel=after_cancel,
    )


# --- report ------------------------------------------------------------------------


def print_latency(latency: dict[str, dict[str, LatencyStats]], rounds: int, warmup: int) -> None:
    print(f"\nLatency (ms, {rounds} samples each after {warmup} warm-up calls)")
    header = (
        f"  {'transport':<11} {'call → needs_response':<28} {'median':>8} {'p90':>8} {'min':>8} {'max':>8}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for transport, by_tool in latency.items():
        for tool, stats in by_tool.items():
            print(
                f"  {transport:<11} {tool:<28} {stats.median_ms:>8.3f} {stats.p90_ms:>8.3f}"
                f" {stats.min_ms:>8.3f} {stats.max_ms:>8.3f}"
            )


def print_memory(report: MemoryReport) -> None:
    print(
        f"\nMemory: {report.sessions} paused sessions in a fresh stdio server "
        f"({report.concurrency} alc_run in flight)"
    )
    rows = [
        ("before (1 warm-up session, cancelled)", report.before),
        (f"{report.sessions} sessions paused", report.paused),
        ("after alc_cancel of all", report.after_cancel),
    ]
    print(f"  {'':<40} {'RSS MiB':>10} {'threads':>8}")
    for label, sample in rows:
        print(f"  {label:<40} {sample.rss_kib / KIB:>10.1f} {sample.threads:>8}")
    print(f"  RSS per paused session: {report.rss_per_session_kib:.1f} KiB")
    rate = report.sessions / report.start_seconds
    print(f"  start all: {report.start_seconds:.2f} s ({rate:.0f} sessions/s)")
    print(f"  cancel all: {report.cancel_seconds:.2f} s")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    facts = machine_facts()
    print_machine(facts)
    latency = {
        "in-process": await measure_latency(inprocess_client, args.rounds, args.warmup),
        "stdio": await measure_latency(stdio_client, args.rounds, args.warmup),
    }
    print_latency(latency, args.rounds, args.warmup)
    memory = await measure_memory(args.sessions, args.concurrency)
    print_memory(memory)
    return {
        "machine": facts,
        "latency_ms": {
            transport: {tool: asdict(stats) for tool, stats in by_tool.items()}
            for transport, by_tool in latency.items()
        },
        "memory": memory.to_json(),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=positive, default=1000, help="paused sessions for the RSS measure")
    parser.add_argument("--rounds", type=positive, default=200, help="timed samples per latency measure")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls before each latency measure")
    parser.add_argument(
        "--concurrency", type=positive, default=50, help="alc_run calls in flight (RSS measure)"
    )
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = anyio.run(bench, args)
    results["wall_seconds"] = time.perf_counter() - started
    print(f"\nTotal wall time: {results['wall_seconds']:.1f} s")
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
