"""Where a live paused session's memory goes, and what is left once sessions end.

Run from the repository root::

    python bench/bench_memory.py [--sessions 300]

In one process (the engine's registry, journal on, no MCP), it prints:

1. the Lua heap of one VM after each step of its set-up (a bare runtime, the JSON
   helpers, the sandbox, the alc table with require and the deferred prelude), at the
   first pause, and what the prelude costs once a script uses it;
2. per paused session, ``--sessions`` of them: RSS, bytes glibc's malloc has in use
   (the Lua heaps and Python's larger objects) and the RSS of each session thread's
   stack; Python's own allocations (tracemalloc, grouped by the module that made them)
   are measured last, over as many more, since tracing changes what the process holds;
3. once the first ones have been cancelled: RSS against the start, and whether any
   session object is still alive (it should go when it ends, not at a cycle collection).

A measuring script, not a test: it prints numbers and judges nothing.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import tempfile
import threading
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import psutil

from alc_mcp.app import SessionService
from alc_mcp.config import Config, Limits
from alc_mcp.domain.feed_result import Paused
from alc_mcp.domain.program import Program
from alc_mcp.engine import memory, worker
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.scratch import evaluate
from alc_mcp.engine.session import Session
from alc_mcp.store.memory import MemoryShared
from common import KIB, LOOP_SCRIPT, BenchError, machine_facts, positive, print_machine

#: A thread's stack mapping: 8 MiB by default (plus a guard page, listed apart).
STACK_KIB = range(8180, 8200)
HEAP_COUNT = "collectgarbage() collectgarbage() return collectgarbage('count')"


# --- 1. one VM's Lua heap, step by step --------------------------------------------------


def lua_heap_steps() -> list[tuple[str, float]]:
    """The Lua heap (KiB, after a full collection) after each set-up step of one VM:
    the worker's steps are wrapped for the one scratch run, then put back."""
    steps: list[tuple[str, float]] = []

    def heap(runtime: Any) -> float:
        return float(runtime.execute(HEAP_COUNT))

    def after(label: str, make: Any) -> Any:
        def step(runtime: Any, *args: Any, **kwargs: Any) -> Any:
            value = make(runtime, *args, **kwargs)
            steps.append((label, heap(runtime)))
            return value

        return step

    new_runtime, json, sandbox, install = (
        worker.new_runtime,
        worker.LuaJson,
        worker.install_sandbox,
        worker.LuaWorker._install_globals,
    )
    worker.new_runtime = lambda limits: after("bare runtime", lambda rt: rt)(new_runtime(limits))
    worker.LuaJson = after("+ JSON helpers", json)
    worker.install_sandbox = after("+ sandbox", sandbox)
    worker.LuaWorker._install_globals = lambda self, rt, api, js: after(
        "+ alc, require, deferred prelude", lambda r: install(self, r, api, js)
    )(rt)
    try:
        at_start, with_prelude = run_scratch(
            f"local a = (function() {HEAP_COUNT} end)() local _ = alc.map "
            f"return {{a, (function() {HEAP_COUNT} end)()}}"
        )
    finally:
        worker.new_runtime, worker.LuaJson, worker.install_sandbox = new_runtime, json, sandbox
        worker.LuaWorker._install_globals = install
    steps.append(("when the script starts", at_start))
    steps.append(("once it uses Layer 1 (alc.map)", with_prelude))
    return steps


def run_scratch(code: str) -> Any:
    return evaluate(
        Program(code, "=bench", {}), limits=Limits(), shared=MemoryShared(), resolver=PackageResolver([])
    )


# --- 2. and 3. many paused sessions, then none --------------------------------------------


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


