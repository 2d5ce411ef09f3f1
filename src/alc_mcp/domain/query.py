"""Queries a paused script hands to the host, and the ids that name them.

Ids follow algocline exactly because host instructions and strategies depend on them:
every ``alc.llm`` call is ``q-0`` (the same as the first batch item), so an id is
unique only within one pause, never across a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MAX_TOKENS", "SINGLE_ID", "LlmQuery", "TokenUsage", "batch_id", "fork_id"]

SINGLE_ID = "q-0"
DEFAULT_MAX_TOKENS = 1024


def batch_id(index: int) -> str:
    """Id of item ``index`` (0-based) of an ``alc.llm_batch`` call."""
    return f"q-{index}"


def fork_id(vm: int, seq: int) -> str:
    """Id of query ``seq`` issued by fork child ``vm``; distinct from batch ids so both can share a pause."""
    return f"f-{vm}-{seq}"


@dataclass(frozen=True, slots=True)
class LlmQuery:
    """One prompt waiting for the host's model."""

    id: str
    prompt: str
    system: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    grounded: bool = False
    underspecified: bool = False

    def wire(self, id_key: str = "id") -> dict[str, Any]:
        """The query as it appears in a ``needs_response`` result.

        ``id_key`` exists because the single-query shape calls the id ``query_id`` while
        the batch shape calls it ``id``. ``system`` is always present (possibly null) but
        the two flags appear only when true, so hosts that predate them see no change.
        """
        obj: dict[str, Any] = {
            id_key: self.id,
            "prompt": self.prompt,
            "system": self.system,
            "max_tokens": self.max_tokens,
        }
        if self.grounded:
            obj["grounded"] = True
        if self.underspecified:
            obj["underspecified"] = True
        return obj


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts the host may report with an answer; each one overrides our estimate."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
