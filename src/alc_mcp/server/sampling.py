"""A session's pause as the host's model is asked it: one ``sampling/createMessage`` per
pending query, keyed for the session's life, and the text that comes back.

Shared by the two ways a client answers pauses without ``alc_continue``: inline, inside
the call (``server.inline``), and as a task (``server.tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp_types import (
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    InputRequests,
    SamplingMessage,
    TextContent,
)

from alc_mcp.app import SessionService
from alc_mcp.app.errors import SessionError
from alc_mcp.domain.pending_filter import parse_pending_filter
from alc_mcp.domain.query import LlmQuery

__all__ = [
    "OpenPause",
    "SessionView",
    "input_key",
    "open_pause",
    "sampled_text",
    "sampling_request",
]


def _query(data: dict[str, Any]) -> LlmQuery:
    """A pending query back from a status snapshot's ``full`` projection."""
    return LlmQuery(
        data["query_id"],
        data["prompt"],
        data["system"],
        data["max_tokens"],
        bool(data.get("grounded")),
        bool(data.get("underspecified")),
    )


def input_key(pause: int, query_id: str) -> str:
    """The ``inputRequests`` key of a query: unique for the session's life, since query ids
    (``q-0``…) repeat in every pause but pause numbers only grow."""
    return f"p{pause}-{query_id}"


#: Pending queries with every field, to rebuild them from a status snapshot.
_EVERY_FIELD = parse_pending_filter("full")


@dataclass(frozen=True, slots=True)
class OpenPause:
    """The pause a session waits on: its number (pauses answered before it, from the
    journal-backed metrics) and its queries."""

    number: int
    queries: tuple[LlmQuery, ...]

    @classmethod
    def of(cls, snapshot: dict[str, Any]) -> OpenPause | None:
        """From an ``alc_status`` snapshot taken with the ``full`` pending filter."""
        if snapshot.get("state") != "paused":
            return None
        queries = tuple(_query(q) for q in snapshot["pending"])
        return cls(snapshot["metrics"]["rounds"], queries)

    def key(self, query: LlmQuery) -> str:
        return input_key(self.number, query.id)

    def input_requests(self) -> InputRequests:
        return {self.key(q): sampling_request(q) for q in self.queries}


#: A session's status snapshot and the pause it waits on (None: not paused).
SessionView = tuple[dict[str, Any], OpenPause | None]


async def open_pause(service: SessionService, session_id: str) -> SessionView | None:
    """A session's status snapshot and the pause it waits on; None once it is gone
    (finished and off the live list, or deleted)."""
    try:
        snapshot = await service.status(session_id, _EVERY_FIELD, False)
    except SessionError:
        return None
    return snapshot, OpenPause.of(snapshot)


def sampling_request(query: LlmQuery) -> CreateMessageRequest:
    """A query as the host's model sees it: the prompt as the user turn, ``system`` as the
    system prompt, the script's ``max_tokens``."""
    return CreateMessageRequest(
        params=CreateMessageRequestParams(
            messages=[SamplingMessage(role="user", content=TextContent(text=query.prompt))],
            system_prompt=query.system,
            max_tokens=query.max_tokens,
        )
    )


def sampled_text(result: CreateMessageResult) -> str | None:
    """The answer's text, or None when the model answered with something else (an image,
    a tool call): a script's ``alc.llm`` only takes text."""
    blocks = result.content if isinstance(result.content, list) else [result.content]
    if not blocks or not all(isinstance(b, TextContent) for b in blocks):
        return None
    return "".join(b.text for b in blocks if isinstance(b, TextContent))
