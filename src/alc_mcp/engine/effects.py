"""The one place where a script observes the world outside its VM.

LLM answers, clocks, random seeds and shared-state reads all pass through
``Effects``. Live, each value is taken from the world and journaled; on replay
(``engine.replay``) it is handed back from the journal until the journal is used up,
after which the session is live again exactly where it was.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from alc_mcp.domain.journal import Observed
from alc_mcp.domain.query import LlmQuery
from alc_mcp.engine.errors import BudgetExceeded
from alc_mcp.engine.events import PauseRequest

__all__ = ["BudgetCheck", "Effects", "Pauser", "Recorder"]

Pauser = Callable[[PauseRequest], list[str]]
Recorder = Callable[[Any], None]
BudgetCheck = Callable[[], str | None]


class Effects:
    """Live effects: ask the host, read the real clocks, draw real randomness."""

    def __init__(self, pause: Pauser, record: Recorder) -> None:
        self._pause = pause
        self._record = record

    @property
    def replaying(self) -> bool:
        """Whether values come from a journal rather than the world (see ``engine.replay``)."""
        return False

    def ask(self, queries: Sequence[LlmQuery], check_budget: BudgetCheck) -> list[str]:
        """Pause the script until the host has answered every query (in order)."""
        exceeded = check_budget()
        if exceeded is not None:
            raise BudgetExceeded(exceeded)
        return self._pause(PauseRequest(tuple(queries)))

    def observe(self, kind: str, compute: Callable[[], Any], key: str | None = None) -> Any:
        """A non-deterministic value: computed live and journaled, or replayed."""
        value = compute()
        self._record(Observed(kind, key, value))
        return value

    def wall_time(self) -> float:
        return float(self.observe("time", time.time))

    def cpu_clock(self) -> float:
        return float(self.observe("clock", time.process_time))

    def random_seed(self) -> int:
        return int(self.observe("seed", lambda: secrets.randbits(63)))