def malloc_in_use() -> int | None:
    """Bytes glibc's malloc has handed out (None on another C library)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
    except (OSError, AttributeError):
        return None
    return int(libc.mallinfo2().uordblks)


def stack_rss_kib() -> tuple[int, float]:
    """(thread stacks, KiB of RSS each on average), from /proc/self/smaps."""
    stacks, total, current = 0, 0, 0
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                start, end = (int(part, 16) for part in parts[0].split("-"))
                current = (end - start) // KIB
            elif parts[0] == "Rss:" and current in STACK_KIB:
                stacks, total = stacks + 1, total + int(parts[1])
    return stacks, total / max(stacks, 1)


def grouped(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> Counter[str]:
    """Bytes allocated between the snapshots, by the innermost alc_mcp module."""
    by: Counter[str] = Counter()
    for stat in after.compare_to(before, "traceback"):
        ours = [frame for frame in stat.traceback if "/alc_mcp/" in frame.filename]
        frame = ours[-1] if ours else stat.traceback[-1]
        by[frame.filename.split("alc_mcp/")[-1]] += stat.size_diff
    return by


async def sessions(count: int) -> dict[str, Any]:
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        service = SessionService.open(Config(home=Path(home), max_live_sessions=2 * count + 1))
        async with service.running():
            registry = service.registry

            async def start() -> str:
                session_id, result = await registry.start(Program(LOOP_SCRIPT, "=bench"))
                if not isinstance(result, Paused):
                    raise BenchError(f"expected a pause, got {result}")
                return session_id

            async def end_all(ids: list[str]) -> int:
                """Cancel them; the session objects still alive without the cycle collector."""
                gc.disable()
                try:
                    for session_id in ids:
                        await registry.cancel(session_id)
                    with anyio.move_on_after(10):
                        while threading.active_count() > threads:
                            await anyio.sleep(0.05)
                    await anyio.sleep(memory.TRIM_DELAY + 0.25)
                    return sum(isinstance(o, Session) for o in gc.get_objects())
                finally:
                    gc.enable()

            threads = threading.active_count()
            await end_all([await start()])  # first-use imports and plans
            gc.collect()
            memory.trim_now()
            rss0, malloc0 = process.memory_info().rss, malloc_in_use()
            ids = [await start() for _ in range(count)]
            rss1, malloc1 = process.memory_info().rss, malloc_in_use()
            stacks = stack_rss_kib()
            alive = await end_all(ids)
            rss2 = process.memory_info().rss
            # Python's share, last: tracing changes what the process holds.
            ids = [await start() for _ in range(count)]
            tracemalloc.start(25)
            snapshot = tracemalloc.take_snapshot()
            ids += [await start() for _ in range(count)]
            python = grouped(snapshot, tracemalloc.take_snapshot())
            tracemalloc.stop()
            await end_all(ids)
    return {
        "sessions": count,
        "rss_per_session_kib": (rss1 - rss0) / count / KIB,
        "malloc_per_session_kib": None if malloc0 is None else (malloc1 - malloc0) / count / KIB,
        "stacks": stacks,
        "python_per_session": {name: size / count / KIB for name, size in python.most_common()},
        "rss_mib": (rss0 / KIB / KIB, rss1 / KIB / KIB, rss2 / KIB / KIB),
        "sessions_alive_after_end": alive,
    }


def report(steps: list[tuple[str, float]], measured: dict[str, Any]) -> None:
    print("\nLua heap of one VM (KiB, after a full collection)")
    previous = 0.0
    for label, kib in steps:
        print(f"  {label:<34} {kib:7.1f}  ({kib - previous:+.1f})")
        previous = kib
    count = measured["sessions"]
    print(f"\nPer live paused session ({count} sessions, registry in-process)")
    print(f"  RSS                          {measured['rss_per_session_kib']:7.1f} KiB")
    if measured["malloc_per_session_kib"] is not None:
        print(f"  malloc in use (Lua + Python) {measured['malloc_per_session_kib']:7.1f} KiB")
    stacks, each = measured["stacks"]
    print(f"  thread stack RSS             {each:7.1f} KiB each ({stacks} stacks)")
    python = measured["python_per_session"]
    print(f"  Python (tracemalloc)         {sum(python.values()):7.1f} KiB, of which:")
    for name, kib in list(python.items())[:8]:
        print(f"    {name:<28} {kib:6.2f} KiB")
    before, paused, ended = measured["rss_mib"]
    print("\nAfter ending them all")
    print(
        f"  RSS {ended:.1f} MiB (start {before:.1f}, peak {paused:.1f}): {100 * (ended / before - 1):+.0f}%"
    )
    print(
        f"  session objects still alive without the cycle collector: {measured['sessions_alive_after_end']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=positive, default=300, help="paused sessions per measure")
    args = parser.parse_args(argv)
    print_machine(machine_facts())
    memory.limit_heaps()
    steps = lua_heap_steps()
    report(steps, anyio.run(sessions, args.sessions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
