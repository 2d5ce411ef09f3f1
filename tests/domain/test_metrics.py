from alc_mcp.domain.budget import Budget
from alc_mcp.domain.logs import LogEntry
from alc_mcp.domain.metrics import ExecutionMetrics
from alc_mcp.domain.query import LlmQuery, TokenUsage, batch_id
from alc_mcp.domain.tokens import TokenCount, TokenSource, estimate_tokens

T0 = 1_700_000_000_000


def q(prompt: str = "p", system: str | None = None, qid: str = "q-0") -> LlmQuery:
    return LlmQuery(id=qid, prompt=prompt, system=system)


def round_trip(
    m: ExecutionMetrics, query: LlmQuery, response: str, now: int, usage: TokenUsage | None = None
):
    m.on_paused([query], now)
    m.on_response_fed(query.id, response, usage, now + 1)
    m.on_resumed(now + 1)


def test_fresh_metrics() -> None:
    m = ExecutionMetrics(T0)
    assert (m.llm_calls, m.pauses, m.rounds, m.total_prompt_chars, m.total_response_chars) == (0, 0, 0, 0, 0)
    assert m.last_activity_ms == T0 and m.ended_at_ms is None
    assert m.elapsed_ms(T0 + 250) == 250
    assert m.stats_json(T0 + 250) == {
        "auto": {
            "elapsed_ms": 250,
            "llm_calls": 0,
            "pauses": 0,
            "rounds": 0,
            "total_prompt_chars": 0,
            "total_response_chars": 0,
            "prompt_tokens": {"tokens": 0, "source": "definite"},
            "response_tokens": {"tokens": 0, "source": "definite"},
            "total_tokens": {"tokens": 0, "source": "definite"},
        },
        "custom": {},
    }


def test_three_rounds_counters() -> None:
    m = ExecutionMetrics(T0)
    for i, response in enumerate(["x" * 10, "y" * 20, "z" * 30]):
        round_trip(m, q("p"), response, T0 + i * 10)
    assert m.total_prompt_chars == 3
    assert m.total_response_chars == 60
    assert (m.llm_calls, m.pauses, m.rounds) == (3, 3, 3)
    assert len(m.transcript) == 3
    assert [e.response for e in m.transcript] == ["x" * 10, "y" * 20, "z" * 30]


def test_chars_are_utf8_bytes() -> None:
    m = ExecutionMetrics(T0)
    m.on_paused([q("日本", system="é")], T0)
    assert m.total_prompt_chars == 6 + 2
    m.on_response_fed("q-0", "日本語😀", None, T0)
    assert m.total_response_chars == 9 + 4


def test_batch_counts_each_query_and_one_pause() -> None:
    m = ExecutionMetrics(T0)
    m.on_paused([q(f"prompt {i}", qid=batch_id(i)) for i in range(3)], T0)
    assert (m.llm_calls, m.pauses, m.rounds) == (3, 1, 0)
    assert [e.query_id for e in m.transcript] == ["q-0", "q-1", "q-2"]
    assert m.total_prompt_chars == 3 * len("prompt 0")


def test_pause_creates_estimated_entries() -> None:
    m = ExecutionMetrics(T0)
    m.on_paused([q("hello world", system="be brief")], T0 + 5)
    entry = m.transcript[0]
    assert entry.prompt_tokens == TokenCount(3 + estimate_tokens("be brief"), TokenSource.ESTIMATED)
    assert entry.response_tokens == TokenCount(0, TokenSource.ESTIMATED)
    assert (entry.response, entry.started_at_ms, entry.completed_at_ms) == (None, T0 + 5, None)
    prompt, response, total = m.token_totals()
    assert prompt == TokenCount(5, TokenSource.ESTIMATED)
    assert response == TokenCount(0, TokenSource.ESTIMATED)
    assert total == TokenCount(5, TokenSource.ESTIMATED)


def test_feed_without_usage_estimates_response() -> None:
    m = ExecutionMetrics(T0)
    m.on_paused([q("hello world")], T0)
    m.on_response_fed("q-0", "abcdefgh", None, T0 + 40)
    entry = m.transcript[0]
    assert entry.response == "abcdefgh"
    assert entry.completed_at_ms == T0 + 40
    assert entry.response_tokens == TokenCount(2, TokenSource.ESTIMATED)
    assert m.last_activity_ms == T0 + 40


