"""The session journal: what happened to a session, event by event.

A Lua VM cannot be saved, but it can be replayed: run the script again and answer
every question from the journal. This module holds the events, their JSON form, the
``fold`` that rebuilds a session's state and metrics from them (for status, stats and
revival without running Lua), and the books that hand recorded answers and observed
values back to a replaying script.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from alc_mcp.domain.budget import Budget
from alc_mcp.domain.logs import LogEntry
from alc_mcp.domain.metrics import ExecutionMetrics
from alc_mcp.domain.program import Program
from alc_mcp.domain.query import LlmQuery, TokenUsage
from alc_mcp.domain.state import ExecutionState, Phase
from alc_mcp.domain.variables import Variable, VariableSet

__all__ = [
    "AnswerBook",
    "Answered",
    "AnsweredQuery",
    "Asked",
    "EffectBook",
    "Finished",
    "History",
    "JournalEntry",
    "JournalError",
    "JournalEvent",
    "Logged",
    "Noted",
    "Observed",
    "ObservedBatch",
    "ProgressSet",
    "QueryContent",
    "StatRecorded",
    "VarChanged",
    "VarRemoved",
    "decode_event",
    "encode_event",
    "fold",
    "query_content",
]


@dataclass(frozen=True, slots=True)
class Asked:
    """One pause: the queries the script is waiting for."""

    queries: tuple[LlmQuery, ...]


@dataclass(frozen=True, slots=True)
class Answered:
    query_id: str
    response: str
    usage: TokenUsage | None = None


@dataclass(frozen=True, slots=True)
class Observed:
    """A non-deterministic value the script saw (time, seed, a shared-state read…).

    ``key`` names the call (e.g. the state key read) so a replay whose iteration order
    differs still gets each call's own value.
    """

    kind: str
    key: str | None
    value: Any


@dataclass(frozen=True, slots=True)
class ObservedBatch:
    """The values of one stretch of a run, in the order the script saw them: one journal
    row however many clock reads a loop makes."""

    items: tuple[Observed, ...]


@dataclass(frozen=True, slots=True)
class Logged:
    level: str
    source: str
    message: str


@dataclass(frozen=True, slots=True)
class ProgressSet:
    step: int
    total: int
    message: str | None


@dataclass(frozen=True, slots=True)
class StatRecorded:
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Finished:
    phase: str  # completed | failed | cancelled
    result: Any = None
    error: str | None = None
    stats: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class VarChanged:
    """A session variable as it is after a define, set or import (from Lua or the host)."""

    variable: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VarRemoved:
    variable_id: str


@dataclass(frozen=True, slots=True)
class Noted:
    content: str
    title: str | None = None


JournalEvent = (
    Program
    | Asked
    | Answered
    | Observed
    | ObservedBatch
    | Logged
    | ProgressSet
    | StatRecorded
    | Finished
    | Noted
    | VarChanged
    | VarRemoved
)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    at: int
    event: JournalEvent


# --- JSON form ------------------------------------------------------------------------

_KINDS: dict[type[JournalEvent], str] = {
    Program: "start",
    Asked: "ask",
    Answered: "answer",
    Observed: "observe",
    ObservedBatch: "observe_batch",
    Logged: "log",
    ProgressSet: "progress",
    StatRecorded: "stat",
    Finished: "finish",
    Noted: "note",
    VarChanged: "var",
    VarRemoved: "var_remove",
}


def _query_json(query: LlmQuery) -> dict[str, Any]:
    return {
        "id": query.id,
        "prompt": query.prompt,
        "system": query.system,
        "max_tokens": query.max_tokens,
        "grounded": query.grounded,
        "underspecified": query.underspecified,
    }


def _query_from(data: dict[str, Any]) -> LlmQuery:
    return LlmQuery(
        id=data["id"],
        prompt=data["prompt"],
        system=data.get("system"),
        max_tokens=data.get("max_tokens", 1024),
        grounded=bool(data.get("grounded", False)),
        underspecified=bool(data.get("underspecified", False)),
    )


def encode_event(event: JournalEvent) -> tuple[str, dict[str, Any]]:
    """``(kind, data)``: the row form the store keeps."""
    kind = _KINDS[type(event)]
    if isinstance(event, Asked):
        return kind, {"queries": [_query_json(q) for q in event.queries]}
    if isinstance(event, Answered):
        usage = None
        if event.usage is not None:
            usage = {
                "prompt_tokens": event.usage.prompt_tokens,
                "completion_tokens": event.usage.completion_tokens,
            }
        return kind, {"query_id": event.query_id, "response": event.response, "usage": usage}
    if isinstance(event, ObservedBatch):
        return kind, {"runs": _runs(event.items)}
    return kind, {name: getattr(event, name) for name in event.__slots__}


def _runs(items: Sequence[Observed]) -> list[list[Any]]:
    """``[[kind, key, [values…]], …]``: consecutive reads of one thing share their label."""
    runs: list[list[Any]] = []
    for item in items:
        if runs and runs[-1][0] == item.kind and runs[-1][1] == item.key:
            runs[-1][2].append(item.value)
        else:
            runs.append([item.kind, item.key, [item.value]])
    return runs


def decode_event(kind: str, data: dict[str, Any]) -> JournalEvent:
    if kind == "ask":
        return Asked(tuple(_query_from(q) for q in data["queries"]))
    if kind == "answer":
        usage = data.get("usage")
        return Answered(
            data["query_id"],
            data["response"],
            TokenUsage(usage.get("prompt_tokens"), usage.get("completion_tokens")) if usage else None,
        )
    if kind == "observe_batch":
        return ObservedBatch(
            tuple(Observed(k, key, value) for k, key, values in data["runs"] for value in values)
        )
    for cls, name in _KINDS.items():
        if name == kind:
            return cls(**data)
    raise ValueError(f"unknown journal event kind {kind!r}")


# --- fold -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnsweredQuery:
    """A query together with the answer the journal recorded for it."""

    index: int  # answered queries numbered across the whole session, in journal order
    seq: int  # journal seq of the answer
    pause: int  # which pause (0-based) asked it
    position: int  # its position in that pause's batch
    query: LlmQuery
    response: str
    usage: TokenUsage | None
    at: int


@dataclass(slots=True)
class History:
    """A session as its journal tells it."""

    program: Program
    started_at: int
    state: ExecutionState
    metrics: ExecutionMetrics
    answered: list[AnsweredQuery] = field(default_factory=list)
    observed: list[Observed] = field(default_factory=list)
    pauses: list[tuple[LlmQuery, ...]] = field(default_factory=list)
    finished: Finished | None = None
    notes: list[tuple[int, Noted]] = field(default_factory=list)
    variables: VariableSet = field(default_factory=VariableSet)

    @property
    def pending(self) -> tuple[LlmQuery, ...] | None:
        """The open pause's queries, if the session is paused."""
        pending = self.state.pending
        return pending.queries if pending is not None and self.state.phase is Phase.PAUSED else None

    @property
    def pending_answers(self) -> dict[str, str]:
        """Answers already given to the open pause (a partial feed)."""
        pending = self.state.pending
        if pending is None or self.state.phase is not Phase.PAUSED:
            return {}
        last = len(self.pauses) - 1
        return {a.query.id: a.response for a in self.answered if a.pause == last}


