"""The one place where a script observes the world outside its VM.

LLM answers, clocks and random seeds all pass through ``Effects``. Keeping them in
one place is what makes a session replayable: the durable store records what went
through here during the live run and feeds the same values back on replay.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from alc_mcp.domain.query import LlmQuery

Asker = Callable[[Sequence[LlmQuery]], list[str]]


class Effects:
    """Live effects: ask the host, read the real clocks, draw real randomness."""

    def __init__(self, ask: Asker) -> None:
        self._ask = ask

    def ask(self, queries: Sequence[LlmQuery]) -> list[str]:
        """Pause the script until the host has answered every query (in order)."""
        return self._ask(queries)

    def observe(self, kind: str, compute: Callable[[], Any]) -> Any:
        """Return a non-deterministic value of the given kind (``time``, ``clock``, ``seed``…)."""
        return compute()

    def wall_time(self) -> float:
        return self.observe("time", time.time)

    def cpu_clock(self) -> float:
        return self.observe("clock", time.process_time)

    def random_seed(self) -> int:
        return self.observe("seed", lambda: secrets.randbits(63))
