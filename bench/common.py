"""Helpers shared by the benchmark scripts in this directory (not a benchmark itself).

The scripts run as ``python bench/<script>.py``, which puts this directory first on
``sys.path``, so they import this module as ``common``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio
import orjson
import psutil
from lupa import lua54
from mcp import Client, StdioServerParameters

#: Pauses on every iteration, so each alc_continue pauses again and never completes.
LOOP_SCRIPT = 'local i = 0 while true do i = i + 1; alc.llm("q" .. i) end'
ANSWER = "ok"
KIB = 1024
#: How long to wait for session threads to exit after cancelling them.
SETTLE_SECONDS = 10.0


class BenchError(RuntimeError):
    """The server did not answer the way the benchmark relies on."""


# --- talking to the server ---------------------------------------------------------


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; return its parsed JSON text."""
    result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    if result.is_error:
        raise BenchError(f"{tool} failed: {text}")
    return orjson.loads(text)


async def call_paused(client: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must leave the session paused; return the session id."""
    payload = await call(client, tool, **arguments)
    if payload.get("status") != "needs_response":
        raise BenchError(f"{tool}: expected needs_response, got {payload}")
    return str(payload["session_id"])


async def start_paused(client: Client) -> str:
    return await call_paused(client, "alc_run", code=LOOP_SCRIPT)


async def answer(client: Client, session_id: str) -> str:
    """One alc_continue on a LOOP_SCRIPT session; it must pause again."""
    return await call_paused(client, "alc_continue", session_id=session_id, response=ANSWER)


async def run_to_end(client: Client, code: str, **arguments: Any) -> Any:
    """A scripted host: ``alc_run`` the code and answer every query with ANSWER until the
    session ends; return the last reply."""
    payload = await call(client, "alc_run", code=code, **arguments)
    while payload.get("status") == "needs_response":
        session_id = payload["session_id"]
        if "queries" in payload:  # a batch: every query at once
            responses = [{"query_id": query["id"], "response": ANSWER} for query in payload["queries"]]
            payload = await call(client, "alc_continue", session_id=session_id, responses=responses)
        else:
            payload = await call(client, "alc_continue", session_id=session_id, response=ANSWER)
    return payload


async def cancel(client: Client, session_id: str) -> None:
    payload = await call(client, "alc_cancel", session_id=session_id)
    if payload.get("status") != "cancelled":
        raise BenchError(f"alc_cancel: expected cancelled, got {payload}")


# --- a server subprocess ----------------------------------------------------------


def stdio_parameters(home: Path, **env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "alc_mcp.cli"], env={"ALC_HOME": str(home), **env}
    )


@asynccontextmanager
async def stdio_client(home: Path, **env: str) -> AsyncIterator[Client]:
    async with Client(stdio_parameters(home, **env)) as client:
        yield client


@dataclass(frozen=True, slots=True)
class ProcessSample:
    rss_kib: float
    threads: int

    @classmethod
    def of(cls, process: psutil.Process) -> ProcessSample:
        return cls(rss_kib=process.memory_info().rss / KIB, threads=process.num_threads())


def server_process(known: set[int]) -> psutil.Process:
    """The stdio server this process just spawned (a child not seen before)."""
    fresh = [
        child
        for child in psutil.Process().children()
        if child.pid not in known and "alc_mcp.cli" in child.cmdline()
    ]
    if len(fresh) != 1:
        raise BenchError(f"expected one new alc_mcp.cli child process, found {len(fresh)}")
    return fresh[0]


async def for_each(
    items: Sequence[Any], concurrency: int, action: Callable[[Any], Awaitable[Any]]
) -> list[Any]:
    """Apply ``action`` to every item with at most ``concurrency`` calls in flight."""
    results: list[Any] = [None] * len(items)
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(index: int, item: Any) -> None:
        async with limiter:
            results[index] = await action(item)

    async with anyio.create_task_group() as tasks:
        for index, item in enumerate(items):
            tasks.start_soon(one, index, item)
    return results


async def settle(process: psutil.Process, threads: int) -> None:
    """Wait until the server is back to ``threads`` threads (or give up after a while)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while process.num_threads() > threads and time.monotonic() < deadline:
        await anyio.sleep(0.05)


# --- timing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencyStats:
    samples: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> LatencyStats:
        deciles = statistics.quantiles(samples_ms, n=10, method="inclusive")
        return cls(
            samples=len(samples_ms),
            median_ms=statistics.median(samples_ms),
            p90_ms=deciles[8],
            min_ms=min(samples_ms),
            max_ms=max(samples_ms),
            mean_ms=statistics.fmean(samples_ms),
        )


async def timed_ms(action: Awaitable[Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = await action
    return (time.perf_counter() - started) * 1000.0, value


async def sample_continue(client: Client, rounds: int, warmup: int) -> list[float]:
    """Time alc_continue → needs_response on one session that pauses forever."""
    session_id = await start_paused(client)
    samples: list[float] = []
    for index in range(warmup + rounds):
        elapsed, _ = await timed_ms(answer(client, session_id))
        if index >= warmup:
            samples.append(elapsed)
    await cancel(client, session_id)
    return samples


# --- report ------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "lua": lua54.LuaRuntime().lua_implementation,
        "lupa": version("lupa"),
        "mcp": version("mcp"),
        "alc_mcp": version("alc-mcp"),
    }


def print_machine(facts: dict[str, Any]) -> None:
    print("Machine")
    for key, value in facts.items():
        print(f"  {key:<15} {value}")


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value
