"""Property test: random operation sequences against a simple model of the state machine.

Every rule is allowed in every state. The model predicts whether the call succeeds and,
if not, the exact error text; a failed call must leave the state exactly as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from alc_mcp.domain.query import LlmQuery
from alc_mcp.domain.state import (
    AlreadyResponded,
    ExecutionState,
    InvalidState,
    Phase,
    TransitionError,
    UnknownQuery,
)

ID_POOL = ["q-0", "q-1", "q-2", "q-3", "f-0-0", "f-1-2"]
NAMES = {"running": "Running", "paused": "Paused", "completed": "Completed", "failed": "Failed"}
NAMES["cancelled"] = "Cancelled"
TERMINAL = {"completed", "failed", "cancelled"}


def transition_text(expected: str, actual: str) -> str:
    return f"invalid state transition: expected {expected}, got {actual}"


class StateMachineModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = ExecutionState()
        self.phase = "running"
        self.ids: list[str] = []  # insertion order of the current pause
        self.answers: dict[str, str] = {}
        self.result: Any = None
        self.error: str | None = None
        self.counter = 0

    # ── helpers ──

    def fingerprint(self) -> tuple[Any, ...]:
        pending = self.state.pending
        return (
            self.state.phase,
            self.state.remaining(),
            None if pending is None else tuple(pending.unanswered_ids()),
            None if pending is None else tuple(q.id for q in pending.queries),
            repr(self.state.result),
            self.state.error,
        )

    def expect_error(self, exc_type: type[Exception], text: str, call: Any) -> None:
        before = self.fingerprint()
        with pytest.raises(exc_type) as info:
            call()
        assert str(info.value) == text
        assert self.fingerprint() == before, "a refused call must not change the state"

    @property
    def name(self) -> str:
        return NAMES[self.phase]

    # ── rules ──

    @rule(ids=st.lists(st.sampled_from(ID_POOL), min_size=1, max_size=4, unique=True))
    def pause(self, ids: list[str]) -> None:
        qs = [LlmQuery(id=i, prompt=f"prompt {i}") for i in ids]
        if self.phase != "running":
            self.expect_error(
                TransitionError, transition_text("Running", self.name), lambda: self.state.pause(qs)
            )
            return
        self.state.pause(qs)
        self.phase, self.ids, self.answers = "paused", ids, {}

    @rule(query_id=st.sampled_from(ID_POOL))
    def feed(self, query_id: str) -> None:
        self.counter += 1
        response = f"answer {self.counter} to {query_id}"

        def call() -> bool:
            return self.state.feed(query_id, response)

        if self.phase != "paused":
            self.expect_error(InvalidState, transition_text("Paused", self.name), call)
        elif query_id not in self.ids:
            self.expect_error(UnknownQuery, f"unknown query_id: {query_id}", call)
        elif query_id in self.answers:
            self.expect_error(AlreadyResponded, f"already responded to query_id: {query_id}", call)
        else:
            self.answers[query_id] = response
            assert call() is (len(self.answers) == len(self.ids))

    @rule()
    def take_responses(self) -> None:
        if self.phase != "paused" or len(self.answers) != len(self.ids):
            self.expect_error(
                TransitionError, transition_text("Paused(complete)", self.name), self.state.take_responses
            )
            return
        # Insertion order, whatever order the feeds came in.
        assert self.state.take_responses() == [self.answers[i] for i in self.ids]
        self.phase, self.ids, self.answers = "running", [], {}

    @rule(value=st.none() | st.integers() | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    def complete(self, value: Any) -> None:
        if self.phase != "running":
            self.expect_error(
                TransitionError, transition_text("Running", self.name), lambda: self.state.complete(value)
            )
            return
        self.state.complete(value)
        self.phase, self.result = "completed", value

    @rule(message=st.text(max_size=10))
    def fail(self, message: str) -> None:
        if self.phase != "running":
            self.expect_error(
                TransitionError, transition_text("Running", self.name), lambda: self.state.fail(message)
            )
            return
        self.state.fail(message)
        self.phase, self.error = "failed", message

    @rule()
    def cancel(self) -> None:
        if self.phase not in ("running", "paused"):
            self.expect_error(
                TransitionError, transition_text("Running or Paused", self.name), self.state.cancel
            )
            return
        self.state.cancel()
        self.phase, self.ids, self.answers = "cancelled", [], {}

    # ── invariants ──

    @invariant()
    def matches_model(self) -> None:
        assert self.state.phase is Phase(self.phase)
        assert self.state.name == self.name
        assert self.state.is_terminal == (self.phase in TERMINAL)

    @invariant()
    def pending_exists_only_while_paused(self) -> None:
        pending = self.state.pending
        if self.phase == "paused":
            assert pending is not None
            assert [q.id for q in pending.queries] == self.ids
            assert pending.unanswered_ids() == [i for i in self.ids if i not in self.answers]
            assert self.state.remaining() == len(self.ids) - len(self.answers) == pending.remaining()
        else:
            assert pending is None
            assert self.state.remaining() == 0

    @invariant()
    def terminal_data_only_in_its_phase(self) -> None:
        if self.phase == "completed":
            assert self.state.result == self.result
        else:
            assert self.state.result is None
        if self.phase == "failed":
            assert self.state.error == self.error
        else:
            assert self.state.error is None


StateMachineModel.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestExecutionStateMachine = StateMachineModel.TestCase
