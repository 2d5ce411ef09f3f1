import dataclasses

import pytest

from alc_mcp.domain.feed_result import (
    Accepted,
    Cancelled,
    Completed,
    Failed,
    Paused,
    feed_result_json,
)
from alc_mcp.domain.jsonfmt import dumps_compact
from alc_mcp.domain.metrics import ExecutionMetrics
from alc_mcp.domain.query import LlmQuery, batch_id, fork_id


def make_query(index: int) -> LlmQuery:
    return LlmQuery(id=batch_id(index), prompt=f"prompt-{index}", max_tokens=100)


def stats() -> dict:
    return ExecutionMetrics(0).stats_json(12)


def test_accepted() -> None:
    out = feed_result_json(Accepted(remaining=3), "s-123")
    assert out == {"status": "accepted", "remaining": 3}
    assert dumps_compact(out) == '{"remaining":3,"status":"accepted"}'


def test_single_query_shape() -> None:
    query = LlmQuery(id="q-0", prompt="What is 2+2?", system="You are a calculator.", max_tokens=50)
    out = feed_result_json(Paused((query,)), "s-abc")
    assert dumps_compact(out) == (
        '{"max_tokens":50,"prompt":"What is 2+2?","query_id":"q-0","session_id":"s-abc",'
        '"status":"needs_response","system":"You are a calculator."}'
    )
    assert "queries" not in out and "id" not in out
    assert "grounded" not in out and "underspecified" not in out


def test_single_query_no_system_is_null() -> None:
    out = feed_result_json(Paused((LlmQuery(id="q-0", prompt="hello"),)), "s-x")
    assert "system" in out and out["system"] is None
    assert out["max_tokens"] == 1024


def test_single_query_grounded() -> None:
    out = feed_result_json(Paused((LlmQuery(id="q-0", prompt="verify", grounded=True),)), "s-g")
    assert out["grounded"] is True
    assert "underspecified" not in out


def test_single_query_underspecified() -> None:
    out = feed_result_json(Paused((LlmQuery(id="q-0", prompt="format?", underspecified=True),)), "s-u")
    assert out["underspecified"] is True
    assert "grounded" not in out


def test_one_item_batch_and_one_fork_query_use_single_shape() -> None:
    out = feed_result_json(Paused((make_query(0),)), "s-1")
    assert out["query_id"] == "q-0" and "queries" not in out
    fork = feed_result_json(Paused((LlmQuery(id=fork_id(1, 0), prompt="child"),)), "s-2")
    assert fork["query_id"] == "f-1-0" and fork["prompt"] == "child"


def test_multiple_queries_shape() -> None:
    out = feed_result_json(Paused(tuple(make_query(i) for i in range(3))), "s-multi")
    assert set(out) == {"status", "session_id", "queries"}
    assert out["status"] == "needs_response" and out["session_id"] == "s-multi"
    assert [qq["id"] for qq in out["queries"]] == ["q-0", "q-1", "q-2"]
    assert out["queries"][0] == {"id": "q-0", "prompt": "prompt-0", "system": None, "max_tokens": 100}
    assert (
        dumps_compact(out["queries"][1]) == '{"id":"q-1","max_tokens":100,"prompt":"prompt-1","system":null}'
    )


def test_multiple_queries_mixed_flags() -> None:
    qs = (
        LlmQuery(id="q-0", prompt="verify", grounded=True),
        LlmQuery(id="q-1", prompt="clarify", underspecified=True),
        LlmQuery(id="q-2", prompt="generate"),
    )
    items = feed_result_json(Paused(qs), "s-batch")["queries"]
    assert items[0]["grounded"] is True and "underspecified" not in items[0]
    assert items[1]["underspecified"] is True and "grounded" not in items[1]
    assert "grounded" not in items[2] and "underspecified" not in items[2]


def test_paused_accepts_a_list_and_freezes_it() -> None:
    paused = Paused([make_query(0), make_query(1)])  # type: ignore[arg-type]
    assert isinstance(paused.queries, tuple)
    assert len(feed_result_json(paused, "s")["queries"]) == 2


def test_completed() -> None:
    out = feed_result_json(Completed(result={"answer": 42}, stats=stats()), "s-done")
    assert out == {"status": "completed", "result": {"answer": 42}, "stats": stats()}
    assert out["stats"]["auto"]["elapsed_ms"] == 12
    assert "session_id" not in out


def test_completed_with_null_result() -> None:
    out = feed_result_json(Completed(result=None, stats=stats()), "s")
    assert "result" in out and out["result"] is None


def test_failed_has_no_stats_or_session() -> None:
    out = feed_result_json(Failed(error="lua error: bad argument"), "s-err")
    assert dumps_compact(out) == '{"error":"lua error: bad argument","status":"error"}'


def test_cancelled_has_stats() -> None:
    out = feed_result_json(Cancelled(stats=stats()), "s-cancel")
    assert out == {"status": "cancelled", "stats": stats()}


def test_results_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Accepted(1).remaining = 2  # type: ignore[misc]


def test_rejects_non_results() -> None:
    with pytest.raises(TypeError, match="not a FeedResult"):
        feed_result_json("nope", "s")  # type: ignore[arg-type]
