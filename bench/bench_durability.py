"""Durability benchmark for alc-mcp: replay time of revived sessions, journal cost per call.

Run from the repository root::

    python bench/bench_durability.py [--sizes 10,100,1000] [--reps 5] [--rounds 300] [--json out.json]

It reports, from one run (all in-process, ``mcp.Client`` on the ``MCPServer`` instance):

1. replay time: sessions of the looping script are driven through N answers, then
   their VM goes away and the ``alc_continue`` that revives them (a fresh VM replays
   the N recorded answers, then takes the new one) is timed until it pauses again.
   The VM goes away two ways: a server restart on the same home (a new
   ``build_server`` + client, what a user sees after the host reconnects) and
   ``SessionRegistry.hibernate`` inside a running server. Each size has ``--reps``
   sessions per way, each revived once, so every sample replays exactly N answers.
   Alongside: a live ``alc_continue`` for reference, the per-answer cost, and how
   much of a revival is reading and folding the journal (timed on the store directly),
   and a fit: fixed cost per revival + cost per replayed answer;
2. ``alc_continue`` latency with the journal on (``synchronous=NORMAL``, the default),
   off (``durable=False``) and on with ``synchronous=FULL``: three servers in one
   process, one session each, continued in turn so that all three see the same
   machine load.

This is a measuring script, not a test: it checks that the server answers as expected
(every call must pause again) but never judges the timings.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio
import orjson
import psutil
from mcp import Client

from alc_mcp.app import SessionService
from alc_mcp.config import Config
from alc_mcp.domain.journal import fold
from alc_mcp.engine.registry import SessionRegistry
from alc_mcp.server import app
from alc_mcp.store.sqlite import SqliteStore
from common import (
    BenchError,
    LatencyStats,
    answer,
    machine_facts,
    positive,
    print_machine,
    start_paused,
    timed_ms,
)

#: Live alc_continue calls timed on the replay server, for reference.
LIVE_SAMPLES = 100


# --- a server whose registry we can reach -------------------------------------------


@asynccontextmanager
async def serve(config: Config) -> AsyncIterator[tuple[Client, SessionRegistry]]:
    """An in-process client on a fresh server for ``config``, and that server's registry."""
    service = SessionService.open(config)
    async with Client(app.build_server(service=service)) as client:
        yield client, service.registry


async def drive(client: Client, answers: int) -> str:
    """A new LOOP_SCRIPT session, paused after ``answers`` answered queries."""
    session_id = await start_paused(client)
    for _ in range(answers):
        await answer(client, session_id)
    return session_id


async def drive_many(client: Client, answers: int, count: int) -> list[str]:
    """``count`` sessions driven to ``answers`` answers, concurrently."""
    ids: list[str] = [""] * count

    async def one(index: int) -> None:
        ids[index] = await drive(client, answers)

    async with anyio.create_task_group() as tasks:
        for index in range(count):
            tasks.start_soon(one, index)
    return ids


async def live_samples(client: Client, count: int) -> list[float]:
    session_id = await drive(client, 5)
    return [(await timed_ms(answer(client, session_id)))[0] for _ in range(count)]


# --- 1. replay ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Reading and folding one journal, timed on the store directly (medians, ms)."""

    entries: int
    read_ms: float
    fold_ms: float


@dataclass(frozen=True, slots=True)
class ReplayReport:
    sizes: tuple[int, ...]
    reps: int
    live: LatencyStats
    restart_ms: LatencyStats  # build_server + connect on a home holding every session
    restart: dict[int, LatencyStats]
    hibernate: dict[int, LatencyStats]
    breakdown: dict[int, Breakdown]
    db_bytes: int

    def per_answer_ms(self, by_size: dict[int, LatencyStats], size: int) -> float:
        """Revival minus a live continue, per replayed answer."""
        return (by_size[size].median_ms - self.live.median_ms) / size

    def slope_ms(self, by_size: dict[int, LatencyStats]) -> float | None:
        """Extra time per extra replayed answer between the two largest sizes."""
        if len(self.sizes) < 2:
            return None
        small, large = self.sizes[-2], self.sizes[-1]
        return (by_size[large].median_ms - by_size[small].median_ms) / (large - small)

    def fixed_ms(self, by_size: dict[int, LatencyStats]) -> float | None:
        """The slope line at N=0: a revival's cost before any answer is replayed."""
        slope = self.slope_ms(by_size)
        if slope is None:
            return None
        return by_size[self.sizes[-1]].median_ms - slope * self.sizes[-1]

    def to_json(self) -> dict[str, Any]:
        def ways(by_size: dict[int, LatencyStats]) -> dict[str, Any]:
            return {
                "by_size": {
                    str(n): {**asdict(s), "per_answer_ms": self.per_answer_ms(by_size, n)}
                    for n, s in by_size.items()
                },
                "slope_ms_per_answer": self.slope_ms(by_size),
                "fixed_ms": self.fixed_ms(by_size),
            }

        return {
            "sizes": list(self.sizes),
            "reps": self.reps,
            "live_continue_ms": asdict(self.live),
            "restart_connect_ms": asdict(self.restart_ms),
            "restart": ways(self.restart),
            "hibernate": ways(self.hibernate),
            "journal_read_fold": {str(n): asdict(b) for n, b in self.breakdown.items()},
            "db_bytes": self.db_bytes,
        }


