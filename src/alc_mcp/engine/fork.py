"""``alc.fork``: several packages, each in its own VM, sharing one session.

Each child runs on its own thread. Whenever every child that is still running is
either waiting for answers or finished, the questions of all waiting children go to
the host together as one pause of the parent session (ids ``f-{vm}-{seq}``), through
the parent's effects: so the host answers them in one round trip, and a replay after
a restart answers them from the journal like any other pause. Waiting for every
child (rather than for the first) makes the grouping the same on every run.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alc_mcp.domain.query import LlmQuery, fork_id
from alc_mcp.engine.effects import Effects
from alc_mcp.engine.errors import BridgeError, FatalError
from alc_mcp.engine.events import PauseRequest, ScriptCancelled, ScriptFailed, ScriptReturned, WorkerEvent
from alc_mcp.engine.port import SessionPort

__all__ = ["POLL_SECONDS", "ChildEffects", "ChildOutcome", "ChildPort", "Forker", "WorkerFactory"]

#: How often the multiplexer looks at the parent's stop flag while children run.
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class ChildOutcome:
    strategy: str
    ok: bool
    result: Any = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.ok:
            return {"strategy": self.strategy, "ok": True, "result": self.result}
        return {"strategy": self.strategy, "ok": False, "error": self.error}


class ChildPort:
    """A child's view of the session: logs go to the parent's log (tagged with the
    child), the budget is the parent's, custom stats are the child's own."""

    def __init__(self, parent: SessionPort, vm: int, strategy: str) -> None:
        self._parent = parent
        self._tag = f"fork[{vm}:{strategy}]"
        self._stats: dict[str, Any] = {}

    def log(self, level: str, source: str, message: str) -> None:
        self._parent.log(level, f"{self._tag} {source}", message)

    def record_stat(self, key: str, value: Any) -> None:
        self._stats[key] = value

    def get_stat(self, key: str) -> tuple[bool, Any]:
        return key in self._stats, self._stats.get(key)

    def set_progress(self, step: int, total: int, message: str | None) -> None:
        pass  # progress belongs to the parent script

    def check_budget(self) -> str | None:
        return self._parent.check_budget()

    def budget_remaining(self) -> dict[str, Any] | None:
        return self._parent.budget_remaining()

    def vars_call(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return self._parent.vars_call(op, args)  # one session, one set of variables


class ChildEffects(Effects):
    """A child's effects: its questions go to the multiplexer; every observed value is
    the parent's, keyed by the child, so replay hands each child its own values."""

    def __init__(self, pause: Callable[[PauseRequest], list[str]], parent: Effects, vm: int) -> None:
        super().__init__(pause, lambda _event: None)
        self._parent = parent
        self._vm = vm

    def observe(self, kind: str, compute: Callable[[], Any], key: str | None = None) -> Any:
        return self._parent.observe(f"fork.{kind}", compute, key=f"{self._vm}:{key or ''}")


#: Builds a child worker: (vm, strategy, ctx, post, effects_factory) -> worker with
#: start(), answer(list), cancel(reason), join(timeout).
WorkerFactory = Callable[..., Any]


class Forker:
    def __init__(
        self, parent_effects: Effects, make_worker: WorkerFactory, is_stopped: Callable[[], str | None]
    ):
        self._effects = parent_effects
        self._make_worker = make_worker
        self._is_stopped = is_stopped

    def run(
        self,
        strategies: Sequence[str],
        ctx: Any,
        *,
        abort_on_error: bool,
        contexts: Sequence[Any] | None = None,
    ) -> list[ChildOutcome]:
        """Run every strategy on ``ctx`` (or child ``i`` on ``contexts[i]``, for
        ``alc.fork_each``) and return their outcomes in order."""
        events: queue.SimpleQueue[tuple[int, WorkerEvent]] = queue.SimpleQueue()
        workers = []
        for vm, strategy in enumerate(strategies):

            def post(event: WorkerEvent, vm: int = vm) -> None:
                events.put((vm, event))

            child_ctx = ctx if contexts is None else contexts[vm]
            workers.append(self._make_worker(vm, strategy, child_ctx, post, self._child_effects(vm)))
        for worker in workers:
            worker.start()
        try:
            outcomes = self._multiplex(strategies, workers, events)
        except BaseException:
            for worker in workers:
                worker.cancel("the parent session stopped")
            raise
        finally:
            for worker in workers:
                worker.join(timeout=5)
        if abort_on_error:
            for outcome in outcomes:
                if not outcome.ok:
                    raise BridgeError(f"strategy '{outcome.strategy}' failed: {outcome.error}")
        return outcomes

    def _child_effects(self, vm: int) -> Callable[..., Effects]:
        return lambda pause, _monitor: ChildEffects(pause, self._effects, vm)

    def _multiplex(
        self,
        strategies: Sequence[str],
        workers: list[Any],
        events: queue.SimpleQueue[tuple[int, WorkerEvent]],
    ) -> list[ChildOutcome]:
        done: dict[int, ChildOutcome] = {}
        waiting: dict[int, PauseRequest] = {}
        asked = [0] * len(workers)
        while len(done) < len(workers):
            while len(done) + len(waiting) < len(workers):
                vm, event = self._next(events)
                if isinstance(event, PauseRequest):
                    waiting[vm] = event
                else:
                    done[vm] = _outcome(strategies[vm], event)
            if not waiting:
                continue
            batch: list[tuple[int, LlmQuery]] = []
            for vm in sorted(waiting):
                for query in waiting[vm].queries:
                    batch.append((vm, _renamed(query, fork_id(vm, asked[vm]))))
                    asked[vm] += 1
            answers = self._effects.ask([q for _, q in batch], _no_budget_check)
            position = 0
            for vm in sorted(waiting):
                count = len(waiting[vm].queries)
                workers[vm].answer(answers[position : position + count])
                position += count
            waiting.clear()
        return [done[vm] for vm in range(len(workers))]

    def _next(self, events: queue.SimpleQueue[tuple[int, WorkerEvent]]) -> tuple[int, WorkerEvent]:
        while True:
            try:
                return events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                reason = self._is_stopped()
                if reason is not None:
                    raise FatalError(reason) from None


def _no_budget_check() -> str | None:
    return None  # each child checked the shared budget when it asked


def _renamed(query: LlmQuery, query_id: str) -> LlmQuery:
    return LlmQuery(
        query_id, query.prompt, query.system, query.max_tokens, query.grounded, query.underspecified
    )


def _outcome(strategy: str, event: WorkerEvent) -> ChildOutcome:
    if isinstance(event, ScriptReturned):
        return ChildOutcome(strategy, True, result=event.result)
    if isinstance(event, ScriptFailed):
        return ChildOutcome(strategy, False, error=event.error)
    if isinstance(event, ScriptCancelled):
        return ChildOutcome(strategy, False, error="cancelled")
    return ChildOutcome(strategy, False, error="no result (channel closed)")
