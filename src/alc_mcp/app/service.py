"""The use cases of alc-mcp, in one service both adapters call: the MCP server
(``server/``) and the terminal runner (``terminal.py``).

It owns the wiring (the store or the reason it is off, the registry over it, the
archive of transcripts, the package catalog) and the rules a caller sees: a session
key (id or name) is resolved once per call, and a store that fails mid-call becomes
an error that says nothing was changed and what to do, never a raw exception.
Results are the JSON objects the tools answer with; sessions' own results are
``Reply`` objects, which the terminal reads as typed values.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import anyio
from lupa import lua54

from alc_mcp import __version__
from alc_mcp.app.archive import Archive, unknown_row
from alc_mcp.app.catalog import PackageCatalog, server_dirs
from alc_mcp.app.code_files import code_roots
from alc_mcp.app.durability import Durability, open_durability
from alc_mcp.app.evaluation import EvalRequest, EvalService, EvalStart
from alc_mcp.app.host_variables import HostVariables
from alc_mcp.app.package_tests import PackageTester
from alc_mcp.app.programs import advice_ctx, advice_program, code_program
from alc_mcp.app.progress import Outcome, Report, reporting
from alc_mcp.app.strategy_inputs import advice_meta, check_required_inputs
from alc_mcp.config import Config
from alc_mcp.domain.feed_result import FeedResult, feed_result_json
from alc_mcp.domain.journal import Finished, Logged, ProgressSet
from alc_mcp.domain.pending_filter import PendingFilter
from alc_mcp.domain.program import Program
from alc_mcp.engine.port import Facilities
from alc_mcp.engine.progress import ProgressListener
from alc_mcp.engine.registry import SessionRegistry, unknown_session
from alc_mcp.engine.session import Answer, SessionError, StoreDown
from alc_mcp.engine.storage import StoreUnavailable
from alc_mcp.engine.types import types_path
from alc_mcp.store.cards import CardStore
from alc_mcp.store.memory import MemoryShared

__all__ = ["Reply", "SessionService"]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound=Outcome)


@dataclass(frozen=True, slots=True)
class Reply:
    """A session's answer to a call: where it stands now (paused, accepted, finished)."""

    session_id: str
    result: FeedResult

    def to_json(self) -> dict[str, Any]:
        return feed_result_json(self.result, self.session_id)