def test_usage_makes_counts_provided() -> None:
    m = ExecutionMetrics(T0)
    round_trip(m, q("hello world"), "ok", T0, TokenUsage(prompt_tokens=11, completion_tokens=7))
    prompt, response, total = m.token_totals()
    assert prompt == TokenCount(11, TokenSource.PROVIDED)
    assert response == TokenCount(7, TokenSource.PROVIDED)
    assert total == TokenCount(18, TokenSource.PROVIDED)


def test_mixed_sources_take_the_weaker() -> None:
    m = ExecutionMetrics(T0)
    round_trip(m, q("a"), "b", T0, TokenUsage(prompt_tokens=10, completion_tokens=10))
    round_trip(m, q("hello world"), "abcd", T0 + 10, None)
    prompt, response, total = m.token_totals()
    assert prompt == TokenCount(13, TokenSource.ESTIMATED)
    assert response == TokenCount(11, TokenSource.ESTIMATED)
    assert total == TokenCount(24, TokenSource.ESTIMATED)
    stats = m.stats_json(T0 + 20)["auto"]
    assert stats["total_tokens"] == {"tokens": 24, "source": "estimated"}


def test_partial_usage() -> None:
    m = ExecutionMetrics(T0)
    round_trip(m, q("hello world"), "abcd", T0, TokenUsage(prompt_tokens=4))
    entry = m.transcript[0]
    assert entry.prompt_tokens == TokenCount(4, TokenSource.PROVIDED)
    assert entry.response_tokens == TokenCount(1, TokenSource.ESTIMATED)
    assert m.token_totals()[2] == TokenCount(5, TokenSource.ESTIMATED)


def test_feed_fills_the_last_entry_with_that_id() -> None:
    m = ExecutionMetrics(T0)
    round_trip(m, q("first"), "one", T0)
    m.on_paused([q("second")], T0 + 10)
    m.on_response_fed("q-0", "two", None, T0 + 20)
    assert [e.response for e in m.transcript] == ["one", "two"]
    assert [e.completed_at_ms for e in m.transcript] == [T0 + 1, T0 + 20]


def test_rejected_feeds_still_count_bytes() -> None:
    m = ExecutionMetrics(T0)
    m.on_paused([q("p")], T0)
    m.on_response_fed("q-9", "abc", None, T0 + 1)
    assert m.total_response_chars == 3
    assert m.transcript[0].response is None
    m.on_response_fed("q-0", "first", None, T0 + 2)
    m.on_response_fed("q-0", "dup", None, T0 + 3)  # duplicate: counted and overwrites, as algocline does
    assert m.total_response_chars == 3 + 5 + 3
    assert m.transcript[0].response == "dup"


def test_last_activity_moves_on_feed_only() -> None:
    m = ExecutionMetrics(T0)
    m.on_paused([q()], T0 + 100)
    assert m.last_activity_ms == T0
    m.on_response_fed("q-0", "r", None, T0 + 200)
    assert m.last_activity_ms == T0 + 200


def test_finished_freezes_elapsed() -> None:
    m = ExecutionMetrics(T0)
    assert m.elapsed_ms(T0 + 10) == 10
    m.on_finished(T0 + 50)
    m.on_finished(T0 + 90)
    assert m.ended_at_ms == T0 + 50
    assert m.elapsed_ms(T0 + 1_000) == 50
    assert m.stats_json(T0 + 5_000)["auto"]["elapsed_ms"] == 50


def test_elapsed_never_negative() -> None:
    assert ExecutionMetrics(T0).elapsed_ms(T0 - 10) == 0


def test_custom_stats() -> None:
    m = ExecutionMetrics(T0)
    assert "missing" not in m.custom
    m.record_custom("score", 0.5)
    m.record_custom("tags", ["a"])
    m.record_custom("score", 0.75)
    assert m.custom["score"] == 0.75
    stats = m.stats_json(T0)
    assert stats["custom"] == {"score": 0.75, "tags": ["a"]}
    stats["custom"]["injected"] = 1
    assert "injected" not in m.custom


def test_stats_budget_only_when_set() -> None:
    assert "budget" not in ExecutionMetrics(T0).stats_json(T0)["auto"]
    m = ExecutionMetrics(T0, Budget(max_llm_calls=5))
    assert m.stats_json(T0)["auto"]["budget"] == {"max_llm_calls": 5}


def test_stats_excludes_transcript() -> None:
    m = ExecutionMetrics(T0)
    round_trip(m, q("secret prompt"), "secret answer", T0)
    stats = m.stats_json(T0)
    assert set(stats) == {"auto", "custom"}
    assert "secret" not in repr(stats)