async def revive(client: Client, session_id: str) -> float:
    elapsed, _ = await timed_ms(answer(client, session_id))
    return elapsed


def journal_breakdown(db_path: Path, ids: Sequence[str]) -> Breakdown:
    store = SqliteStore(db_path)
    try:
        reads, folds, entries = [], [], 0
        for session_id in ids:
            started = time.perf_counter()
            journal = store.sessions.journal(session_id)
            read_done = time.perf_counter()
            fold(journal)
            reads.append((read_done - started) * 1000.0)
            folds.append((time.perf_counter() - read_done) * 1000.0)
            entries = len(journal)
    finally:
        store.close()
    return Breakdown(entries, statistics.median(reads), statistics.median(folds))


async def measure_replay(sizes: Sequence[int], reps: int, parent: Path | None) -> ReplayReport:
    with tempfile.TemporaryDirectory(prefix="alc-bench-", dir=parent) as home:
        config = Config(home=Path(home))
        async with serve(config) as (client, registry):
            for_restart = {n: await drive_many(client, n, reps) for n in sizes}
            for_hibernate = {n: await drive_many(client, n, reps) for n in sizes}
            # Journals of exactly N answers, read through a second connection (WAL readers).
            breakdown = {n: journal_breakdown(config.db_path, for_restart[n]) for n in sizes}
            live = await live_samples(client, LIVE_SAMPLES)  # after the driving, which warmed it up
            hibernate: dict[int, list[float]] = {n: [] for n in sizes}
            for n in sizes:
                for session_id in for_hibernate[n]:
                    session = registry.live_session(session_id)
                    if session is None:
                        raise BenchError(f"session {session_id} is not live before hibernation")
                    registry.hibernate(session)
                    hibernate[n].append(await revive(client, session_id))
        restart: dict[int, list[float]] = {n: [] for n in sizes}
        connect: list[float] = []
        for rep in range(reps):
            async with AsyncExitStack() as stack:
                elapsed, (client, registry) = await timed_ms(stack.enter_async_context(serve(config)))
                connect.append(elapsed)
                # Revive small first: each size's first sample is not always the first call.
                order = sizes if rep % 2 == 0 else tuple(reversed(sizes))
                for n in order:
                    session_id = for_restart[n][rep]
                    if registry.live_session(session_id) is not None:
                        raise BenchError(f"session {session_id} is live right after a restart")
                    restart[n].append(await revive(client, session_id))
        db_bytes = sum(p.stat().st_size for p in Path(home).glob("alc.db*"))
    return ReplayReport(
        sizes=tuple(sizes),
        reps=reps,
        live=LatencyStats.of(live),
        restart_ms=LatencyStats.of(connect),
        restart={n: LatencyStats.of(s) for n, s in restart.items()},
        hibernate={n: LatencyStats.of(s) for n, s in hibernate.items()},
        breakdown=breakdown,
        db_bytes=db_bytes,
    )


# --- 2. journal on / off ------------------------------------------------------------

#: label → Config overrides (home is added per server).
JOURNAL_MODES: dict[str, dict[str, Any]] = {
    "journal on (NORMAL)": {},
    "journal off": {"durable": False},
    "journal on (FULL)": {"db_synchronous": "FULL"},
}


async def measure_journal(rounds: int, warmup: int, parent: Path | None) -> dict[str, LatencyStats]:
    samples: dict[str, list[float]] = {label: [] for label in JOURNAL_MODES}
    with contextlib.ExitStack() as homes:
        async with AsyncExitStack() as stack:
            sessions: dict[str, tuple[Client, str]] = {}
            for label, overrides in JOURNAL_MODES.items():
                home = homes.enter_context(tempfile.TemporaryDirectory(prefix="alc-bench-", dir=parent))
                client, registry = await stack.enter_async_context(
                    serve(Config(home=Path(home), **overrides))
                )
                if registry.durable != overrides.get("durable", True):
                    raise BenchError(f"{label}: the server's durability is {registry.durable}")
                sessions[label] = (client, await start_paused(client))
            for index in range(warmup + rounds):
                for label, (client, session_id) in sessions.items():
                    elapsed, _ = await timed_ms(answer(client, session_id))
                    if index >= warmup:
                        samples[label].append(elapsed)
    return {label: LatencyStats.of(s) for label, s in samples.items()}


# --- report ------------------------------------------------------------------------


