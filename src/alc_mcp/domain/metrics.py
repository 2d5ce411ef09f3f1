"""Counters, transcript and token accounting for one session (algocline ``metrics.rs``).

The transcript (one entry per query) is the authoritative record for tokens: totals
are recomputed from it, so a late ``usage`` report from the host corrects the sums
instead of being added on top of an estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alc_mcp.domain.budget import Budget
from alc_mcp.domain.logs import LogEntry, Progress, RecentLogs
from alc_mcp.domain.query import LlmQuery, TokenUsage
from alc_mcp.domain.tokens import TokenCount, TokenSource, estimate_tokens, utf8_len

__all__ = ["HISTORY_LIMIT", "ExecutionMetrics", "TranscriptEntry"]

HISTORY_LIMIT = 10
"""``conversation_history`` shows only the last entries: status is a glance, not an export."""

_NO_RESPONSE_YET = TokenCount(0, TokenSource.ESTIMATED)


@dataclass(slots=True)
class TranscriptEntry:
    query_id: str
    prompt: str
    system: str | None
    response: str | None
    prompt_tokens: TokenCount
    response_tokens: TokenCount
    started_at_ms: int
    completed_at_ms: int | None

    def history_json(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "prompt": self.prompt,
            "response": self.response,
            "prompt_tokens": self.prompt_tokens.tokens,
            "response_tokens": self.response_tokens.tokens,
            "started_at": self.started_at_ms,
            "completed_at": self.completed_at_ms,
        }


class ExecutionMetrics:
    """Everything measured about a session; the caller supplies every timestamp.

    Hooks mirror algocline's observer (``on_paused``, ``on_response_fed``,
    ``on_resumed``, terminal), and are called by the engine in the same order,
    including for feeds that the state machine later rejects.
    """

    __slots__ = (
        "budget",
        "custom",
        "ended_at_ms",
        "last_activity_ms",
        "llm_calls",
        "logs",
        "pauses",
        "progress",
        "rounds",
        "started_at_ms",
        "total_prompt_chars",
        "total_response_chars",
        "transcript",
    )

    def __init__(self, started_at_ms: int, budget: Budget | None = None) -> None:
        self.started_at_ms = started_at_ms
        self.last_activity_ms = started_at_ms
        self.ended_at_ms: int | None = None
        self.llm_calls = 0
        self.pauses = 0
        self.rounds = 0
        self.total_prompt_chars = 0
        self.total_response_chars = 0
        self.transcript: list[TranscriptEntry] = []
        self.custom: dict[str, Any] = {}
        self.progress: Progress | None = None
        self.logs = RecentLogs()
        self.budget = budget

    # ── observer hooks ────────────────────────────────────────

    def on_paused(self, queries: Sequence[LlmQuery], now_ms: int) -> None:
        self.pauses += 1
        self.llm_calls += len(queries)
        for query in queries:
            system = query.system or ""
            self.total_prompt_chars += utf8_len(query.prompt) + utf8_len(system)
            estimate = estimate_tokens(query.prompt) + estimate_tokens(system)
            self.transcript.append(
                TranscriptEntry(
                    query_id=query.id,
                    prompt=query.prompt,
                    system=query.system,
                    response=None,
                    prompt_tokens=TokenCount(estimate, TokenSource.ESTIMATED),
                    response_tokens=_NO_RESPONSE_YET,
                    started_at_ms=now_ms,
                    completed_at_ms=None,
                )
            )

    def on_response_fed(self, query_id: str, response: str, usage: TokenUsage | None, now_ms: int) -> None:
        """Account for an answer before the state machine validates it.

        The *last* entry with the id is the one filled because ids repeat across pauses
        (every ``alc.llm`` is ``q-0``). A duplicate or unknown feed still counts its
        bytes and may overwrite the entry: algocline does the same, and matching it keeps
        ``total_response_chars`` comparable between the two servers.
        """
        self.last_activity_ms = now_ms
        self.total_response_chars += utf8_len(response)
        entry = self._last_entry(query_id)
        if entry is None:
            return
        entry.response = response
        entry.completed_at_ms = now_ms
        if usage is not None and usage.prompt_tokens is not None:
            entry.prompt_tokens = TokenCount(usage.prompt_tokens, TokenSource.PROVIDED)
        if usage is not None and usage.completion_tokens is not None:
            entry.response_tokens = TokenCount(usage.completion_tokens, TokenSource.PROVIDED)
        else:
            entry.response_tokens = TokenCount(estimate_tokens(response), TokenSource.ESTIMATED)

    def on_resumed(self, now_ms: int) -> None:
        """Count a completed round; ``now_ms`` keeps every hook's signature alike for the engine."""
        self.rounds += 1

    def on_finished(self, now_ms: int) -> None:
        """Stop the clock: a finished session's elapsed time must not keep growing."""
        if self.ended_at_ms is None:
            self.ended_at_ms = now_ms

    def _last_entry(self, query_id: str) -> TranscriptEntry | None:
        for entry in reversed(self.transcript):
            if entry.query_id == query_id:
                return entry
        return None

    # ── script-side data ──────────────────────────────────────

    def record_custom(self, key: str, value: Any) -> None:
        self.custom[key] = value

    def set_progress(self, step: int, total: int, message: str | None) -> None:
        self.progress = Progress(step, total, message)

    def push_log(self, entry: LogEntry) -> None:
        self.logs.push(entry)

    # ── derived values ────────────────────────────────────────

    def elapsed_ms(self, now_ms: int) -> int:
        end = self.ended_at_ms if self.ended_at_ms is not None else now_ms
        return max(end - self.started_at_ms, 0)

    def token_totals(self) -> tuple[TokenCount, TokenCount, TokenCount]:
        """(prompt, response, total); with no calls all three are 0 and ``definite``."""
        prompt = sum((e.prompt_tokens for e in self.transcript), TokenCount())
        response = sum((e.response_tokens for e in self.transcript), TokenCount())
        return prompt, response, prompt + response

    def check_budget(self, now_ms: int) -> str | None:
        if self.budget is None:
            return None
        return self.budget.check(self.llm_calls, self.elapsed_ms(now_ms), self.token_totals()[2].tokens)

    def budget_remaining(self, now_ms: int) -> dict[str, int | None] | None:
        if self.budget is None:
            return None
        return self.budget.remaining(self.llm_calls, self.elapsed_ms(now_ms), self.token_totals()[2].tokens)

    # ── JSON views ────────────────────────────────────────────

    def stats_json(self, now_ms: int) -> dict[str, Any]:
        """The ``stats`` object of a ``completed``/``cancelled`` result (no transcript: it can be huge)."""
        prompt, response, total = self.token_totals()
        auto: dict[str, Any] = {
            "elapsed_ms": self.elapsed_ms(now_ms),
            "llm_calls": self.llm_calls,
            "pauses": self.pauses,
            "rounds": self.rounds,
            "total_prompt_chars": self.total_prompt_chars,
            "total_response_chars": self.total_response_chars,
            "prompt_tokens": prompt.to_json(),
            "response_tokens": response.to_json(),
            "total_tokens": total.to_json(),
        }
        if self.budget is not None:
            auto["budget"] = self.budget.to_json()
        return {"auto": auto, "custom": dict(self.custom)}

    def snapshot_json(self, now_ms: int, include_history: bool = False) -> dict[str, Any]:
        """The ``metrics`` object of an ``alc_status`` snapshot."""
        prompt, response, total = self.token_totals()
        last = self.transcript[-1] if self.transcript else None
        current_query = None
        if last is not None and last.response is None:
            current_query = {
                "query_id": last.query_id,
                "prompt_tokens": last.prompt_tokens.tokens,
                "started_waiting_at": last.started_at_ms,
            }
        snap: dict[str, Any] = {
            "elapsed_ms": self.elapsed_ms(now_ms),
            "llm_calls": self.llm_calls,
            "rounds": self.rounds,
            "tokens": {
                "prompt_total": prompt.tokens,
                "response_total": response.tokens,
                "total": total.tokens,
                "current_query": current_query,
            },
            "recent_logs": self.logs.to_json(),
        }
        if self.progress is not None:
            snap["progress"] = self.progress.to_json()
        if self.budget is not None:
            snap["budget_remaining"] = self.budget_remaining(now_ms)
        if include_history:
            snap["conversation_history"] = [e.history_json() for e in self.transcript[-HISTORY_LIMIT:]]
        return snap
