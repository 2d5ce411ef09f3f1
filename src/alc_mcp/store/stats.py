"""``alc_stats`` arithmetic over the final stats of finished sessions.

Kept apart from SQL so the numbers (which must match algocline, spec §5.4) can be
read and tested on their own: per-strategy counts, integer averages rounded half up,
and totals. A session with no strategy is counted under ``"unknown"``; a field a
session's stats lack (older or partial stats) counts as 0 rather than dropping the
session, as algocline does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["UNKNOWN_STRATEGY", "aggregate", "rounded_average"]

UNKNOWN_STRATEGY = "unknown"

# (output key, path into stats["auto"]); token fields are {"tokens": N, "source": …}.
_SUMMED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("elapsed_ms", ("elapsed_ms",)),
    ("llm_calls", ("llm_calls",)),
    ("rounds", ("rounds",)),
    ("total_prompt_chars", ("total_prompt_chars",)),
    ("total_response_chars", ("total_response_chars",)),
    ("total_prompt_tokens", ("prompt_tokens", "tokens")),
    ("total_response_tokens", ("response_tokens", "tokens")),
    ("total_tokens", ("total_tokens", "tokens")),
)


def rounded_average(total: int, count: int) -> int:
    """Integer mean rounded half up, ``(sum + count // 2) // count`` (algocline's formula)."""
    return (total + count // 2) // count if count else 0


def _number(stats: Mapping[str, Any], path: tuple[str, ...]) -> int:
    value: Any = stats.get("auto") if isinstance(stats, Mapping) else None
    for key in path:
        if not isinstance(value, Mapping):
            # A bare number where {"tokens": N} was expected still counts.
            break
        value = value.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


def aggregate(rows: Iterable[tuple[str | None, Mapping[str, Any]]]) -> dict[str, Any]:
    """``{"total_sessions", "strategies": {name: {...}}}`` from ``(strategy, stats)`` pairs."""
    sums: dict[str, dict[str, int]] = {}
    total = 0
    for strategy, stats in rows:
        total += 1
        group = sums.setdefault(strategy or UNKNOWN_STRATEGY, dict.fromkeys(["count", *dict(_SUMMED)], 0))
        group["count"] += 1
        for key, path in _SUMMED:
            group[key] += _number(stats, path)
    strategies = {}
    for name, group in sums.items():
        count = group["count"]
        strategies[name] = {
            "count": count,
            "avg_elapsed_ms": rounded_average(group["elapsed_ms"], count),
            "avg_llm_calls": rounded_average(group["llm_calls"], count),
            "avg_rounds": rounded_average(group["rounds"], count),
            "total_llm_calls": group["llm_calls"],
            "total_prompt_chars": group["total_prompt_chars"],
            "total_response_chars": group["total_response_chars"],
            "total_prompt_tokens": group["total_prompt_tokens"],
            "total_response_tokens": group["total_response_tokens"],
            "total_tokens": group["total_tokens"],
        }
    return {"total_sessions": total, "strategies": strategies}
