"""The one place where a script observes the world outside its VM.

LLM answers, clocks, random seeds (and later shared-state reads) all pass through
``Effects``. Live, each value is taken from the world and journaled; on replay it is
handed back from the journal until the journal is used up, after which the session
is live again exactly where it was.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from alc_mcp.domain.journal import AnswerBook, AnsweredQuery, EffectBook, History, Observed, query_content
from alc_mcp.domain.query import LlmQuery
from alc_mcp.engine.errors import BudgetExceeded, FatalError
from alc_mcp.engine.events import PauseRequest

Pauser = Callable[[PauseRequest], list[str]]
Recorder = Callable[[Any], None]
BudgetCheck = Callable[[], str | None]


class Effects:
    """Live effects: ask the host, read the real clocks, draw real randomness."""

    replaying = False

    def __init__(self, pause: Pauser, record: Recorder) -> None:
        self._pause = pause
        self._record = record

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
        return self.observe("time", time.time)

    def cpu_clock(self) -> float:
        return self.observe("clock", time.process_time)

    def random_seed(self) -> int:
        return self.observe("seed", lambda: secrets.randbits(63))


def divergence_message(query: LlmQuery, unused: int) -> str:
    preview = query.prompt if len(query.prompt) <= 80 else query.prompt[:77] + "..."
    return (
        f"replay diverged: the script asked {preview!r}, which its journal has no answer for, while "
        f"{unused} recorded answer(s) are still unused. The script took another path than in its recorded "
        "run (changed code, packages or data?). The journal is kept: rewind with alc_rewind, or start again."
    )


class ReplayEffects(Effects):
    """Answers from the journal until it is used up, then live.

    ``restart_run`` is called for every pause satisfied from the journal, so the
    per-run instruction and time limits apply per replayed step as they did live;
    ``stop`` makes a divergence fatal for the session.
    """

    def __init__(
        self,
        pause: Pauser,
        record: Recorder,
        history: History,
        *,
        restart_run: Callable[[], None],
        stop: Callable[[str], None],
    ) -> None:
        super().__init__(pause, record)
        self._answers = AnswerBook(history.answered)
        self._observed = EffectBook(history.observed)
        self._pending = history.pending
        self._restart_run = restart_run
        self._stop = stop
        self.replaying = bool(history.answered) or history.pending is not None or bool(history.observed)

    def observe(self, kind: str, compute: Callable[[], Any], key: str | None = None) -> Any:
        found, value = self._observed.take(kind, key)
        if found:
            return value
        return super().observe(kind, compute, key)

    def ask(self, queries: Sequence[LlmQuery], check_budget: BudgetCheck) -> list[str]:
        if not self.replaying:
            return super().ask(queries, check_budget)
        matches = self._answers.match(queries)
        if all(match is not None for match in matches):
            found = [m for m in matches if m is not None]
            self._answers.consume(found)
            self._restart_run()
            return [m.response for m in found]
        exceeded = check_budget()
        if exceeded is not None:
            raise BudgetExceeded(exceeded)
        return self._catch_up(queries, matches)

    def _catch_up(self, queries: Sequence[LlmQuery], matches: list[AnsweredQuery | None]) -> list[str]:
        """The journal cannot answer this pause: the replay has reached the point
        where the session stopped, or the script went another way."""
        used = [m for m in matches if m is not None]
        unused = self._answers.unused - len(used)
        first_unmatched = next(q for q, m in zip(queries, matches, strict=True) if m is None)
        if unused > 0:
            return self._diverge(first_unmatched, unused)
        self._answers.consume(used)
        self.replaying = False
        if self._pending is None:
            return self._pause(PauseRequest(tuple(queries)))
        renamed = _rename_like(queries, self._pending)
        if renamed is None:
            return self._diverge(first_unmatched, 0)
        prefed = tuple((renamed[i].id, m.response) for i, m in enumerate(matches) if m is not None)
        return self._pause(PauseRequest(renamed, prefed=prefed, recorded=True))

    def _diverge(self, query: LlmQuery, unused: int) -> list[str]:
        message = divergence_message(query, unused)
        self._stop(message)
        raise FatalError(message)


def _rename_like(queries: Sequence[LlmQuery], recorded: Sequence[LlmQuery]) -> tuple[LlmQuery, ...] | None:
    """Give each replayed query the id the host already saw for the same question (its
    batch order may differ in a new VM). None if the two pauses ask different things."""
    if sorted(map(query_content, queries)) != sorted(map(query_content, recorded)):
        return None
    available = list(recorded)
    renamed = []
    for position, query in enumerate(queries):
        same = [r for r in available if query_content(r) == query_content(query)]
        pick = next((r for r in same if recorded.index(r) == position), same[0])
        available.remove(pick)
        renamed.append(
            LlmQuery(
                pick.id, query.prompt, query.system, query.max_tokens, query.grounded, query.underspecified
            )
        )
    return tuple(renamed)
