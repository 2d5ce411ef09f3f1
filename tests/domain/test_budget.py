from typing import Any

import pytest

from alc_mcp.domain.budget import Budget


@pytest.mark.parametrize(
    "ctx",
    [
        None,
        "text",
        [1, 2],
        {},
        {"budget": None},
        {"budget": 5},
        {"budget": []},
        {"budget": {}},
        {"budget": {"other": 3}},
        {"budget": {"max_llm_calls": 5.0, "max_elapsed_ms": -1, "max_tokens": True}},
        {"budget": {"max_llm_calls": "5", "max_tokens": 2**64}},
    ],
)
def test_no_budget(ctx: Any) -> None:
    assert Budget.from_ctx(ctx) is None


def test_reads_unsigned_integers_only() -> None:
    ctx = {"budget": {"max_llm_calls": 5, "max_elapsed_ms": 1.5, "max_tokens": -3}}
    assert Budget.from_ctx(ctx) == Budget(max_llm_calls=5)
    full = {"budget": {"max_llm_calls": 0, "max_elapsed_ms": 1000, "max_tokens": 2**64 - 1}}
    assert Budget.from_ctx(full) == Budget(0, 1000, 2**64 - 1)


def test_check_uses_greater_or_equal() -> None:
    budget = Budget(max_llm_calls=2)
    assert budget.check(1, 0, 0) is None
    assert budget.check(2, 0, 0) == "budget_exceeded: max_llm_calls (2) reached (2 used)"
    assert budget.check(7, 0, 0) == "budget_exceeded: max_llm_calls (2) reached (7 used)"


def test_check_messages() -> None:
    assert Budget(max_elapsed_ms=100).check(0, 100, 0) == (
        "budget_exceeded: max_elapsed_ms (100ms) reached (100ms elapsed)"
    )
    assert Budget(max_elapsed_ms=100).check(0, 99, 0) is None
    assert Budget(max_tokens=50).check(0, 0, 51) == "budget_exceeded: max_tokens (50) reached (51 used)"
    assert Budget(max_tokens=50).check(0, 0, 49) is None


def test_check_order_calls_then_elapsed_then_tokens() -> None:
    budget = Budget(max_llm_calls=1, max_elapsed_ms=1, max_tokens=1)
    assert budget.check(1, 1, 1).startswith("budget_exceeded: max_llm_calls")  # type: ignore[union-attr]
    assert budget.check(0, 1, 1).startswith("budget_exceeded: max_elapsed_ms")  # type: ignore[union-attr]
    assert budget.check(0, 0, 1).startswith("budget_exceeded: max_tokens")  # type: ignore[union-attr]
    assert budget.check(0, 0, 0) is None


def test_remaining_saturates_and_uses_null() -> None:
    assert Budget(max_llm_calls=5).remaining(2, 10, 10) == {
        "llm_calls": 3,
        "elapsed_ms": None,
        "tokens": None,
    }
    assert Budget(5, 100, 30).remaining(9, 40, 30) == {"llm_calls": 0, "elapsed_ms": 60, "tokens": 0}


def test_to_json_only_set_limits() -> None:
    assert Budget(max_llm_calls=5).to_json() == {"max_llm_calls": 5}
    assert Budget(max_elapsed_ms=0, max_tokens=9).to_json() == {"max_elapsed_ms": 0, "max_tokens": 9}
    assert Budget(1, 2, 3).to_json() == {"max_llm_calls": 1, "max_elapsed_ms": 2, "max_tokens": 3}
