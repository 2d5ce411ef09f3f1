import pytest

from alc_mcp.domain.query import LlmQuery, batch_id
from alc_mcp.domain.state import (
    AlreadyResponded,
    ExecutionState,
    FeedError,
    InvalidState,
    PendingQueries,
    Phase,
    TransitionError,
    UnknownQuery,
)


def queries(n: int) -> list[LlmQuery]:
    return [LlmQuery(id=batch_id(i), prompt=f"prompt-{i}") for i in range(n)]


def paused(n: int) -> ExecutionState:
    state = ExecutionState()
    state.pause(queries(n))
    return state


def completed() -> ExecutionState:
    state = ExecutionState()
    state.complete({"ok": 1})
    return state


def failed() -> ExecutionState:
    state = ExecutionState()
    state.fail("boom")
    return state


def cancelled() -> ExecutionState:
    state = ExecutionState()
    state.cancel()
    return state


# ── errors ──────────────────────────────────────────────────


def test_transition_error_text_and_fields() -> None:
    err = TransitionError("Running", "Paused")
    assert str(err) == "invalid state transition: expected Running, got Paused"
    assert (err.expected, err.actual) == ("Running", "Paused")


def test_feed_error_texts() -> None:
    assert str(UnknownQuery("q-9")) == "unknown query_id: q-9"
    assert UnknownQuery("q-9").query_id == "q-9"
    assert str(AlreadyResponded("q-0")) == "already responded to query_id: q-0"
    assert AlreadyResponded("q-0").query_id == "q-0"
    inner = TransitionError("Paused", "Running")
    wrapped = InvalidState(inner)
    assert str(wrapped) == "invalid state transition: expected Paused, got Running"
    assert wrapped.transition_error is inner
    for err in (UnknownQuery("x"), AlreadyResponded("x"), wrapped):
        assert isinstance(err, FeedError)


# ── PendingQueries ──────────────────────────────────────────


def test_pending_feed_order_vs_insertion_order() -> None:
    pending = PendingQueries(queries(3))
    assert pending.feed("q-2", "c") is False
    assert pending.feed("q-0", "a") is False
    assert pending.remaining() == 1
    assert pending.unanswered_ids() == ["q-1"]
    assert pending.feed("q-1", "b") is True
    assert pending.is_complete
    assert pending.answers_in_order() == ["a", "b", "c"]


def test_pending_unknown_and_duplicate_leave_it_unchanged() -> None:
    pending = PendingQueries(queries(2))
    pending.feed("q-0", "first")
    with pytest.raises(UnknownQuery, match=r"^unknown query_id: q-7$"):
        pending.feed("q-7", "x")
    with pytest.raises(AlreadyResponded, match=r"^already responded to query_id: q-0$"):
        pending.feed("q-0", "second")
    assert pending.remaining() == 1
    assert pending.is_answered("q-0") and not pending.is_answered("q-1")
    pending.feed("q-1", "b")
    assert pending.answers_in_order() == ["first", "b"]


def test_pending_queries_keep_insertion_order() -> None:
    qs = [LlmQuery(id="f-1-0", prompt="a"), LlmQuery(id="q-0", prompt="b"), LlmQuery(id="f-0-0", prompt="c")]
    pending = PendingQueries(qs)
    assert pending.queries == tuple(qs)
    assert pending.unanswered_ids() == ["f-1-0", "q-0", "f-0-0"]


def test_pending_rejects_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="q-0"):
        PendingQueries([LlmQuery(id="q-0", prompt="a"), LlmQuery(id="q-0", prompt="b")])


def test_answers_in_order_requires_completion() -> None:
    pending = PendingQueries(queries(2))
    pending.feed("q-1", "x")
    with pytest.raises(ValueError, match="1 remaining"):
        pending.answers_in_order()


# ── ExecutionState: happy paths ─────────────────────────────


def test_starts_running() -> None:
    state = ExecutionState()
    assert state.phase is Phase.RUNNING
    assert state.name == "Running"
    assert not state.is_terminal
    assert state.pending is None
    assert state.remaining() == 0


def test_pause_feed_take_cycle() -> None:
    state = paused(3)
    assert state.phase is Phase.PAUSED and state.name == "Paused"
    assert state.remaining() == 3
    assert state.feed("q-1", "b") is False
    assert state.feed("q-2", "c") is False
    assert state.remaining() == 1
    assert state.feed("q-0", "a") is True
    assert state.take_responses() == ["a", "b", "c"]
    assert state.phase is Phase.RUNNING
    assert state.pending is None
    assert state.remaining() == 0