class JournalError(ValueError):
    """The journal does not describe a session this server can rebuild."""


def fold(entries: Iterable[JournalEntry]) -> History:
    """Rebuild state and metrics by applying the events in order, through the same
    state machine and metric hooks the live engine uses."""
    history: History | None = None
    for entry in entries:
        event = entry.event
        if isinstance(event, Program):
            metrics = ExecutionMetrics(entry.at, Budget.from_ctx(event.ctx))
            history = History(event, entry.at, ExecutionState(), metrics)
            continue
        if history is None:
            raise JournalError("journal does not begin with a start event")
        _apply(history, entry)
    if history is None:
        raise JournalError("journal is empty")
    return history


def _apply(history: History, entry: JournalEntry) -> None:
    event, at, state, metrics = entry.event, entry.at, history.state, history.metrics
    if isinstance(event, Asked):
        state.pause(event.queries)
        metrics.on_paused(event.queries, at)
        history.pauses.append(event.queries)
    elif isinstance(event, Answered):
        pending = state.pending
        if pending is None:
            raise JournalError(f"answer to {event.query_id} recorded outside a pause")
        queries = pending.queries
        position = next(i for i, q in enumerate(queries) if q.id == event.query_id)
        history.answered.append(
            AnsweredQuery(
                index=len(history.answered),
                seq=entry.seq,
                pause=len(history.pauses) - 1,
                position=position,
                query=queries[position],
                response=event.response,
                usage=event.usage,
                at=at,
            )
        )
        metrics.on_response_fed(event.query_id, event.response, event.usage, at)
        if state.feed(event.query_id, event.response):
            state.take_responses()
            metrics.on_resumed(at)
    elif isinstance(event, Observed):
        history.observed.append(event)
    elif isinstance(event, ObservedBatch):
        history.observed.extend(event.items)
    elif isinstance(event, Logged):
        metrics.push_log(LogEntry(ts=at, level=event.level, source=event.source, message=event.message))
    elif isinstance(event, ProgressSet):
        metrics.set_progress(event.step, event.total, event.message)
    elif isinstance(event, StatRecorded):
        metrics.record_custom(event.key, event.value)
    elif isinstance(event, Finished):
        history.finished = event
        if not state.is_terminal:
            if event.phase == Phase.COMPLETED and state.phase is Phase.RUNNING:
                state.complete(event.result)
            elif event.phase == Phase.FAILED and state.phase is Phase.RUNNING:
                state.fail(event.error or "")
            else:
                state.cancel()
        metrics.on_finished(at)
    elif isinstance(event, Noted):
        history.notes.append((at, event))
    elif isinstance(event, VarChanged):
        history.variables.put(Variable.from_json(event.variable))
    elif isinstance(event, VarRemoved):
        history.variables.remove(event.variable_id)