def storage_facts(parent: Path | None) -> dict[str, Any]:
    """Where the temporary homes live: fsync cost depends on it."""
    where = Path(parent or tempfile.gettempdir()).resolve()
    mounts = [p for p in psutil.disk_partitions(all=True) if where.is_relative_to(p.mountpoint)]
    mount = max(mounts, key=lambda p: len(p.mountpoint), default=None)
    return {
        "sqlite": sqlite3.sqlite_version,
        "tmp_dir": str(where),
        "tmp_fs": f"{mount.fstype} on {mount.mountpoint} ({mount.device})" if mount else "unknown",
    }


def print_replay(report: ReplayReport) -> None:
    print(
        f"\nReplay: alc_continue that revives a session with N answered queries "
        f"(ms, median of {report.reps} sessions per cell)"
    )
    print(
        f"  live alc_continue (no replay), {report.live.samples} calls: median {report.live.median_ms:.3f}"
        f"  p90 {report.live.p90_ms:.3f}"
    )
    print(
        f"  restart = new build_server + Client on the same home; connect median "
        f"{report.restart_ms.median_ms:.1f} ms (max {report.restart_ms.max_ms:.1f})"
    )
    header = (
        f"  {'VM gone by':<11} {'N':>6} {'median':>9} {'min':>9} {'max':>9} {'per answer':>11}"
        f" {'journal rows':>13} {'read':>7} {'fold':>7}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for way, by_size in (("restart", report.restart), ("hibernate", report.hibernate)):
        for n, stats in by_size.items():
            parts = report.breakdown[n]
            print(
                f"  {way:<11} {n:>6} {stats.median_ms:>9.2f} {stats.min_ms:>9.2f} {stats.max_ms:>9.2f}"
                f" {report.per_answer_ms(by_size, n):>11.4f} {parts.entries:>13} {parts.read_ms:>7.2f}"
                f" {parts.fold_ms:>7.2f}"
            )
    print(
        "  per answer = (median - live median) / N; read / fold = store.journal() / fold() of those"
        " journals, called directly (median ms)"
    )
    for way, by_size in (("restart", report.restart), ("hibernate", report.hibernate)):
        slope, fixed = report.slope_ms(by_size), report.fixed_ms(by_size)
        if slope is not None and fixed is not None:
            small, large = report.sizes[-2], report.sizes[-1]
            print(
                f"  {way}: slope N={small}→{large}: {slope:.4f} ms per extra answer,"
                f" ≈ {fixed:.2f} ms fixed (line at N=0)"
            )
    print(f"  database after the run: {report.db_bytes / 1024 / 1024:.1f} MiB (alc.db + WAL)")


def print_journal(stats: dict[str, LatencyStats], rounds: int, warmup: int) -> None:
    print(
        f"\nalc_continue with the journal on / off (ms, {rounds} samples each after {warmup} warm-up "
        "calls, three servers continued in turn)"
    )
    header = f"  {'server':<22} {'median':>8} {'p90':>8} {'min':>8} {'max':>8} {'mean':>8}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for label, s in stats.items():
        print(
            f"  {label:<22} {s.median_ms:>8.3f} {s.p90_ms:>8.3f} {s.min_ms:>8.3f} {s.max_ms:>8.3f}"
            f" {s.mean_ms:>8.3f}"
        )
    off = stats["journal off"]
    for label in ("journal on (NORMAL)", "journal on (FULL)"):
        on = stats[label]
        print(
            f"  {label} / off: median ×{on.median_ms / off.median_ms:.2f}, "
            f"p90 ×{on.p90_ms / off.p90_ms:.2f} (+{on.median_ms - off.median_ms:.3f} ms median)"
        )


def journal_json(stats: dict[str, LatencyStats]) -> dict[str, Any]:
    off = stats["journal off"]
    return {
        "by_mode": {label: asdict(s) for label, s in stats.items()},
        "ratio_on_off": {
            label: {"median": s.median_ms / off.median_ms, "p90": s.p90_ms / off.p90_ms}
            for label, s in stats.items()
            if label != "journal off"
        },
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    facts = {**machine_facts(), **storage_facts(args.tmp)}
    print_machine(facts)
    replay = await measure_replay(args.sizes, args.reps, args.tmp)
    print_replay(replay)
    journal = await measure_journal(args.rounds, args.warmup, args.tmp)
    print_journal(journal, args.rounds, args.warmup)
    return {"machine": facts, "replay": replay.to_json(), "journal": journal_json(journal)}


def sizes(text: str) -> tuple[int, ...]:
    values = tuple(sorted({positive(part) for part in text.split(",") if part.strip()}))
    if not values:
        raise argparse.ArgumentTypeError("give at least one size")
    return values


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", type=sizes, default=(10, 100, 1000), help="answered queries before revival (comma list)"
    )
    parser.add_argument("--reps", type=positive, default=5, help="revived sessions per size and way")
    parser.add_argument("--rounds", type=positive, default=300, help="timed continues per journal mode")
    parser.add_argument("--warmup", type=int, default=20, help="untimed continues per journal mode")
    parser.add_argument("--tmp", type=Path, help="directory for the temporary homes (default: system tmp)")
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
