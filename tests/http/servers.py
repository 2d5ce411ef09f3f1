"""Real ``alc-mcp serve --http`` processes for tests, and real clients for them: the SDK's
streamable HTTP client (``connect``) and plain HTTP (``httpx2``) for what MCP clients
never show (status codes, headers)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import TEST_LIMITS, Host

__all__ = ["ALICE", "BOB", "HttpServer", "connect", "free_port", "http_server", "tokens_file"]

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef01"


def tokens_file(directory: Path) -> Path:
    """The file ALC_AUTH_TOKENS names: alice's and bob's tokens."""
    path = directory / "tokens"
    path.write_text(f"# token principal\n{ALICE} alice\n\n{BOB} bob\n", encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpServer:
    process: subprocess.Popen[bytes]
    base: str  # http://127.0.0.1:PORT
    log: Path  # the server's stderr

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> int:
        """SIGTERM, then the exit status once the process has stopped."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def server_env(home: Path, **env: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALC_")}
    environment.update(ALC_MAX_RUN_SECONDS="10", ALC_MAX_MEMORY_MB=str(TEST_LIMITS.max_memory_mb))
    environment.update(env)
    environment["ALC_HOME"] = str(home)
    return environment


def start(home: Path, *args: str, cwd: Path, **env: str) -> subprocess.Popen[bytes]:
    """``alc-mcp serve --http ARGS`` with its stderr in ``cwd/serve-*.log``; not waited for."""
    log = cwd / f"serve-{time.time_ns()}.log"
    return subprocess.Popen(
        [sys.executable, "-m", "alc_mcp.cli", "serve", "--http", *args],
        cwd=cwd,
        env=server_env(home, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


@contextmanager
def http_server(tmp_path: Path, *args: str, home: Path | None = None, **env: str) -> Iterator[HttpServer]:
    """A running server on a free port, ready once ``/healthz`` answers; stopped (SIGTERM)
    on the way out unless the test stopped it."""
    port = free_port()
    log_dir = tmp_path / "logs"
    log_dir.mkdir(exist_ok=True)
    before = set(log_dir.iterdir())
    process = start(home or tmp_path / "alc-home", "--port", str(port), *args, cwd=log_dir, **env)
    (log,) = set(log_dir.iterdir()) - before
    server = HttpServer(process, f"http://127.0.0.1:{port}", log)
    try:
        for _ in range(600):  # at most ~30 s
            assert process.poll() is None, server.stderr()
            try:
                if httpx2.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)


@asynccontextmanager
async def connect(url: str, token: str | None = None) -> AsyncIterator[Host]:
    """A real MCP client over streamable HTTP, with ``token`` as its bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield Host(client)
