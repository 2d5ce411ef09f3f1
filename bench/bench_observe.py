"""What journaling non-deterministic reads costs: a script that reads the clock many
times between two pauses, with the journal on and off, in the same run.

Run from the repository root::

    python bench/bench_observe.py [--reads 100000] [--runs 5] [--json out.json]

Each run starts a fresh in-process server and one session that reads ``os.clock()``
``--reads`` times and then pauses; the time is ``alc_run`` until that pause. It prints
the medians, their ratio (goal: within 2× of the unjournaled run), and the journal rows
and database bytes one such session leaves. A measuring script, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import anyio
import orjson
from mcp import Client

from alc_mcp.config import Config, Limits
from alc_mcp.server.app import build_server
from alc_mcp.store.sqlite import SqliteStore
from common import call_paused, machine_facts, positive, print_machine, timed_ms

LIMITS = Limits(max_instructions=10**11, max_run_seconds=600.0)


def script(reads: int) -> str:
    return f'local s = 0 for i = 1, {reads} do s = s + os.clock() end alc.llm("done " .. s)'


async def one_run(home: Path, reads: int, durable: bool) -> tuple[float, int, int]:
    """(ms until the pause, journal rows, database bytes) for one fresh server."""
    config = Config(home=home, limits=LIMITS, durable=durable)
    async with Client(build_server(config)) as client:
        elapsed, session_id = await timed_ms(call_paused(client, "alc_run", code=script(reads)))
    if not durable:
        return elapsed, 0, 0
    store = SqliteStore(config.db_path)
    try:
        rows = store.sessions.count_entries(session_id)
    finally:
        store.close()
    size = sum(p.stat().st_size for p in home.glob("alc.db*"))
    return elapsed, rows, size


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=positive, default=100_000)
    parser.add_argument("--runs", type=positive, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    facts = machine_facts()
    print_machine(facts)
    on: list[float] = []
    off: list[float] = []
    rows = size = 0
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):  # interleaved, so both see the same machine
            elapsed, rows, size = await one_run(Path(tmp) / f"on-{run}", args.reads, True)
            on.append(elapsed)
            off.append((await one_run(Path(tmp) / f"off-{run}", args.reads, False))[0])
    on_ms, off_ms = statistics.median(on), statistics.median(off)
    print(f"{args.reads:,} os.clock() reads, then a pause; median of {args.runs} runs")
    print(f"  journal on : {on_ms:8.1f} ms   ({rows} journal rows, {size / 1024:.0f} KiB of database)")
    print(f"  journal off: {off_ms:8.1f} ms")
    print(f"  ratio      : ×{on_ms / off_ms:.2f} (goal ≤ ×2)")
    if args.json:
        report = {
            "machine": facts,
            "reads": args.reads,
            "on_ms": on,
            "off_ms": off,
            "rows": rows,
            "bytes": size,
        }
        Path(args.json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
