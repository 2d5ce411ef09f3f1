"""A fleet: three real ``alc-mcp serve --http`` workers on one real PostgreSQL database.
Any worker serves any call (the owner hands the session over), a SIGKILLed owner's
session goes on elsewhere with every acknowledged answer, and two workers racing on one
query accept it once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import TEST_LIMITS, Host
from tests.http.servers import ALICE, BOB, free_port, tokens_file
from tests.http.servers import connect as connect_as
from tests.http.test_tenancy import NOBODY_ID
from tests.postgres import PgServer

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

STEPS = """
local answers = {}
for i = 1, 3 do
  answers[i] = alc.llm(ctx.task .. " step " .. i .. " after [" .. table.concat(answers, "|") .. "]")
end
return {answers = answers}
"""


def answer(prompt: str) -> str:
    return f"<{prompt[::-1]}>"


@dataclass
class Worker:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def fleet(tmp_path: Path, database_url: str, size: int) -> Iterator[list[Worker]]:
    """``size`` workers, each with its own ALC_HOME, all on ``database_url``, taking
    alice's and bob's bearer tokens (``tests.http.servers``)."""
    workers: list[Worker] = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    tokens = tokens_file(tmp_path)
    try:
        for index in range(size):
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("ALC_")}
            env.update(
                ALC_HOME=str(tmp_path / f"home-{index}"),
                ALC_DATABASE_URL=database_url,
                ALC_AUTH_TOKENS=str(tokens),
                ALC_MAX_MEMORY_MB=str(TEST_LIMITS.max_memory_mb),
            )
            process = subprocess.Popen(
                [sys.executable, "-m", "alc_mcp.cli", "serve", "--http", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            workers.append(Worker(f"http://127.0.0.1:{port}/mcp", process))
        for worker in workers:
            port = int(worker.url.split(":")[2].split("/")[0])
            for _ in range(600):  # until the port accepts connections (at most ~30 s)
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                    break
                except OSError:
                    assert worker.process.poll() is None, "a worker exited at start-up"
                    time.sleep(0.05)
        yield workers
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in workers:
            worker.process.wait(timeout=30)


async def connect(stack: AsyncExitStack, workers: list[Worker], token: str = ALICE) -> list[Host]:
    return [await stack.enter_async_context(connect_as(w.url, token)) for w in workers]


async def drive(hosts: list[Host], sessions: int) -> list[Any]:
    """Start ``sessions`` sessions and finish them, every call on the next host in turn."""
    turn = 0

    def next_host() -> Host:
        nonlocal turn
        turn += 1
        return hosts[turn % len(hosts)]

    replies = [await next_host().run(STEPS, ctx={"task": f"t{n}"}) for n in range(sessions)]
    results: list[Any] = [None] * sessions
    while any(r is None for r in results):
        for n, reply in enumerate(replies):
            if results[n] is not None:
                continue
            if reply["status"] == "completed":
                results[n] = reply["result"]
                continue
            assert reply["status"] == "needs_response", reply
            replies[n] = await next_host().ok(
                "alc_continue", session_id=reply["session_id"], response=answer(reply["prompt"])
            )
    return results


async def test_thirty_sessions_round_robin_over_three_workers_match_one_worker(
    tmp_path: Path, pg_server: PgServer
) -> None:
    with fleet(tmp_path / "one", pg_server.database(), 1) as single:
        async with AsyncExitStack() as stack:
            alone = await drive(await connect(stack, single), 30)
    with fleet(tmp_path / "three", pg_server.database(), 3) as workers:
        async with AsyncExitStack() as stack:
            hosts = await connect(stack, workers)
            spread = await drive(hosts, 30)
            # Sessions stay alice's on every worker: bob, on each, sees none of them.
            paused = (await hosts[0].run(STEPS, ctx={"task": "mine"}))["session_id"]
            for bob in await connect(stack, workers, BOB):
                foreign = await bob.error("alc_continue", session_id=paused, response="bob's")
                missing = await bob.error("alc_continue", session_id=NOBODY_ID, response="bob's")
                assert "not found" in missing and foreign.replace(paused, "ID") == missing.replace(
                    NOBODY_ID, "ID"
                )
                assert (await bob.ok("alc_status"))["sessions"] == []
            again = await hosts[2].ok("alc_continue", session_id=paused, response="alice's")
            assert again["status"] == "needs_response", again

    assert spread == alone
    first = answer("t7 step 1 after []")
    assert spread[7]["answers"][:2] == [first, answer(f"t7 step 2 after [{first}]")]
    assert len({tuple(r["answers"]) for r in spread}) == 30


async def test_a_sigkilled_owner_s_session_resumes_on_another_worker_with_every_answer(
    tmp_path: Path, pg_server: PgServer
) -> None:
    with fleet(tmp_path, pg_server.database(), 2) as workers:
        async with AsyncExitStack() as stack:
            owner, other = await connect(stack, workers)
            reply = await owner.run(STEPS, ctx={"task": "k"})
            acknowledged = []
            for _ in range(2):
                acknowledged.append(answer(reply["prompt"]))
                reply = await owner.ok(
                    "alc_continue", session_id=reply["session_id"], response=acknowledged[-1]
                )
            seen_from_other = await other.ok("alc_status", session_id=reply["session_id"])
            info = await owner.ok("alc_info")
            workers[0].process.send_signal(signal.SIGKILL)
            workers[0].process.wait(timeout=30)

            last = await other.ok(
                "alc_continue", session_id=reply["session_id"], response=answer(reply["prompt"])
            )

    assert seen_from_other["owner"]["pid"] == workers[0].process.pid == info["worker"]["pid"]
    assert seen_from_other["owner"]["owner"] == info["worker"]["owner"]
    assert last["status"] == "completed"
    assert last["result"]["answers"][:2] == acknowledged
    assert last["result"]["answers"][2] == answer(reply["prompt"])


async def test_two_workers_continuing_one_query_at_once_accept_it_once(
    tmp_path: Path, pg_server: PgServer
) -> None:
    with fleet(tmp_path, pg_server.database(), 3) as workers:
        async with AsyncExitStack() as stack:
            owner, left, right = await connect(stack, workers)
            reply = await owner.run(STEPS, ctx={"task": "race"})
            session_id = reply["session_id"]
            outcomes: dict[str, Any] = {}

            async def race(name: str, host: Host) -> None:
                outcomes[name] = await host.call(
                    "alc_continue", session_id=session_id, response=f"from {name}"
                )

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(race, "left", left)
                tasks.start_soon(race, "right", right)
            journal = await owner.ok("alc_log_view", session_id=session_id)

    accepted = [name for name, result in outcomes.items() if not result.is_error]
    refused = [result.text for result in outcomes.values() if result.is_error]
    assert len(accepted) == 1, outcomes
    (message,) = refused
    assert f"query q-0 of session '{session_id}' was already answered" in message
    assert "call alc_status" in message
    assert [q["response"] for q in journal["queries"]] == [f"from {accepted[0]}"]
