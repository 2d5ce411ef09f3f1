"""Per-session limits a script opts into through ``ctx.budget`` (algocline ``budget.rs``).

The check runs before each LLM call and its message becomes a catchable Lua error, so
the texts below are what strategies pattern-match on (``budget_exceeded: …``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Budget"]

# serde's ``as_u64`` is the reference reader: anything outside u64 is ignored, not clamped.
_U64_MAX = 2**64 - 1
_KEYS = ("max_llm_calls", "max_elapsed_ms", "max_tokens")


def _read_limit(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    # bool is an int subclass in Python but a distinct JSON type; 5.0 is a float in JSON.
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if value < 0 or value > _U64_MAX:
        return None
    return value


def _left(limit: int | None, used: int) -> int | None:
    return None if limit is None else max(limit - used, 0)


@dataclass(frozen=True, slots=True)
class Budget:
    max_llm_calls: int | None = None
    max_elapsed_ms: int | None = None
    max_tokens: int | None = None

    @classmethod
    def from_ctx(cls, ctx: Any) -> Budget | None:
        """Read ``ctx.budget``; None when no usable limit is set (so no budget is reported)."""
        if not isinstance(ctx, dict):
            return None
        raw = ctx.get("budget")
        if not isinstance(raw, dict):
            return None
        budget = cls(*(_read_limit(raw, key) for key in _KEYS))
        if budget.max_llm_calls is None and budget.max_elapsed_ms is None and budget.max_tokens is None:
            return None
        return budget

    def check(self, llm_calls: int, elapsed_ms: int, total_tokens: int) -> str | None:
        """The first exceeded limit's message, or None.

        ``>=`` because the check guards the *next* call: with ``max_llm_calls = 2`` the
        third call is refused once two have been made.
        """
        if self.max_llm_calls is not None and llm_calls >= self.max_llm_calls:
            return f"budget_exceeded: max_llm_calls ({self.max_llm_calls}) reached ({llm_calls} used)"
        if self.max_elapsed_ms is not None and elapsed_ms >= self.max_elapsed_ms:
            return (
                f"budget_exceeded: max_elapsed_ms ({self.max_elapsed_ms}ms) reached ({elapsed_ms}ms elapsed)"
            )
        if self.max_tokens is not None and total_tokens >= self.max_tokens:
            return f"budget_exceeded: max_tokens ({self.max_tokens}) reached ({total_tokens} used)"
        return None

    def remaining(self, llm_calls: int, elapsed_ms: int, total_tokens: int) -> dict[str, int | None]:
        """What is left of each limit; null (not absent) for unset limits, as algocline emits."""
        return {
            "llm_calls": _left(self.max_llm_calls, llm_calls),
            "elapsed_ms": _left(self.max_elapsed_ms, elapsed_ms),
            "tokens": _left(self.max_tokens, total_tokens),
        }

    def to_json(self) -> dict[str, int]:
        """Only the limits that were set, which is how ``stats.auto.budget`` shows them."""
        limits = zip(_KEYS, (self.max_llm_calls, self.max_elapsed_ms, self.max_tokens), strict=True)
        return {key: value for key, value in limits if value is not None}