def test_check_budget() -> None:
    assert ExecutionMetrics(T0).check_budget(T0 + 10**9) is None
    m = ExecutionMetrics(T0, Budget(max_llm_calls=2))
    round_trip(m, q(), "r", T0)
    assert m.check_budget(T0) is None
    round_trip(m, q(), "r", T0)
    assert m.check_budget(T0) == "budget_exceeded: max_llm_calls (2) reached (2 used)"


def test_check_budget_elapsed_and_tokens() -> None:
    timed = ExecutionMetrics(T0, Budget(max_elapsed_ms=1000))
    assert timed.check_budget(T0 + 999) is None
    assert (
        timed.check_budget(T0 + 1000) == "budget_exceeded: max_elapsed_ms (1000ms) reached (1000ms elapsed)"
    )
    tokens = ExecutionMetrics(T0, Budget(max_tokens=3))
    tokens.on_paused([q("hello world")], T0)  # estimated prompt tokens count before any answer
    assert tokens.check_budget(T0) == "budget_exceeded: max_tokens (3) reached (3 used)"


def test_budget_remaining() -> None:
    assert ExecutionMetrics(T0).budget_remaining(T0) is None
    m = ExecutionMetrics(T0, Budget(max_llm_calls=5, max_tokens=2))
    round_trip(m, q("hello world"), "r", T0)
    assert m.budget_remaining(T0 + 10) == {"llm_calls": 4, "elapsed_ms": None, "tokens": 0}


def test_snapshot_minimal_shape() -> None:
    m = ExecutionMetrics(T0)
    assert m.snapshot_json(T0 + 7) == {
        "elapsed_ms": 7,
        "llm_calls": 0,
        "rounds": 0,
        "tokens": {"prompt_total": 0, "response_total": 0, "total": 0, "current_query": None},
        "recent_logs": [],
    }


def test_snapshot_current_query_while_paused() -> None:
    m = ExecutionMetrics(T0)
    m.on_paused([q("hello world", qid="q-0"), q("abcdefgh", qid="q-1")], T0 + 3)
    snap = m.snapshot_json(T0 + 10)
    assert snap["tokens"] == {
        "prompt_total": 5,
        "response_total": 0,
        "total": 5,
        "current_query": {"query_id": "q-1", "prompt_tokens": 2, "started_waiting_at": T0 + 3},
    }
    m.on_response_fed("q-1", "r", None, T0 + 11)
    # Only the last entry counts: q-0 is still unanswered, but current_query goes null.
    assert m.snapshot_json(T0 + 12)["tokens"]["current_query"] is None


def test_snapshot_optional_parts() -> None:
    m = ExecutionMetrics(T0, Budget(max_llm_calls=3))
    m.set_progress(1, 4, "warming up")
    m.set_progress(2, 4, None)
    m.push_log(LogEntry(T0 + 1, "info", "alc.log", "hello"))
    snap = m.snapshot_json(T0 + 5)
    assert snap["progress"] == {"step": 2, "total": 4, "message": None}
    assert snap["budget_remaining"] == {"llm_calls": 3, "elapsed_ms": None, "tokens": None}
    assert snap["recent_logs"] == [{"ts": T0 + 1, "level": "info", "source": "alc.log", "message": "hello"}]
    assert "conversation_history" not in snap


def test_log_ring_in_metrics_keeps_20() -> None:
    m = ExecutionMetrics(T0)
    for i in range(23):
        m.push_log(LogEntry(i, "debug", "alc.log", str(i)))
    logs = m.snapshot_json(T0)["recent_logs"]
    assert len(logs) == 20
    assert logs[0]["message"] == "3" and logs[-1]["message"] == "22"


def test_history_capped_at_last_10() -> None:
    m = ExecutionMetrics(T0)
    for i in range(12):
        round_trip(m, q(f"prompt {i}"), f"answer {i}", T0 + i * 10)
    m.on_paused([q("pending one")], T0 + 500)
    history = m.snapshot_json(T0 + 600, include_history=True)["conversation_history"]
    assert len(history) == 10
    assert [h["prompt"] for h in history] == [f"prompt {i}" for i in range(3, 12)] + ["pending one"]
    assert history[0] == {
        "query_id": "q-0",
        "prompt": "prompt 3",
        "response": "answer 3",
        "prompt_tokens": 2,
        "response_tokens": 2,
        "started_at": T0 + 30,
        "completed_at": T0 + 31,
    }
    assert history[-1]["response"] is None and history[-1]["completed_at"] is None


def test_history_empty_when_no_calls() -> None:
    assert ExecutionMetrics(T0).snapshot_json(T0, include_history=True)["conversation_history"] == []