def store_errors(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A store that fails during a call is the caller's to retry, not a crash."""

    @wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except StoreUnavailable as exc:
            raise StoreDown(
                f"the session store is unavailable: {exc}. Nothing was changed; retry once it is back "
                "(alc_info shows the store's state)"
            ) from None

    return call


class SessionService:
    """The use cases, answering for one principal (``acting_as``): it owns the sessions it
    starts and every other session is, to it, one that does not exist. The principal
    None (stdio, HTTP with --no-auth) starts unowned sessions and sees every session."""

    def __init__(self, config: Config, durability: Durability, catalog: PackageCatalog | None = None) -> None:
        self.principal: str | None = None
        self.config = config
        self.durability = durability
        self.catalog = catalog or PackageCatalog(config)
        store = durability.store
        cards = CardStore(config.db_path if store is not None else None)
        self.registry = SessionRegistry(
            config,
            self.catalog.resolver,
            store.shared if store is not None else MemoryShared(),
            store.sessions if store is not None else None,
            durability.writer,
            facilities=Facilities(cards, server_dirs(config)),
            handover=durability.handover,
        )
        self.archive = Archive(
            config,
            self.registry,
            (store.sessions, store.history) if store is not None else None,
            durability.writer,
            unavailable_reason=durability.reason,
        )
        self.variables = HostVariables(self.registry)
        self.evaluations = EvalService(self.registry, cards, code_roots=code_roots(config))
        self.package_tests = PackageTester(config, self.catalog)

    @classmethod
    def open(cls, config: Config, catalog: PackageCatalog | None = None) -> SessionService:
        """Open the store (or learn why it is off) and build the service over it."""
        return cls(config, open_durability(config), catalog)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[SessionService]:
        """Restore resumable sessions, keep hibernation and retention going, and on the
        way out stop every session's thread and close the store."""
        async with anyio.create_task_group() as tasks:
            await self.registry.open()
            await self.archive.apply_retention()
            tasks.start_soon(self.registry.run_reaper)
            tasks.start_soon(self.archive.run_retention)
            try:
                yield self
            finally:
                self.close()
                tasks.cancel_scope.cancel()

    def close(self) -> None:
        """Stop every session's thread, then flush and close the store."""
        self.registry.close()
        self.evaluations.close()
        self.durability.close()

    def acting_as(self, principal: str | None) -> SessionService:
        """This service (same registry, store and catalog) answering for ``principal``."""
        if principal == self.principal:
            return self
        view = copy.copy(self)
        view.principal = principal
        return view

    async def _session_id(self, key: str, unknown: Callable[[str], SessionError] = unknown_session) -> str:
        """The id of the session ``key`` names, if this principal may see it; another
        principal's session gets ``unknown(key)``, the error a key that names no session
        gets, so nobody learns that someone else's session exists."""
        session_id = await self.registry.resolve(key)
        if self.principal is not None and await self.registry.principal_of(session_id) != self.principal:
            raise unknown(key)
        return session_id

    # --- sessions ------------------------------------------------------------------------

    async def _reported(
        self, progress: Report | None, call: Callable[[ProgressListener | None], Awaitable[R]]
    ) -> R:
        """``call``, with its progress told to ``progress`` when the caller asked for it."""
        if progress is None:
            return await call(None)
        return await reporting(progress, self.config.progress_seconds, call)

    @store_errors
    async def start(self, program: Program, progress: Report | None = None) -> Reply:
        async def started(listener: ProgressListener | None) -> Reply:
            return Reply(*await self.registry.start(program, listener, principal=self.principal))

        return await self._reported(progress, started)

    async def run(
        self,
        code: str | None,
        code_file: str | None,
        ctx: Any,
        vars: dict[str, Any] | None,
        search_paths: Sequence[str] | None = None,
        progress: Report | None = None,
    ) -> Reply:
        """``alc_run``: inline code or a file (``search_paths``: more places to require from)."""
        return await self.start(
            code_program(code, code_file, ctx, vars, code_roots(self.config), search_paths), progress
        )

    async def advise(
        self,
        strategy: str,
        task: str | None,
        opts: Any,
        vars: dict[str, Any] | None,
        progress: Report | None = None,
    ) -> Reply:
        """``alc_advice``: a package's ``run(ctx)`` on a task."""
        self.catalog.require(strategy)
        ctx = advice_ctx(task, opts)
        check_required_inputs(strategy, await advice_meta(self.catalog, strategy), ctx)
        return await self.start(advice_program(strategy, ctx, vars), progress)

    async def evaluate(self, request: EvalRequest, progress: Report | None = None) -> EvalStart:
        """``alc_eval``: start an eval session (its cases may run a while before the first
        pause); it belongs to this principal like any other session."""

        async def started(listener: ProgressListener | None) -> EvalStart:
            return await self.evaluations.start(request, listener, principal=self.principal)

        return await self._reported(progress, started)

    @store_errors
    async def feed(self, key: str, answers: Sequence[Answer], progress: Report | None = None) -> Reply:
        """Answer a pause; ``progress`` hears how the script goes until its next pause."""
        session_id = await self._session_id(key)

        async def fed(listener: ProgressListener | None) -> Reply:
            return Reply(session_id, await self.registry.feed(session_id, answers, listener))

        return await self._reported(progress, fed)

    @store_errors
    async def cancel(self, key: str) -> Reply:
        session_id = await self._session_id(key)
        return Reply(session_id, await self.registry.cancel(session_id))

    @store_errors
    async def rewind(self, key: str, query_index: int) -> Reply:
        session_id = await self._session_id(key)
        return Reply(session_id, await self.registry.rewind(session_id, query_index))

    @store_errors
    async def status(
        self, key: str, pending_filter: PendingFilter | None, include_history: bool
    ) -> dict[str, Any]:
        try:
            session_id = await self._session_id(key)
            snapshot = await self.registry.snapshot(session_id, pending_filter, include_history)
        except SessionError:
            raise SessionError(f"session '{key}' not found (may have completed)") from None
        return await self._name_owner(snapshot)

    @store_errors
    async def status_all(self, pending_filter: PendingFilter | None, include_history: bool) -> dict[str, Any]:
        sessions = await self.registry.snapshots(pending_filter, include_history, principal=self.principal)
        for snapshot in sessions:
            await self._name_owner(snapshot)
        return {"active_sessions": len(sessions), "sessions": sessions}

    async def _name_owner(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """Add which worker (process) drives the session, from its lease, for a fleet's
        operator; a session nobody holds has no ``owner``."""
        owner = await self.registry.owner(snapshot["session_id"])
        if owner is not None:
            snapshot["owner"] = owner
        return snapshot

    def follow(self, session_id: str) -> Callable[[], dict[str, Any]] | None:
        """A live session's snapshot function, which keeps answering after the session
        ends (the terminal shows a run's last logs from it); None if it is not live."""
        session = self.registry.live_session(session_id)
        return session.snapshot if session is not None else None

    @store_errors
    async def session_name(self, session_id: str) -> str | None:
        row = await self.archive.row_or_none(session_id)
        return row.name if row is not None else None

    @store_errors
    async def journal_activity(self, session_id: str) -> dict[str, Any] | None:
        """Logs and progress of a session as its journal has them (None without a store)."""
        entries = await self.archive.entries(session_id, kinds=("log", "progress"))
        if entries is None:
            return None
        logs: list[dict[str, Any]] = []
        progress = None
        for entry in entries:
            event = entry.event
            if isinstance(event, Logged):
                logs.append({"level": event.level, "source": event.source, "message": event.message})
            elif isinstance(event, ProgressSet):
                progress = {"step": event.step, "total": event.total, "message": event.message}
        return {"recent_logs": logs, "progress": progress}

    @store_errors
    async def ending(self, session_id: str) -> tuple[int, int, Finished] | None:
        """When a finished session started and ended (ms) and how, as its journal has it;
        None while it has not finished, or without a store."""
        entries = await self.archive.entries(session_id, kinds=("start", "finish"))
        if not entries or not isinstance(last := entries[-1].event, Finished):
            return None
        return entries[0].at, entries[-1].at, last

    # --- history ---------------------------------------------------------------------

    @store_errors
    async def log_view(self, key: str | None, cursor: int, limit: int) -> dict[str, Any]:
        if key is None:
            return await self.archive.list_sessions(limit, principal=self.principal)
        return await self.archive.transcript(await self._session_id(key, unknown_row), cursor, limit)

    @store_errors
    async def note(self, key: str, content: str, title: str | None) -> dict[str, Any]:
        return await self.archive.note(await self._session_id(key, unknown_row), content, title)

    @store_errors
    async def stats(self, strategy: str | None, days: float | None) -> dict[str, Any]:
        return await self.archive.stats(strategy, days)

    @store_errors
    async def delete(self, key: str) -> dict[str, Any]:
        return await self.archive.delete(await self._session_id(key, unknown_row))

    # --- variables ---------------------------------------------------------------------

    @store_errors
    async def vars_list(self, key: str, pattern: str | None) -> dict[str, Any]:
        return await self.variables.listing(await self._session_id(key), pattern)

    @store_errors
    async def vars_get(self, key: str, names: Sequence[str]) -> dict[str, Any]:
        return await self.variables.get(await self._session_id(key), names)

    @store_errors
    async def vars_set(
        self, key: str, updates: dict[str, Any], *, atomic: bool, reason: str | None
    ) -> dict[str, Any]:
        return await self.variables.update(await self._session_id(key), updates, atomic=atomic, reason=reason)

    @store_errors
    async def vars_delete(self, key: str, names: Sequence[str]) -> dict[str, Any]:
        return await self.variables.delete(await self._session_id(key), names)

    @store_errors
    async def vars_export(self, key: str) -> dict[str, Any]:
        return await self.variables.export(await self._session_id(key))

    @store_errors
    async def vars_import(self, key: str, records: list[dict[str, Any]], *, replace: bool) -> dict[str, Any]:
        return await self.variables.load(await self._session_id(key), records, replace=replace)

    # --- packages and the server -------------------------------------------------------------

    async def packages(self) -> dict[str, Any]:
        return await self.catalog.listing()

    async def install(self, url: str, name: str | None) -> dict[str, Any]:
        return await self.catalog.install(url, name)

    async def remove(self, name: str) -> dict[str, Any]:
        return await self.catalog.remove(name)

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` answers: up, which version, and whether sessions are durable
        (no paths, no reasons: the route needs no token)."""
        return {
            "status": "ok",
            "version": __version__,
            "store": "durable" if self.durability.enabled else "memory only",
        }

    def info(self) -> dict[str, Any]:
        """What ``alc_info`` reports: enough for a user to see which limits and paths apply."""
        config = self.config
        return {
            "version": __version__,
            "lua_version": lua54.LuaRuntime().lua_implementation,
            "limits": config.limits.to_json(),
            "sessions": {
                "live": self.registry.live_count,
                "resumable": len(self.registry),
                "ALC_MAX_LIVE_SESSIONS": config.max_live_sessions,
                "ALC_HIBERNATE_AFTER_SECONDS": config.hibernate_after_seconds,
                "ALC_IDLE_TTL_SECONDS": config.idle_ttl_seconds,
                "ALC_RETENTION_DAYS": config.retention_days,
            },
            "durability": self.durability.to_json(),
            "sampling": {  # the key itself never leaves the process
                "ALC_SAMPLING": config.sampling,
                "ALC_REQUEST_STATE_KEY": "set" if config.request_state_key else "unset: random per process",
            },
            "worker": self.registry.worker_json(),
            "paths": {
                "home": str(config.home),
                "packages": str(config.home / "packages"),
                "types": str(types_path()),
                "ALC_CODE_ROOTS": [str(root) for root in code_roots(config)],
            },
            "search_paths": [root.to_json() for root in self.catalog.resolver.roots],
        }
