"""Evaluation use cases: run a scenario against a strategy as a session, and when that
session completes compute its summary and write its card; history, details, cards,
aliases and comparisons.

An eval is an ordinary session (program ``require("evalframe").main(ctx)``), so its
questions reach the host as ordinary pauses and it survives restarts like any other.
The service learns that an eval session finished from the session telemetry
(``session.completed`` / ``failed`` / ``cancelled``), or at once when ``start`` itself
returns a final result.

Coupling to the engine is kept to: ``registry.start``, ``registry.resolver``,
``registry.config``, ``registry.shared``, ``registry.store`` and
``registry.live_session(id)`` (its ``state`` and ``metrics``).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio

from alc_mcp import telemetry
from alc_mcp.app.scenarios import Scenario, ScenarioCatalog, ScenarioError
from alc_mcp.domain.evaluation import (
    CARD_SCHEMA,
    Card,
    EvaluationError,
    effect_label,
    matches,
    order_cards,
    scores_of,
    short_name,
    summarize,
    welch,
)
from alc_mcp.domain.feed_result import Cancelled, Completed, Failed, FeedResult
from alc_mcp.domain.program import Program
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.packages import ModuleNotFound, PackageError
from alc_mcp.engine.progress import ProgressListener
from alc_mcp.engine.registry import SessionRegistry
from alc_mcp.engine.scratch import ScratchError, evaluate
from alc_mcp.store.cards import CardError, CardExists, CardNotFound, CardStore, EvalRow

__all__ = [
    "CARD_OUTPUT_CHARS",
    "EVAL_CHUNK",
    "EVAL_SOURCE",
    "FINAL_EVENTS",
    "MAX_REPEATS",
    "EvalError",
    "EvalRequest",
    "EvalService",
    "EvalStart",
    "card_id_for",
    "new_eval_id",
]

T = TypeVar("T")

EVAL_SOURCE = 'return require("evalframe").main(ctx)'
EVAL_CHUNK = "=alc_eval"
#: Longest strategy output kept per run in a card (the eval detail keeps everything).
CARD_OUTPUT_CHARS = 2000
FINAL_EVENTS = ("session.completed", "session.failed", "session.cancelled")
MAX_REPEATS = 100

# Checks a scenario in a scratch VM before a session is started for it, so a broken
# scenario is a clear caller mistake rather than a failed session.
_CHECK_SOURCE = """
local ef = require("evalframe")
local s = ef.scenario(ef.load_scenario(ctx.source, ctx.chunkname), ctx.name)
local cases, bindings = {}, {}
for _, c in ipairs(s.cases) do
  local tags = {}
  for _, t in ipairs(c.tags or {}) do tags[#tags + 1] = tostring(t) end
  cases[#cases + 1] = { name = c.name, input = type(c.input) == "table" and alc.json_encode(c.input)
    or tostring(c.input), expected = ef.expected_list(c.expected), tags = tags }
end
for _, b in ipairs(s.bindings) do
  bindings[#bindings + 1] = { grader = b.name, weight = b.weight, scorer = b.scorer.name,
    judge = b.grader.judge ~= nil }
end
return { name = s.name, description = s.description, pass_threshold = s.pass_threshold,
  cases = cases, bindings = bindings }
"""


class EvalError(Exception):
    """A caller mistake in an eval request (unknown strategy, bad scenario, …)."""


@dataclass(frozen=True, slots=True)
class EvalRequest:
    strategy: str
    scenario: str | None = None
    scenario_file: str | None = None
    scenario_name: str | None = None
    strategy_opts: Any = None
    repeats: int = 1
    auto_card: bool = True
    model: str | None = None
    parallel: int | None = None


@dataclass(slots=True)
class EvalStart:
    eval_id: str
    session_id: str
    card_id: str | None
    result: FeedResult
    cases: int


@dataclass(slots=True)
class _Running:
    row: EvalRow
    started_ms: int
    extra: dict[str, Any] = field(default_factory=dict)


def new_eval_id() -> str:
    return f"ev-{time.time_ns():x}-{secrets.randbits(32):08x}"


def card_id_for(strategy: str, model: str | None, at_ms: int, eval_id: str) -> str:
    """``{strategy}_{model}_{YYYYMMDDTHHMMSS}_{hash6}`` (algocline's card id shape)."""
    stamp = datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(eval_id.encode()).hexdigest()[:6]
    return f"{short_name(strategy, 40)}_{short_name(model)}_{stamp}_{digest}"


class EvalService:
    def __init__(
        self, registry: SessionRegistry, cards: CardStore | None = None, *, code_roots: Sequence[Path] = ()
    ) -> None:
        self._registry = registry
        config = registry.config
        durable = registry.store is not None
        self.cards = cards or CardStore(config.db_path if durable else None)
        self.scenarios = ScenarioCatalog(config.home, registry.resolver, roots=code_roots)
        self._running: dict[str, _Running] = {}
        for row in self.cards.list_evals(limit=10_000, status="running"):
            if row.session_id is not None:
                self._running[row.session_id] = _Running(row, row.created_at)
        listener = _weak_listener(self)
        self._unsubscribe = telemetry.subscribe(listener)
        listener.unsubscribe.append(self._unsubscribe)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Stop listening to sessions and close the card database (terminal runs)."""
        self._unsubscribe()
        self.cards.close()

    async def _io(self, operation: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(operation)

    # --- starting --------------------------------------------------------------------------

    async def start(
        self, request: EvalRequest, listener: ProgressListener | None = None, *, principal: str | None = None
    ) -> EvalStart:
        if not 1 <= request.repeats <= MAX_REPEATS:
            raise EvalError(f"repeats must be from 1 to {MAX_REPEATS}, got {request.repeats}")
        if request.strategy_opts is not None and not isinstance(request.strategy_opts, dict):
            raise EvalError("strategy_opts must be a JSON object (the strategy's options)")
        try:
            scenario = self.scenarios.resolve(request.scenario, request.scenario_file, request.scenario_name)
        except ScenarioError as exc:
            raise EvalError(str(exc)) from None
        strategy = await self._strategy_info(request.strategy)
        shape = await self.check_scenario(scenario)
        scenario_name = (
            shape.get("name") if scenario.origin == "inline" and shape.get("name") else scenario.name
        )

        at = now_ms()
        eval_id = new_eval_id()
        model = request.model
        card_id = card_id_for(request.strategy, model, at, eval_id) if request.auto_card else None
        ctx = {
            "task": f"eval of {request.strategy} on scenario {scenario_name}",
            "scenario": {"source": scenario.source, "chunkname": scenario.chunkname, "name": scenario_name},
            "strategy": request.strategy,
            "strategy_opts": request.strategy_opts,
            "repeats": request.repeats,
            "parallel": request.parallel,
            "eval_id": eval_id,
            "card_id": card_id,
        }
        ctx = {k: v for k, v in ctx.items() if v is not None}  # JSON null is a truthy value in Lua
        row_request = {
            "strategy": strategy,
            "scenario": {**scenario.brief(), "name": scenario_name, "cases": len(shape.get("cases") or [])},
            "strategy_opts": request.strategy_opts,
            "repeats": request.repeats,
            "auto_card": request.auto_card,
            "model": model,
        }
        program = Program(EVAL_SOURCE, EVAL_CHUNK, ctx, strategy=request.strategy)
        session_id, result = await self._registry.start(program, listener, principal=principal)
        row = EvalRow(
            eval_id,
            session_id,
            request.strategy,
            str(scenario_name),
            "running",
            at,
            None,
            card_id,
            row_request,
            None,
            None,
        )
        await self._io(partial(self.cards.add_eval, row))
        running = _Running(row, at)
        if isinstance(result, Completed | Failed | Cancelled):
            self._settle(running, result)
        else:
            self._running[session_id] = running
        return EvalStart(eval_id, session_id, card_id, result, len(shape.get("cases") or []))

    async def _strategy_info(self, name: str) -> dict[str, Any]:
        try:
            module = self._registry.resolver.find(name)
        except ModuleNotFound as exc:
            raise EvalError(
                f"Package '{name}' not found. Searched:\n\t{exc}\nInstall it with alc_pkg_install "
                "or list what is available with alc_pkg_list."
            ) from None
        except PackageError as exc:
            raise EvalError(str(exc)) from None
        info: dict[str, Any] = {
            "name": name,
            "hash": hashlib.sha256(module.source).hexdigest()[:16],
            "path": str(module.path),
            "version": None,
        }
        program = Program(
            f"local m = require({name!r})\nreturn type(m) == 'table' and type(m.meta) == 'table' "
            "and m.meta.version or nil",
            "=[meta]",
        )
        try:
            version = await anyio.to_thread.run_sync(partial(self._scratch, program))
        except ScratchError:
            version = None
        info["version"] = version if isinstance(version, str) else None
        return info

    def _scratch(self, program: Program) -> Any:
        registry = self._registry
        return evaluate(
            program, limits=registry.config.limits, shared=registry.shared, resolver=registry.resolver
        )

    async def check_scenario(self, scenario: Scenario) -> dict[str, Any]:
        """The scenario's cases and bindings as the DSL reads them; a broken one is an EvalError."""
        program = Program(
            _CHECK_SOURCE,
            "=[scenario check]",
            {"source": scenario.source, "chunkname": scenario.chunkname, "name": scenario.name},
        )
        try:
            shape = await anyio.to_thread.run_sync(partial(self._scratch, program))
        except ScratchError as exc:
            raise EvalError(f"scenario '{scenario.name}' is not usable: {exc}") from None
        return shape if isinstance(shape, dict) else {}

    # --- finishing -----------------------------------------------------------------------------

    def on_event(self, event: telemetry.TelemetryEvent) -> None:
        if event.name not in FINAL_EVENTS:
            return
        session_id = event.metadata.get("session_id")
        running = self._running.get(session_id) if isinstance(session_id, str) else None
        if running is None or not isinstance(session_id, str):
            return
        session = self._registry.live_session(session_id)
        if event.name == "session.completed" and session is not None:
            result: FeedResult = Completed(session.state.result, session.metrics.stats_json(now_ms()))
        elif event.name == "session.failed":
            error = session.state.error if session is not None else None
            result = Failed(error or "the eval session failed")
        else:
            result = Cancelled({})
        self._settle(running, result)

    def _settle(self, running: _Running, result: FeedResult) -> None:
        """Record how an eval ended and write its card. Runs on the event loop, inside the
        call that finished the session, so a tool called next sees the card."""
        row = running.row
        if row.session_id is not None:
            self._running.pop(row.session_id, None)
        at = now_ms()
        try:
            if isinstance(result, Completed) and isinstance(result.result, dict):
                report = dict(result.result)
                if not isinstance(report.get("summary"), dict):
                    report["summary"] = summarize(report)
                record = {"report": report, "stats": result.stats}
                card_id = row.card_id
                error = None
                if card_id is not None:
                    card = self._card(row, report, result.stats, at)
                    try:
                        self.cards.put_card(card)
                    except CardExists as exc:
                        error, card_id = f"save_warning: {exc}", None
                self.cards.finish_eval(
                    row.id, status="completed", finished_at=at, result=record, card_id=card_id, error=error
                )
            elif isinstance(result, Completed):
                self.cards.finish_eval(
                    row.id, status="failed", finished_at=at, error="the eval returned no report", card_id=None
                )
            elif isinstance(result, Failed):
                self.cards.finish_eval(
                    row.id, status="failed", finished_at=at, error=result.error, card_id=None
                )
            else:
                self.cards.finish_eval(row.id, status="cancelled", finished_at=at, card_id=None)
        except (CardError, OSError, EvaluationError) as exc:  # never break the session's own result
            import sys

            print(f"alc-mcp: could not record eval {row.id}: {exc}", file=sys.stderr)

    def _card(self, row: EvalRow, report: Mapping[str, Any], stats: Mapping[str, Any], at: int) -> Card:
        auto = stats.get("auto") or {} if isinstance(stats, Mapping) else {}
        request = row.request
        cases = []
        for case in report.get("cases") or []:
            runs = []
            for run in case.get("runs") or []:
                output = run.get("output") or ""
                runs.append(
                    {
                        "repeat": run.get("repeat"),
                        "ok": run.get("ok"),
                        "score": run.get("score"),
                        "passed": run.get("passed"),
                        "output": output[:CARD_OUTPUT_CHARS],
                        "error": run.get("error"),
                        "llm_calls": run.get("llm_calls"),
                        "prompt_chars": run.get("prompt_chars"),
                        "response_chars": run.get("response_chars"),
                        "grades": [
                            {k: g.get(k) for k in ("grader", "score", "weight", "raw")}
                            for g in run.get("grades") or []
                        ],
                    }
                )
            cases.append(
                {k: case.get(k) for k in ("index", "name", "input", "expected", "tags")} | {"runs": runs}
            )
        data = {
            "schema_version": CARD_SCHEMA,
            "created_by": "alc-mcp",
            "eval_id": row.id,
            "session_id": row.session_id,
            "strategy": request.get("strategy") or {"name": row.strategy},
            "strategy_opts": request.get("strategy_opts"),
            "scenario": request.get("scenario") or {"name": row.scenario},
            "model": request.get("model"),
            "repeats": request.get("repeats"),
            "pass_threshold": report.get("pass_threshold"),
            "bindings": report.get("bindings"),
            "summary": report.get("summary"),
            "scores": scores_of(report),
            "cases": cases,
            "timings": {
                "started_at": row.created_at,
                "finished_at": at,
                "elapsed_ms": auto.get("elapsed_ms", at - row.created_at),
            },
            "usage": {
                "llm_calls": auto.get("llm_calls"),
                "round_trips": auto.get("pauses", auto.get("rounds")),
                "total_tokens": auto.get("total_tokens"),
            },
        }
        assert row.card_id is not None
        return Card.build(row.card_id, at, data)

    # --- history -------------------------------------------------------------------------------

    async def history(
        self, limit: int = 50, strategy: str | None = None, scenario: str | None = None
    ) -> dict[str, Any]:
        rows = await self._io(
            partial(self.cards.list_evals, limit=limit, strategy=strategy, scenario=scenario)
        )
        return {"evals": [row.brief() for row in rows]}

    async def detail(self, eval_id: str) -> dict[str, Any]:
        row = await self._io(partial(self.cards.get_eval, eval_id))
        if row is None:
            raise EvalError(f"eval '{eval_id}' not found (alc_eval_history lists them)")
        detail = row.brief()
        detail["request"] = row.request
        if isinstance(row.result, dict):
            detail["report"] = row.result.get("report")
            detail["stats"] = row.result.get("stats")
        return detail

    # --- cards ----------------------------------------------------------------------------------

    async def card(self, key: str) -> Card:
        """A card by id, alias, or the id of the eval that wrote it."""

        def find() -> Card:
            if self.cards.has_card(key):
                return self.cards.get_card(key)
            aliased = self.cards.alias(key)
            if aliased is not None:
                return self.cards.get_card(aliased)
            row = self.cards.get_eval(key)
            if row is not None and row.card_id is not None:
                return self.cards.get_card(row.card_id)
            raise CardNotFound(
                f"card '{key}' not found: no card, alias or eval has that id "
                "(alc_card_list shows cards, alc_eval_history evals)"
            )

        return await self._io(find)

    async def samples(self, key: str) -> list[Any]:
        """The samples of the card ``key`` names (id, alias or eval), in order."""
        card = await self.card(key)
        return await self._io(partial(self.cards.samples, card.card_id))

    async def card_list(
        self, strategy: str | None = None, scenario: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        cards = await self._io(partial(self.cards.list_cards, strategy=strategy, scenario=scenario))
        return {"cards": [c.brief() for c in cards[: max(1, limit)]], "total": len(cards)}

    async def card_find(
        self,
        where: Mapping[str, Any] | None = None,
        order_by: str | list[str] | None = None,
        limit: int = 50,
        offset: int = 0,
        strategy: str | None = None,
        scenario: str | None = None,
    ) -> dict[str, Any]:
        cards = await self._io(partial(self.cards.list_cards, strategy=strategy, scenario=scenario))
        found = order_cards((c for c in cards if matches(c.data, where)), order_by)
        page = found[offset : offset + max(1, limit)]
        return {"cards": [c.brief() for c in page], "total": len(found), "offset": offset}

    async def alias_set(self, alias: str, key: str) -> dict[str, Any]:
        card = await self.card(key)
        before = await self._io(partial(self.cards.set_alias, alias, card.card_id, now_ms()))
        return {"alias": alias, "card_id": card.card_id, "previous": before}

    async def alias_get(self, alias: str) -> Card:
        card_id = await self._io(partial(self.cards.alias, alias))
        if card_id is None:
            raise CardNotFound(f"alias '{alias}' not found (set one with alc_card_alias_set)")
        return await self._io(partial(self.cards.get_card, card_id))

    async def aliases(self) -> dict[str, Any]:
        return {"aliases": await self._io(self.cards.aliases)}

    # --- comparison --------------------------------------------------------------------------------

    async def compare(self, a: str, b: str) -> dict[str, Any]:
        card_a, card_b = await self.card(a), await self.card(b)
        try:
            result = welch(card_a.scores, card_b.scores)
        except EvaluationError as exc:
            raise EvalError(str(exc)) from None
        for side, card in (("a", card_a), ("b", card_b)):
            result[side].update(
                card_id=card.card_id,
                strategy=card.strategy,
                scenario=card.scenario,
                model=card.model,
                pass_rate=(card.data.get("summary") or {}).get("pass_rate"),
            )
        result["effect"] = effect_label(result.get("cohen_d"))
        if card_a.scenario != card_b.scenario or (card_a.data.get("scenario") or {}).get("hash") != (
            card_b.data.get("scenario") or {}
        ).get("hash"):
            result["warning"] = "the two cards were measured on different scenarios (or versions of one)"
        p = result.get("p_value")
        if p is not None and result.get("significant"):
            better = "a" if result["diff"] > 0 else "b"
            result["verdict"] = f"{better} scores higher (p = {p:.3g}, {result['effect']} effect)"
        else:
            result["verdict"] = "no significant difference at the 5% level"
        return result

    # --- scenarios --------------------------------------------------------------------------------

    async def scenario_list(self) -> dict[str, Any]:
        entries = []
        for scenario in await self._io(self.scenarios.all):
            entry = scenario.brief()
            try:
                shape = await self.check_scenario(scenario)
                entry.update(
                    cases=len(shape.get("cases") or []),
                    description=shape.get("description"),
                    graders=[b.get("grader") for b in shape.get("bindings") or []],
                )
            except EvalError as exc:
                entry["error"] = str(exc)
            entries.append(entry)
        return {"scenarios": entries}

    async def scenario_show(self, name: str) -> dict[str, Any]:
        try:
            scenario = self.scenarios.find(name)
        except ScenarioError as exc:
            raise EvalError(str(exc)) from None
        shape = await self.check_scenario(scenario)
        return {**scenario.brief(), **shape, "name": scenario.name, "source": scenario.source}

    async def scenario_install(
        self, path: str | None = None, source: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        if (path is None) == (source is None):
            raise EvalError("Provide either `path` (a .lua file or a directory) or `source` with `name`.")
        try:
            if source is not None:
                if name is None:
                    raise EvalError("`source` needs a `name` to install it under")
                await self.check_scenario(Scenario(name, source, "inline"))
                written = [await self._io(partial(self.scenarios.write, name, source))]
            else:
                assert path is not None
                candidates = Path(path).expanduser()
                written = await self._io(partial(self.scenarios.install, candidates, name))
        except ScenarioError as exc:
            raise EvalError(str(exc)) from None
        installed, failures = [], []
        for target in written:
            try:
                await self.check_scenario(
                    Scenario(target.stem, target.read_text(encoding="utf-8"), "home", target)
                )
                installed.append(target.stem)
            except EvalError as exc:
                failures.append({"name": target.stem, "error": str(exc)})
        return {
            "installed": installed,
            "failures": failures,
            "directory": str(self.scenarios.home_dir),
        }


def _weak_listener(service: EvalService) -> telemetry.Subscriber:
    """A telemetry subscriber that does not keep the service alive, and unsubscribes
    itself once the service is gone (a server that was dropped without closing it)."""
    ref = weakref.ref(service)
    unsubscribe: list[Callable[[], None]] = []

    def listener(event: telemetry.TelemetryEvent) -> None:
        target = ref()
        if target is not None:
            target.on_event(event)
        elif unsubscribe:
            unsubscribe.pop()()

    listener.unsubscribe = unsubscribe  # type: ignore[attr-defined]
    return listener