# --- replay books ---------------------------------------------------------------------


#: prompt, system, max_tokens, grounded, underspecified: a query without its id.
QueryContent: TypeAlias = tuple[str, str | None, int, bool, bool]


def query_content(query: LlmQuery) -> QueryContent:
    """What makes two questions the same question for replay (everything but the id)."""
    return (query.prompt, query.system, query.max_tokens, query.grounded, query.underspecified)


class AnswerBook:
    """Recorded answers, handed to a replaying script by *content*, not order: a
    script that builds prompts while iterating ``pairs`` asks in another order in a
    new VM, and must still get each question's own answer."""

    def __init__(self, answered: Sequence[AnsweredQuery]) -> None:
        self._by_content: dict[QueryContent, list[AnsweredQuery]] = defaultdict(list)
        for item in answered:
            self._by_content[query_content(item.query)].append(item)
        self._unused = len(answered)

    @property
    def unused(self) -> int:
        return self._unused

    def match(self, queries: Sequence[LlmQuery]) -> list[AnsweredQuery | None]:
        """For each query, the recorded answer it would take (same content; the same
        batch position preferred, then the earliest). Nothing is consumed."""
        taken: set[int] = set()
        matches: list[AnsweredQuery | None] = []
        for position, query in enumerate(queries):
            candidates = [c for c in self._by_content.get(query_content(query), ()) if c.index not in taken]
            if not candidates:
                matches.append(None)
                continue
            same_spot = [c for c in candidates if c.position == position]
            choice = same_spot[0] if same_spot else candidates[0]
            taken.add(choice.index)
            matches.append(choice)
        return matches

    def consume(self, items: Iterable[AnsweredQuery]) -> None:
        for item in items:
            bucket = self._by_content[query_content(item.query)]
            bucket.remove(item)
            self._unused -= 1


class EffectBook:
    """Recorded non-deterministic values, first in first out per (kind, key)."""

    def __init__(self, observed: Iterable[Observed]) -> None:
        self._queues: dict[tuple[str, str | None], deque[Any]] = defaultdict(deque)
        for item in observed:
            self._queues[(item.kind, item.key)].append(item.value)

    def take(self, kind: str, key: str | None) -> tuple[bool, Any]:
        queue = self._queues.get((kind, key))
        if not queue:
            return False, None
        return True, queue.popleft()
