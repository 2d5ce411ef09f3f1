"""Limits benchmark for alc-mcp: how long each way of dodging a limit survives, and
how another session on the same server answers meanwhile.

Run from the repository root::

    python bench/bench_limits.py [--only NAME] [--json out.json]

For each dodge script (a limit error caught in a loop, or little Lua doing heavy
builtin work), with the default limits (``Config`` defaults, as a server started
without ``ALC_*`` variables), it reports:

1. the seconds from ``alc_run`` until the error result, and which limit it names;
2. the latency of ``alc_continue`` → ``needs_response`` on a second, paused session,
   called back to back for as long as the first one burns (median, p90, max); the
   first row is the same loop with nothing burning, the machine's own noise.

This is a measuring script, not a test: it checks that each dodge ends with a limit
error and that every alc_continue pauses again, but never judges the timings (the
goals are: each dodge < 10 s, the other session < 50 ms).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio
import orjson
from mcp import Client

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from common import BenchError, LatencyStats, answer, call, cancel, machine_facts, print_machine, start_paused

DODGES = {
    "coroutine.resume loop": (
        "while true do local co = coroutine.create(function() while true do end end) coroutine.resume(co) end"
    ),
    "coroutine.wrap under pcall": "while true do pcall(coroutine.wrap(function() while true do end end)) end",
    "pcall in coroutine in pcall": (
        "while true do pcall(function()\n"
        "  local co = coroutine.create(function()\n"
        "    while true do pcall(function() while true do end end) end\n"
        "  end)\n"
        "  while true do coroutine.resume(co) end\n"
        "end) end"
    ),
    "string.rep 8 MiB loop": "local n = 0 while true do n = n + #string.rep('x', 8 * 1024 * 1024) end",
    "table.concat loop": (
        "local t = {} for i = 1, 1000 do t[i] = string.rep('y', 8192) end\n"
        "while true do local s = table.concat(t) end"
    ),
    "string.format widths": (
        "local f = string.rep('%99d', 10000) local args = {} for i = 1, 10000 do args[i] = i end\n"
        "while true do local s = string.format(f, table.unpack(args)) end"
    ),
    "catastrophic find": "local s = string.rep('a', 100000) while true do s:find('.-.-.-b') end",
    "catastrophic gsub": "local s = string.rep(' ', 200000) .. 'x' return s:gsub('%s+$', '')",
    "catastrophic plain find": (
        "local s = string.rep('a', 1000000) local p = string.rep('a', 100000) .. 'b'\n"
        "while true do s:find(p, 1, true) end"
    ),
    "'..' on 60 MiB strings": (
        "local s = string.rep('x', 60 * 1024 * 1024) while true do local t = s .. s end"
    ),
}

#: The first row: the other session's latency while nothing burns, for this long.
BASELINE = "(nothing burning)"
BASELINE_SECONDS = 3.0

LIMIT_VARIABLES = ("ALC_MAX_INSTRUCTIONS", "ALC_MAX_CPU_SECONDS", "ALC_MAX_MEMORY_MB", "ALC_MAX_RUN_SECONDS")


@dataclass(frozen=True, slots=True)
class DodgeResult:
    name: str
    seconds_to_error: float
    limit: str
    other_session: LatencyStats | None


async def measure(client: Client, name: str, code: str) -> DodgeResult:
    other = await start_paused(client)
    await answer(client, other)  # warm the other session's path
    outcome: dict[str, Any] = {}
    samples: list[float] = []

    async def burn() -> None:
        started = time.perf_counter()
        outcome["reply"] = await call(client, "alc_run", code=code)
        outcome["seconds"] = time.perf_counter() - started

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(burn)
        await anyio.sleep(0.02)
        while "reply" not in outcome:
            started = time.perf_counter()
            await answer(client, other)
            samples.append((time.perf_counter() - started) * 1000.0)
    await cancel(client, other)
    reply = outcome["reply"]
    if reply.get("status") != "error" or "limit exceeded" not in reply.get("error", ""):
        raise BenchError(f"{name}: expected a limit error, got {reply}")
    limit = next((v for v in LIMIT_VARIABLES if v in reply["error"]), "?")
    stats = LatencyStats.of(samples) if len(samples) >= 2 else None
    return DodgeResult(name, outcome["seconds"], limit, stats)


async def baseline(client: Client, seconds: float) -> DodgeResult:
    """The same alc_continue loop with nothing burning: what this machine's scheduler
    and load give anyway, to read the rows against (a shared box stalls on its own)."""
    other = await start_paused(client)
    await answer(client, other)
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        await answer(client, other)
        samples.append((time.perf_counter() - started) * 1000.0)
    await cancel(client, other)
    return DodgeResult(BASELINE, seconds, "-", LatencyStats.of(samples))


async def run(names: list[str]) -> list[DodgeResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        async with Client(build_server(Config(home=Path(home)))) as client:
            control = await baseline(client, BASELINE_SECONDS)
            print_row(control)
            results.append(control)
            for name in names:
                result = await measure(client, name, DODGES[name])
                print_row(result)
                results.append(result)
    return results


def print_header() -> None:
    print()
    print("Dodges (default limits); alc_continue of another session meanwhile")
    print(f"  {'script':<28} {'to error':>9}  {'limit':<21} {'n':>5} {'median':>8} {'p90':>8} {'max':>8}")


def print_row(r: DodgeResult) -> None:
    if r.other_session is None:
        tail = f"{'-':>5} {'-':>8} {'-':>8} {'-':>8}"
    else:
        s = r.other_session
        tail = f"{s.samples:>5} {s.median_ms:>6.2f}ms {s.p90_ms:>6.2f}ms {s.max_ms:>6.2f}ms"
    print(f"  {r.name:<28} {r.seconds_to_error:>8.2f}s  {r.limit:<21} {tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", action="append", choices=sorted(DODGES), help="run only this dodge")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    facts = machine_facts()
    print_machine(facts)
    print_header()
    results = anyio.run(run, args.only or list(DODGES))
    if args.json:
        payload = {"machine": facts, "dodges": [asdict(r) for r in results]}
        args.json.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
