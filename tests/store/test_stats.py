"""``aggregate_stats``: the numbers of ``alc_stats``, computed by hand here."""

from __future__ import annotations

from typing import Any

import pytest

from alc_mcp.store.sqlite import SqliteStore
from alc_mcp.store.stats import rounded_average
from tests.store.conftest import started


def _stats(elapsed: int, calls: int, rounds: int, pchars: int, rchars: int, ptok: int, rtok: int) -> dict:
    return {
        "auto": {
            "elapsed_ms": elapsed,
            "llm_calls": calls,
            "pauses": calls,
            "rounds": rounds,
            "total_prompt_chars": pchars,
            "total_response_chars": rchars,
            "prompt_tokens": {"tokens": ptok, "source": "estimated"},
            "response_tokens": {"tokens": rtok, "source": "provided"},
            "total_tokens": {"tokens": ptok + rtok, "source": "estimated"},
        },
        "custom": {"anything": 1},
    }


def _finished(
    store: SqliteStore, sid: str, strategy: str | None, status: str, at: int, stats: dict[str, Any] | None
) -> None:
    store.sessions.create_session(sid, started(strategy), at)
    store.sessions.update_session(sid, status=status, updated_at=at, stats=stats)


@pytest.fixture
def filled(store: SqliteStore) -> SqliteStore:
    _finished(store, "a1", "cot", "completed", 1_000, _stats(100, 1, 1, 10, 20, 3, 5))
    _finished(store, "a2", "cot", "failed", 2_000, _stats(201, 2, 2, 11, 21, 4, 6))
    _finished(store, "a3", "cot", "cancelled", 3_000, _stats(300, 4, 1, 12, 22, 5, 7))
    _finished(store, "b1", None, "completed", 4_000, _stats(5, 1, 1, 1, 1, 1, 1))
    _finished(store, "b2", None, "completed", 5_000, _stats(6, 2, 2, 2, 2, 2, 2))
    _finished(store, "c1", "panel", "completed", 6_000, {"auto": {"llm_calls": 7}, "custom": {}})
    # Not counted: no stats, or not finished.
    _finished(store, "x1", "cot", "completed", 7_000, None)
    _finished(store, "x2", "cot", "paused", 8_000, _stats(999, 9, 9, 9, 9, 9, 9))
    _finished(store, "x3", "cot", "running", 9_000, _stats(999, 9, 9, 9, 9, 9, 9))
    return store


COT = {
    "count": 3,
    "avg_elapsed_ms": 200,  # 601 / 3 = 200.33 -> 200
    "avg_llm_calls": 2,  # 7 / 3 = 2.33 -> 2
    "avg_rounds": 1,  # 4 / 3 = 1.33 -> 1
    "total_llm_calls": 7,
    "total_prompt_chars": 33,
    "total_response_chars": 63,
    "total_prompt_tokens": 12,
    "total_response_tokens": 18,
    "total_tokens": 30,
}
UNKNOWN = {
    "count": 2,
    "avg_elapsed_ms": 6,  # 11 / 2 = 5.5 -> 6 (half up)
    "avg_llm_calls": 2,  # 3 / 2 = 1.5 -> 2
    "avg_rounds": 2,  # 3 / 2 = 1.5 -> 2
    "total_llm_calls": 3,
    "total_prompt_chars": 3,
    "total_response_chars": 3,
    "total_prompt_tokens": 3,
    "total_response_tokens": 3,
    "total_tokens": 6,
}
PANEL = {  # missing fields count as 0
    "count": 1,
    "avg_elapsed_ms": 0,
    "avg_llm_calls": 7,
    "avg_rounds": 0,
    "total_llm_calls": 7,
    "total_prompt_chars": 0,
    "total_response_chars": 0,
    "total_prompt_tokens": 0,
    "total_response_tokens": 0,
    "total_tokens": 0,
}


def test_all(filled: SqliteStore) -> None:
    assert filled.history.aggregate_stats() == {
        "total_sessions": 6,
        "strategies": {"cot": COT, "unknown": UNKNOWN, "panel": PANEL},
    }


def test_strategy_filter(filled: SqliteStore) -> None:
    assert filled.history.aggregate_stats(strategy="cot") == {"total_sessions": 3, "strategies": {"cot": COT}}
    assert filled.history.aggregate_stats(strategy="unknown") == {
        "total_sessions": 2,
        "strategies": {"unknown": UNKNOWN},
    }
    assert filled.history.aggregate_stats(strategy="nope") == {"total_sessions": 0, "strategies": {}}


def test_since_filter(filled: SqliteStore) -> None:
    result = filled.history.aggregate_stats(since_ms=2_000)
    assert result["total_sessions"] == 5
    assert result["strategies"]["cot"]["count"] == 2
    assert result["strategies"]["cot"]["avg_elapsed_ms"] == 251  # 501 / 2 = 250.5 -> 251
    assert (
        filled.history.aggregate_stats(strategy="cot", since_ms=3_000)["strategies"]["cot"]["total_llm_calls"]
        == 4
    )


def test_empty_store(store: SqliteStore) -> None:
    assert store.history.aggregate_stats() == {"total_sessions": 0, "strategies": {}}


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [(0, 1, 0), (1, 2, 1), (5, 2, 3), (4, 3, 1), (5, 3, 2), (7, 2, 4), (10, 4, 3), (9, 4, 2)],
)
def test_rounded_average_half_up(total: int, count: int, expected: int) -> None:
    assert rounded_average(total, count) == expected
