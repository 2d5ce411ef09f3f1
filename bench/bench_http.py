"""HTTP benchmark for alc-mcp: what bearer tokens cost an ``alc_continue``.

Run from the repository root::

    python bench/bench_http.py [--rounds 300] [--warmup 30] [--json out.json]

Two real ``alc-mcp serve --http`` processes (stateless streamable HTTP), each on its own
``ALC_HOME``: one with ``ALC_AUTH_TOKENS`` (every request's bearer token checked against
the tokens file), one with ``--no-auth``. One SDK client each, one session each that
pauses on every call; the two are continued in turn, so both see the same machine load,
and the script prints the median and p90 of each and their ratio.

A measuring script, not a test: it checks that every call pauses again and never judges
the timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import asdict
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from common import (
    LatencyStats,
    answer,
    cancel,
    machine_facts,
    positive,
    print_machine,
    start_paused,
    timed_ms,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(home: Path, *args: str, **env: str) -> Iterator[str]:
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALC_")}
    environment.update(env, ALC_HOME=str(home))
    process = subprocess.Popen(
        [sys.executable, "-m", "alc_mcp.cli", "serve", "--http", "--port", str(port), *args],
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"alc-mcp serve --http {' '.join(args)} exited with {process.returncode}")
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.05)
        yield f"{base}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=60)


@asynccontextmanager
async def client(url: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as connected,
    ):
        yield connected


async def measure(rounds: int, warmup: int) -> dict[str, LatencyStats]:
    token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="alc-bench-http-") as tmp:
        root = Path(tmp)
        (root / "tokens").write_text(f"{token} bench\n", encoding="utf-8")
        with (
            serving(root / "auth", ALC_AUTH_TOKENS=str(root / "tokens")) as with_tokens,
            serving(root / "open", "--no-auth") as without,
        ):
            async with AsyncExitStack() as stack:
                enter = stack.enter_async_context
                clients = {
                    "bearer token (ALC_AUTH_TOKENS)": await enter(client(with_tokens, token)),
                    "--no-auth": await enter(client(without, None)),
                }
                sessions = {name: await start_paused(c) for name, c in clients.items()}
                samples: dict[str, list[float]] = {name: [] for name in clients}
                for index in range(warmup + rounds):
                    for name, connected in clients.items():
                        elapsed, _ = await timed_ms(answer(connected, sessions[name]))
                        if index >= warmup:
                            samples[name].append(elapsed)
                for name, connected in clients.items():
                    await cancel(connected, sessions[name])
    return {name: LatencyStats.of(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=positive, default=300, help="timed calls per server")
    parser.add_argument("--warmup", type=positive, default=30, help="untimed calls first")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args()
    facts = machine_facts()
    print_machine(facts)
    stats = asyncio.run(measure(args.rounds, args.warmup))
    print(f"\nalc_continue -> needs_response over HTTP, {args.rounds} calls each, interleaved")
    for name, row in stats.items():
        print(f"  {name:<32} median {row.median_ms:6.2f} ms   p90 {row.p90_ms:6.2f} ms")
    auth, open_ = stats.values()
    print(f"  ratio (token / no auth)          median x{auth.median_ms / open_.median_ms:.2f}")
    if args.json:
        payload = {"machine": facts, "rounds": args.rounds, "stats": {k: asdict(v) for k, v in stats.items()}}
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
