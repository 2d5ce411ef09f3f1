"""Answering a session's pauses inside the tool call that met them, through the host's model.

Today's loop costs the host's model a turn per pause: it reads ``needs_response``, answers,
and calls ``alc_continue``. A client that declares ``sampling`` can instead answer each
query as a ``sampling/createMessage`` without its model ever reading the session's JSON:

- on 2026-07-28 (MRTR, SEP-2322) the call returns an ``InputRequiredResult`` holding one
  ``sampling/createMessage`` per pending query (a whole ``alc.llm_batch`` in one round);
  the client's retry carries the answers and the sealed request state, and the script
  goes on, round after round, until it finishes;
- before 2026-07-28 the server sends those requests itself, mid-call, and feeds the
  answers the same way.

Either path gives up after ``MAX_ROUNDS`` rounds in one call, and on any refusal, error
or non-text answer, and then answers exactly as today (``needs_response`` with the
session id): the session stays paused on the same queries, nothing is lost, and the host
continues it with ``alc_continue``. ``ALC_SAMPLING=off`` turns both paths off.

The request state is sealed by the SDK's ``RequestStateBoundary`` (see
``server.app._request_state_security``); its plaintext names the session and the pause it
answers. A state is good for one retry: its answers are journaled when it is used, after
which the session is at a later pause (or finished) and the same state is refused.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import anyio
import anyio.abc
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import CreateMessageResult, InputRequiredResult, InputResponses
from mcp_types.version import is_version_at_least

from alc_mcp.app import Answer, Reply
from alc_mcp.domain.feed_result import Paused
from alc_mcp.domain.query import LlmQuery
from alc_mcp.server.context import ServiceContext, service_of
from alc_mcp.server.params import caller_mistakes
from alc_mcp.server.sampling import OpenPause, open_pause, sampled_text, sampling_request

__all__ = ["MAX_ROUNDS", "MRTR_VERSION", "TASK_REPLY", "answer_inline"]

#: The first protocol revision whose tools/call may return ``InputRequiredResult``.
MRTR_VERSION = "2026-07-28"

#: Rounds answered inline in one call. SDK clients give up after 10 input-required rounds
#: (python, typescript, go and C# alike), so the 11th answer must be a final one: past
#: this the call answers ``needs_response`` and the host goes on with ``alc_continue``.
MAX_ROUNDS = 10

Start = Callable[[], Awaitable[Reply]]

#: Set by the Tasks extension around a tools/call it answers with a task: the tool leaves
#: its reply here instead of answering pauses inline (the task's client does that).
TASK_REPLY: ContextVar[list[Reply] | None] = ContextVar("TASK_REPLY", default=None)


@dataclass(frozen=True, slots=True)
class _RoundState:
    """What a retry must bring back: the session, the pause it answers, the round."""

    session_id: str
    pause: int
    round: int

    def encode(self) -> str:
        return json.dumps({"s": self.session_id, "p": self.pause, "r": self.round}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> _RoundState:
        # Only state an alc-mcp sealed reaches here (the SDK verifies the seal first), but a
        # fleet sharing ALC_REQUEST_STATE_KEY may run another version during an upgrade.
        try:
            data = json.loads(text)
            return cls(str(data["s"]), int(data["p"]), int(data["r"]))
        except (ValueError, KeyError, TypeError):
            raise ToolError(
                "this requestState was sealed by another alc-mcp version; nothing was changed. "
                "alc_status lists the sessions and alc_continue answers a paused one."
            ) from None


async def answer_inline(context: ServiceContext, start: Start) -> Reply | InputRequiredResult:
    """Run ``start`` (the call's own work: start a session or feed one) and answer the
    pauses it meets through the host's model where the client allows it.

    On an MRTR retry ``start`` does not run again: the sealed state says which session
    and pause the client's answers are for. A call the Tasks extension turns into a task
    (``server.tasks``) only does its own work and leaves the reply in ``TASK_REPLY``."""
    sink = TASK_REPLY.get()
    if sink is not None:
        reply = await start()
        sink.append(reply)
        return reply
    if context.request_state is not None:
        return await _next_round(context, _RoundState.decode(context.request_state))
    reply = await start()
    match _path(context):
        case "mrtr":
            return await _ask(context, reply, 0)
        case "push":
            return await _push(context, reply)
    return reply


def _path(context: ServiceContext) -> str | None:
    """``mrtr``, ``push`` or None (today's ``needs_response``), from the switch and what the
    client declared."""
    if service_of(context).config.sampling == "off":
        return None
    capabilities = context.client_capabilities
    if capabilities is None or capabilities.sampling is None:
        return None
    version = context.protocol_version
    return "mrtr" if version is not None and is_version_at_least(version, MRTR_VERSION) else "push"


async def _ask(
    context: ServiceContext, reply: Reply, done: int, number: int | None = None
) -> Reply | InputRequiredResult:
    """An ``InputRequiredResult`` for a paused reply; any other reply, or one past the round
    limit, goes back as it is. ``number`` is the reply's pause number when the caller knows it."""
    if not isinstance(reply.result, Paused) or done >= MAX_ROUNDS:
        return reply
    if number is None:
        found = await open_pause(service_of(context), reply.session_id)
        if found is None or found[1] is None:  # cancelled between the pause and now: say so as today
            return reply
        number = found[1].number
    pause = OpenPause(number, reply.result.queries)
    return InputRequiredResult(
        input_requests=pause.input_requests(),
        request_state=_RoundState(reply.session_id, number, done + 1).encode(),
    )


async def _next_round(context: ServiceContext, state: _RoundState) -> Reply | InputRequiredResult:
    found = await open_pause(service_of(context), state.session_id)
    pause = found[1] if found is not None else None
    if pause is None or pause.number != state.pause:
        raise ToolError(
            f"this requestState was already used: session '{state.session_id}' is no longer waiting "
            f"on pause {state.pause} (its answers are in the journal). Nothing was changed; alc_status "
            "shows where the session stands and alc_continue answers its current pause."
        )
    answers = _answers(pause, context.input_responses or {})
    if answers is None:
        return Reply(state.session_id, Paused(pause.queries))
    # Every query of the pause was answered, so a pause that follows is the next one.
    return await _ask(context, await _feed(context, state.session_id, answers), state.round, state.pause + 1)


def _answers(pause: OpenPause, responses: InputResponses) -> list[Answer] | None:
    """One answer per query of the pause, or None if the client left any unanswered or not text."""
    answers = []
    for query in pause.queries:
        response = responses.get(pause.key(query))
        text = sampled_text(response) if isinstance(response, CreateMessageResult) else None
        if text is None:
            return None
        answers.append(Answer(query.id, text))
    return answers


async def _feed(context: ServiceContext, session_id: str, answers: Sequence[Answer]) -> Reply:
    with caller_mistakes("Continue failed: "):
        return await service_of(context).feed(session_id, answers)


async def _push(context: ServiceContext, reply: Reply) -> Reply:
    """Before 2026-07-28: send the pending queries to the client as sampling requests
    during the call, and feed what comes back, until the session stops pausing."""
    for _ in range(MAX_ROUNDS):
        if not isinstance(reply.result, Paused):
            break
        answers = await _sample_all(context, reply.result.queries)
        if answers is None:
            break
        reply = await _feed(context, reply.session_id, answers)
    return reply


async def _sample_all(context: ServiceContext, queries: Sequence[LlmQuery]) -> list[Answer] | None:
    """Every query sampled at once; None as soon as the client refuses or fails one of
    them (the others are cancelled: the host answers the whole pause as today)."""
    session = context.session
    # Tied to the tool call, so an HTTP transport sends them on the call's own stream.
    metadata = ServerMessageMetadata(related_request_id=context.request_context.request_id)
    answers: dict[str, Answer] = {}

    async def sample(query: LlmQuery, group: anyio.abc.TaskGroup) -> None:
        try:
            result = await session.send_request(
                sampling_request(query), CreateMessageResult, metadata=metadata
            )
        except Exception:  # a refusal, a timeout, a transport error
            text = None
        else:
            text = sampled_text(result)
        if text is None:
            group.cancel_scope.cancel()
        else:
            answers[query.id] = Answer(query.id, text)

    async with anyio.create_task_group() as group:
        for query in queries:
            group.start_soon(sample, query, group)
    return [answers[q.id] for q in queries] if len(answers) == len(queries) else None
