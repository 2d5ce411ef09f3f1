"""Bringing a session back from its journal: everything replay means, in one place.

A Lua VM cannot be saved, so a dormant session is revived by running its program
again in a fresh VM and answering every question, clock and seed from the journal
until the journal is used up; the script is then exactly where it stopped. While
that happens the session must not journal again what the journal already holds
(logs, progress, the pause it ends on), its metrics are the folded ones, each
replayed step is timed as the original run was, and the pause the replay ends on
may already be partly answered. ``Replay`` holds all of that; ``ReplayEffects`` is
the script's window onto it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alc_mcp.domain.feed_result import FeedResult, Paused
from alc_mcp.domain.journal import AnswerBook, AnsweredQuery, EffectBook, History, query_content
from alc_mcp.domain.metrics import ExecutionMetrics
from alc_mcp.domain.query import LlmQuery
from alc_mcp.domain.variables import VariableSet
from alc_mcp.engine.effects import BudgetCheck, Effects, Pauser, Recorder
from alc_mcp.engine.errors import BudgetExceeded, FatalError
from alc_mcp.engine.events import PauseRequest

__all__ = ["CaughtUp", "Replay", "ReplayEffects", "RevivalFailed", "divergence_message"]


class RevivalFailed(Exception):
    """The journal could not be replayed to where the session stopped. Nothing was
    recorded: the session is exactly as its journal left it and can be tried again."""


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """The pause a replay ended on: the host has seen it already (it is journaled),
    with the ids it was shown, and may have answered some of it (``prefed``)."""

    queries: tuple[LlmQuery, ...]
    prefed: tuple[tuple[str, str], ...]

    @property
    def unanswered(self) -> tuple[LlmQuery, ...]:
        answered = {query_id for query_id, _ in self.prefed}
        return tuple(q for q in self.queries if q.id not in answered)


class Replay:
    """One revival of one session from its folded journal (``History``).

    Used from two threads: the session thread consumes answers and observed values
    while the script re-runs, and takes the pause it ended on as it hands that pause to
    the loop; the event loop reads ``active`` and ``metrics``. The hand-over is ordered
    by the events between them, so no lock is needed.
    """

    def __init__(self, history: History) -> None:
        self.history = history
        self._answers = AnswerBook(history.answered)
        self._observed = EffectBook(history.observed)
        self._pending = history.pending
        #: The journal shows the script running, not paused, when its VM went away
        #: (a crash mid-run): the run goes on past where any retried answer was meant.
        self.was_running = history.pending is None
        #: True while the script is re-living recorded history; False once live.
        self.active = bool(history.answered) or history.pending is not None or bool(history.observed)
        self._caught_up: CaughtUp | None = None
        #: Why the script left its recorded path, once it has: the journal is intact but
        #: can never bring this session back, so the session fails (saying so).
        self.diverged: str | None = None

    @property
    def behind(self) -> bool:
        """Still re-running steps the original run got past: a failure now is the
        replay's (a limit, a shutdown), not the session's. A divergence is the session's."""
        return self.diverged is None and (
            self._answers.unused > 0 or (self.active and self._pending is not None)
        )

    @property
    def metrics(self) -> ExecutionMetrics:
        """The folded metrics, minus custom stats: the replayed script records those again."""
        metrics = self.history.metrics
        metrics.custom.clear()
        return metrics

    @property
    def variables(self) -> VariableSet:
        return self.history.variables

    def supersedes(self, revived: FeedResult) -> bool:
        """Whether the revival's own result replaces the answers a caller came to give:
        the journal carried the run past the pause they were meant for."""
        return self.was_running or not isinstance(revived, Paused)

    def take_caught_up(self) -> CaughtUp | None:
        """The recorded pause the replay ended on, once; None for a pause that is new."""
        caught_up, self._caught_up = self._caught_up, None
        return caught_up

    # --- session thread ------------------------------------------------------------------

    def observed(self, kind: str, key: str | None) -> tuple[bool, Any]:
        return self._observed.take(kind, key)

    def recorded_answers(self, queries: Sequence[LlmQuery]) -> list[str] | None:
        """Every query's recorded answer (consumed), or None if the journal lacks one."""
        matches = self._answers.match(queries)
        if any(match is None for match in matches):
            return None
        found = [m for m in matches if m is not None]
        self._answers.consume(found)
        return [m.response for m in found]

    def catch_up(self, queries: Sequence[LlmQuery]) -> PauseRequest:
        """The journal cannot answer this pause: the replay has reached the point where
        the session stopped (the pause to show), or the script went another way
        (``FatalError`` with the divergence). Ends the replay."""
        matches = self._answers.match(queries)
        used = [m for m in matches if m is not None]
        unused = self._answers.unused - len(used)
        first_unmatched = next(q for q, m in zip(queries, matches, strict=True) if m is None)
        if unused > 0:
            raise self._diverge(first_unmatched, unused)
        self._answers.consume(used)
        if self._pending is None:
            self.active = False
            return PauseRequest(tuple(queries))
        renamed = _rename_like(queries, self._pending)
        if renamed is None:
            raise self._diverge(first_unmatched, 0)
        self.active = False
        self._caught_up = CaughtUp(renamed, _prefed(renamed, matches))
        return PauseRequest(renamed)

    def _diverge(self, query: LlmQuery, unused: int) -> FatalError:
        self.diverged = divergence_message(query, unused)
        return FatalError(self.diverged)


def _prefed(
    renamed: tuple[LlmQuery, ...], matches: Sequence[AnsweredQuery | None]
) -> tuple[tuple[str, str], ...]:
    return tuple((renamed[i].id, m.response) for i, m in enumerate(matches) if m is not None)


class ReplayEffects(Effects):
    """Effects answered from a ``Replay`` until it is used up, then live.

    ``restart_run`` is called for every pause satisfied from the journal, so the
    per-run limits apply per replayed step as they did live; ``stop`` makes a
    divergence fatal for the session.
    """

    def __init__(
        self,
        pause: Pauser,
        record: Recorder,
        replay: Replay,
        *,
        restart_run: Callable[[], None],
        stop: Callable[[str], None],
    ) -> None:
        super().__init__(pause, record)
        self._replay = replay
        self._restart_run = restart_run
        self._stop = stop

    @property
    def replaying(self) -> bool:
        return self._replay.active

    def observe(self, kind: str, compute: Callable[[], Any], key: str | None = None) -> Any:
        found, value = self._replay.observed(kind, key)
        if found:
            return value
        return super().observe(kind, compute, key)

    def ask(self, queries: Sequence[LlmQuery], check_budget: BudgetCheck) -> list[str]:
        if not self._replay.active:
            return super().ask(queries, check_budget)
        recorded = self._replay.recorded_answers(queries)
        if recorded is not None:
            self._restart_run()
            return recorded
        exceeded = check_budget()
        if exceeded is not None:
            raise BudgetExceeded(exceeded)
        try:
            request = self._replay.catch_up(queries)
        except FatalError as exc:
            self._stop(str(exc))
            raise
        return self._pause(request)


def divergence_message(query: LlmQuery, unused: int) -> str:
    preview = query.prompt if len(query.prompt) <= 80 else query.prompt[:77] + "..."
    return (
        f"replay diverged: the script asked {preview!r}, which its journal has no answer for, while "
        f"{unused} recorded answer(s) are still unused. The script took another path than in its recorded "
        "run (changed code, packages or data?). The journal is kept: rewind with alc_rewind, or start again."
    )


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
