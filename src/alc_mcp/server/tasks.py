"""Sessions as tasks: the ``io.modelcontextprotocol/tasks`` extension (SEP-2663).

A client that declares the extension on its ``tools/call`` of ``alc_run`` or
``alc_advice`` gets a task instead of the ``needs_response`` JSON, and drives the session
with the extension's methods rather than with ``alc_continue``:

- the task id **is** the session id, and the session's start is journaled before the
  task is returned, so ``tasks/get`` resolves at once (and after a restart);
- ``tasks/get`` reports ``working`` while the script runs, ``input_required`` with one
  ``sampling/createMessage`` per pending query (keys as in ``server.inline``: unique for
  the session's life), ``completed`` with the call's result (the byte-compatible
  FeedResult JSON as a text block, including script errors: those are results, not
  JSON-RPC failures), or ``cancelled``;
- ``tasks/update`` feeds the answers to the pending keys it names (others are ignored,
  as the SEP asks) and runs the script to its next pause before acknowledging;
- ``tasks/cancel`` cancels the session.

Finished tasks are read back from the journal, so with durability off a task is
queryable only until it finishes, and a script that finishes within the call answers its
plain result (a task must resolve on ``tasks/get`` before it is returned).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolRequestParams, CreateMessageResult, RequestParams
from mcp_types.version import is_version_at_least
from pydantic import ValidationError

from alc_mcp.app import CALLER_MISTAKES, Answer, Reply, SessionService
from alc_mcp.domain.feed_result import Completed, Failed, feed_result_json
from alc_mcp.server.auth import request_principal
from alc_mcp.server.inline import MRTR_VERSION, TASK_REPLY
from alc_mcp.server.results import compact
from alc_mcp.server.sampling import SessionView, open_pause, sampled_text

__all__ = ["TASKS", "SessionTasks"]

TASKS = "io.modelcontextprotocol/tasks"

#: The tools whose calls become tasks: the ones that start a session.
TASK_TOOLS = frozenset({"alc_run", "alc_advice"})

#: Feeds run the script to its next pause before ``tasks/update`` answers, so a poll
#: right after an update already sees where the session went.
POLL_INTERVAL_MS = 500


class TaskRef(RequestParams):
    task_id: str


class TaskUpdate(TaskRef):
    input_responses: dict[str, Any]


class SessionTasks(Extension):
    """The Tasks extension over the session service (the server's lifespan value)."""

    identifier = TASKS

    def methods(self) -> list[MethodBinding]:
        versions = frozenset({MRTR_VERSION})
        return [
            MethodBinding("tasks/get", TaskRef, self._get, versions),
            MethodBinding("tasks/update", TaskUpdate, self._update, versions),
            MethodBinding("tasks/cancel", TaskRef, self._cancel, versions),
        ]

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if (
            params.name not in TASK_TOOLS
            or not _declares_tasks(ctx)
            or (ctx.params and ctx.params.get("requestState"))
        ):
            return await call_next(ctx)
        replies: list[Reply] = []
        token = TASK_REPLY.set(replies)
        try:
            result = await call_next(ctx)
        finally:
            TASK_REPLY.reset(token)
        if not replies:  # the call was refused (a tool error): answer that, not a task
            return result
        task = await _task(_service(ctx), replies[0].session_id)
        if task is None:  # finished at once and not recorded (durability off): no task to poll
            return result
        return {**task, "resultType": "task"}

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskRef) -> HandlerResult:
        task = await _task(_service(ctx), params.task_id, detailed=True)
        if task is None:
            raise _unknown(params.task_id)
        return task

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: TaskUpdate) -> HandlerResult:
        service = _service(ctx)
        found = await _unfinished(service, params.task_id)
        pause = found[1] if found is not None else None
        if pause is None:
            return {}  # nothing outstanding: every response is for a key no longer asked
        answers = []
        for query in pause.queries:
            text = _text(params.input_responses.get(pause.key(query)))
            if text is not None:
                answers.append(Answer(query.id, text))
        if answers:
            with _as_invalid_params():
                await service.feed(params.task_id, answers)
        return {}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskRef) -> HandlerResult:
        service = _service(ctx)
        if await _unfinished(service, params.task_id) is None:
            if await service.ending(params.task_id) is None:
                raise _unknown(params.task_id)
            return {}  # finished before the cancel: the SEP lets it keep its terminal status
        with _as_invalid_params():
            await service.cancel(params.task_id)
        return {}


def _service(ctx: ServerRequestContext[Any, Any]) -> SessionService:
    """The service answering for the request's principal: a task is its session, so
    another principal's task id is as unknown as its session id (``server.context``)."""
    service: SessionService = ctx.lifespan_context
    return service.acting_as(request_principal())


def _declares_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Only a 2026-07-28 request can carry a task result; earlier ones get today's answer."""
    if not is_version_at_least(ctx.protocol_version, MRTR_VERSION):
        return False
    capabilities = ctx.session.client_capabilities
    return capabilities is not None and TASKS in (capabilities.extensions or {})


def _text(response: Any) -> str | None:
    try:
        return sampled_text(CreateMessageResult.model_validate(response))
    except ValidationError:
        return None


@contextmanager
def _as_invalid_params() -> Iterator[None]:
    """A caller mistake inside a task method is a JSON-RPC error saying what was wrong."""
    try:
        yield
    except CALLER_MISTAKES as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None


async def _unfinished(service: SessionService, session_id: str) -> SessionView | None:
    """A running or paused session's status and open pause; None once it has finished."""
    found = await open_pause(service, session_id)
    return found if found is not None and found[0]["state"] in ("running", "paused") else None


def _unknown(session_id: str) -> MCPError:
    return MCPError(
        code=INVALID_PARAMS,
        message=f"unknown task '{session_id}': no live or recorded session has that id (finished sessions "
        "are recorded only when durability is on; alc_info shows it, alc_status lists the sessions)",
    )


async def _task(service: SessionService, session_id: str, *, detailed: bool = False) -> dict[str, Any] | None:
    """The task of a session, as ``tasks/get`` (``detailed``) or a ``CreateTaskResult`` shows
    it; None when no live or recorded session has that id."""
    found = await _unfinished(service, session_id)
    if found is not None:
        snapshot, pause = found
        task = _shape(session_id, snapshot["started_at"], snapshot["last_activity_at"])
        if pause is None:
            return {**task, "status": "working", "statusMessage": "the script is running"}
        task |= {"status": "input_required", "statusMessage": f"waiting on {len(pause.queries)} answer(s)"}
        if detailed:
            task["inputRequests"] = {
                key: request.model_dump(by_alias=True, mode="json", exclude_none=True)
                for key, request in pause.input_requests().items()
            }
        return task
    ending = await service.ending(session_id)
    if ending is None:
        return None
    started, ended, finished = ending
    task = _shape(session_id, started, ended)
    if finished.phase == "cancelled":
        return {**task, "status": "cancelled"}
    outcome = (
        Completed(finished.result, finished.stats or {})
        if finished.phase == "completed"
        else Failed(finished.error or "")
    )
    task["status"] = "completed"
    if detailed:
        # As the tool itself answers: the FeedResult text and the same object structured.
        result = compact(feed_result_json(outcome, session_id))
        task["result"] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return task


def _shape(session_id: str, started_ms: int, updated_ms: int) -> dict[str, Any]:
    return {
        "taskId": session_id,
        "createdAt": _iso(started_ms),
        "lastUpdatedAt": _iso(updated_ms),
        "ttlMs": None,  # kept as long as the session is (ALC_RETENTION_DAYS)
        "pollIntervalMs": POLL_INTERVAL_MS,
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")
