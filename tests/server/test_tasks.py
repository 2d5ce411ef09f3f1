"""Sessions as tasks (``io.modelcontextprotocol/tasks``, SEP-2663; ``server/tasks.py``).

The client is the real SDK ``Client`` with a small Tasks client extension written the way
the SEP describes one: it claims ``resultType: "task"`` and, for a transparent
``call_tool``, polls ``tasks/get``, answers ``inputRequests`` through ``tasks/update``
with a stand-in model, and returns the task's final ``CallToolResult``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Literal

import anyio
import orjson
import pytest
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, Request, RequestParams, Result
from pydantic import ConfigDict, TypeAdapter

from alc_mcp.config import Config
from alc_mcp.server.app import build_server
from alc_mcp.server.tasks import TASKS

pytestmark = pytest.mark.anyio

TWO_PAUSES = """
local a = alc.llm("first")
local b = alc.llm_batch({{prompt = "x"}, {prompt = "y"}})
return a .. b[1] .. b[2]
"""


class TaskResult(Result):
    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"] = "task"
    task_id: str
    status: str


class Ref(RequestParams):
    task_id: str


class Update(Ref):
    input_responses: dict[str, Any]


class GetTask(Request[Ref, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: Ref


class UpdateTask(Request[Update, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    params: Update


class CancelTask(Request[Ref, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: Ref


ANY = TypeAdapter(dict[str, Any])


async def get(session: ClientSession, task_id: str) -> dict[str, Any]:
    return await session.send_request(GetTask(params=Ref(task_id=task_id)), ANY)


async def update(session: ClientSession, task_id: str, responses: dict[str, Any]) -> dict[str, Any]:
    return await session.send_request(
        UpdateTask(params=Update(task_id=task_id, input_responses=responses)), ANY
    )


def answer(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": text}, "model": "stand-in"}


def prompt(request: dict[str, Any]) -> str:
    text: str = request["params"]["messages"][0]["content"]["text"]
    return text


class TasksClient(ClientExtension):
    """Polls a task to its end, answering each input request with ``<prompt>``."""

    identifier = TASKS

    def __init__(self) -> None:
        self.polls: list[dict[str, Any]] = []

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=TaskResult, resolve=self.resolve)]

    async def resolve(self, task: TaskResult, context: ClaimContext) -> CallToolResult:
        answered: set[str] = set()
        while True:
            polled = await get(context.session, task.task_id)
            self.polls.append(polled)
            if polled["status"] == "completed":
                return CallToolResult.model_validate(polled["result"])
            assert polled["status"] == "input_required", polled
            fresh = {k: r for k, r in polled["inputRequests"].items() if k not in answered}
            answered |= set(fresh)
            await update(
                context.session, task.task_id, {k: answer(f"<{prompt(r)}>") for k, r in fresh.items()}
            )


@asynccontextmanager
async def connect(config: Config, *extensions: ClientExtension) -> AsyncIterator[Client]:
    async with Client(build_server(config), extensions=list(extensions)) as client:
        yield client


async def test_a_task_client_runs_a_session_to_its_end_through_tasks(config: Config) -> None:
    tasks = TasksClient()
    async with connect(config, tasks) as client:
        result = await client.call_tool("alc_run", {"code": TWO_PAUSES})
        (content,) = result.content
        done = orjson.loads(content.text)  # type: ignore[union-attr]
        assert done["status"] == "completed" and done["result"] == "<first><x><y>"
        statuses = [p["status"] for p in tasks.polls]
        assert statuses == ["input_required", "input_required", "completed"]
        first, batch = tasks.polls[0], tasks.polls[1]
        session_id = first["taskId"]
        assert session_id.startswith("s-") and all(p["taskId"] == session_id for p in tasks.polls)
        assert list(first["inputRequests"]) == ["p0-q-0"]
        assert list(batch["inputRequests"]) == ["p1-q-0", "p1-q-1"]  # unique over the task's life
        assert [prompt(r) for r in batch["inputRequests"].values()] == ["x", "y"]
        # The task is the session: the ordinary tools see the same one.
        logged = await client.call_tool("alc_log_view", {"session_id": session_id})
        assert "<first>" in logged.content[0].text  # type: ignore[union-attr]


async def test_the_task_is_created_journaled_and_survives_a_restart(config: Config) -> None:
    async with connect(config, TasksClient()) as client:
        created = await client.session.call_tool("alc_run", {"code": TWO_PAUSES}, allow_claimed=True)
        assert isinstance(created, TaskResult)
        assert created.status == "input_required"
    async with connect(config, TasksClient()) as restarted:  # a new server over the same ALC_HOME
        polled = await get(restarted.session, created.task_id)
        assert polled["status"] == "input_required" and list(polled["inputRequests"]) == ["p0-q-0"]
        await update(restarted.session, created.task_id, {"p0-q-0": answer("A")})
        polled = await get(restarted.session, created.task_id)
    assert list(polled["inputRequests"]) == ["p1-q-0", "p1-q-1"]


async def test_update_feeds_only_outstanding_keys_and_accepts_part_of_a_batch(config: Config) -> None:
    async with connect(config, TasksClient()) as client:
        created = await client.session.call_tool("alc_run", {"code": TWO_PAUSES}, allow_claimed=True)
        session, task_id = client.session, created.task_id  # type: ignore[union-attr]
        await update(session, task_id, {"p0-q-0": answer("A")})
        # An old key and an unknown one are ignored; one item of the batch is taken.
        ack = await update(
            session, task_id, {"p0-q-0": answer("again"), "p9-q-9": answer("?"), "p1-q-1": answer("Y")}
        )
        assert ack.get("resultType") == "complete"
        polled = await get(session, task_id)
        assert polled["status"] == "input_required"
        await update(session, task_id, {"p1-q-0": answer("X")})
        polled = await get(session, task_id)
    assert polled["status"] == "completed"
    assert orjson.loads(polled["result"]["content"][0]["text"])["result"] == "AXY"


async def test_cancel_ends_the_task_and_the_session(config: Config) -> None:
    async with connect(config, TasksClient()) as client:
        created = await client.session.call_tool("alc_run", {"code": TWO_PAUSES}, allow_claimed=True)
        task_id = created.task_id  # type: ignore[union-attr]
        ack = await client.session.send_request(CancelTask(params=Ref(task_id=task_id)), ANY)
        assert ack.get("resultType") == "complete"
        polled = await get(client.session, task_id)
        assert polled["status"] == "cancelled" and "inputRequests" not in polled
        refused = await client.call_tool("alc_continue", {"session_id": task_id, "response": "late"})
        assert refused.is_error
        # Cancelling again is acknowledged and changes nothing.
        await client.session.send_request(CancelTask(params=Ref(task_id=task_id)), ANY)
        assert (await get(client.session, task_id))["status"] == "cancelled"


async def test_a_script_error_is_a_completed_task_whose_result_says_so(config: Config) -> None:
    async with connect(config, TasksClient()) as client:
        created = await client.session.call_tool("alc_run", {"code": "error('boom')"}, allow_claimed=True)
        polled = await get(client.session, created.task_id)  # type: ignore[union-attr]
    assert polled["status"] == "completed"
    shown = orjson.loads(polled["result"]["content"][0]["text"])
    assert shown["status"] == "error" and "boom" in shown["error"]


async def test_unknown_tasks_and_refused_calls_are_clear_errors(config: Config) -> None:
    async with connect(config, TasksClient()) as client:
        with pytest.raises(MCPError, match="unknown task 's-nope'"):
            await get(client.session, "s-nope")
        with pytest.raises(MCPError, match="unknown task"):
            await client.session.send_request(CancelTask(params=Ref(task_id="s-nope")), ANY)
        refused = await client.session.call_tool(
            "alc_advice", {"strategy": "no-such-package"}, allow_claimed=True
        )
        assert isinstance(refused, CallToolResult) and refused.is_error  # a tool error, not a task


@pytest.mark.parametrize("declared", [False, True], ids=["2026-07-28-without", "2025-11-25-with"])
async def test_a_client_without_the_extension_gets_todays_answer(config: Config, declared: bool) -> None:
    extensions = [TasksClient()] if declared else []
    async with Client(
        build_server(config), extensions=extensions, mode="legacy" if declared else "auto"
    ) as client:
        result = await client.call_tool("alc_run", {"code": TWO_PAUSES})
    shown = orjson.loads(result.content[0].text)  # type: ignore[union-attr]
    assert shown["status"] == "needs_response" and shown["prompt"] == "first"


async def test_a_task_whose_script_is_running_is_working(config: Config) -> None:
    busy = 'local a = alc.llm("go") local t = os.clock() while os.clock() - t < 1 do end return a'
    async with connect(config, TasksClient()) as client:
        created = await client.session.call_tool("alc_run", {"code": busy}, allow_claimed=True)
        task_id = created.task_id  # type: ignore[union-attr]
        seen: list[str] = []
        async with anyio.create_task_group() as group:
            group.start_soon(update, client.session, task_id, {"p0-q-0": answer("A")})
            while not seen or seen[-1] == "input_required":
                seen.append((await get(client.session, task_id))["status"])
                await anyio.sleep(0.01)
        done = await get(client.session, task_id)
    assert seen[-1] == "working"  # the script spins for a second of CPU after the answer
    assert done["status"] == "completed"


async def test_without_durability_a_script_that_ends_at_once_answers_its_result(config: Config) -> None:
    """No journal to read a finished task back from, so no task is made for it."""
    async with connect(replace(config, durable=False), TasksClient()) as client:
        done = await client.session.call_tool("alc_run", {"code": "return 7"}, allow_claimed=True)
        paused = await client.session.call_tool("alc_run", {"code": TWO_PAUSES}, allow_claimed=True)
    assert isinstance(done, CallToolResult)
    assert orjson.loads(done.content[0].text)["result"] == 7  # type: ignore[union-attr]
    assert isinstance(paused, TaskResult) and paused.status == "input_required"
