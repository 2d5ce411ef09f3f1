"""The session state machine and its join barrier (algocline ``state.rs``).

Running → Paused → Running … → Completed | Failed | Cancelled. Every refused
transition raises with algocline's exact wording, because those texts reach hosts
inside ``Continue failed: …`` tool errors.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from alc_mcp.domain.query import LlmQuery

__all__ = [
    "AlreadyResponded",
    "ExecutionState",
    "FeedError",
    "InvalidState",
    "PendingQueries",
    "Phase",
    "TransitionError",
    "UnknownQuery",
]


class TransitionError(Exception):
    """A method was called in a state that does not allow it."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"invalid state transition: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class FeedError(Exception):
    """An answer could not be recorded; the session itself is unchanged."""


class UnknownQuery(FeedError):
    def __init__(self, query_id: str) -> None:
        super().__init__(f"unknown query_id: {query_id}")
        self.query_id = query_id


class AlreadyResponded(FeedError):
    def __init__(self, query_id: str) -> None:
        super().__init__(f"already responded to query_id: {query_id}")
        self.query_id = query_id


class InvalidState(FeedError):
    """Feeding outside Paused; its text is the TransitionError's, unwrapped, as in algocline."""

    def __init__(self, transition_error: TransitionError) -> None:
        super().__init__(str(transition_error))
        self.transition_error = transition_error


class PendingQueries:
    """The queries of one pause and the answers received so far.

    Answers may arrive in any order (hosts answer batch items as they finish), but the
    script receives them in the order it asked, so insertion order is kept separately
    from feed order.
    """

    __slots__ = ("_answers", "_queries")

    def __init__(self, queries: Sequence[LlmQuery]) -> None:
        by_id: dict[str, LlmQuery] = {}
        for query in queries:
            if query.id in by_id:
                raise ValueError(f"duplicate query id in one pause: {query.id}")
            by_id[query.id] = query
        self._queries = by_id
        self._answers: dict[str, str] = {}

    @property
    def queries(self) -> tuple[LlmQuery, ...]:
        return tuple(self._queries.values())

    def feed(self, query_id: str, response: str) -> bool:
        """Record one answer; True once every query of the pause has one."""
        if query_id not in self._queries:
            raise UnknownQuery(query_id)
        if query_id in self._answers:
            raise AlreadyResponded(query_id)
        self._answers[query_id] = response
        return self.is_complete

    def remaining(self) -> int:
        return len(self._queries) - len(self._answers)

    def unanswered_ids(self) -> list[str]:
        return [qid for qid in self._queries if qid not in self._answers]

    def is_answered(self, query_id: str) -> bool:
        return query_id in self._answers

    @property
    def is_complete(self) -> bool:
        return len(self._answers) == len(self._queries)

    def answers_in_order(self) -> list[str]:
        if not self.is_complete:
            raise ValueError(f"pending queries not complete: {self.remaining()} remaining")
        return [self._answers[qid] for qid in self._queries]


class Phase(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


_NAMES = {
    Phase.RUNNING: "Running",
    Phase.PAUSED: "Paused",
    Phase.COMPLETED: "Completed",
    Phase.FAILED: "Failed",
    Phase.CANCELLED: "Cancelled",
}
_TERMINAL = frozenset({Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED})


class ExecutionState:
    """Where one session is in its life, with the data that only exists in that phase.

    The phase-specific fields are read-only so the only way to change state is through
    the transition methods, which is what keeps the invariants (``pending`` set iff
    paused, ``result``/``error`` set only in their terminal phase) true.
    """

    __slots__ = ("_error", "_pending", "_phase", "_result")

    def __init__(self) -> None:
        self._phase = Phase.RUNNING
        self._pending: PendingQueries | None = None
        self._result: Any = None
        self._error: str | None = None

    def __repr__(self) -> str:
        return f"ExecutionState({self.name}, remaining={self.remaining()})"

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def pending(self) -> PendingQueries | None:
        return self._pending

    @property
    def result(self) -> Any:
        return self._result

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def name(self) -> str:
        """The label algocline puts in transition error messages."""
        return _NAMES[self._phase]

    @property
    def is_terminal(self) -> bool:
        return self._phase in _TERMINAL

    def remaining(self) -> int:
        return self._pending.remaining() if self._pending is not None else 0

    def _require(self, expected: str, *allowed: Phase) -> None:
        if self._phase not in allowed:
            raise TransitionError(expected, self.name)

    def pause(self, queries: Sequence[LlmQuery]) -> None:
        self._require("Running", Phase.RUNNING)
        pending = PendingQueries(queries)  # may raise ValueError: leave the state untouched
        self._pending = pending
        self._phase = Phase.PAUSED

    def feed(self, query_id: str, response: str) -> bool:
        if self._pending is None or self._phase is not Phase.PAUSED:
            raise InvalidState(TransitionError("Paused", self.name))
        return self._pending.feed(query_id, response)

    def take_responses(self) -> list[str]:
        """Resume: hand every answer back in the order the script asked for them."""
        if self._pending is None or self._phase is not Phase.PAUSED or not self._pending.is_complete:
            raise TransitionError("Paused(complete)", self.name)
        answers = self._pending.answers_in_order()
        self._pending = None
        self._phase = Phase.RUNNING
        return answers

    def complete(self, value: Any) -> None:
        self._require("Running", Phase.RUNNING)
        self._result = value
        self._phase = Phase.COMPLETED

    def fail(self, message: str) -> None:
        self._require("Running", Phase.RUNNING)
        self._error = message
        self._phase = Phase.FAILED

    def cancel(self) -> None:
        self._require("Running or Paused", Phase.RUNNING, Phase.PAUSED)
        self._pending = None
        self._phase = Phase.CANCELLED