def test_ids_repeat_across_pauses() -> None:
    state = ExecutionState()
    for answer in ("one", "two"):
        state.pause([LlmQuery(id="q-0", prompt="p")])
        assert state.feed("q-0", answer) is True
        assert state.take_responses() == [answer]


def test_complete_fail_cancel_store_their_data() -> None:
    done = completed()
    assert done.phase is Phase.COMPLETED and done.name == "Completed" and done.is_terminal
    assert done.result == {"ok": 1} and done.error is None
    bad = failed()
    assert bad.phase is Phase.FAILED and bad.name == "Failed" and bad.is_terminal
    assert bad.error == "boom" and bad.result is None
    gone = cancelled()
    assert gone.phase is Phase.CANCELLED and gone.name == "Cancelled" and gone.is_terminal


def test_cancel_while_paused_drops_pending() -> None:
    state = paused(2)
    state.feed("q-0", "a")
    state.cancel()
    assert state.phase is Phase.CANCELLED
    assert state.pending is None
    assert state.remaining() == 0


def test_phase_values() -> None:
    assert [p.value for p in Phase] == ["running", "paused", "completed", "failed", "cancelled"]
    assert Phase.PAUSED == "paused"


# ── ExecutionState: every invalid transition ────────────────

TERMINALS = [("Completed", completed), ("Failed", failed), ("Cancelled", cancelled)]


@pytest.mark.parametrize(("name", "make"), [("Paused", lambda: paused(1)), *TERMINALS])
def test_pause_requires_running(name: str, make) -> None:
    state = make()
    with pytest.raises(TransitionError) as info:
        state.pause(queries(1))
    assert str(info.value) == f"invalid state transition: expected Running, got {name}"
    assert state.name == name


@pytest.mark.parametrize(("name", "make"), [("Running", ExecutionState), *TERMINALS])
def test_feed_requires_paused(name: str, make) -> None:
    state = make()
    with pytest.raises(InvalidState) as info:
        state.feed("q-0", "x")
    assert str(info.value) == f"invalid state transition: expected Paused, got {name}"
    assert info.value.transition_error.expected == "Paused"
    assert info.value.transition_error.actual == name


@pytest.mark.parametrize(("name", "make"), [("Running", ExecutionState), *TERMINALS])
def test_take_responses_requires_paused(name: str, make) -> None:
    state = make()
    with pytest.raises(TransitionError) as info:
        state.take_responses()
    assert str(info.value) == f"invalid state transition: expected Paused(complete), got {name}"


def test_take_responses_incomplete_stays_paused() -> None:
    state = paused(2)
    state.feed("q-1", "b")
    with pytest.raises(TransitionError) as info:
        state.take_responses()
    assert str(info.value) == "invalid state transition: expected Paused(complete), got Paused"
    assert state.phase is Phase.PAUSED
    assert state.remaining() == 1
    state.feed("q-0", "a")
    assert state.take_responses() == ["a", "b"]


@pytest.mark.parametrize("method", ["complete", "fail"])
@pytest.mark.parametrize(("name", "make"), [("Paused", lambda: paused(1)), *TERMINALS])
def test_complete_and_fail_require_running(method: str, name: str, make) -> None:
    state = make()
    with pytest.raises(TransitionError) as info:
        getattr(state, method)("x")
    assert str(info.value) == f"invalid state transition: expected Running, got {name}"
    assert state.name == name


@pytest.mark.parametrize(("name", "make"), TERMINALS)
def test_cancel_requires_running_or_paused(name: str, make) -> None:
    state = make()
    with pytest.raises(TransitionError) as info:
        state.cancel()
    assert str(info.value) == f"invalid state transition: expected Running or Paused, got {name}"


def test_feed_errors_in_paused() -> None:
    state = paused(1)
    with pytest.raises(UnknownQuery, match=r"^unknown query_id: q-5$"):
        state.feed("q-5", "x")
    state.feed("q-0", "a")
    with pytest.raises(AlreadyResponded, match=r"^already responded to query_id: q-0$"):
        state.feed("q-0", "b")
    assert state.take_responses() == ["a"]


def test_pause_with_duplicate_ids_leaves_state_running() -> None:
    state = ExecutionState()
    with pytest.raises(ValueError, match="duplicate"):
        state.pause([LlmQuery(id="q-0", prompt="a"), LlmQuery(id="q-0", prompt="b")])
    assert state.phase is Phase.RUNNING and state.pending is None


def test_state_fields_are_read_only() -> None:
    state = ExecutionState()
    with pytest.raises(AttributeError):
        state.phase = Phase.COMPLETED  # type: ignore[misc]
    assert state.phase is Phase.RUNNING
